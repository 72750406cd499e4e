/**
 * Time scalar functions: date_trunc, extract / date_part and now() (to_char and the other
 * calendar functions are in calendar.ts). Timestamps are
 * microseconds since the epoch, in UTC.
 */
import { constantColumn } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { decodeInterval, encodeInterval, type IntervalParts } from '../../common/interval.js';
import type { SqlType } from '../../common/types.js';
import { cast } from '../../planner/coercion.js';
import { byName, bySyntax, rowWise, evalAll, rowWiseFunction, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { formatDec } from '../../common/decimal.js';
import { coerceArg, noFunction, type ScalarBinder } from './signature.js';
import { floorSeconds, localToUtc, UTC, type TimeZone } from '../../common/time-zone.js';
import { zoneArgument } from './zone.js';

const TRUNC_MICROS: Record<string, number> = {
  microseconds: 1, microsecond: 1, milliseconds: 1000, millisecond: 1000, second: 1e6, seconds: 1e6,
  minute: 6e7, minutes: 6e7, hour: 3.6e9, hours: 3.6e9, day: 8.64e10, days: 8.64e10,
};

/** A timestamp (µs) truncated to the start of its `unit` (second … decade, weeks start Monday). */
export function dateTrunc(unit: string, micros: bigint): bigint {
  const u = unit.toLowerCase();
  const step = TRUNC_MICROS[u];
  if (step !== undefined) {
    const s = BigInt(step);
    const r = micros % s;
    return micros - (r < 0n ? r + s : r);
  }
  const d = new Date(Number(micros / 1000n) - (micros % 1000n < 0n ? 1 : 0));
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (u) {
    case 'week': {
      const day = Date.UTC(y, m, d.getUTCDate());
      const dow = (new Date(day).getUTCDay() + 6) % 7;
      return BigInt(day - dow * 86_400_000) * 1000n;
    }
    case 'month':
      return BigInt(Date.UTC(y, m, 1)) * 1000n;
    case 'quarter':
      return BigInt(Date.UTC(y, m - (m % 3), 1)) * 1000n;
    case 'year':
      return BigInt(Date.UTC(y, 0, 1)) * 1000n;
    case 'decade':
      return BigInt(Date.UTC(y - (y % 10), 0, 1)) * 1000n;
    default:
      throw new SluiceError('invalid_parameter', `unit "${unit}" not recognized for date_trunc`, { hint: 'Use second, minute, hour, day, week, month, quarter or year.' });
  }
}

/**
 * A field of an interval as PostgreSQL's date_part reads it: time fields from the time part
 * (hour not wrapped at 24), day from the days, month and year from the months; epoch counts a
 * year as 365.25 days and a month as 30.
 */
export function intervalField(field: string, p: IntervalParts): number {
  const t = p.micros;
  const year = Math.trunc(p.months / 12);
  const mon = p.months % 12;
  switch (field.toLowerCase()) {
    case 'epoch': return Number(t) / 1e6 + 365.25 * 86400 * year + 30 * 86400 * mon + 86400 * p.days;
    // Whole seconds and the fraction added in doubles, as PostgreSQL's date_part.
    case 'microsecond': case 'microseconds': return Number((t % 60_000_000n) / 1_000_000n) * 1e6 + Number(t % 1_000_000n);
    case 'millisecond': case 'milliseconds': return Number((t % 60_000_000n) / 1_000_000n) * 1000 + Number(t % 1_000_000n) / 1000;
    case 'second': case 'seconds': return Number((t % 60_000_000n) / 1_000_000n) + Number(t % 1_000_000n) / 1e6;
    case 'minute': case 'minutes': return Number((t / 60_000_000n) % 60n);
    case 'hour': case 'hours': return Number(t / 3_600_000_000n);
    case 'day': case 'days': return p.days;
    case 'month': case 'months': return mon;
    case 'quarter': return Math.trunc(mon / 3) + 1;
    case 'year': case 'years': return year;
    case 'decade': case 'decades': return Math.trunc(year / 10);
    case 'century': case 'centuries': return Math.trunc(year / 100);
    case 'millennium': case 'millennia': return Math.trunc(year / 1000);
    default: throw new SluiceError('invalid_parameter', `unit "${field}" not supported for type interval`);
  }
}

/** date_trunc(unit, interval): the fields below `unit` set to zero, as PostgreSQL's interval_trunc. */
export function intervalTrunc(unit: string, p: IntervalParts): IntervalParts {
  const year = Math.trunc(p.months / 12);
  const mon = p.months % 12;
  const t = p.micros;
  const H = 3_600_000_000n;
  switch (unit.toLowerCase()) {
    case 'millennium': return { months: Math.trunc(year / 1000) * 12000, days: 0, micros: 0n };
    case 'century': return { months: Math.trunc(year / 100) * 1200, days: 0, micros: 0n };
    case 'decade': return { months: Math.trunc(year / 10) * 120, days: 0, micros: 0n };
    case 'year': return { months: year * 12, days: 0, micros: 0n };
    case 'quarter': return { months: year * 12 + 3 * Math.trunc(mon / 3), days: 0, micros: 0n };
    case 'month': return { months: p.months, days: 0, micros: 0n };
    case 'day': return { months: p.months, days: p.days, micros: 0n };
    case 'hour': return { ...p, micros: (t / H) * H };
    case 'minute': return { ...p, micros: (t / 60_000_000n) * 60_000_000n };
    case 'second': return { ...p, micros: (t / 1_000_000n) * 1_000_000n };
    case 'millisecond': case 'milliseconds': return { ...p, micros: (t / 1000n) * 1000n };
    case 'microsecond': case 'microseconds': return p;
    default: throw new SluiceError('invalid_parameter', `unit "${unit}" not supported for type interval`);
  }
}

/** A field (year, month, epoch, …) of a timestamp in microseconds, or of an interval value. */
export function extractField(field: string, v: bigint | string, type: SqlType): number {
  if (type === 'interval') {
    const r = intervalField(field, decodeInterval(v as string));
    return r === 0 ? 0 : r; // never -0 (PostgreSQL prints 0 for a truncated negative fraction)
  }
  const micros = v as bigint;
  const f = field.toLowerCase();
  const ms = Number(micros / 1000n) - (micros % 1000n < 0n ? 1 : 0);
  const d = new Date(ms);
  const subSecondMicros = Number(((micros % 60_000_000n) + 60_000_000n) % 60_000_000n);
  switch (f) {
    case 'epoch': return Number(micros) / 1e6;
    case 'year': case 'years': return d.getUTCFullYear();
    case 'quarter': return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'month': case 'months': return d.getUTCMonth() + 1;
    case 'day': case 'days': return d.getUTCDate();
    case 'hour': case 'hours': return d.getUTCHours();
    case 'minute': case 'minutes': return d.getUTCMinutes();
    // Whole seconds plus the fraction, added in doubles as PostgreSQL's date_part does.
    case 'second': case 'seconds': return Math.floor(subSecondMicros / 1e6) + (subSecondMicros % 1e6) / 1e6;
    case 'millisecond': case 'milliseconds': return Math.floor(subSecondMicros / 1e6) * 1000 + (subSecondMicros % 1e6) / 1e3;
    case 'microsecond': case 'microseconds': return subSecondMicros;
    // Days since 24 November 4714 BC, with the fraction of the day.
    case 'julian': return Number(micros) / 86_400_000_000 + 2_440_588;
    case 'dow': return d.getUTCDay();
    case 'isodow': return d.getUTCDay() === 0 ? 7 : d.getUTCDay();
    case 'doy': return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
    case 'week': {
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      const dayNum = (t.getUTCDay() + 6) % 7;
      t.setUTCDate(t.getUTCDate() - dayNum + 3);
      const firstThursday = new Date(Date.UTC(t.getUTCFullYear(), 0, 4));
      return 1 + Math.round(((t.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
    }
    default:
      throw new SluiceError('invalid_parameter', `unit "${field}" not recognized for extract`, { hint: 'Use epoch, year, quarter, month, week, day, dow, doy, hour, minute or second.' });
  }
}

/**
 * A field of a timestamptz: of its wall-clock time in `zone`, except the epoch (the instant's)
 * and the zone fields (its offset there, in seconds, whole hours and the minutes left).
 */
export function extractZonedField(field: string, micros: bigint, zone: TimeZone): number {
  const f = field.toLowerCase();
  if (f === 'epoch') return Number(micros) / 1e6;
  const offset = zone.offsetAt(floorSeconds(micros));
  if (f === 'timezone') return offset;
  // `|| 0`: never -0 (a zone west of UTC with whole hours has timezone_minute 0).
  if (f === 'timezone_hour') return Math.trunc(offset / 3600) || 0;
  if (f === 'timezone_minute') return Math.trunc((offset % 3600) / 60) || 0;
  return extractField(f, micros + BigInt(offset) * 1_000_000n, 'timestamp');
}

const extract: ScalarFunction = (args, argExprs) => {
  const srcType = argExprs[1]!.type;
  return (b, ctx) => {
    const zone = ctx.zone ?? UTC;
    const k = rowWise('double', srcType === 'timestamptz' ? ([f, t]) => extractZonedField(f as string, t as bigint, zone) : ([f, t]) => extractField(f as string, t as bigint | string, srcType));
    return k(evalAll(args, b, ctx), b.length, ctx);
  };
};

/** The scale of EXTRACT's NUMERIC result by field: seconds and the epoch to microseconds, milliseconds to microseconds too. */
function extractScale(f: string): number {
  if (f === 'second' || f === 'seconds' || f === 'epoch') return 6;
  if (f === 'millisecond' || f === 'milliseconds') return 3;
  return 0;
}

/**
 * EXTRACT(field FROM x), NUMERIC since PostgreSQL 14: exact from the microseconds for the
 * seconds, milliseconds and epoch of a timestamp (an epoch of a date is whole seconds); the
 * other fields are whole numbers. date_part stays double precision.
 */
function extractNumericValue(field: string, v: bigint | string, type: SqlType, zone: TimeZone, fromDate: boolean): string {
  const f = field.toLowerCase();
  const scale = extractScale(f);
  if (type === 'interval') {
    const x = extractField(f, v, 'interval');
    return scale === 0 ? String(x) : x.toFixed(scale);
  }
  const micros = v as bigint;
  if (f === 'epoch') return fromDate ? String(micros / 1_000_000n) : formatDec({ digits: micros, scale: 6 });
  if (f === 'julian' && fromDate) return String(micros / 86_400_000_000n + 2_440_588n);
  if (scale > 0) {
    const local = type === 'timestamptz' ? micros + BigInt(zone.offsetAt(floorSeconds(micros))) * 1_000_000n : micros;
    const inMinute = ((local % 60_000_000n) + 60_000_000n) % 60_000_000n;
    return formatDec({ digits: inMinute, scale });
  }
  return String(type === 'timestamptz' ? extractZonedField(f, micros, zone) : extractField(f, micros, type));
}

const extractNumeric: ScalarFunction = (args, argExprs) => {
  const src = argExprs[1]!;
  const fromDate = src.kind === 'cast' && src.arg.type === 'date';
  return (b, ctx) => {
    const zone = ctx.zone ?? UTC;
    const k = rowWise('numeric', ([f, t]) => extractNumericValue(f as string, t as bigint | string, src.type, zone, fromDate));
    return k(evalAll(args, b, ctx), b.length, ctx);
  };
};

const SUBDAY_UNITS = new Set(['microseconds', 'microsecond', 'milliseconds', 'millisecond', 'second', 'seconds', 'minute', 'minutes', 'hour', 'hours']);

/**
 * date_trunc of a timestamptz: its wall-clock time in the zone (the third argument's, else the
 * view's) truncated, read back in that zone (PostgreSQL's rules for a start in a DST gap).
 */
const dateTruncKernel: ScalarFunction = (args, argExprs, type) => {
  if (type === 'interval') return rowWiseFunction(([u, t]) => encodeInterval(intervalTrunc(u as string, decodeInterval(t as string))))(args, argExprs, type);
  if (type === 'timestamp') return rowWiseFunction(([u, t]) => dateTrunc(u as string, t as bigint))(args, argExprs, type);
  return (b, ctx) => {
    const session = ctx.zone ?? UTC;
    const k = rowWise(type, ([u, t, z]) => {
      const zone = z === undefined ? session : zoneArgument(z as string);
      const offset = BigInt(zone.offsetAt(floorSeconds(t as bigint))) * 1_000_000n;
      const local = dateTrunc(u as string, (t as bigint) + offset);
      // Below a day the value keeps its own offset (PostgreSQL re-reads the zone from day up).
      return SUBDAY_UNITS.has((u as string).toLowerCase()) ? local - offset : localToUtc(zone, local);
    });
    return k(evalAll(args, b, ctx), b.length, ctx);
  };
};

/** The time functions' implementations. */
/**
 * A (field text, timestamp or interval) function named `name` in messages, whose result type
 * follows from its second argument's.
 */
function timeField(name: string, result: (t: SqlType) => SqlType): ScalarBinder {
  return (args, site) => {
    // date_trunc(unit, timestamptz, zone) truncates in the named zone.
    if (name === 'date_trunc' && args.length === 3) return site.make([cast(args[0]!, 'varchar'), coerceArg(name, args[1]!, 'timestamptz', args, site.pos), coerceArg(name, args[2]!, 'varchar', args, site.pos)], 'timestamptz');
    if (args.length !== 2) throw noFunction(name, args, site.pos);
    const t = args[1]!.type === 'interval' ? 'interval' : args[1]!.type === 'timestamptz' ? 'timestamptz' : 'timestamp';
    return site.make([cast(args[0]!, 'varchar'), coerceArg(name, args[1]!, t, args, site.pos)], result(t));
  };
}

export const TIME_FUNCTIONS = {
  date_trunc: byName(['date_trunc'], timeField('date_trunc', (t) => t), dateTruncKernel),
  // EXTRACT(field FROM x) is syntax the binder types itself; date_part is its function form.
  extract: byName(['date_part'], timeField('date_part', () => 'double'), extract),
  extract_numeric: bySyntax(extractNumeric),
  // now() and current_timestamp are timestamptz as in PostgreSQL; PROCTIME() (RisingWave's
  // processing time, no PostgreSQL function) stays a timestamp. Both are the epoch's batch time.
  now: byName(['now', 'proctime'], (_args, site) => site.make([], site.name === 'proctime' ? 'timestamp' : 'timestamptz'), (_args, _argExprs, type) => (b, ctx) => constantColumn(type, ctx.now, b.length)),
} satisfies Record<string, ScalarDefinition>;
