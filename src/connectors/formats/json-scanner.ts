/**
 * A schema-directed scanner for flat JSON objects in UTF-8 bytes: the fast path of JSON
 * decoding, shared by the Kafka source (message values) and the file source (lines of a file
 * chunk). It reads a record straight from the bytes into the columns — numbers computed from
 * their digits, ASCII strings copied byte for byte, timestamp and date strings parsed in place
 * (common/timestamp-text.ts) — with no JSON.parse, no string made from the record and no JS
 * object per record (JSON.parse and re-encoding strings are most of the cost of JSON ingest,
 * PERFORMANCE.md).
 *
 * It handles only what it can decode exactly as the general path does (JSON.parse of the
 * record's text, then json-coerce.ts through FastColumn.json, json-records.ts): a flat object whose keys
 * are column names written exactly, each at most once, with string, number, true, false and
 * null values. Anything else — nested values, escapes in strings, a key that differs from a
 * column name only in case, a duplicate key, invalid JSON — makes it return BAIL (and a value
 * that does not fit its column makes the column throw), and the caller decodes the record the
 * general way, which gives the rows and the errors. A test checks the
 * two paths against each other on generated records.
 */
import { parsedDays, parsedMicros, parseTimestampBytes } from '../../common/timestamp-text.js';
import type { Schema, SqlType } from '../../common/types.js';
import type { FastColumn } from './fast-column.js';

/** scan() results. */
export const SCAN_ROW = 1;
export const SCAN_BLANK = 0;
export const SCAN_BAIL = -1;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;

