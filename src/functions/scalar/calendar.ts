/**
 * Calendar functions as PostgreSQL has them: to_char of timestamps, dates, intervals and
 * numbers by template; to_timestamp and to_date reading text by template; to_timestamp of
 * epoch seconds; age with PostgreSQL's month and day borrowing; make_date, make_timestamp,
 * make_interval; justify_days, justify_hours, justify_interval. Interval values go through
 * interval-parts.ts, the one place that knows how an interval is held.
 */
import { SluiceError } from '../../common/errors.js';
import { floorSeconds, localToUtc, UTC, type TimeZone } from '../../common/time-zone.js';
import { isNumeric, type SqlType, type Value } from '../../common/types.js';
import { call, cast } from '../../planner/coercion.js';
import { intervalFields, timestampFields, formatFields, parseWithTemplate } from './datetime-format.js';
import { intervalFromParts, justifyDays, justifyHours, justifyInterval, partsOfInterval, type IntervalParts } from './interval-parts.js';
import { numberToChar } from './number-format.js';
import { rint } from '../../common/interval.js';
import { byName, rowWiseFunction, type ScalarDefinition } from './scalar-function.js';
import { coerceArg, fixed, noFunction, type ScalarBinder } from './signature.js';

const DAY_US = 86_400_000_000n;

/** to_char(x, template): the template family is chosen by x's type. */
const bindToChar: ScalarBinder = (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  const t = args[0]!.type;
  const fmt = coerceArg(site.name, args[1]!, 'varchar', args, site.pos);
  if (t === 'interval') return site.make([args[0]!, fmt], 'varchar');
  if (isNumeric(t)) return site.make([args[0]!, fmt], 'varchar');
  // A date is formatted as PostgreSQL does: as a timestamptz (midnight in the zone).
  if (t === 'timestamptz' || t === 'date') return site.make([cast(args[0]!, 'timestamptz'), fmt], 'varchar');
  return site.make([coerceArg(site.name, args[0]!, 'timestamp', args, site.pos), fmt], 'varchar');
};

function toChar(v: Value, fmt: string, type: SqlType, zone: TimeZone): string {
  if (type === 'interval') {
    const p = partsOfInterval(v as string);
    return formatFields(intervalFields(p.months, p.days, p.micros), fmt);
  }
  if (type === 'timestamp') return formatFields(timestampFields(v as bigint), fmt);
  if (type === 'timestamptz') {
    // The wall-clock fields in the zone; TZ its abbreviation there, OF/TZH/TZM its offset.
    const at = floorSeconds(v as bigint);
    const offset = zone.offsetAt(at);
    return formatFields({ ...timestampFields((v as bigint) + BigInt(offset) * 1_000_000n), zone: zone.abbrevAt(at), offset }, fmt);
  }
  return numberToChar(v as number | bigint, fmt);
}

