/**
 * INTERVAL as PostgreSQL keeps it: months, days and microseconds, three fields apart (a month is
 * not a fixed number of days, a day is not always 24 hours). Every operation here follows
 * PostgreSQL 15's (interval_in, interval_out, interval_pl/mi/mul/div, timestamp_pl_interval,
 * justify_*, interval_cmp).
 *
 * The value form (a column holds it as Utf8, like NUMERIC's text) is a fixed-width hexadecimal
 * string that sorts as PostgreSQL orders intervals:
 *
 *   SSSSSSSSSSSSSSSSSSSSS MMMMMMMM DDDDDDDD   (21 + 8 + 8 characters, no spaces)
 *
 * S is the span — months·30 days + days·24 h + micros, PostgreSQL's comparison value — plus 2^80;
 * M and D are months and days plus 2^31. The micros are the span less months and days. So a
 * plain string comparison orders by span (ties by months, then days), and two intervals are
 * equal in SQL ('1 mon' = '30 days') exactly when their first SPAN_LEN characters are.
 */
import { daysFromCivil } from './timestamp-text.js';
import { SluiceError } from './errors.js';
import { localToUtc, utcToLocal, type TimeZone } from './time-zone.js';

/** An interval as PostgreSQL keeps it: months, days and microseconds, each with its own sign. */
export interface IntervalParts {
  readonly months: number;
  readonly days: number;
  readonly micros: bigint;
}

export const DAY_US = 86_400_000_000n;
const MONTH_US = 30n * DAY_US;
const SPAN_BIAS = 1n << 80n;
const FIELD_BIAS = 2 ** 31;
/** The characters of an interval value that hold its span (what SQL equality and order see). */
export const SPAN_LEN = 21;
const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const I32_MAX = 2147483647;
const I32_MIN = -2147483648;

export const ZERO_INTERVAL: IntervalParts = { months: 0, days: 0, micros: 0n };

/** PostgreSQL's comparison value of an interval: a month is 30 days, a day 24 hours. */
export function intervalSpan(p: IntervalParts): bigint {
  return BigInt(p.months) * MONTH_US + BigInt(p.days) * DAY_US + p.micros;
}

function outOfRange(): SluiceError {
  return new SluiceError('datetime_field_overflow', 'interval out of range');
}

/** The parts checked against PostgreSQL's field widths (int32 months and days, int64 micros). */
export function checkedInterval(months: number, days: number, micros: bigint): IntervalParts {
  if (!Number.isInteger(months) || !Number.isInteger(days) || months > I32_MAX || months < I32_MIN || days > I32_MAX || days < I32_MIN || micros > I64_MAX || micros < I64_MIN) throw outOfRange();
  return { months: months === 0 ? 0 : months, days: days === 0 ? 0 : days, micros };
}

/** The value form of an interval (see the header). */
export function encodeInterval(p: IntervalParts): string {
  const span = intervalSpan(p) + SPAN_BIAS;
  return span.toString(16).padStart(SPAN_LEN, '0') + (p.months + FIELD_BIAS).toString(16).padStart(8, '0') + (p.days + FIELD_BIAS).toString(16).padStart(8, '0');
}

/** The parts of an interval value. */
export function decodeInterval(v: string): IntervalParts {
  const months = parseInt(v.slice(SPAN_LEN, SPAN_LEN + 8), 16) - FIELD_BIAS;
  const days = parseInt(v.slice(SPAN_LEN + 8, SPAN_LEN + 16), 16) - FIELD_BIAS;
  const span = BigInt('0x' + v.slice(0, SPAN_LEN)) - SPAN_BIAS;
  return { months, days, micros: span - BigInt(months) * MONTH_US - BigInt(days) * DAY_US };
}

/** The span of an interval value in microseconds. */
export function spanOfValue(v: string): bigint {
  return BigInt('0x' + v.slice(0, SPAN_LEN)) - SPAN_BIAS;
}

/** The part of an interval value SQL equality sees: equal keys ⇔ equal intervals ('1 mon' = '30 days'). */
export function intervalKey(v: string): string {
  return v.slice(0, SPAN_LEN);
}