/** Exact powers of ten: m / 10^k and m × 10^k are correctly rounded for m < 2^53 and k ≤ 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const MAX_FAST_MANTISSA = 2 ** 53;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Whether b[s, e) holds exactly the bytes of `name` (Buffer.compare costs more for short keys). */
function sameBytes(name: Uint8Array, b: Uint8Array, s: number, e: number): boolean {
  if (name.length !== e - s) return false;
  for (let k = 0; k < name.length; k++) if (name[k] !== b[s + k]) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** How a string value goes into its column. */
const AS_OTHER = 0;
const AS_VARCHAR = 1;
const AS_TIMESTAMP = 2;
const AS_DATE = 3;

function stringKind(type: SqlType): number {
  return type === 'varchar' ? AS_VARCHAR : type === 'timestamp' || type === 'timestamptz' ? AS_TIMESTAMP : type === 'date' ? AS_DATE : AS_OTHER;
}

/** Decodes flat JSON objects in bytes into columns. */
export class JsonScanner {
  private readonly names: readonly Buffer[];
  private readonly lowerNames: readonly string[];
  private readonly slots: readonly number[];
  private readonly kinds: readonly number[];
  /** seen[j] is the record number that last wrote payload column j. */
  private readonly seen: Float64Array;
  private record = 0;

  /** `fields` are the columns the JSON keys name; fields[j] is written to cols[slots[j]]. */
  constructor(fields: Schema, slots: readonly number[]) {
    this.names = fields.map((f) => Buffer.from(f.name, 'utf8'));
    this.lowerNames = fields.map((f) => f.name.toLowerCase());
    this.slots = slots;
    this.kinds = fields.map((f) => stringKind(f.type));
    this.seen = new Float64Array(fields.length).fill(-1);
  }

  /**
   * Decodes the record in b[start, end) into `cols`: SCAN_ROW (one row appended to every payload
   * column), SCAN_BLANK (only whitespace), or SCAN_BAIL (the caller truncates the columns and
   * decodes the record the general way).
   */
  scan(b: Buffer, start: number, end: number, cols: readonly FastColumn[]): number {
    const rec = ++this.record;
    let i = start;
    while (i < end && isSpace(b[i]!)) i++;
    if (i === end) return SCAN_BLANK;
    if (b[i] !== OPEN) return SCAN_BAIL;
    i++;
    while (i < end && isSpace(b[i]!)) i++;
    let guess = 0;
    if (i < end && b[i] === CLOSE) {
      i++;
    } else {
      for (;;) {
        // Key.
        if (i >= end || b[i] !== QUOTE) return SCAN_BAIL;
        const ks = ++i;
        while (i < end) {
          const c = b[i]!;
          if (c === QUOTE) break;
          if (c === BACKSLASH || c < 0x20) return SCAN_BAIL;
          i++;
        }
        if (i >= end) return SCAN_BAIL;
        const j = this.column(b, ks, i++, guess);
        if (j === -2) return SCAN_BAIL;
        while (i < end && isSpace(b[i]!)) i++;
        if (i >= end || b[i] !== COLON) return SCAN_BAIL;
        i++;
        while (i < end && isSpace(b[i]!)) i++;
        if (i >= end) return SCAN_BAIL;
        // Value.
        if (j >= 0) {
          if (this.seen[j] === rec) return SCAN_BAIL;
          this.seen[j] = rec;
          guess = j + 1;
          i = this.value(b, i, end, cols[this.slots[j]!]!, this.kinds[j]!);
        } else {
          i = this.value(b, i, end, null, AS_OTHER);
        }
        if (i < 0) return SCAN_BAIL;
        while (i < end && isSpace(b[i]!)) i++;
        if (i >= end) return SCAN_BAIL;
        const c = b[i++]!;
        if (c === CLOSE) break;
        if (c !== COMMA) return SCAN_BAIL;
        while (i < end && isSpace(b[i]!)) i++;
      }
    }
    while (i < end && isSpace(b[i]!)) i++;
    if (i !== end) return SCAN_BAIL;
    // Fields the record does not have are NULL.
    const seen = this.seen;
    for (let j = 0; j < seen.length; j++) if (seen[j] !== rec) cols[this.slots[j]!]!.appendNull();
    return SCAN_ROW;
  }

  /** The payload column named by key bytes [s, e): its index, -1 for no column, -2 to bail. */
  private column(b: Buffer, s: number, e: number, guess: number): number {
    const names = this.names;
    if (guess < names.length && sameBytes(names[guess]!, b, s, e)) return guess;
    for (let j = 0; j < names.length; j++) if (j !== guess && sameBytes(names[j]!, b, s, e)) return j;
    for (let k = s; k < e; k++) if (b[k]! >= 0x80) return -2;
    // A key that names a column in another case is matched by the general path's rules.
    return this.lowerNames.includes(b.toString('latin1', s, e).toLowerCase()) ? -2 : -1;
  }

  /**
   * Reads the value at b[i] into `col` (or skips it when col is null); returns the index after
   * it, or -1 to bail.
   */
  private value(b: Buffer, i: number, end: number, col: FastColumn | null, kind: number): number {
    const c = b[i]!;
    if (c === QUOTE) {
      const s = ++i;
      if (kind === AS_VARCHAR && col !== null) return this.varchar(b, s, end, col);
      let ascii = true;
      while (i < end) {
        const d = b[i]!;
        if (d === QUOTE) break;
        if (d === BACKSLASH || d < 0x20) return -1;
        if (d >= 0x80) ascii = false;
        i++;
      }
      if (i >= end) return -1;
      if (col !== null) {
        if (kind === AS_VARCHAR && ascii) col.appendBytes(b, s, i);
        else if (kind === AS_TIMESTAMP && ascii && this.timestamp(b, s, i, col)) return i + 1;
        else if (kind === AS_DATE && ascii && parseTimestampBytes(b, s, i) === 0) col.appendNumber(parsedDays());
        else col.json(b.toString('utf8', s, i));
      }
      return i + 1;
    }
    if (c === MINUS || isDigit(c)) return this.number(b, i, end, col);
    if (c === 0x74 /* t */) return this.literal(b, i, end, 'true', true, col);
    if (c === 0x66 /* f */) return this.literal(b, i, end, 'false', false, col);
    if (c === 0x6e /* n */) return this.literal(b, i, end, 'null', null, col);
    return -1;
  }

  /**
   * A string value into a varchar column, scanned and copied in one pass (ASCII without escapes;
   * otherwise the bytes copied so far are dropped and the string is decoded). Returns the index
   * after the closing quote, or -1 to bail.
   */
  private varchar(b: Buffer, s: number, end: number, col: FastColumn): number {
    const out = col.reserveBytes(end - s);
    const at = col.byteEnd;
    let n = at;
    let i = s;
    let ascii = true;
    while (i < end) {
      const d = b[i]!;
      if (d === QUOTE) break;
      if (d === BACKSLASH || d < 0x20) return -1;
      if (d >= 0x80) ascii = false;
      out[n++] = d;
      i++;
    }
    if (i >= end) return -1;
    if (ascii) col.commitBytes(n - at);
    else col.json(b.toString('utf8', s, i));
    return i + 1;
  }

  /** A timestamp string parsed in place; false when the general path must decide (or word the error). */
  private timestamp(b: Buffer, s: number, e: number, col: FastColumn): boolean {
    if (parseTimestampBytes(b, s, e) !== 0) return false;
    const micros = parsedMicros();
    if (Number.isNaN(micros)) return false;
    col.appendInt64(micros);
    return true;
  }

  private literal(b: Buffer, i: number, end: number, word: string, v: boolean | null, col: FastColumn | null): number {
    if (end - i < word.length) return -1;
    for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
    if (col !== null) {
      if (v === null) col.appendNull();
      else col.json(v);
    }
    return i + word.length;
  }

  /** A JSON number (RFC 8259 grammar), computed exactly as JSON.parse computes it. */
  private number(b: Buffer, i: number, end: number, col: FastColumn | null): number {
    const s = i;
    const negative = b[i] === MINUS;
    if (negative) i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    let mantissa = 0;
    let digits = 0;
    if (b[i] === 0x30) {
      i++;
    } else {
      while (i < end && isDigit(b[i]!)) {
        mantissa = mantissa * 10 + (b[i]! - 0x30);
        digits++;
        i++;
      }
    }
    let scale = 0;
    if (i < end && b[i] === DOT) {
      i++;
      if (i >= end || !isDigit(b[i]!)) return -1;
      while (i < end && isDigit(b[i]!)) {
        mantissa = mantissa * 10 + (b[i]! - 0x30);
        if (mantissa !== 0) digits++;
        scale++;
        i++;
      }
    }
    let exponent = 0;
    let hasExponent = false;
    if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
      hasExponent = true;
      i++;
      let expNegative = false;
      if (i < end && (b[i] === 0x2b || b[i] === MINUS)) expNegative = b[i++] === MINUS;
      if (i >= end || !isDigit(b[i]!)) return -1;
      while (i < end && isDigit(b[i]!)) {
        if (exponent < 100000) exponent = exponent * 10 + (b[i]! - 0x30);
        i++;
      }
      if (expNegative) exponent = -exponent;
    }
    if (col === null) return i;
    // A NUMERIC column takes the number exactly as written.
    if (col.type === 'numeric') {
      col.append(b.toString('latin1', s, i));
      return i;
    }
    let v: number;
    const k = exponent - scale;
    if (digits <= 15 && mantissa < MAX_FAST_MANTISSA && k >= -22 && k <= 22 && (!hasExponent || Math.abs(exponent) < 100000)) {
      v = k < 0 ? mantissa / POW10[-k]! : mantissa * POW10[k]!;
    } else {
      // Rare: long mantissas or large exponents; the JSON grammar is a subset of Number()'s.
      v = Number(b.toString('latin1', negative ? s + 1 : s, i));
    }
    col.json(negative ? -v : v);
    return i;
  }
}
