/**
 * A hand-written parser of timestamp and date text, over bytes or a string, with no regular
 * expression and no allocation per value (a regex per value was 18 % of JSON ingest, issue 15).
 *
 * Accepted (after surrounding whitespace): `YYYY-MM-DD`, then optionally a ' ' or 'T' and
 * `H[H]:MM[:SS[.f…]]`, then optional whitespace and a zone `Z`, `±hh`, `±hhmm` or `±hh:mm`. The
 * ISO 8601 layouts (`2026-01-02T03:04:05.123Z`) and PostgreSQL's output
 * (`2026-01-02 03:04:05.123456`, `2026-01-02 03:04:05+01`) are both in this set. Fraction digits
 * after the sixth are dropped. A date that does not exist (2026-02-30), hour > 23, minute or
 * second > 59 is out of range.
 *
 * Results are microseconds since 1970-01-01 UTC (the zone subtracted); `parsed.zoned` says
 * whether the text had a zone (a timestamptz without one is read in the session's zone).
 */

/** parseTimestampBytes result: the text is not a timestamp. */
export const TS_SYNTAX = 1;
/** parseTimestampBytes result: a timestamp whose fields are out of range. */
export const TS_RANGE = 2;

/** Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (m 1–12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The parsed value of the last successful parse: whole seconds since 1970 (UTC) and the
 * microseconds within the second (0–999999). Reused, never allocated per value.
 */
export const parsed = { seconds: 0, micros: 0, zoned: false };

/**
 * Parses the timestamp text in b[start, end) into `parsed`; returns 0, TS_SYNTAX or TS_RANGE.
 * `b` holds one code unit per element (bytes of UTF-8 text, or a string's char codes copied).
 */
export function parseTimestampBytes(b: ArrayLike<number>, start: number, end: number): number {
  let i = start;
  while (i < end && isSpace(b[i]!)) i++;
  while (end > i && isSpace(b[end - 1]!)) end--;
  // YYYY-
  if (end - i < 8) return TS_SYNTAX;
  let y = 0;
  for (let k = 0; k < 4; k++) {
    const c = b[i++]!;
    if (!isDigit(c)) return TS_SYNTAX;
    y = y * 10 + c - 0x30;
  }
  if (b[i++] !== 0x2d) return TS_SYNTAX;
  // M[M]-D[D]
  let mo = 0;
  let n = 0;
  while (i < end && isDigit(b[i]!) && n < 2) {
    mo = mo * 10 + b[i++]! - 0x30;
    n++;
  }
  if (n === 0 || i >= end || b[i++] !== 0x2d) return TS_SYNTAX;
  let d = 0;
  n = 0;
  while (i < end && isDigit(b[i]!) && n < 2) {
    d = d * 10 + b[i++]! - 0x30;
    n++;
  }
  if (n === 0) return TS_SYNTAX;
  let h = 0;
  let mi = 0;
  let s = 0;
  let frac = 0;
  if (i < end && (b[i] === 0x20 || b[i] === 0x54) && i + 1 < end && isDigit(b[i + 1]!)) {
    i++;
    n = 0;
    while (i < end && isDigit(b[i]!) && n < 2) {
      h = h * 10 + b[i++]! - 0x30;
      n++;
    }
    if (i + 2 >= end || b[i] !== 0x3a || !isDigit(b[i + 1]!) || !isDigit(b[i + 2]!)) return TS_SYNTAX;
    mi = (b[i + 1]! - 0x30) * 10 + b[i + 2]! - 0x30;
    i += 3;
    if (i < end && b[i] === 0x3a) {
      if (i + 2 >= end || !isDigit(b[i + 1]!) || !isDigit(b[i + 2]!)) return TS_SYNTAX;
      s = (b[i + 1]! - 0x30) * 10 + b[i + 2]! - 0x30;
      i += 3;
      if (i < end && b[i] === 0x2e) {
        i++;
        if (i >= end || !isDigit(b[i]!)) return TS_SYNTAX;
        n = 0;
        while (i < end && isDigit(b[i]!)) {
          if (n < 6) frac = frac * 10 + b[i]! - 0x30;
          n++;
          i++;
        }
        for (; n < 6; n++) frac *= 10;
      }
    }
  }
  while (i < end && isSpace(b[i]!)) i++;
  let offset = 0;
  parsed.zoned = i < end;
  if (i < end) {
    const c = b[i]!;
    if (c === 0x5a /* Z */) {
      i++;
    } else if (c === 0x2b || c === 0x2d) {
      i++;
      if (i + 1 >= end || !isDigit(b[i]!) || !isDigit(b[i + 1]!)) return TS_SYNTAX;
      let oh = (b[i]! - 0x30) * 10 + b[i + 1]! - 0x30;
      let om = 0;
      i += 2;
      if (i < end) {
        if (b[i] === 0x3a) i++;
        if (i + 1 >= end || !isDigit(b[i]!) || !isDigit(b[i + 1]!)) return TS_SYNTAX;
        om = (b[i]! - 0x30) * 10 + b[i + 1]! - 0x30;
        i += 2;
      }
      oh = oh * 3600 + om * 60;
      offset = c === 0x2d ? -oh : oh;
    } else {
      return TS_SYNTAX;
    }
  }
  if (i !== end) return TS_SYNTAX;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return TS_RANGE;
  parsed.seconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  parsed.micros = frac;
  return 0;
}