/** SQL comparison of two interval values (by span). */
export function compareIntervals(a: string, b: string): number {
  const x = a.slice(0, SPAN_LEN);
  const y = b.slice(0, SPAN_LEN);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The interval value of a number of microseconds (no months or days). */
export function microsInterval(micros: bigint): string {
  return encodeInterval(checkedInterval(0, 0, micros));
}

// ---------------------------------------------------------------------------------------------
// Input (interval_in): '1 year 2 mons', '1 day 02:00:00', '-1 days +02:00', '500ms', '5',
// '1.5 months', '2 hours ago', '@ 1 minute', ISO 8601 'P1Y2M3DT4H5M6S'.

type Unit = 'us' | 'ms' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year' | 'decade' | 'century' | 'millennium';

const UNITS: Record<string, Unit> = {};
for (const [u, names] of Object.entries({
  us: 'microsecond microseconds microsecon us usec usecs useconds',
  ms: 'millisecond milliseconds millisecon ms msec msecs mseconds',
  second: 's sec secs second seconds',
  minute: 'm min mins minute minutes',
  hour: 'h hour hours hr hrs',
  day: 'd day days',
  week: 'w week weeks',
  month: 'mon mons month months',
  year: 'y year years yr yrs',
  decade: 'dec decs decade decades',
  century: 'c cent century centuries',
  millennium: 'mil mils millennia millennium',
} satisfies Record<Unit, string>)) {
  for (const n of names.split(' ')) UNITS[n] = u as Unit;
}

/** The accumulator of interval_in (PostgreSQL's pg_itm_in): whole months, days and micros. */
class Acc {
  months = 0;
  days = 0;
  micros = 0n;

  /** AdjustFractMicroseconds: frac·scale µs, the fraction of a microsecond rounded half to even. */
  fractMicros(frac: number, scale: number): void {
    if (frac === 0) return;
    const f = frac * scale;
    const whole = Math.trunc(f);
    this.micros += BigInt(whole) + BigInt(rint(f - whole));
  }

  fractDays(frac: number, scale: number): void {
    if (frac === 0) return;
    const f = frac * scale;
    const extra = Math.trunc(f);
    this.days += extra;
    this.fractMicros(f - extra, Number(DAY_US));
  }

  add(unit: Unit, whole: number, frac: number): void {
    switch (unit) {
      case 'us': this.micros += BigInt(whole); this.fractMicros(frac, 1); break;
      case 'ms': this.micros += BigInt(whole) * 1000n; this.fractMicros(frac, 1000); break;
      case 'second': this.micros += BigInt(whole) * 1_000_000n; this.fractMicros(frac, 1e6); break;
      case 'minute': this.micros += BigInt(whole) * 60_000_000n; this.fractMicros(frac, 6e7); break;
      case 'hour': this.micros += BigInt(whole) * 3_600_000_000n; this.fractMicros(frac, 3.6e9); break;
      case 'day': this.days += whole; this.fractMicros(frac, Number(DAY_US)); break;
      case 'week': this.days += whole * 7; this.fractDays(frac, 7); break;
      case 'month': this.months += whole; this.fractDays(frac, 30); break;
      case 'year': this.months += whole * 12 + rint(frac * 12); break;
      case 'decade': this.months += whole * 120 + rint(frac * 120); break;
      case 'century': this.months += whole * 1200 + rint(frac * 1200); break;
      case 'millennium': this.months += whole * 12000 + rint(frac * 12000); break;
    }
  }
}

/** C's rint: round half to even. */
export function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A number's integer part and its fraction (read from its own digits, as PostgreSQL's strtod of them), both with its sign. */
function splitNumber(text: string): { whole: number; frac: number } {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error('bad number');
  const sign = m[1] === '-' ? -1 : 1;
  const whole = Number(m[2] || '0');
  const frac = m[3] ? Number(`0.${m[3]}`) : 0;
  if (!Number.isFinite(whole)) throw new Error('bad number');
  return { whole: whole === 0 ? 0 : sign * whole, frac: frac === 0 ? 0 : sign * frac };
}

const NUM = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const TIME = /^([+-])?(\d+):(\d+)(?::(\d+(?:\.\d*)?))?$/;
const MIN_SEC = /^([+-])?(\d+):(\d+\.\d*)$/;

