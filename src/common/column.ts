/**
 * Columns and batches: the Arrow columnar layout, held as plain typed arrays so hot loops read
 * `values` and the validity bitmap directly (never a per-row accessor). `toArrow`/`fromArrow` in
 * arrow.ts convert to apache-arrow RecordBatches without copying numeric buffers.
 *
 * Invariants: validity is an Arrow LSB bitmap (bit set = valid) or null when every value is
 * valid; a null slot's value bytes are unspecified; varchar columns keep `offsets` (length+1).
 * Array columns use Arrow's List layout: `offsets` (length+1) index into the `child` column of
 * the elements, and `values` is empty.
 */
import { threadId } from 'node:worker_threads';
import { elementType, isArrayType, type SqlType, type Value } from './types.js';
import { SluiceError } from './errors.js';
import { parseBytea } from './values.js';
import { numericText } from './decimal.js';
import { canonicalJsonb } from './jsonb.js';

export type ColumnValues = Int32Array | BigInt64Array | Float64Array | Uint8Array;

export interface Column {
  readonly type: SqlType;
  readonly length: number;
  readonly values: ColumnValues;
  /** Utf8: byte offsets into `values`; arrays: element offsets into `child`. length + 1 entries. */
  readonly offsets?: Int32Array;
  /** Arrays only: every row's elements, back to back. */
  readonly child?: Column;
  readonly validity: Uint8Array | null;
}

/**
 * A micro-batch: columns of equal length and, for a changelog, a weight per row
 * (+1 insert, −1 delete, n for n copies). Append-only batches have no weights.
 */
export interface Batch {
  readonly columns: readonly Column[];
  readonly length: number;
  readonly weights: Int32Array | null;
  /** Optional: which key each row has in its producer's numbering (see KeyIds). */
  readonly keyIds?: KeyIds;
}

/**
 * A hint a keyed operator attaches to its output: `ids[i]` numbers row i's key in the operator's
 * own dense numbering (a hash aggregate's group ids), `owner` says whose numbering. A consumer
 * may use it to find where it put that key before without hashing the key again (the view
 * store), but must check the key it finds there: a hint is never trusted for correctness.
 * Operators that keep rows and keys in place (projection, a filter passing a whole batch) may pass
 * it on; any other batch simply has none.
 */
export interface KeyIds {
  /** Unique per producing operator instance in this process (a number: batches may cross threads). */
  readonly owner: number;
  readonly ids: Int32Array;
}

let keyIdOwners = 0;
/** A fresh KeyIds owner number (distinct across this process's threads: a worker's batches may reach the main thread). */
export function newKeyIdOwner(): number {
  return threadId * 2 ** 24 + ++keyIdOwners;
}

export function isValid(c: Column, i: number): boolean {
  const v = c.validity;
  return v === null || ((v[i >> 3]! >> (i & 7)) & 1) === 1;
}

export function getBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3]! >> (i & 7)) & 1) === 1;
}

export function newBitmap(length: number, fill: boolean): Uint8Array {
  const b = new Uint8Array((length + 7) >> 3);
  if (fill) b.fill(255);
  return b;
}

export function setBit(bits: Uint8Array, i: number, on: boolean): void {
  if (on) bits[i >> 3]! |= 1 << (i & 7);
  else bits[i >> 3]! &= ~(1 << (i & 7));
}

export function nullCount(c: Column): number {
  if (c.validity === null) return 0;
  let n = 0;
  for (let i = 0; i < c.length; i++) if (!isValid(c, i)) n++;
  return n;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Decodes bytes [start, end) as UTF-8, with a fast path for short ASCII. */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len <= 24) {
    let ascii = true;
    for (let i = start; i < end; i++) if (bytes[i]! >= 128) { ascii = false; break; }
    if (ascii) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
      return s;
    }
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** The text a column of a text-stored type (varchar, interval, bytea, numeric, jsonb) holds for a JS value. */
export function canonicalText(type: SqlType, v: Value): string {
  switch (type) {
    case 'bytea':
      // Rows from DuckDB tables hold the text as written; the column holds the canonical form.
      return parseBytea(String(v));
    case 'numeric':
      // Canonical text from here on: DuckDB rows, JSON numbers and doubles arrive in other forms.
      return numericText(v);
    case 'jsonb':
      // Values in columns are canonical text; rows from DuckDB tables are JSON as written.
      return canonicalJsonb(String(v));
    default:
      return String(v);
  }
}

export function getString(c: Column, i: number): string {
  const o = c.offsets!;
  return decodeUtf8(c.values as Uint8Array, o[i]!, o[i + 1]!);
}