/** PostgreSQL's month lengths. */
function daysInMonth(year: number, month: number): number {
  return [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/**
 * age(a, b): a − b in years, months, days and time, each field subtracted on its own and
 * negative fields borrowed from the next larger one (a day borrows the length of the month it
 * counts back from), as PostgreSQL's timestamp_age does.
 */
export function ageParts(a: bigint, b: bigint): IntervalParts {
  const t1 = timestampFields(a);
  const t2 = timestampFields(b);
  const flip = a < b;
  const s = flip ? -1 : 1;
  let fsec = s * (t1.micro - t2.micro);
  let sec = s * (t1.second - t2.second);
  let min = s * (t1.minute - t2.minute);
  let hour = s * (t1.hour - t2.hour);
  let mday = s * (t1.day - t2.day);
  let mon = s * (t1.month - t2.month);
  let year = s * (t1.year - t2.year);
  while (fsec < 0) { fsec += 1_000_000; sec--; }
  while (sec < 0) { sec += 60; min--; }
  while (min < 0) { min += 60; hour--; }
  while (hour < 0) { hour += 24; mday--; }
  while (mday < 0) {
    const from = flip ? t1 : t2;
    mday += daysInMonth(from.year, from.month);
    mon--;
  }
  while (mon < 0) { mon += 12; year--; }
  const micros = BigInt(((hour * 60 + min) * 60 + sec)) * 1_000_000n + BigInt(fsec);
  return { months: s * (year * 12 + mon), days: s * mday, micros: BigInt(s) * micros };
}

/** make_interval(years, months, weeks, days, hours, mins, secs), every argument optional from the right. */
const bindMakeInterval: ScalarBinder = (args, site) => {
  if (args.length > 7) throw noFunction(site.name, args, site.pos);
  const typed = args.map((a, i) => coerceArg(site.name, a, i === 6 ? 'double' : 'int', args, site.pos));
  return site.make(typed, 'interval');
};

function makeInterval(vals: readonly Value[]): string {
  const [y = 0, mo = 0, w = 0, d = 0, h = 0, mi = 0, sec = 0] = vals as number[];
  const us = rint(sec * 1e6);
  if (!Number.isFinite(us)) throw new SluiceError('datetime_field_overflow', 'interval out of range');
  const micros = (BigInt(h) * 60n + BigInt(mi)) * 60_000_000n + BigInt(us);
  return intervalFromParts({ months: y * 12 + mo, days: w * 7 + d, micros });
}

function makeDate(y: number, m: number, d: number): number {
  if (m < 1 || m > 12 || d < 1 || y === 0 || d > daysInMonth(y < 0 ? y + 1 : y, m)) {
    throw new SluiceError('datetime_field_overflow', `date field value out of range: ${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
  }
  const t = new Date(0);
  t.setUTCFullYear(y < 0 ? y + 1 : y, m - 1, d);
  return Math.floor(t.getTime() / 86_400_000);
}

function makeTimestamp(vals: readonly Value[]): bigint {
  const [y, mo, d, h, mi, sec] = vals as number[];
  if (h! < 0 || h! > 24 || mi! < 0 || mi! > 59 || sec! < 0 || sec! > 60) {
    throw new SluiceError('datetime_field_overflow', `time field value out of range: ${h}:${String(mi).padStart(2, '0')}:${String(sec).padStart(2, '0')}`);
  }
  return BigInt(makeDate(y!, mo!, d!)) * DAY_US + BigInt(h! * 3600 + mi! * 60) * 1_000_000n + BigInt(Math.round(sec! * 1e6));
}

/** to_timestamp(text, template) or to_timestamp(epoch seconds). */
const bindToTimestamp: ScalarBinder = (args, site) => {
  if (args.length === 2) return fixed(['varchar', 'varchar'], 'timestamptz')(args, site);
  if (args.length === 1 && (isNumeric(args[0]!.type) || args[0]!.type === 'null')) return site.make([cast(args[0]!, 'double')], 'timestamptz');
  throw noFunction(site.name, args, site.pos);
};

function fromEpoch(x: number): bigint {
  if (!Number.isFinite(x)) throw new SluiceError('datetime_field_overflow', 'timestamp out of range', { hint: 'to_timestamp of infinity or NaN has no timestamp value here.' });
  return BigInt(Math.round(x * 1e6));
}

/** age(a, b), or age(b) = age(midnight today, b). */
const bindAge: ScalarBinder = (args, site) => {
  if (args.length === 1) {
    const today = call('date_trunc', [{ kind: 'lit', value: 'day', type: 'varchar' }, call('now', [], 'timestamp')], 'timestamp');
    return site.make([today, coerceArg(site.name, args[0]!, 'timestamp', args, site.pos)], 'interval');
  }
  // age of timestamptz values: of their wall-clock times in the zone, as PostgreSQL's timestamptz_age.
  if (args.length === 2 && args.some((a) => a.type === 'timestamptz')) return site.make(args.map((a) => cast(coerceArg(site.name, a, 'timestamptz', args, site.pos), 'timestamp')), 'interval');
  return fixed(['timestamp', 'timestamp'], 'interval')(args, site);
};

const justify = (f: (p: IntervalParts) => IntervalParts) => rowWiseFunction(([v]) => intervalFromParts(f(partsOfInterval(v as string))));

/** The calendar functions: signature beside kernel. */
export const CALENDAR_FUNCTIONS = {
  to_char: byName(['to_char'], bindToChar, (args, argExprs, type) => {
    const a = argExprs[0]!;
    return (b, ctx) => {
      const zone = ctx.zone ?? UTC;
      return rowWiseFunction(([v, f]) => toChar(v!, f as string, a.type, zone))(args, argExprs, type)(b, ctx);
    };
  }),
  // to_timestamp(text, template) reads wall-clock time in the zone (a TZH/TZM offset or OF as written); of epoch seconds, the instant.
  to_timestamp: byName(['to_timestamp'], bindToTimestamp, (args, argExprs, type) => (b, ctx) => {
    const zone = ctx.zone ?? UTC;
    return rowWiseFunction((vals) => (vals.length === 1 ? fromEpoch(vals[0] as number) : localToUtc(zone, parseWithTemplate(vals[0] as string, vals[1] as string))))(args, argExprs, type)(b, ctx);
  }),
  to_date: byName(['to_date'], fixed(['varchar', 'varchar'], 'date'), rowWiseFunction(([s, f]) => {
    const us = parseWithTemplate(s as string, f as string);
    return Number(us / DAY_US) - (us % DAY_US < 0n ? 1 : 0);
  })),
  age: byName(['age'], bindAge, rowWiseFunction(([a, b]) => intervalFromParts(ageParts(a as bigint, b as bigint)))),
  make_interval: byName(['make_interval'], bindMakeInterval, rowWiseFunction(makeInterval)),
  make_date: byName(['make_date'], fixed(['int', 'int', 'int'], 'date'), rowWiseFunction(([y, m, d]) => makeDate(y as number, m as number, d as number))),
  make_timestamp: byName(['make_timestamp'], fixed(['int', 'int', 'int', 'int', 'int', 'double'], 'timestamp'), rowWiseFunction(makeTimestamp)),
  justify_days: byName(['justify_days'], fixed(['interval'], 'interval'), justify(justifyDays)),
  justify_hours: byName(['justify_hours'], fixed(['interval'], 'interval'), justify(justifyHours)),
  justify_interval: byName(['justify_interval'], fixed(['interval'], 'interval'), justify(justifyInterval)),
} satisfies Record<string, ScalarDefinition>;
