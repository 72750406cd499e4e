/**
 * A growable column that decoded values are written into directly, the column builder of the
 * Kafka and file sources. It does what ColumnBuilder does, plus the hot paths of JSON ingest (PERFORMANCE.md:
 * JSON.parse and building columns are the ceiling, so no step in between may allocate):
 *
 *   - `json(v)` takes a value straight from JSON.parse: numbers go into the typed array as they
 *     are (BIGINT and TIMESTAMP through two Int32 halves, without making a BigInt), strings are
 *     UTF-8-encoded by Buffer.write; anything else goes through coerceJson, so the rules are
 *     exactly those of formats/json-coerce.ts;
 *   - `truncate(n)` drops rows from n on, so a record that fails half-way leaves no partial row.
 */
import { endianness } from 'node:os';
import { allocValues, newBitmap, setBit, type Column, type ColumnValues } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { coerceJson } from './json-coerce.js';
import { numericText } from '../../common/decimal.js';

const TWO_32 = 4294967296;
/** Int64 halves can be written as two Int32 only on a little-endian machine (every Node target today). */
const LITTLE_ENDIAN = endianness() === 'LE';
/** Strings at least this long are encoded by Buffer.write (native); shorter ones by a loop. */
const NATIVE_UTF8_FROM = 24;
/**
 * Byte runs at least this long are copied by TypedArray.set; shorter ones by a loop. The set
 * needs a subarray (an object) per call: in the file source's profile of Nexmark bids (URLs of
 * ~60 bytes) that allocation made appendBytes 15 % of the time with a crossover of 24.
 */
const NATIVE_COPY_FROM = 128;

/** The first n elements of a typed array: a view when that is at least half of it, else a copy. */
function trim<T extends ColumnValues>(a: T, n: number): T {
  return (2 * n >= a.length ? a.subarray(0, n) : a.slice(0, n)) as T;
}

/** One column under construction. */
export class FastColumn {
  readonly type: SqlType;
  length = 0;
  private capacity: number;
  private values: ColumnValues;
  /** For 64-bit types: an Int32 view of `values`, for writes that need no BigInt. */
  private halves: Int32Array | null = null;
  /** For varchar: the bytes (a Buffer, for its native UTF-8 writer) and offsets. */
  private bytes: Buffer | null = null;
  /** A DataView of `bytes` (made when asked for, again after they grow), for four-byte writes. */
  private view: DataView | null = null;
  private viewOf: Buffer | null = null;
  private offsets: Int32Array | null = null;
  private byteLength = 0;
  private validity: Uint8Array | null = null;

  /** `bytesPerRow` sizes a varchar column's bytes (see bytesPerRow()). */
  constructor(type: SqlType, capacity: number, bytesPerRow = 16) {
    this.type = type;
    this.capacity = Math.max(8, capacity);
    this.values = this.allocate(this.capacity);
    if (type === 'varchar' || type === 'numeric' || type === 'jsonb' || type === 'interval') {
      this.bytes = Buffer.allocUnsafe(this.capacity * bytesPerRow);
      this.offsets = new Int32Array(this.capacity + 1);
    }
  }

  /** Appends a value of JSON.parse's output; throws SluiceError when it does not fit the type. */
  json(v: unknown): void {
    switch (this.type) {
      case 'varchar':
        if (typeof v === 'string') return this.appendString(v);
        break;
      case 'int':
        if (typeof v === 'number' && (v | 0) === v) return this.appendNumber(v);
        break;
      case 'double':
        if (typeof v === 'number') return this.appendNumber(v);
        break;
      case 'numeric':
        if (typeof v === 'number') return this.appendString(numericText(v));
        break;
      case 'bigint':
        if (typeof v === 'number' && Number.isSafeInteger(v)) return this.appendInt64(v);
        break;
      case 'timestamp':
      case 'timestamptz':
        // A number is epoch milliseconds, as coerceJson reads it.
        if (typeof v === 'number') {
          const micros = Math.round(v * 1000);
          if (Number.isSafeInteger(micros)) return this.appendInt64(micros);
        }
        break;
      default:
        break;
    }
    this.append(coerceJson(v, this.type));
  }