/** The JS value at row i (slow path: results, keys of rare types, tests). */
export function getValue(c: Column, i: number): Value {
  if (!isValid(c, i)) return null;
  switch (c.type) {
    case 'boolean':
      return getBit(c.values as Uint8Array, i);
    case 'int':
    case 'date':
    case 'double':
      return (c.values as Int32Array | Float64Array)[i]!;
    case 'bigint':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
      return (c.values as BigInt64Array)[i]!;
    case 'varchar':
    case 'bytea':
    case 'numeric':
    case 'jsonb':
    case 'interval':
      return getString(c, i);
    case 'null':
      return null;
    default:
      return listValue(c, i);
  }
}

/** The elements of row i of an array column. */
function listValue(c: Column, i: number): Value[] {
  const o = c.offsets!;
  const child = c.child!;
  const out: Value[] = new Array(o[i + 1]! - o[i]!);
  for (let k = o[i]!; k < o[i + 1]!; k++) out[k - o[i]!] = getValue(child, k);
  return out;
}

/** Growable builder for one column; append() takes JS values of the column's type. */
export class ColumnBuilder {
  readonly type: SqlType;
  length = 0;
  private values: ColumnValues;
  private offsets: Int32Array | null = null;
  private bytes = 0;
  private validity: Uint8Array | null = null;
  /** Arrays: the elements' builder (offsets then index into it). */
  private readonly child: ColumnBuilder | null = null;

  constructor(type: SqlType, capacity = 64) {
    this.type = type;
    capacity = Math.max(capacity, 8);
    if (isArrayType(type)) {
      this.values = new Uint8Array(0);
      this.offsets = new Int32Array(capacity + 1);
      this.child = new ColumnBuilder(elementType(type), capacity);
      return;
    }
    switch (type) {
      case 'boolean':
        this.values = new Uint8Array((capacity + 7) >> 3);
        break;
      case 'int':
      case 'date':
      case 'null':
        this.values = new Int32Array(capacity);
        break;
      case 'bigint':
      case 'timestamp':
      case 'timestamptz':
      case 'time':
        this.values = new BigInt64Array(capacity);
        break;
      case 'double':
        this.values = new Float64Array(capacity);
        break;
      case 'varchar':
      case 'bytea':
      case 'numeric':
      case 'jsonb':
      case 'interval':
        this.values = new Uint8Array(capacity * 8);
        this.offsets = new Int32Array(capacity + 1);
        break;
    }
  }

  private capacity(): number {
    if (this.type === 'boolean') return this.values.length * 8;
    if (this.offsets) return this.offsets.length - 1;
    return this.values.length;
  }

  private grow(): void {
    const cap = this.capacity() * 2;
    if (this.type === 'boolean') {
      const v = new Uint8Array((cap + 7) >> 3);
      v.set(this.values as Uint8Array);
      this.values = v;
    } else if (this.offsets) {
      const o = new Int32Array(cap + 1);
      o.set(this.offsets);
      this.offsets = o;
    } else {
      const C = this.values.constructor as { new (n: number): ColumnValues };
      const v = new C(cap);
      (v as Int32Array).set(this.values as Int32Array);
      this.values = v;
    }
    if (this.validity) {
      const b = newBitmap(cap, false);
      b.set(this.validity);
      this.validity = b;
    }
  }

  appendNull(): void {
    if (this.length === this.capacity()) this.grow();
    if (this.validity === null) {
      this.validity = newBitmap(this.capacity(), false);
      for (let i = 0; i < this.length; i++) setBit(this.validity, i, true);
    }
    setBit(this.validity, this.length, false);
    if (this.offsets) this.offsets[this.length + 1] = this.child ? this.child.length : this.bytes;
    this.length++;
  }

