/**
 * Interval literals. sluice holds an interval as microseconds (bigint); a month counts as 30
 * days and a year as 365 days (documented in the README's limits).
 */
import { SluiceError } from './errors.js';

const UNIT_MICROS: Record<string, bigint> = {
  microsecond: 1n,
  millisecond: 1000n,
  second: 1_000_000n,
  minute: 60_000_000n,
  hour: 3_600_000_000n,
  day: 86_400_000_000n,
  week: 7n * 86_400_000_000n,
  month: 30n * 86_400_000_000n,
  year: 365n * 86_400_000_000n,
};

const UNIT_ALIASES: Record<string, string> = {
  us: 'microsecond', usec: 'microsecond', usecs: 'microsecond',
  ms: 'millisecond', msec: 'millisecond', msecs: 'millisecond',
  s: 'second', sec: 'second', secs: 'second',
  m: 'minute', min: 'minute', mins: 'minute',
  h: 'hour', hr: 'hour', hrs: 'hour',
  d: 'day', w: 'week', mon: 'month', mons: 'month', y: 'year', yr: 'year', yrs: 'year',
};

function unitMicros(u: string): bigint | undefined {
  const lower = u.toLowerCase();
  const k = UNIT_ALIASES[lower] ?? lower.replace(/s$/, '');
  return UNIT_MICROS[k];
}

/** Parses '5 seconds', '1' with unit MINUTE, '1 day 02:00:00', '500ms', '01:30:00'. */
export function parseInterval(text: string, unit = ''): bigint {
  const s = text.trim();
  if (unit) {
    const m = unitMicros(unit);
    if (m === undefined) throw new SluiceError('invalid_input', `invalid interval unit "${unit}"`);
    const n = Number(s);
    if (!Number.isFinite(n)) throw new SluiceError('invalid_input', `invalid input syntax for type interval: "${text}"`);
    return BigInt(Math.round(n * Number(m)));
  }
  let total = 0n;
  let rest = s;
  let matched = false;
  const re = /^\s*([+-]?\d+(?:\.\d+)?)\s*([A-Za-z]+)/;
  for (;;) {
    const m = re.exec(rest);
    if (!m) break;
    const um = unitMicros(m[2]!);
    if (um === undefined) throw new SluiceError('invalid_input', `invalid input syntax for type interval: "${text}"`);
    total += BigInt(Math.round(Number(m[1]) * Number(um)));
    rest = rest.slice(m[0].length);
    matched = true;
  }
  const hms = /^\s*([+-])?(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\s*$/.exec(rest);
  if (hms) {
    const sign = hms[1] === '-' ? -1 : 1;
    const micros = (Number(hms[2]) * 3600 + Number(hms[3]) * 60 + Number(hms[4] ?? 0)) * 1e6;
    total += BigInt(Math.round(sign * micros));
    return total;
  }
  if (!matched || rest.trim() !== '') {
    if (/^[+-]?\d+(\.\d+)?$/.test(s)) return BigInt(Math.round(Number(s) * 1e6));
    throw new SluiceError('invalid_input', `invalid input syntax for type interval: "${text}"`, {
      hint: "Write intervals like '5 seconds', '1 minute', '500 milliseconds' or '01:00:00'.",
    });
  }
  return total;
}

/** Formats microseconds the way PostgreSQL prints an interval ('1 day 02:00:00', '00:00:01.5'). */
export function formatInterval(micros: bigint): string {
  const neg = micros < 0n;
  let m = neg ? -micros : micros;
  const days = m / 86_400_000_000n;
  m -= days * 86_400_000_000n;
  const h = m / 3_600_000_000n;
  m -= h * 3_600_000_000n;
  const min = m / 60_000_000n;
  m -= min * 60_000_000n;
  const sec = m / 1_000_000n;
  const frac = m - sec * 1_000_000n;
  const p2 = (x: bigint) => x.toString().padStart(2, '0');
  let time = `${p2(h)}:${p2(min)}:${p2(sec)}`;
  if (frac !== 0n) time += '.' + frac.toString().padStart(6, '0').replace(/0+$/, '');
  const sign = neg ? '-' : '';
  if (days === 0n) return sign + time;
  const dayPart = `${sign}${days} day${days === 1n ? '' : 's'}`;
  return h === 0n && min === 0n && sec === 0n && frac === 0n ? dayPart : `${dayPart} ${sign}${time}`;
}
