/**
 * Result value encoding for DataRow fields: PostgreSQL's text output (via formatValue) and its
 * binary send format for every sluice type.
 */
import { decodeInterval } from '../common/interval.js';
import { SluiceError } from '../common/errors.js';
import { elementType, typeDisplayName, type ArrayType, type ElementType, type SqlType, type Value } from '../common/types.js';
import { typeOid } from './pg-types.js';
import { formatDouble, formatValue } from '../common/values.js';
import { UTC, type TimeZone } from '../common/time-zone.js';

/** Microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01. */
export const PG_EPOCH_MICROS = 946_684_800_000_000n;
/** Days from 1970-01-01 to 2000-01-01. */
export const PG_EPOCH_DAYS = 10_957;
const MICROS_PER_DAY = 86_400_000_000n;

/** Writes a non-null value as a length-prefixed text field. */
/** What the encoders write to: the big-endian fields of a message (MessageWriter is one). */
export interface ValueSink {
  int8(n: number): ValueSink;
  int16(n: number): ValueSink;
  int32(n: number): ValueSink;
  int64(n: bigint): ValueSink;
  float64(n: number): ValueSink;
  sizedUtf8(s: string): ValueSink;
}

export function writeTextValue(w: ValueSink, v: Value, type: SqlType, zone: TimeZone = UTC): void {
  w.sizedUtf8(formatValue(v, type, zone) ?? '');
}

/** Writes a non-null value as a length-prefixed field in PostgreSQL's binary format for `type`. */
export function writeBinaryValue(w: ValueSink, v: Value, type: SqlType): void {
  switch (type) {
    case 'boolean':
      w.int32(1).int8(v ? 1 : 0);
      return;
    case 'int':
      w.int32(4).int32(Number(v));
      return;
    case 'bigint':
      w.int32(8).int64(BigInt(v as bigint));
      return;
    case 'double':
      w.int32(8).float64(Number(v));
      return;
    case 'numeric':
      writeNumericBinary(w, String(v));
      return;
    case 'timestamp':
    case 'timestamptz':
      w.int32(8).int64(BigInt(v as bigint) - PG_EPOCH_MICROS);
      return;
    case 'date':
      w.int32(4).int32(Number(v) - PG_EPOCH_DAYS);
      return;
    case 'time':
      w.int32(8).int64(BigInt(v as bigint));
      return;
    case 'interval': {
      // PostgreSQL's binary interval: int64 microseconds, int32 days, int32 months.
      const p = decodeInterval(v as string);
      w.int32(16).int64(p.micros).int32(p.days).int32(p.months);
      return;
    }
    case 'varchar':
    case 'null':
      w.sizedUtf8(String(v));
      return;
    case 'jsonb': {
      // Version 1 of jsonb's binary form: a version byte, then the text.
      const bytes = new TextEncoder().encode(String(v));
      w.int32(bytes.length + 1).int8(1);
      for (const b of bytes) w.int8(b);
      return;
    }
    case 'bytea': {
      // The binary form is the bytes themselves.
      const hex = String(v).slice(2);
      w.int32(hex.length / 2);
      for (let i = 0; i < hex.length; i += 2) w.int8(parseInt(hex.slice(i, i + 2), 16));
      return;
    }
    case 'boolean[]':
    case 'int[]':
    case 'bigint[]':
    case 'double[]':
    case 'varchar[]':
      writeArrayBinary(w, v as readonly Value[], type);
      return;
    default:
      throw new SluiceError('not_supported', `binary output of ${typeDisplayName(type)} is not supported yet`, { hint: 'Request the column in text format.' });
  }
}

const ELEMENT_SIZE: Readonly<Record<ElementType, ((v: Value) => number)>> = {
  boolean: () => 1,
  int: () => 4,
  bigint: () => 8,
  double: () => 8,
  varchar: (v) => Buffer.byteLength(String(v)),
};

/**
 * PostgreSQL's binary array: dimensions (0 for an empty array, else 1), a has-NULLs flag, the
 * element type OID, the length and lower bound (1), then each element length-prefixed (−1: NULL).
 */
function writeArrayBinary(w: ValueSink, v: readonly Value[], type: ArrayType): void {
  const elem = elementType(type);
  let size = v.length === 0 ? 12 : 20;
  for (const x of v) size += 4 + (x === null ? 0 : ELEMENT_SIZE[elem](x));
  w.int32(size).int32(v.length === 0 ? 0 : 1).int32(v.includes(null) ? 1 : 0).int32(typeOid(elem));
  if (v.length === 0) return;
  w.int32(v.length).int32(1);
  for (const x of v) {
    if (x === null) w.int32(-1);
    else writeBinaryValue(w, x, elem);
  }
}

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

/** Writes a NUMERIC (its canonical text) as a binary numeric: base-10000 digits, display scale as written. */
function writeNumericBinary(w: ValueSink, text: string): void {
  const special = text === 'NaN' ? NUMERIC_NAN : text === 'Infinity' ? NUMERIC_PINF : text === '-Infinity' ? NUMERIC_NINF : -1;
  if (special >= 0) {
    w.int32(8).int16(0).int16(0).int16(special).int16(0);
    return;
  }
  const negative = text.startsWith('-');
  const { intPart, fracPart } = plainDecimal(negative ? text.slice(1) : text);
  const intPadded = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const fracPadded = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, '0');
  const all = intPadded + fracPadded;
  const groups: number[] = [];
  for (let i = 0; i < all.length; i += 4) groups.push(Number(all.slice(i, i + 4)));
  let weight = intPadded.length / 4 - 1;
  let first = 0;
  while (first < groups.length && groups[first] === 0) {
    first++;
    weight--;
  }
  let last = groups.length;
  while (last > first && groups[last - 1] === 0) last--;
  const digits = groups.slice(first, last);
  const sign = negative && digits.length > 0 ? NUMERIC_NEG : NUMERIC_POS;
  w.int32(8 + 2 * digits.length)
    .int16(digits.length)
    .int16(digits.length ? weight : 0)
    .int16(sign)
    .int16(fracPart.length);
  for (const d of digits) w.int16(d);
}

/** Splits a non-negative decimal (possibly in exponent form) into integer and fraction digits. */
function plainDecimal(s: string): { intPart: string; fracPart: string } {
  const [mant, expText] = s.toLowerCase().split('e') as [string, string | undefined];
  const exp = expText === undefined ? 0 : Number(expText);
  const [ip, fp = ''] = mant.split('.') as [string, string | undefined];
  const digits = ip + fp;
  const point = ip.length + exp;
  let intPart: string;
  let fracPart: string;
  if (point <= 0) {
    intPart = '';
    fracPart = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    intPart = digits + '0'.repeat(point - digits.length);
    fracPart = '';
  } else {
    intPart = digits.slice(0, point);
    fracPart = digits.slice(point);
  }
  return { intPart: intPart.replace(/^0+/, ''), fracPart: fracPart.replace(/0+$/, '') };
}