  /** Appends a JS value of the column's type (see common/types.ts); null is NULL. */
  append(v: Value): void {
    if (v === null) return this.appendNull();
    switch (this.type) {
      case 'varchar':
      case 'jsonb':
      case 'interval':
        return this.appendString(String(v));
      case 'numeric':
        return this.appendString(numericText(v));
      case 'boolean':
        this.reserve();
        setBit(this.values as Uint8Array, this.length, v === true);
        return this.markValid();
      case 'bigint':
      case 'timestamp':
      case 'timestamptz':
      case 'time':
        this.reserve();
        (this.values as BigInt64Array)[this.length] = typeof v === 'bigint' ? v : BigInt(v as number);
        return this.markValid();
      case 'null':
        return this.appendNull();
      default:
        return this.appendNumber(Number(v));
    }
  }

  appendNull(): void {
    this.reserve();
    if (this.validity === null) this.validity = newBitmap(this.capacity, true);
    setBit(this.validity, this.length, false);
    if (this.offsets !== null) this.offsets[this.length + 1] = this.byteLength;
    this.length++;
  }

  appendString(s: string): void {
    this.reserve();
    let bytes = this.bytes!;
    const len = s.length;
    if (this.byteLength + len * 3 > bytes.length) bytes = this.growBytes(this.byteLength + len * 3);
    let n = this.byteLength;
    if (len < NATIVE_UTF8_FROM) {
      let k = 0;
      for (; k < len; k++) {
        const c = s.charCodeAt(k);
        if (c >= 128) break;
        bytes[n + k] = c;
      }
      n = k === len ? n + len : n + bytes.write(s, n, 'utf8');
    } else {
      n += bytes.write(s, n, 'utf8');
    }
    this.byteLength = n;
    this.offsets![this.length + 1] = n;
    this.markValid();
  }

  /** Appends the bytes b[start, end) as a string; the caller knows they are valid UTF-8 (e.g. ASCII). */
  appendBytes(b: Uint8Array, start: number, end: number): void {
    this.reserve();
    const len = end - start;
    let bytes = this.bytes!;
    if (this.byteLength + len > bytes.length) bytes = this.growBytes(this.byteLength + len);
    const n = this.byteLength;
    if (len < NATIVE_COPY_FROM) for (let k = 0; k < len; k++) bytes[n + k] = b[start + k]!;
    else bytes.set(b.subarray(start, end), n);
    this.byteLength = n + len;
    this.offsets![this.length + 1] = n + len;
    this.markValid();
  }

  /**
   * Appends the lines of b[start, end) as values, at most `maxRows` of them, and returns where
   * the next line starts (end when all were taken). Lines are cut as splitLines cuts text: at
   * '\n', a '\r' before it (or at the end) dropped, text after the last '\n' a line when not
   * empty. The caller knows the bytes are valid UTF-8 (e.g. ASCII), or asks with `asciiOnly`
   * that they be checked as they are copied: then -1, with nothing appended, when one is not
   * ASCII. One pass that copies, checks and finds the line breaks together: a call per line was
   * most of a many-words-per-message ingest.
   */
  appendLines(b: Uint8Array, start: number, end: number, maxRows: number, asciiOnly: boolean): number {
    // Every line takes at least one byte (its '\n', or the unterminated last line's text).
    const most = Math.min(maxRows, end - start);
    while (this.length + most > this.capacity) this.growRows();
    const bytes = this.byteLength + (end - start) > this.bytes!.length ? this.growBytes(this.byteLength + (end - start)) : this.bytes!;
    const offsets = this.offsets!;
    const first = this.length;
    const last = first + maxRows;
    let row = first;
    let n = this.byteLength;
    let p = start;
    let high = 0;
    while (p < end && row < last) {
      const lineStart = n;
      let c = 0;
      while (p < end && (c = b[p]!) !== 10) {
        bytes[n++] = c;
        high |= c;
        p++;
      }
      if (n > lineStart && bytes[n - 1] === 13) n--;
      offsets[++row] = n;
      p++; // past the '\n' (or the end)
    }
    if (asciiOnly && high >= 128) return -1; // length and byteLength not moved: nothing appended
    this.byteLength = n;
    this.length = row;
    const validity = this.validity;
    if (validity !== null) for (let i = first; i < row; i++) setBit(validity, i, true);
    return p < end ? p : end;
  }

  /**
   * The varchar bytes with room for `n` more after `byteEnd`, for a caller that writes a value
   * there and then calls commitBytes (or writes nothing and appends otherwise).
   */
  reserveBytes(n: number): Buffer {
    const bytes = this.bytes!;
    return this.byteLength + n > bytes.length ? this.growBytes(this.byteLength + n) : bytes;
  }

