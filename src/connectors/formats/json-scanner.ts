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
import { parsedDays, parsedMicros, parseTimestampBytes, PLAIN_MICROS, plainTimestampMicrosInto } from '../../common/timestamp-text.js';
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

/**
 * What a byte inside a JSON string needs: STR_PLAIN is copied as it is; STR_STOP ends the
 * scan (the closing quote, or a backslash or control character, which make the caller bail);
 * STR_HIGH is part of a multi-byte character. One table load per byte instead of four tests.
 */
const STR_PLAIN = 0;
const STR_STOP = 1;
const STR_HIGH = 2;
const STR_CLASS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STR_CLASS[c] = STR_STOP;
STR_CLASS[QUOTE] = STR_STOP;
STR_CLASS[BACKSLASH] = STR_STOP;
for (let c = 0x80; c < 0x100; c++) STR_CLASS[c] = STR_HIGH;

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

/** How a value goes into its column (a string or a number has a fast path for some types). */
const AS_OTHER = 0;
const AS_VARCHAR = 1;
const AS_TIMESTAMP = 2;
const AS_DATE = 3;
const AS_BIGINT = 4;

function valueKind(type: SqlType): number {
  switch (type) {
    case 'varchar':
      return AS_VARCHAR;
    case 'timestamp':
    case 'timestamptz':
      return AS_TIMESTAMP;
    case 'date':
      return AS_DATE;
    case 'bigint':
      return AS_BIGINT;
    default:
      return AS_OTHER;
  }
}

/** Whether a key written as exactly these bytes can only mean this name (no escape or quote in it). */
function plainKey(name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) if (STR_CLASS[name[k]!] === STR_STOP) return false;
  return true;
}

/** Decodes flat JSON objects in bytes into columns. */
export class JsonScanner {
  private readonly names: readonly Buffer[];
  private readonly lowerNames: readonly string[];
  private readonly slots: readonly number[];
  private readonly kinds: readonly number[];
  /** plain[j]: a key with exactly names[j]'s bytes is that column (see plainKey). */
  private readonly plain: readonly boolean[];
  /** seen[j] is the record number that last wrote payload column j. */
  private readonly seen: Float64Array;
  private record = 0;
  /**
   * Set by useChunk for bytes known to be well-formed UTF-8: a string's bytes are then copied as
   * they are (what decoding and re-encoding would give), and backslashes are found per chunk
   * (nextBackslash) instead of tested per byte.
   */
  private wellFormed = false;
  /**
   * The compact layout most producers write: every column in schema order, no whitespace —
   * `{"a":` before the first value, `,"b":` before each other one. A record in it is read by
   * comparing these runs and the values only (scanCompact); null when a name needs escaping,
   * or after many records in a row were not in it.
   */
  private compact: readonly Buffer[] | null;
  /**
   * compact's runs as little-endian four-byte words, the last one ending where the run ends
   * (overlapping the one before unless the length is a multiple of four; every run has at
   * least five bytes), compared through `view` in a chunk; and the runs' lengths.
   */
  private readonly compactWords: readonly Int32Array[];
  private readonly compactLengths: Int32Array;
  private compactMisses = 0;
  /** A DataView of the chunk (useChunk with well-formed bytes): four-byte reads. */
  private view: DataView | null = null;
  private viewOf: Buffer | null = null;
  /** Where the chunk's next backslash is, at or after the strings scanned so far (end: none). */
  private nextBackslash = 0;
  private chunkEnd = 0;

  /** `fields` are the columns the JSON keys name; fields[j] is written to cols[slots[j]]. */
  constructor(fields: Schema, slots: readonly number[]) {
    this.names = fields.map((f) => Buffer.from(f.name, 'utf8'));
    this.lowerNames = fields.map((f) => f.name.toLowerCase());
    this.slots = slots;
    this.kinds = fields.map((f) => valueKind(f.type));
    this.plain = this.names.map(plainKey);
    this.seen = new Float64Array(fields.length).fill(-1);
    this.compact = fields.length > 0 && this.plain.every((p) => p) ? this.names.map((n, j) => Buffer.concat([Buffer.from(j === 0 ? '{"' : ',"'), n, Buffer.from('":')])) : null;
    const seps = this.compact ?? [];
    this.compactWords = seps.map((sep) => Int32Array.from({ length: (sep.length + 3) >> 2 }, (_, k) => sep.readInt32LE(Math.min(4 * k, sep.length - 4))));
    this.compactLengths = Int32Array.from(seps, (sep) => sep.length);
  }

