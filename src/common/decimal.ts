/**
 * Exact decimal arithmetic for NUMERIC, with PostgreSQL's rules for result scales. A NUMERIC
 * value is held as its canonical text (`-12.50`: optional minus, no leading zeros, the digits
 * of its scale after the point, `0` not `-0`); the arithmetic works on a scaled bigint
 * `{ digits, scale }` (value = digits × 10^-scale). NaN and ±Infinity are not supported.
 */
import { SluiceError } from './errors.js';
import type { Value } from './types.js';

/** A decimal number: digits × 10^-scale, scale ≥ 0. */
export interface Dec {
  readonly digits: bigint;
  readonly scale: number;
}

/** PostgreSQL's NUMERIC_MIN_SIG_DIGITS: a quotient has at least this many significant digits. */
const MIN_SIG_DIGITS = 16;
/** PostgreSQL's NUMERIC_MAX_DISPLAY_SCALE. */
const MAX_DISPLAY_SCALE = 1000;

const POW10: bigint[] = [1n];
/** 10^n as a bigint. */
export function pow10(n: number): bigint {
  for (let k = POW10.length; k <= n; k++) POW10.push(POW10[k - 1]! * 10n);
  return POW10[n]!;
}

const CANONICAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const INPUT = /^([+-])?(\d+\.?\d*|\.\d+)(?:e([+-]?\d+))?$/i;

/** Parses NUMERIC input text (`12`, `-1.50`, `.5`, `1e3`, `1.5E-2`), as PostgreSQL's numeric_in. */
export function parseDec(text: string): Dec {
  const t = text.trim();
  const m = INPUT.exec(t);
  if (!m) {
    if (/^[+-]?(nan|inf|infinity)$/i.test(t)) {
      throw new SluiceError('not_supported', `NUMERIC ${t} is not supported`, { hint: 'sluice\'s NUMERIC holds finite values only; use DOUBLE PRECISION for NaN and Infinity.' });
    }
    throw new SluiceError('invalid_input', `invalid input syntax for type numeric: "${text}"`);
  }
  const body = m[2]!;
  const dot = body.indexOf('.');
  const intPart = dot < 0 ? body : body.slice(0, dot);
  const frac = dot < 0 ? '' : body.slice(dot + 1);
  let digits = BigInt((intPart + frac) || '0');
  let scale = frac.length;
  if (m[3] !== undefined) {
    const exp = Number(m[3]);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) throw new SluiceError('numeric_out_of_range', 'value overflows numeric format');
    // PostgreSQL: the display scale is the written one less the exponent, never below 0.
    scale -= exp;
    if (scale < 0) {
      digits *= pow10(-scale);
      scale = 0;
    }
  }
  return { digits: m[1] === '-' ? -digits : digits, scale };
}

/** The canonical text of a decimal. */
export function formatDec(d: Dec): string {
  const neg = d.digits < 0n;
  let s = (neg ? -d.digits : d.digits).toString();
  if (d.scale > 0) {
    if (s.length <= d.scale) s = '0'.repeat(d.scale - s.length + 1) + s;
    s = `${s.slice(0, s.length - d.scale)}.${s.slice(s.length - d.scale)}`;
  }
  return neg ? '-' + s : s;
}

/** The canonical NUMERIC text of input text (the text itself when it already is canonical). */
export function canonicalDecimal(text: string): string {
  return CANONICAL.test(text) && text !== '-0' && !/^-0\.0*$/.test(text) ? text : formatDec(parseDec(text));
}

/** The decimal of a canonical NUMERIC text (fast: no validation beyond the parse). */
export function decOf(text: string): Dec {
  const dot = text.indexOf('.');
  if (dot < 0) return { digits: BigInt(text), scale: 0 };
  return { digits: BigInt(text.slice(0, dot) + text.slice(dot + 1)), scale: text.length - dot - 1 };
}

/** `d` with scale raised to `scale` (≥ d.scale). */
function rescaleUp(d: Dec, scale: number): bigint {
  return scale === d.scale ? d.digits : d.digits * pow10(scale - d.scale);
}

export function addDec(a: Dec, b: Dec): Dec {
  const s = Math.max(a.scale, b.scale);
  return { digits: rescaleUp(a, s) + rescaleUp(b, s), scale: s };
}

export function subDec(a: Dec, b: Dec): Dec {
  const s = Math.max(a.scale, b.scale);
  return { digits: rescaleUp(a, s) - rescaleUp(b, s), scale: s };
}

