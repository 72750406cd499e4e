/**
 * The interval helpers the calendar functions (age, make_interval, justify_*, to_char) use: an
 * interval value is its months, days and microseconds apart, as PostgreSQL's (common/interval.ts).
 */
import { checkedInterval, decodeInterval, encodeInterval, type IntervalParts } from '../../common/interval.js';

export { justifyDays, justifyHours, justifyInterval, type IntervalParts } from '../../common/interval.js';

/** The interval value of PostgreSQL's parts (checked against the fields' ranges). */
export function intervalFromParts(p: IntervalParts): string {
  return encodeInterval(checkedInterval(p.months, p.days, p.micros));
}

/** The parts of an interval value. */
export function partsOfInterval(v: string): IntervalParts {
  return decodeInterval(v);
}