function parseIso(s: string, acc: Acc): boolean {
  const m = /^p(?:([+-]?[\d.]+)y)?(?:([+-]?[\d.]+)m)?(?:([+-]?[\d.]+)w)?(?:([+-]?[\d.]+)d)?(?:t(?:([+-]?[\d.]+)h)?(?:([+-]?[\d.]+)m)?(?:([+-]?[\d.]+)s)?)?$/.exec(s);
  if (!m || s === 'p' || s.endsWith('t')) return false;
  const units: Unit[] = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  units.forEach((u, k) => {
    const t = m[k + 1];
    if (t === undefined) return;
    if (!NUM.test(t)) throw new Error('bad number');
    const { whole, frac } = splitNumber(t);
    acc.add(u, whole, frac);
  });
  return true;
}

/**
 * Parses interval text as PostgreSQL's interval_in does. `unit` is a literal's qualifier
 * (`INTERVAL '1' DAY`, `… HOUR TO MINUTE`): the unit of a trailing bare number.
 */
export function parseIntervalParts(text: string, unit = ''): IntervalParts {
  const bad = () => new SluiceError('invalid_datetime_format', `invalid input syntax for type interval: "${text}"`, {
    hint: "Write intervals like '5 seconds', '1 day 02:00:00', '1 year 2 mons' or '-1 days +02:00'.",
  });
  let s = text.trim().toLowerCase();
  if (s.startsWith('@')) s = s.slice(1).trim();
  const acc = new Acc();
  try {
    if (s.startsWith('p')) {
      if (!parseIso(s, acc)) throw bad();
      return checkedInterval(acc.months, acc.days, acc.micros);
    }
    // Tokens: numbers, times, words; '500ms' is a number then a word.
    const tokens = s.match(/[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?::\d+(?:\.\d*)?)*|[a-z]+|\S/g) ?? [];
    if (tokens.length === 0) throw bad();
    let ago = false;
    if (tokens[tokens.length - 1] === 'ago') {
      ago = true;
      tokens.pop();
    }
    const qualifier = unit.trim().toLowerCase().split(/\s+/).pop() ?? '';
    let pending: Unit | null = qualifier === '' ? null : (UNITS[qualifier] ?? null);
    if (qualifier !== '' && pending === null) throw new SluiceError('invalid_parameter', `invalid interval unit "${unit}"`);
    let seen = false;
    // Right to left, as PostgreSQL reads them: a unit word names the number before it, and a
    // number just before a time is days.
    for (let i = tokens.length - 1; i >= 0; i--) {
      const t = tokens[i]!;
      if (UNITS[t] !== undefined) {
        if (i === 0 || !NUM.test(tokens[i - 1]!)) throw bad();
        const { whole, frac } = splitNumber(tokens[i - 1]!);
        acc.add(UNITS[t], whole, frac);
        i--;
        seen = true;
        pending = null;
        continue;
      }
      const tm = TIME.exec(t) ?? null;
      if (tm) {
        const sign = tm[1] === '-' ? -1n : 1n;
        const sec = tm[4] === undefined ? { whole: 0, frac: 0 } : splitNumber(tm[4]);
        const micros = (BigInt(tm[2]!) * 3600n + BigInt(tm[3]!) * 60n + BigInt(sec.whole)) * 1_000_000n + BigInt(rint(sec.frac * 1e6));
        acc.micros += sign * micros;
        seen = true;
        pending = 'day';
        continue;
      }
      const ms = MIN_SEC.exec(t);
      if (ms) {
        const sec = splitNumber(ms[3]!);
        const micros = (BigInt(ms[2]!) * 60n + BigInt(sec.whole)) * 1_000_000n + BigInt(rint(sec.frac * 1e6));
        acc.micros += (ms[1] === '-' ? -1n : 1n) * micros;
        seen = true;
        pending = 'day';
        continue;
      }
      if (NUM.test(t)) {
        const { whole, frac } = splitNumber(t);
        acc.add(pending ?? 'second', whole, frac);
        seen = true;
        pending = null;
        continue;
      }
      throw bad();
    }
    if (!seen) throw bad();
    if (ago) return checkedInterval(-acc.months, -acc.days, -acc.micros);
    return checkedInterval(acc.months, acc.days, acc.micros);
  } catch (e) {
    if (e instanceof SluiceError) throw e;
    throw bad();
  }
}

/** Parses interval text into an interval value. */
export function parseInterval(text: string, unit = ''): string {
  return encodeInterval(parseIntervalParts(text, unit));
}

/**
 * A duration in microseconds (window sizes, watermarks, settings, options): interval text whose
 * months are refused — a month has no fixed length — and whose days are 24 hours.
 */
