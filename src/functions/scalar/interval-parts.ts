/**
 * The one place that knows how an interval value is held, for the functions that build or take
 * apart intervals by PostgreSQL's fields (age, make_interval, justify_*, to_char): an interval
 * is microseconds today, a month counting as 30 days (see common/interval.ts), so the months and
 * days PostgreSQL keeps apart are folded in here and come back out as days and time.
 */

/** An interval as PostgreSQL keeps it: months, days and microseconds, each with its own sign. */
export interface IntervalParts {
  readonly months: number;
  readonly days: number;
  readonly micros: bigint;
}

const DAY_US = 86_400_000_000n;

/** The interval value of PostgreSQL's parts. */
export function intervalFromParts(p: IntervalParts): bigint {
  return BigInt(p.months) * 30n * DAY_US + BigInt(p.days) * DAY_US + p.micros;
}

/** The parts of an interval value: whole days (truncated toward zero) and the rest as time; no months. */
export function partsOfInterval(v: bigint): IntervalParts {
  const days = v / DAY_US;
  return { months: 0, days: Number(days), micros: v - days * DAY_US };
}

/** justify_hours: whole 24-hour spans of the time become days (the signs made to agree). */
export function justifyHours(p: IntervalParts): IntervalParts {
  let days = p.days + Number(p.micros / DAY_US);
  let micros = p.micros % DAY_US;
  if (days > 0 && micros < 0n) {
    micros += DAY_US;
    days--;
  } else if (days < 0 && micros > 0n) {
    micros -= DAY_US;
    days++;
  }
  return { months: p.months, days, micros };
}

/** justify_days: whole 30-day spans become months (the signs made to agree). */
export function justifyDays(p: IntervalParts): IntervalParts {
  let months = p.months + Math.trunc(p.days / 30);
  let days = p.days % 30;
  if (months > 0 && days < 0) {
    days += 30;
    months--;
  } else if (months < 0 && days > 0) {
    days -= 30;
    months++;
  }
  return { months, days, micros: p.micros };
}

/** justify_interval: justify_hours then justify_days, with the signs of all three parts made to agree. */
export function justifyInterval(p: IntervalParts): IntervalParts {
  const h = justifyHours({ months: p.months, days: p.days, micros: p.micros });
  let { months, days, micros } = justifyDays(h);
  if ((months > 0 || (months === 0 && days > 0)) && micros < 0n) {
    micros += DAY_US;
    days--;
  } else if ((months < 0 || (months === 0 && days < 0)) && micros > 0n) {
    micros -= DAY_US;
    days++;
  }
  return justifyDays({ months, days, micros });
}