  append(v: Value): void {
    if (v === null) {
      this.appendNull();
      return;
    }
    if (this.length === this.capacity()) this.grow();
    const i = this.length;
    switch (this.type) {
      case 'boolean':
        setBit(this.values as Uint8Array, i, v === true);
        break;
      case 'int':
      case 'date':
      case 'double':
        (this.values as Float64Array)[i] = Number(v);
        break;
      case 'bigint':
      case 'timestamp':
      case 'timestamptz':
      case 'time':
        (this.values as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(v as number);
        break;
      case 'varchar':
      case 'interval':
      case 'bytea':
      case 'numeric':
      case 'jsonb':
        this.appendString(canonicalText(this.type, v));
        return;
      case 'null':
        break;
      default:
        this.appendList(v as readonly Value[]);
        return;
    }
    if (this.validity) setBit(this.validity, i, true);
    this.length++;
  }

  /** Appends an array value (the builder is of an array type). */
  private appendList(v: readonly Value[]): void {
    const child = this.child!;
    for (const x of v) child.append(x);
    if (this.validity) setBit(this.validity, this.length, true);
    this.offsets![this.length + 1] = child.length;
    this.length++;
  }

  appendString(s: string): void {
    if (this.length === this.capacity()) this.grow();
    const need = this.bytes + s.length * 3;
    let buf = this.values as Uint8Array;
    if (need > buf.length) {
      const nb = new Uint8Array(Math.max(need, buf.length * 2));
      nb.set(buf.subarray(0, this.bytes));
      this.values = buf = nb;
    }
    let n = this.bytes;
    const len = s.length;
    let ascii = true;
    for (let k = 0; k < len; k++) {
      const ch = s.charCodeAt(k);
      if (ch >= 128) { ascii = false; break; }
      buf[n + k] = ch;
    }
    if (ascii) n += len;
    else n += encoder.encodeInto(s, buf.subarray(n)).written;
    this.bytes = n;
    if (this.validity) setBit(this.validity, this.length, true);
    this.offsets![this.length + 1] = n;
    this.length++;
  }

  /** Appends row i of a column of the same type. */
  appendFrom(c: Column, i: number): void {
    if (!isValid(c, i)) {
      this.appendNull();
      return;
    }
    if (this.offsets && !this.child) {
      const o = c.offsets!;
      const s = o[i]!;
      const e = o[i + 1]!;
      if (this.length === this.capacity()) this.grow();
      let buf = this.values as Uint8Array;
      if (this.bytes + (e - s) > buf.length) {
        const nb = new Uint8Array(Math.max(this.bytes + (e - s), buf.length * 2));
        nb.set(buf.subarray(0, this.bytes));
        this.values = buf = nb;
      }
      buf.set((c.values as Uint8Array).subarray(s, e), this.bytes);
      this.bytes += e - s;
      if (this.validity) setBit(this.validity, this.length, true);
      this.offsets[this.length + 1] = this.bytes;
      this.length++;
      return;
    }
    this.append(getValue(c, i));
  }

  finish(): Column {
    const n = this.length;
    if (this.child) {
      return {
        type: this.type,
        length: n,
        values: new Uint8Array(0),
        offsets: this.offsets!.slice(0, n + 1),
        child: this.child.finish(),
        validity: this.validity ? this.validity.slice(0, (n + 7) >> 3) : null,
      };
    }
    if (this.offsets) {
      return {
        type: this.type,
        length: n,
        values: (this.values as Uint8Array).slice(0, this.bytes),
        offsets: this.offsets.slice(0, n + 1),
        validity: this.validity ? this.validity.slice(0, (n + 7) >> 3) : null,
      };
    }
    const values = this.type === 'boolean' ? (this.values as Uint8Array).slice(0, (n + 7) >> 3) : this.values.slice(0, n);
    return { type: this.type, length: n, values, validity: this.validity ? this.validity.slice(0, (n + 7) >> 3) : null };
  }
}

export function columnFromValues(type: SqlType, vals: readonly Value[]): Column {
  const b = new ColumnBuilder(type, vals.length);
  for (const v of vals) b.append(v);
  return b.finish();
}

export function batchFromRows(types: readonly SqlType[], rows: readonly (readonly Value[])[], weights?: readonly number[]): Batch {
  const builders = types.map((t) => new ColumnBuilder(t, rows.length));
  for (const r of rows) for (let j = 0; j < types.length; j++) builders[j]!.append(r[j] ?? null);
  return {
    columns: builders.map((b) => b.finish()),
    length: rows.length,
    weights: weights ? Int32Array.from(weights) : null,
  };
}

export function rowOf(b: Batch, i: number): Value[] {
  const r: Value[] = new Array(b.columns.length);
  for (let j = 0; j < b.columns.length; j++) r[j] = getValue(b.columns[j]!, i);
  return r;
}

export function batchRows(b: Batch): Value[][] {
  const out: Value[][] = [];
  for (let i = 0; i < b.length; i++) out.push(rowOf(b, i));
  return out;
}

/** Rows i where sel[i] is set, in order. */
export function takeColumn(c: Column, idx: Int32Array, n: number): Column {
  if (c.child) {
    const b = new ColumnBuilder(c.type, n);
    for (let k = 0; k < n; k++) b.appendFrom(c, idx[k]!);
    return b.finish();
  }
  const validity = c.validity ? newBitmap(n, false) : null;
  if (validity) for (let k = 0; k < n; k++) if (isValid(c, idx[k]!)) setBit(validity, k, true);
  switch (c.type) {
    case 'varchar':
    case 'bytea':
    case 'numeric':
    case 'jsonb':
    case 'interval': {
      const o = c.offsets!;
      const src = c.values as Uint8Array;
      let total = 0;
      for (let k = 0; k < n; k++) total += o[idx[k]! + 1]! - o[idx[k]!]!;
      const bytes = new Uint8Array(total);
      const offs = new Int32Array(n + 1);
      let p = 0;
      for (let k = 0; k < n; k++) {
        const s = o[idx[k]!]!;
        const e = o[idx[k]! + 1]!;
        if (e - s < 16) for (let q = s; q < e; q++) bytes[p++] = src[q]!;
        else {
          bytes.set(src.subarray(s, e), p);
          p += e - s;
        }
        offs[k + 1] = p;
      }
      return { type: c.type, length: n, values: bytes, offsets: offs, validity };
    }
    case 'boolean': {
      const v = newBitmap(n, false);
      const src = c.values as Uint8Array;
      for (let k = 0; k < n; k++) if (getBit(src, idx[k]!)) setBit(v, k, true);
      return { type: c.type, length: n, values: v, validity };
    }
    default: {
      const src = c.values as Float64Array;
      const C = src.constructor as { new (n: number): Float64Array };
      const v = new C(n);
      for (let k = 0; k < n; k++) v[k] = src[idx[k]!]!;
      return { type: c.type, length: n, values: v, validity };
    }
  }
}

/**
 * Rows [start, end) of `c` in buffers of their own (copies of ranges, no per-row work). `start`
 * must be a multiple of 8, so that bitmaps are cut at a byte; array columns are taken row by row.
 */
export function sliceColumn(c: Column, start: number, end: number): Column {
  if (start % 8 !== 0) throw new SluiceError('internal', `sliceColumn at ${start}: not a multiple of 8`);
  const n = end - start;
  if (c.child) {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = start + i;
    return takeColumn(c, idx, n);
  }
  const bits = (m: Uint8Array) => copyRange(m, start >>> 3, (end + 7) >>> 3);
  const validity = c.validity ? bits(c.validity) : null;
  if (c.offsets) {
    const o = c.offsets;
    const base = o[start]!;
    const offsets = copyRange(o, start, end + 1);
    if (base !== 0) for (let i = 0; i <= n; i++) offsets[i]! -= base;
    return { type: c.type, length: n, values: copyRange(c.values as Uint8Array, base, o[end]!), offsets, validity };
  }
  if (c.type === 'boolean') return { type: c.type, length: n, values: bits(c.values as Uint8Array), validity };
  return { type: c.type, length: n, values: copyRange(c.values, start, end), validity };
}

/** Elements [start, end) of `a` in a new array (through set(), a block copy: slice() is several times slower here). */
function copyRange<T extends ColumnValues | Int32Array>(a: T, start: number, end: number): T {
  const C = a.constructor as new (n: number) => T;
  const out = new C(end - start);
  (out as unknown as { set(src: ArrayLike<unknown>): void }).set(a.subarray(start, end) as ArrayLike<unknown>);
  return out;
}

/** `b` with every array copied into an ordinary buffer of its own (which can be transferred to another thread). */
export function copyBatch(b: Batch): Batch {
  const copy = <T extends ArrayBufferView | null>(a: T): T => {
    if (a === null || !ArrayBuffer.isView(a)) return a;
    const C = a.constructor as new (buffer: ArrayBuffer) => T & { set(src: ArrayBufferView): void };
    const out = new C(new ArrayBuffer(a.byteLength));
    out.set(a as never);
    return out;
  };
  const column = (c: Column): Column => ({
    ...c,
    values: copy(c.values),
    validity: copy(c.validity),
    ...(c.offsets ? { offsets: copy(c.offsets) } : {}),
    ...(c.child ? { child: column(c.child) } : {}),
  });
  return { columns: b.columns.map(column), length: b.length, weights: copy(b.weights) };
}

/** Rows [start, end) of `b` in buffers of its own (see sliceColumn: `start` a multiple of 8). */
export function sliceBatch(b: Batch, start: number, end: number): Batch {
  return { columns: b.columns.map((c) => sliceColumn(c, start, end)), length: end - start, weights: b.weights ? copyRange(b.weights, start, end) : null };
}

export function takeBatch(b: Batch, idx: Int32Array, n: number): Batch {
  let weights: Int32Array | null = null;
  if (b.weights) {
    weights = new Int32Array(n);
    for (let k = 0; k < n; k++) weights[k] = b.weights[idx[k]!]!;
  }
  return { columns: b.columns.map((c) => takeColumn(c, idx, n)), length: n, weights };
}

export function concatBatches(types: readonly SqlType[], batches: readonly Batch[]): Batch {
  if (batches.length === 1) return batches[0]!;
  let n = 0;
  let weighted = false;
  for (const b of batches) {
    n += b.length;
    if (b.weights) weighted = true;
  }
  const builders = types.map((t) => new ColumnBuilder(t, n));
  const weights = weighted ? new Int32Array(n) : null;
  let p = 0;
  for (const b of batches) {
    for (let j = 0; j < types.length; j++) {
      const c = b.columns[j]!;
      const bl = builders[j]!;
      for (let i = 0; i < b.length; i++) bl.appendFrom(c, i);
    }
    if (weights) for (let i = 0; i < b.length; i++) weights[p + i] = b.weights ? b.weights[i]! : 1;
    p += b.length;
  }
  return { columns: builders.map((bl) => bl.finish()), length: n, weights };
}

/** The first n rows of a column (not a list column) as views of its arrays, no copy. */
export function columnHead(c: Column, n: number): Column {
  if (n === c.length) return c;
  const validity = c.validity === null ? null : c.validity.subarray(0, (n + 7) >> 3);
  if (c.offsets !== undefined) {
    const offsets = c.offsets.subarray(0, n + 1);
    return { type: c.type, length: n, values: c.values.subarray(0, offsets[n]!), offsets, validity };
  }
  return { type: c.type, length: n, values: c.values.subarray(0, c.type === 'boolean' ? (n + 7) >> 3 : n), validity };
}

/** A column of n copies of one value. */
export function constantColumn(type: SqlType, v: Value, n: number): Column {
  if (isArrayType(type)) {
    const b = new ColumnBuilder(type, n);
    for (let i = 0; i < n; i++) b.append(v);
    return b.finish();
  }
  if (v === null) {
    const validity = newBitmap(n, false);
    if (type === 'varchar' || type === 'bytea' || type === 'numeric' || type === 'jsonb' || type === 'interval') return { type, length: n, values: new Uint8Array(0), offsets: new Int32Array(n + 1), validity };
    return { type, length: n, values: allocValues(type, n), validity };
  }
  switch (type) {
    case 'varchar':
    case 'bytea':
    case 'numeric':
    case 'jsonb':
    case 'interval': {
      const s = new TextEncoder().encode(type === 'numeric' ? numericText(v) : String(v));
      const bytes = new Uint8Array(s.length * n);
      const offs = new Int32Array(n + 1);
      // The value once, then the filled part copied onto the rest: a few native copies, not one per row.
      if (bytes.length > 0) {
        bytes.set(s, 0);
        for (let filled = s.length; filled < bytes.length; filled *= 2) bytes.copyWithin(filled, 0, Math.min(filled, bytes.length - filled));
      }
      for (let i = 0; i < n; i++) offs[i + 1] = (i + 1) * s.length;
      return { type, length: n, values: bytes, offsets: offs, validity: null };
    }
    case 'boolean':
      return { type, length: n, values: newBitmap(n, v === true), validity: null };
    default: {
      const values = allocValues(type, n);
      (values as Float64Array).fill(values instanceof BigInt64Array ? (BigInt(v as bigint) as unknown as number) : Number(v));
      return { type, length: n, values, validity: null };
    }
  }
}

export function allocValues(type: SqlType, n: number): ColumnValues {
  switch (type) {
    case 'boolean':
      return newBitmap(n, false);
    case 'int':
    case 'date':
    case 'null':
      return new Int32Array(n);
    case 'bigint':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
      return new BigInt64Array(n);
    case 'double':
      return new Float64Array(n);
    default:
      throw new SluiceError('internal', `allocValues cannot allocate ${type}`);
  }
}

/** Bits of a boolean column that are valid and true (a selection mask). */
export function trueMask(c: Column): Uint8Array {
  if (!c.validity) return c.values as Uint8Array;
  const v = c.values as Uint8Array;
  const out = new Uint8Array(v.length);
  for (let k = 0; k < v.length; k++) out[k] = v[k]! & c.validity[k]!;
  return out;
}
