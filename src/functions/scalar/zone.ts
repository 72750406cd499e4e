/**
 * `x AT TIME ZONE z` and its function form timezone(z, x), as PostgreSQL: a timestamp read as
 * wall-clock time in z gives the timestamptz of that instant; a timestamptz gives its wall-clock
 * time in z (a timestamp). z is a zone name (an IANA name, UTC, a POSIX form: '5' and 'UTC+5'
 * are five hours west) or an interval (that far east of UTC).
 */
import { SluiceError } from '../../common/errors.js';
import { decodeInterval, intervalSpan } from '../../common/interval.js';
import { findTimeZone, fixedZoneEast, localToUtc, utcToLocal, type TimeZone } from '../../common/time-zone.js';
import type { Value } from '../../common/types.js';
import { cast, isStringLit } from '../../planner/coercion.js';
import { byName, rowWiseFunction, type ScalarDefinition } from './scalar-function.js';
import { noFunction, type ScalarBinder } from './signature.js';

/** The zone a text argument names (AT TIME ZONE, date_trunc's third); 22023 as PostgreSQL for an unknown one. */
export function zoneArgument(name: string): TimeZone {
  const z = findTimeZone(name);
  if (!z) throw new SluiceError('invalid_parameter', `time zone "${name}" not recognized`);
  return z;
}

/** The zone an interval argument is: that far east of UTC (months and days are refused, as PostgreSQL does). */
function intervalZone(v: string): TimeZone {
  const p = decodeInterval(v);
  if (p.months !== 0 || p.days !== 0) throw new SluiceError('invalid_parameter', `interval time zone "${v}" must not include months or days`);
  return fixedZoneEast(Number(intervalSpan(p) / 1_000_000n));
}

const bindTimezone: ScalarBinder = (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  const [z, x] = args as [typeof args[0] & object, typeof args[0] & object];
  const zone = z.type === 'interval' ? z : cast(z, 'varchar');
  if (z.type !== 'interval' && z.type !== 'varchar' && z.type !== 'null') throw noFunction(site.name, args, site.pos);
  // An untyped literal or a date is a timestamptz (PostgreSQL's preferred type of the category).
  if (x.type === 'timestamp') return site.make([zone, x], 'timestamptz');
  if (x.type === 'timestamptz' || x.type === 'date' || x.type === 'null' || isStringLit(x)) return site.make([zone, cast(x, 'timestamptz')], 'timestamp');
  throw noFunction(site.name, args, site.pos);
};

export const ZONE_FUNCTIONS = {
  timezone: byName(['timezone'], bindTimezone, (args, argExprs, type) => {
    const byInterval = argExprs[0]!.type === 'interval';
    const toZone = type === 'timestamptz';
    let last: Value = null;
    let zone: TimeZone | null = null;
    return rowWiseFunction(([z, x]) => {
      if (zone === null || z !== last) {
        zone = byInterval ? intervalZone(z as string) : zoneArgument(z as string);
        last = z as Value;
      }
      return toZone ? localToUtc(zone, x as bigint) : utcToLocal(zone, x as bigint);
    })(args, argExprs, type);
  }),
} satisfies Record<string, ScalarDefinition>;