export function parseDuration(text: string, what = 'a duration'): bigint {
  return durationMicros(parseIntervalParts(text), what);
}

/** The microseconds of an interval used as a fixed duration; months are refused (0A000). */
export function durationMicros(p: IntervalParts, what = 'a duration'): bigint {
  if (p.months !== 0) {
    throw new SluiceError('not_supported', `${what} cannot be an interval with months or years`, {
      hint: "A month has no fixed length; write the duration in days, hours, minutes or seconds (e.g. '30 days').",
    });
  }
  return BigInt(p.days) * DAY_US + p.micros;
}

// ---------------------------------------------------------------------------------------------
// Output (interval_out with IntervalStyle postgres).

const p2 = (x: bigint) => x.toString().padStart(2, '0');

/** PostgreSQL's text of an interval: '1 year 2 mons 3 days 04:05:06.5', '-1 days +02:00:00'. */
export function formatIntervalParts(p: IntervalParts): string {
  const out: string[] = [];
  let isZero = true;
  let isBefore = false;
  const part = (value: number, unit: string) => {
    if (value === 0) return;
    out.push(`${isZero ? '' : ' '}${isBefore && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`);
    isBefore = value < 0;
    isZero = false;
  };
  part(Math.trunc(p.months / 12), 'year');
  part(p.months % 12, 'mon');
  part(p.days, 'day');
  const t = p.micros;
  if (isZero || t !== 0n) {
    const minus = t < 0n;
    let m = minus ? -t : t;
    const h = m / 3_600_000_000n;
    m -= h * 3_600_000_000n;
    const min = m / 60_000_000n;
    m -= min * 60_000_000n;
    const sec = m / 1_000_000n;
    const frac = m - sec * 1_000_000n;
    let time = `${p2(h)}:${p2(min)}:${p2(sec)}`;
    if (frac !== 0n) time += '.' + frac.toString().padStart(6, '0').replace(/0+$/, '');
    out.push(`${isZero ? '' : ' '}${minus ? '-' : isBefore ? '+' : ''}${time}`);
  }
  return out.join('');
}

/** PostgreSQL's text of an interval value. */
export function formatInterval(v: string): string {
  return formatIntervalParts(decodeInterval(v));
}

/** A duration in microseconds as PostgreSQL prints the interval of it justified to days ('1 day 02:00:00'). */
export function formatDuration(micros: bigint): string {
  const days = micros / DAY_US;
  return formatIntervalParts({ months: 0, days: Number(days), micros: micros - days * DAY_US });
}

// ---------------------------------------------------------------------------------------------
// Arithmetic.

export function addIntervals(a: IntervalParts, b: IntervalParts): IntervalParts {
  return checkedInterval(a.months + b.months, a.days + b.days, a.micros + b.micros);
}

export function negateInterval(a: IntervalParts): IntervalParts {
  return checkedInterval(-a.months, -a.days, -a.micros);
}

export function subIntervals(a: IntervalParts, b: IntervalParts): IntervalParts {
  return checkedInterval(a.months - b.months, a.days - b.days, a.micros - b.micros);
}

/** TSROUND: a double rounded to microsecond precision. */
function tsRound(x: number): number {
  return rint(x * 1e6) / 1e6;
}

/**
 * interval * factor (op 'mul') or interval / factor ('div') as PostgreSQL's interval_mul and
 * interval_div: months and days are truncated and their fractions cascade down into days and
 * time.
 */
export function scaleInterval(a: IntervalParts, factor: number, op: 'mul' | 'div'): IntervalParts {
  if (op === 'div' && factor === 0) throw new SluiceError('division_by_zero', 'division by zero');
  const f = (x: number) => (op === 'mul' ? x * factor : x / factor);
  const mDouble = f(a.months);
  const dDouble = f(a.days);
  if (Number.isNaN(mDouble) || mDouble > I32_MAX || mDouble < I32_MIN || Number.isNaN(dDouble) || dDouble > I32_MAX || dDouble < I32_MIN) throw outOfRange();
  const months = Math.trunc(mDouble);
  let days = Math.trunc(dDouble);
  const monthRemainderDays = tsRound((mDouble - months) * 30);
  let secRemainder = tsRound((dDouble - days + monthRemainderDays - Math.trunc(monthRemainderDays)) * 86400);
  if (Math.abs(secRemainder) >= 86400) {
    const extra = Math.trunc(secRemainder / 86400);
    days += extra;
    secRemainder -= extra * 86400;
  }
  days += Math.trunc(monthRemainderDays);
  const time = rint(f(Number(a.micros)) + secRemainder * 1e6);
  if (!Number.isFinite(time) || time >= 2 ** 63 || time < -(2 ** 63)) throw outOfRange();
  return checkedInterval(months, days, BigInt(time));
}