function digit2(b: Uint8Array, i: number): number {
  const h = b[i]! - 0x30;
  const l = b[i + 1]! - 0x30;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : NaN;
}

/** The day number of the last date plainTimestampMicros saw (a feed's timestamps share few dates). */
let lastDate = -1;
let lastDays = 0;

/**
 * Where plainTimestampMicrosInto leaves its result. A double returned from a function V8 does
 * not inline is boxed as a heap number, one per value, and the scanner's were allocated straight
 * into the old generation (18 of the 46 MB Nexmark q1's major collections freed).
 */
export const PLAIN_MICROS = new Float64Array(1);

/** plainTimestampMicrosInto's result: the microseconds, or NaN where it returns false. */
export function plainTimestampMicros(b: Uint8Array, start: number, end: number): number {
  return plainTimestampMicrosInto(b, start, end) ? PLAIN_MICROS[0]! : NaN;
}

/**
 * The fast path for the layout feeds write most: exactly `YYYY-MM-DD`, or that with ' ' or 'T'
 * and `HH:MM:SS`, and optionally '.' and 1–6 fraction digits, nothing around it — as
 * microseconds since 1970, left in PLAIN_MICROS[0]. False for anything else, including fields
 * out of range, where parseTimestampBytes decides (it accepts every text this does, with the same
 * value).
 */
export function plainTimestampMicrosInto(b: Uint8Array, start: number, end: number): boolean {
  const len = end - start;
  if (len !== 10 && (len < 19 || len === 20 || len > 26)) return false;
  const y = digit2(b, start) * 100 + digit2(b, start + 2);
  const mo = digit2(b, start + 5);
  const d = digit2(b, start + 8);
  if (b[start + 4] !== 0x2d || b[start + 7] !== 0x2d || !(y >= 0 && mo >= 1 && mo <= 12 && d >= 1)) return false;
  const key = y * 10000 + mo * 100 + d;
  let days: number;
  if (key === lastDate) {
    days = lastDays;
  } else {
    if (!(d <= daysInMonth(y, mo))) return false;
    days = daysFromCivil(y, mo, d);
    lastDate = key;
    lastDays = days;
  }
  if (len === 10) {
    if (!(days > -SAFE_DAYS && days < SAFE_DAYS)) return false;
    PLAIN_MICROS[0] = days * 86_400_000_000;
    return true;
  }
  const t = b[start + 10];
  if ((t !== 0x20 && t !== 0x54) || b[start + 13] !== 0x3a || b[start + 16] !== 0x3a) return false;
  const h = digit2(b, start + 11);
  const mi = digit2(b, start + 14);
  const s = digit2(b, start + 17);
  if (!(h <= 23 && mi <= 59 && s <= 59)) return false;
  let frac = 0;
  if (len > 19) {
    if (b[start + 19] !== 0x2e) return false;
    for (let i = start + 20; i < end; i++) {
      const c = b[i]! - 0x30;
      if (c < 0 || c > 9) return false;
      frac = frac * 10 + c;
    }
    frac *= FRACTION_SCALE[len - 20]!;
  }
  const seconds = days * 86400 + h * 3600 + mi * 60 + s;
  // Beyond about the year 2255 the microseconds are no longer exact as a number.
  if (!(seconds > -SAFE_SECONDS && seconds < SAFE_SECONDS)) return false;
  PLAIN_MICROS[0] = seconds * 1e6 + frac;
  return true;
}

/** FRACTION_SCALE[n]: microseconds per unit of an n-digit fraction. */
const FRACTION_SCALE = [0, 100000, 10000, 1000, 100, 10, 1];

/** Most seconds whose microseconds are still a safe integer. */
const SAFE_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e6) - 1;
const SAFE_DAYS = Math.floor(SAFE_SECONDS / 86400);

/** `parsed` as microseconds, a number when that is exact, else NaN (use parsedMicrosBig). */
export function parsedMicros(): number {
  const sec = parsed.seconds;
  return sec > -SAFE_SECONDS && sec < SAFE_SECONDS ? sec * 1e6 + parsed.micros : NaN;
}

/** `parsed` as microseconds, exactly. */
export function parsedMicrosBig(): bigint {
  const v = parsedMicros();
  return Number.isNaN(v) ? BigInt(parsed.seconds) * 1_000_000n + BigInt(parsed.micros) : BigInt(v);
}

/** `parsed` as days since 1970 (the date the UTC instant falls on). */
export function parsedDays(): number {
  return Math.floor(parsed.seconds / 86400);
}

/** Scratch for strings: their char codes are copied here so one parser serves both. */
const SCRATCH = new Uint16Array(128);

/** parseTimestampBytes over a string; returns 0, TS_SYNTAX or TS_RANGE. */
export function parseTimestampString(s: string): number {
  let len = s.length;
  if (len > SCRATCH.length) {
    // Only whitespace can make a valid timestamp this long: trim it (Unicode spaces too).
    s = s.trim();
    len = s.length;
    if (len > SCRATCH.length) return TS_SYNTAX;
  }
  for (let k = 0; k < len; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) return parseTimestampString2(s.trim());
    SCRATCH[k] = c;
  }
  return parseTimestampBytes(SCRATCH, 0, len);
}

/** The non-ASCII case: after trim() no non-ASCII may remain. */
function parseTimestampString2(s: string): number {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) >= 0x80) return TS_SYNTAX;
  return parseTimestampString(s);
}
