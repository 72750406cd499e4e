/**
 * Time scalar functions: date_trunc, extract / date_part and now() (to_char and the other
 * calendar functions are in calendar.ts). Timestamps are
 * microseconds since the epoch, in UTC.
 */
import { constantColumn } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SqlType } from '../../common/types.js';
import { cast } from '../../planner/coercion.js';
import { byName, rowWise, evalAll, rowWiseFunction, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { coerceArg, noFunction, type ScalarBinder } from './signature.js';

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

/** A field (year, month, epoch, …) of a timestamp or interval in microseconds. */
export function extractField(field: string, micros: bigint, type: SqlType): number {
  const f = field.toLowerCase();
  if (type === 'interval') {
    const us = Number(micros);
    switch (f) {
      case 'epoch': return us / 1e6;
      case 'day': case 'days': return Math.trunc(us / 8.64e10);
      case 'hour': case 'hours': return Math.trunc((us % 8.64e10) / 3.6e9);
      case 'minute': case 'minutes': return Math.trunc((us % 3.6e9) / 6e7);
      case 'second': case 'seconds': return (us % 6e7) / 1e6;
      default: throw new SluiceError('invalid_parameter', `interval unit "${field}" not supported`);
    }
  }
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

const extract: ScalarFunction = (args, argExprs) => {
  const srcType = argExprs[1]!.type;
  const k = rowWise('double', ([f, t]) => extractField(f as string, t as bigint, srcType));
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

/** The time functions' implementations. */
/**
 * A (field text, timestamp or interval) function named `name` in messages, whose result type
 * follows from its second argument's.
 */
function timeField(name: string, result: (t: SqlType) => SqlType): ScalarBinder {
  return (args, site) => {
    if (args.length !== 2) throw noFunction(name, args, site.pos);
    const t = args[1]!.type === 'interval' ? 'interval' : 'timestamp';
    return site.make([cast(args[0]!, 'varchar'), coerceArg(name, args[1]!, t, args, site.pos)], result(t));
  };
}

export const TIME_FUNCTIONS = {
  date_trunc: byName(['date_trunc'], timeField('date_trunc', (t) => t), rowWiseFunction(([u, t]) => dateTrunc(u as string, t as bigint))),
  // EXTRACT(field FROM x) is syntax the binder types itself; date_part is its function form.
  extract: byName(['date_part'], timeField('date_part', () => 'double'), extract),
  now: byName(['now', 'proctime'], (_args, site) => site.make([], 'timestamp'), () => (b, ctx) => constantColumn('timestamp', ctx.now, b.length)),
} satisfies Record<string, ScalarDefinition>;