// ---------------------------------------------------------------------------------------------
// Timestamps (µs since 1970, UTC) plus intervals.

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m - 1]!;
}


/** The proleptic Gregorian date of days since 1970-01-01. */
export function civilFromDays(z0: number): { y: number; m: number; d: number } {
  const z = z0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** Splits a timestamp into days since 1970 and the microseconds into that day. */
export function splitTimestamp(ts: bigint): { day: number; time: bigint } {
  let day = ts / DAY_US;
  let time = ts - day * DAY_US;
  if (time < 0n) {
    time += DAY_US;
    day -= 1n;
  }
  return { day: Number(day), time };
}

/** Adds whole months to a timestamp, the day clamped to the last of the month (Jan 31 + 1 mon = Feb 28). */
export function addMonths(ts: bigint, months: number): bigint {
  if (months === 0) return ts;
  const { day, time } = splitTimestamp(ts);
  const { y, m, d } = civilFromDays(day);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = total - ny * 12 + 1;
  const nd = Math.min(d, daysInMonth(ny, nm));
  return BigInt(daysFromCivil(ny, nm, nd)) * DAY_US + time;
}

/** timestamp + interval (timestamp_pl_interval): months on the calendar, then days, then time. */
export function addIntervalToTimestamp(ts: bigint, p: IntervalParts): bigint {
  const r = addMonths(ts, p.months) + BigInt(p.days) * DAY_US + p.micros;
  if (r < MIN_TS || r >= MAX_TS) throw new SluiceError('datetime_field_overflow', 'timestamp out of range');
  return r;
}

/**
 * timestamptz + interval (timestamptz_pl_interval): months, then days, each added to the
 * wall-clock time in `zone` and read back there (so a day is 23 or 25 hours across a DST change);
 * the time part is added to the instant.
 */
export function addIntervalToTimestamptz(ts: bigint, p: IntervalParts, zone: TimeZone): bigint {
  let t = ts;
  if (p.months !== 0) t = localToUtc(zone, addMonths(utcToLocal(zone, t), p.months));
  if (p.days !== 0) t = localToUtc(zone, utcToLocal(zone, t) + BigInt(p.days) * DAY_US);
  const r = t + p.micros;
  if (r < MIN_TS || r >= MAX_TS) throw new SluiceError('datetime_field_overflow', 'timestamp out of range');
  return r;
}

/** PostgreSQL's timestamp range: 4713 BC to 294276 AD. */
const MIN_TS = -210_866_803_200_000_000n;
const MAX_TS = 9_224_318_016_000_000_000n;

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
  return checkedInterval(p.months, days, micros);
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
  return checkedInterval(months, days, p.micros);
}

/** justify_interval (PostgreSQL 15): days and time first, then months, the three signs made to agree. */
export function justifyInterval(p: IntervalParts): IntervalParts {
  let months = p.months;
  let days = p.days;
  let micros = p.micros;
  // Whole 30-day spans of the days move up first when days and time agree in sign (as PostgreSQL's).
  if ((days > 0 && micros > 0n) || (days < 0 && micros < 0n)) {
    months += Math.trunc(days / 30);
    days %= 30;
  }
  days += Number(micros / DAY_US);
  micros %= DAY_US;
  months += Math.trunc(days / 30);
  days %= 30;
  if (months > 0 && (days < 0 || (days === 0 && micros < 0n))) {
    days += 30;
    months--;
  } else if (months < 0 && (days > 0 || (days === 0 && micros > 0n))) {
    days -= 30;
    months++;
  }
  if (days > 0 && micros < 0n) {
    micros += DAY_US;
    days--;
  } else if (days < 0 && micros > 0n) {
    micros -= DAY_US;
    days++;
  }
  return checkedInterval(months, days, micros);
}

/** timestamp - timestamp (timestamp_mi): the difference as days and time, never months. */
export function timestampDifference(a: bigint, b: bigint): IntervalParts {
  return justifyHours(checkedInterval(0, 0, a - b));
}