  /**
   * Tells the scanner that the records of the next scan() calls lie in b[start, end) and
   * whether those bytes are well-formed UTF-8 (the caller checks with isUtf8, natively): then
   * strings take the fast copy. Without a call (Kafka messages) every byte is checked.
   */
  useChunk(b: Buffer, start: number, end: number, wellFormed: boolean): void {
    this.wellFormed = wellFormed;
    if (wellFormed && this.viewOf !== b) {
      this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.viewOf = b;
    }
    this.chunkEnd = end;
    this.nextBackslash = this.backslashFrom(b, start);
  }

  private backslashFrom(b: Buffer, from: number): number {
    const at = b.indexOf(BACKSLASH, from);
    return at < 0 || at >= this.chunkEnd ? this.chunkEnd : at;
  }

  /**
   * Decodes the record in b[start, end) into `cols`: SCAN_ROW (one row appended to every payload
   * column), SCAN_BLANK (only whitespace), or SCAN_BAIL (the caller truncates the columns and
   * decodes the record the general way).
   */
  scan(b: Buffer, start: number, end: number, cols: readonly FastColumn[]): number {
    if (this.compact !== null) {
      if (this.scanCompact(this.compact, b, start, end, cols)) {
        this.compactMisses = 0;
        return SCAN_ROW;
      }
      // A feed in another layout stops paying for the attempt.
      if (++this.compactMisses > 64) this.compact = null;
    }
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
        // Key: most records write the columns in one order, so the next column's name is tried
        // in place first, with no scan for the closing quote.
        if (i >= end || b[i] !== QUOTE) return SCAN_BAIL;
        const ks = ++i;
        let j = -1;
        if (guess < this.names.length && this.plain[guess]) {
          const name = this.names[guess]!;
          const ke = ks + name.length;
          if (ke < end && b[ke] === QUOTE && sameBytes(name, b, ks, ke)) {
            j = guess;
            i = ke + 1;
          }
        }
        if (j < 0) {
          while (i < end && STR_CLASS[b[i]!] !== STR_STOP) i++;
          if (i >= end || b[i] !== QUOTE) return SCAN_BAIL;
          j = this.column(b, ks, i++, guess);
          if (j === -2) return SCAN_BAIL;
        }
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

  /**
   * Reads a record in the compact layout; false (with the columns as they were) when it is not
   * in it or a value needs the general path. The general path would read the same values: the
   * keys are the column names written exactly, each once, in order.
   */
  private scanCompact(seps: readonly Buffer[], b: Buffer, start: number, end: number, cols: readonly FastColumn[]): boolean {
    const rows = cols[this.slots[0]!]!.length;
    // In a well-formed chunk the runs are compared four bytes at a time.
    const view = this.wellFormed && this.viewOf === b ? this.view : null;
    let i = start;
    let j = 0;
    const lengths = this.compactLengths;
    for (; j < seps.length; j++) {
      const len = lengths[j]!;
      if (i + len > end) break;
      if (view !== null) {
        const words = this.compactWords[j]!;
        const last = words.length - 1;
        let k = 0;
        while (k < last && view.getInt32(i + 4 * k, true) === words[k]) k++;
        if (k < last || view.getInt32(i + len - 4, true) !== words[last]) break;
      } else if (!sameBytes(seps[j]!, b, i, i + len)) break;
      i = this.value(b, i + len, end, cols[this.slots[j]!]!, this.kinds[j]!);
      if (i < 0) {
        j++;
        break;
      }
    }
    if (j === seps.length && i < end && b[i] === CLOSE) {
      i++;
      while (i < end && isSpace(b[i]!)) i++;
      if (i === end) return true;
    }
    for (let k = 0; k < j; k++) cols[this.slots[k]!]!.truncate(rows);
    return false;
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
      if (kind !== AS_OTHER && this.wellFormed && this.viewOf === b) {
        // Past whole words of plain ASCII (no control character, quote, backslash or high byte;
        // the tests as in varchar()), as the loop below would go.
        const view = this.view!;
        while (i + 4 <= end) {
          const x = view.getInt32(i, true);
          const y = x ^ 0x22222222;
          const z = x ^ 0x5c5c5c5c;
          if ((((x - 0x20202020) & ~x) | ((y - 0x01010101) & ~y) | ((z - 0x01010101) & ~z) | x) & 0x80808080) break;
          i += 4;
        }
      }
      for (;;) {
        if (i >= end) return -1;
        const k = STR_CLASS[b[i]!]!;
        if (k === STR_STOP) break;
        if (k === STR_HIGH) ascii = false;
        i++;
      }
      if (b[i] !== QUOTE) return -1;
      if (col !== null) {
        if (kind === AS_VARCHAR && ascii) col.appendBytes(b, s, i);
        else if (kind === AS_TIMESTAMP && ascii && this.timestamp(b, s, i, col)) return i + 1;
        else if (kind === AS_DATE && ascii && parseTimestampBytes(b, s, i) === 0) col.appendNumber(parsedDays());
        else col.json(b.toString('utf8', s, i));
      }
      return i + 1;
    }
    if (c === MINUS || isDigit(c)) return kind === AS_BIGINT && col !== null ? this.bigint(b, i, end, col) : this.number(b, i, end, col);
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
    if (this.wellFormed) {
      // Four bytes at a time while none of them is a quote or a control character: for a word x,
      // (x − 0x20…) & ~x has a byte's top bit set for a byte below 0x20, and y = x ^ 0x22… a
      // zero byte for a quote, which (y − 0x01…) & ~y flags (exact whenever nothing is flagged:
      // no byte borrows then). Then one test per byte from the word that has one.
      const view = this.viewOf === b ? this.view : null;
      if (view !== null) {
        const ov = col.bytesView();
        while (i + 4 <= end) {
          const x = view.getInt32(i, true);
          const y = x ^ 0x22222222;
          if ((((x - 0x20202020) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080) break;
          ov.setInt32(n, x, true);
          i += 4;
          n += 4;
        }
      }
      for (;;) {
        if (i >= end) return -1;
        const d = b[i]!;
        if (d <= QUOTE && (d === QUOTE || d < 0x20)) break;
        out[n++] = d;
        i++;
      }
      if (b[i] !== QUOTE) return -1;
      // A backslash inside: the string has escapes, so the general path decodes the record.
      if (this.nextBackslash < i) {
        if (this.nextBackslash >= s) return -1;
        this.nextBackslash = this.backslashFrom(b, s);
        if (this.nextBackslash < i) return -1;
      }
      col.commitBytes(n - at);
      return i + 1;
    }
    let ascii = true;
    for (;;) {
      if (i >= end) return -1;
      const d = b[i]!;
      const k = STR_CLASS[d]!;
      if (k === STR_STOP) break;
      if (k === STR_HIGH) ascii = false;
      out[n++] = d;
      i++;
    }
    if (b[i] !== QUOTE) return -1;
    if (ascii) col.commitBytes(n - at);
    else col.json(b.toString('utf8', s, i));
    return i + 1;
  }

  /** A timestamp string parsed in place; false when the general path must decide (or word the error). */
  private timestamp(b: Buffer, s: number, e: number, col: FastColumn): boolean {
    if (plainTimestampMicrosInto(b, s, e)) {
      col.appendInt64(PLAIN_MICROS[0]!);
      return true;
    }
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

  /**
   * A number into a BIGINT column: an integer of at most 15 digits goes straight in (it is the
   * double JSON.parse makes, and safe); anything else takes number()'s way.
   */
  private bigint(b: Buffer, i: number, end: number, col: FastColumn): number {
    const s = i;
    const negative = b[i] === MINUS;
    if (negative) i++;
    const ds = i;
    let v = 0;
    while (i < end) {
      const d = b[i]! - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const digits = i - ds;
    // Leading zeros, a fraction or an exponent (or no digit): the general way decides.
    if (digits === 0 || digits > 15 || (b[ds] === 0x30 && digits > 1) || (i < end && (b[i] === DOT || b[i] === 0x65 || b[i] === 0x45))) return this.number(b, s, end, col);
    col.appendInt64(negative ? -v : v);
    return i;
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