export function mulDec(a: Dec, b: Dec): Dec {
  return { digits: a.digits * b.digits, scale: a.scale + b.scale };
}

export function negDec(a: Dec): Dec {
  return { digits: -a.digits, scale: a.scale };
}

export function cmpDec(a: Dec, b: Dec): number {
  const s = Math.max(a.scale, b.scale);
  const x = rescaleUp(a, s);
  const y = rescaleUp(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compares two canonical NUMERIC texts by value. */
export function compareDecimalText(a: string, b: string): number {
  return cmpDec(decOf(a), decOf(b));
}

/** n / d rounded half away from zero (d ≠ 0). */
function divRound(n: bigint, d: bigint): bigint {
  const neg = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  const q = an / ad;
  const r = an - q * ad;
  const rounded = r * 2n >= ad ? q + 1n : q;
  return neg ? -rounded : rounded;
}

/** Weight (power of 10000) and value of the first non-zero base-10000 digit, as PostgreSQL's numeric holds it. */
function firstDigit(d: Dec): { weight: number; digit: bigint } {
  const abs = d.digits < 0n ? -d.digits : d.digits;
  if (abs === 0n) return { weight: 0, digit: 0n };
  // The decimal exponent of the leading digit: |d| is in [10^e, 10^(e+1)).
  const e = abs.toString().length - 1 - d.scale;
  const weight = Math.floor(e / 4);
  const shift = -d.scale - 4 * weight;
  const digit = shift >= 0 ? abs * pow10(shift) : abs / pow10(-shift);
  return { weight, digit };
}

/** PostgreSQL's select_div_scale: the scale of a / b. */
export function divScale(a: Dec, b: Dec): number {
  const x = firstDigit(a);
  const y = firstDigit(b);
  let qweight = x.weight - y.weight;
  if (x.digit <= y.digit) qweight--;
  let rscale = MIN_SIG_DIGITS - qweight * 4;
  rscale = Math.max(rscale, a.scale, b.scale, 0);
  return Math.min(rscale, MAX_DISPLAY_SCALE);
}

function divisionByZero(): SluiceError {
  return new SluiceError('division_by_zero', 'division by zero');
}

/** a / b with PostgreSQL's result scale, rounded half away from zero. */
export function divDec(a: Dec, b: Dec, scale = divScale(a, b)): Dec {
  if (b.digits === 0n) throw divisionByZero();
  // a/b × 10^scale = a.digits × 10^(b.scale + scale) / (b.digits × 10^a.scale)
  const num = a.digits * pow10(b.scale + scale);
  const den = b.digits * pow10(a.scale);
  return { digits: divRound(num, den), scale };
}

/** a % b: the remainder of the division truncated toward zero, at the larger scale (PostgreSQL). */
export function modDec(a: Dec, b: Dec): Dec {
  if (b.digits === 0n) throw divisionByZero();
  const s = Math.max(a.scale, b.scale);
  return { digits: rescaleUp(a, s) % rescaleUp(b, s), scale: s };
}

/** round(a, places): half away from zero; the result's scale is max(places, 0). */
export function roundDec(a: Dec, places: number): Dec {
  const target = Math.max(places, 0);
  if (places >= a.scale) return { digits: rescaleUp(a, target), scale: target };
  // Round to 10^-places, then express at scale max(places, 0).
  const drop = a.scale - places;
  const q = divRound(a.digits, pow10(drop));
  return { digits: places < 0 ? q * pow10(-places) : q, scale: target };
}

/** trunc(a, places): toward zero; the result's scale is max(places, 0). */
export function truncDec(a: Dec, places: number): Dec {
  const target = Math.max(places, 0);
  if (places >= a.scale) return { digits: rescaleUp(a, target), scale: target };
  const q = a.digits / pow10(a.scale - places);
  return { digits: places < 0 ? q * pow10(-places) : q, scale: target };
}

/** floor/ceil of a decimal (scale 0). */
export function floorDec(a: Dec, ceil: boolean): Dec {
  const p = pow10(a.scale);
  let q = a.digits / p;
  const r = a.digits - q * p;
  if (r !== 0n && (ceil ? r > 0n : r < 0n)) q += ceil ? 1n : -1n;
  return { digits: q, scale: 0 };
}

/**
 * Coerces a value to NUMERIC(precision, scale) as PostgreSQL's typmod does: rounded to `scale`
 * places, 22003 when more than precision − scale digits remain before the point.
 */
export function applyTypmod(a: Dec, precision: number, scale: number): Dec {
  const r = roundDec(a, scale);
  const abs = r.digits < 0n ? -r.digits : r.digits;
  if (abs !== 0n && abs >= pow10(precision)) {
    throw new SluiceError('numeric_out_of_range', 'numeric field overflow', {
      hint: `A field with precision ${precision}, scale ${scale} must round to an absolute value less than ${precision === scale ? '1' : `10^${precision - scale}`}.`,
    });
  }
  return r;
}

/** A double as NUMERIC, as PostgreSQL converts float8 (15 significant digits). */
export function decFromDouble(x: number): Dec {
  if (!Number.isFinite(x)) throw new SluiceError('not_supported', `cannot convert ${x} to numeric`, { hint: 'sluice\'s NUMERIC holds finite values only.' });
  const t = x.toPrecision(15);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(t)!;
  // %g drops trailing fractional zeros.
  const frac = (m[3] ?? '').replace(/0+$/, '');
  return parseDec(`${m[1]}${m[2]}${frac ? '.' + frac : ''}${m[4] ? 'e' + m[4] : ''}`);
}

/** A decimal as the nearest double. */
export function decToDouble(a: Dec): number {
  return Number(formatDec(a));
}

/** A decimal rounded half away from zero to an integer (bigint). */
export function decToInteger(a: Dec): bigint {
  return roundDec(a, 0).digits;
}

/** The canonical NUMERIC text of a value given as text, a number (a double) or a bigint. */
export function numericText(v: Value): string {
  if (typeof v === 'string') return canonicalDecimal(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : formatDec(decFromDouble(v));
  return canonicalDecimal(String(v));
}

/*
 * Small decimals straight from and to bytes: a NUMERIC value of at most 15 digits is exact as a
 * double's integer, so arithmetic on such values needs no bigint, no string and no Dec object
 * per row (NUMERIC columns hold canonical text; q1's `0.908 * price` was 20 % of its run).
 */

/** Scale of the value smallDecAt read last. */
let smallScale = 0;

/**
 * The digits of the canonical NUMERIC text in b[s, e) as a number when there are at most 15 of
 * them (so it is exact); its scale is then smallDecScale(). NaN for anything longer.
 */
export function smallDecAt(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let v = 0;
  let digits = 0;
  let scale = -1;
  for (; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d >= 0 && d <= 9) {
      v = v * 10 + d;
      digits++;
      if (scale >= 0) scale++;
    } else if (d === -2 && scale < 0) {
      scale = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  smallScale = scale < 0 ? 0 : scale;
  return negative ? -v : v;
}

/** The scale of the value smallDecAt read last. */
export function smallDecScale(): number {
  return smallScale;
}

let scratch = new Uint8Array(1 << 16);

/**
 * A module-owned buffer of at least n bytes, its first `keep` bytes kept when it grows, for
 * building a column's text before copying out exactly what was written: one exact allocation
 * per column instead of a worst-case one (the ArrayBuffer bytes a batch allocates drive V8's
 * full collections). Never hand it out.
 */
export function scratchBytes(n: number, keep = 0): Uint8Array {
  if (scratch.length < n) {
    const next = new Uint8Array(Math.max(n, 2 * scratch.length));
    next.set(scratch.subarray(0, keep));
    scratch = next;
  }
  return scratch;
}

/** Largest scale writeSmallDec takes. */
export const SMALL_DEC_MAX_SCALE = 64;
/** Digits of one value, least significant first. */
const DIGITS = new Uint8Array(SMALL_DEC_MAX_SCALE + 20);

/**
 * Writes the canonical text of digits × 10^-scale (digits an integer below 2^53 in magnitude,
 * scale ≤ SMALL_DEC_MAX_SCALE) at out[at], as formatDec would; returns the index after it.
 * `out` needs room for scale + 19 bytes.
 */
export function writeSmallDec(out: Uint8Array, at: number, digits: number, scale: number): number {
  let n = at;
  // -0 is 0: no sign.
  if (digits < 0) {
    out[n++] = 0x2d;
    digits = -digits;
  }
  let len = 0;
  do {
    const q = Math.floor(digits / 10);
    DIGITS[len++] = digits - q * 10;
    digits = q;
  } while (digits > 0);
  while (len <= scale) DIGITS[len++] = 0;
  for (let k = len - 1; k >= 0; k--) {
    out[n++] = 0x30 + DIGITS[k]!;
    if (k === scale && scale > 0) out[n++] = 0x2e;
  }
  return n;
}