  /** A DataView of the varchar bytes reserveBytes last returned (unaligned four-byte writes). */
  bytesView(): DataView {
    const b = this.bytes!;
    if (this.viewOf !== b) {
      this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.viewOf = b;
    }
    return this.view!;
  }

  /** Where the next varchar value's bytes start (see reserveBytes). */
  get byteEnd(): number {
    return this.byteLength;
  }

  /** Appends the `n` bytes written at byteEnd (after reserveBytes) as the next value. */
  commitBytes(n: number): void {
    this.reserve();
    this.byteLength += n;
    this.offsets![this.length + 1] = this.byteLength;
    this.markValid();
  }

  /** Drops the rows from `length` on. */
  truncate(length: number): void {
    if (length >= this.length) return;
    this.length = length;
    if (this.offsets !== null) this.byteLength = this.offsets[length]!;
  }

  /** Bytes per row so far, with some room: a good size for the next column like this one. */
  bytesPerRow(): number {
    return this.length === 0 ? 16 : Math.ceil((this.byteLength / this.length) * 1.25) + 1;
  }

  /**
   * The column. Arrays at least half used are handed over as views (no copy; the column must
   * not be appended to afterwards), emptier ones are copied so they do not pin unused memory.
   */
  finish(): Column {
    const n = this.length;
    const validity = this.validity === null ? null : trim(this.validity, (n + 7) >> 3);
    if (this.type === 'varchar' || this.type === 'numeric' || this.type === 'jsonb' || this.type === 'interval') {
      const b = this.bytes!;
      const values = 2 * this.byteLength >= b.length ? new Uint8Array(b.buffer, b.byteOffset, this.byteLength) : new Uint8Array(b.subarray(0, this.byteLength));
      return { type: this.type, length: n, values, offsets: trim(this.offsets!, n + 1), validity };
    }
    return { type: this.type, length: n, values: trim(this.values, this.type === 'boolean' ? (n + 7) >> 3 : n), validity };
  }

  /** Appends a number into an INT, DOUBLE, NUMERIC or DATE slot (the caller knows it fits). */
  appendNumber(v: number): void {
    this.reserve();
    (this.values as Float64Array | Int32Array)[this.length] = v;
    this.markValid();
  }

  /** Appends a safe integer into a BIGINT, TIMESTAMP or INTERVAL slot. */
  appendInt64(v: number): void {
    this.reserve();
    const h = this.halves;
    if (h === null) {
      (this.values as BigInt64Array)[this.length] = BigInt(v);
    } else if ((v | 0) === v) {
      // An int32 (most keys and prices): its high half is its sign.
      h[this.length * 2] = v;
      h[this.length * 2 + 1] = v >> 31;
    } else {
      const hi = Math.floor(v / TWO_32);
      h[this.length * 2] = (v - hi * TWO_32) | 0;
      h[this.length * 2 + 1] = hi | 0;
    }
    this.markValid();
  }

  private markValid(): void {
    if (this.validity !== null) setBit(this.validity, this.length, true);
    this.length++;
  }

  private reserve(): void {
    if (this.length < this.capacity) return;
    this.growRows();
  }

  private growRows(): void {
    const cap = this.capacity * 2;
    const next = this.allocate(cap);
    if (this.type === 'boolean') (next as Uint8Array).set(this.values as Uint8Array);
    else (next as Int32Array).set(this.values as Int32Array);
    this.values = next;
    if (this.offsets !== null) {
      const o = new Int32Array(cap + 1);
      o.set(this.offsets);
      this.offsets = o;
    }
    if (this.validity !== null) {
      const b = newBitmap(cap, true);
      b.set(this.validity);
      this.validity = b;
    }
    this.capacity = cap;
  }

  private growBytes(need: number): Buffer {
    const b = Buffer.allocUnsafe(Math.max(need, this.bytes!.length * 2));
    this.bytes!.copy(b, 0, 0, this.byteLength);
    this.bytes = b;
    return b;
  }

  private allocate(n: number): ColumnValues {
    // Unused for varchar (bytes and offsets hold the data).
    if (this.type === 'varchar' || this.type === 'numeric' || this.type === 'jsonb' || this.type === 'interval') return new Uint8Array(0);
    const v = allocValues(this.type, n);
    if (v instanceof BigInt64Array && LITTLE_ENDIAN) this.halves = new Int32Array(v.buffer);
    return v;
  }
}

