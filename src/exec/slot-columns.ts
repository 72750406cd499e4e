/**
 * A slot column: one SQL column's values held per slot (a row position of a store or a group id
 * of an operator) in a growable typed array, with a byte of validity per slot. Fixed-width types
 * keep their bits (64-bit values are copied as two 32-bit words, never through a BigInt);
 * strings and arrays keep JS values. Batches are scattered into slots and slots gathered into
 * columns a column at a time, so a store of a million rows holds a handful of arrays, not a
 * million row objects.
 */
import { ColumnBuilder, getBit, getValue, newBitmap, setBit, type Column } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import { storageOf, type Storage } from './storage.js';

/** The 32-bit words of a BigInt64Array (little-endian: word 2i is the low half of value i). */
export function wordsOf(v: BigInt64Array): Int32Array {
  return new Int32Array(v.buffer, v.byteOffset, v.length * 2);
}

export class SlotColumn {
  private readonly storage: Storage;
  private i32: Int32Array = new Int32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private i64: BigInt64Array = new BigInt64Array(0);
  private w64: Int32Array = new Int32Array(0);
  private bool: Uint8Array = new Uint8Array(0);
  private any: Value[] = [];
  private valid: Uint8Array = new Uint8Array(0);
  /** Whether every text slot came from a column (scatter), hence is in canonical form. */
  private scatteredOnly = true;

  constructor(readonly type: SqlType, capacity = 64) {
    this.storage = storageOf(type);
    this.ensure(capacity);
  }

  get capacity(): number {
    return this.valid.length;
  }

  /** Grows to at least `need` slots (doubling). */
  ensure(need: number): void {
    if (need <= this.valid.length) return;
    const cap = Math.max(need, this.valid.length * 2, 16);
    const valid = new Uint8Array(cap);
    valid.set(this.valid);
    this.valid = valid;
    switch (this.storage) {
      case 'i32': {
        const a = new Int32Array(cap);
        a.set(this.i32);
        this.i32 = a;
        break;
      }
      case 'f64': {
        const a = new Float64Array(cap);
        a.set(this.f64);
        this.f64 = a;
        break;
      }
      case 'i64': {
        const a = new BigInt64Array(cap);
        a.set(this.i64);
        this.i64 = a;
        this.w64 = wordsOf(a);
        break;
      }
      case 'bool': {
        const a = new Uint8Array(cap);
        a.set(this.bool);
        this.bool = a;
        break;
      }
      case 'utf8':
      case 'list':
        this.any.length = cap;
        break;
      case 'null':
        break;
    }
  }

  /** Copies row `rows[k]` of `src` (a column of this type) into slot `slots[k]`, for k < n. */
  scatter(src: Column, rows: Int32Array | null, slots: Int32Array, n: number): void {
    const validity = src.validity;
    const valid = this.valid;
    for (let k = 0; k < n; k++) {
      const i = rows === null ? k : rows[k]!;
      valid[slots[k]!] = validity === null || ((validity[i >> 3]! >> (i & 7)) & 1) === 1 ? 1 : 0;
    }
    switch (this.storage) {
      case 'i32': {
        const s = src.values as Int32Array;
        const d = this.i32;
        for (let k = 0; k < n; k++) d[slots[k]!] = s[rows === null ? k : rows[k]!]!;
        return;
      }
      case 'f64': {
        const s = src.values as Float64Array;
        const d = this.f64;
        for (let k = 0; k < n; k++) d[slots[k]!] = s[rows === null ? k : rows[k]!]!;
        return;
      }
      case 'i64': {
        const s = wordsOf(src.values as BigInt64Array);
        const d = this.w64;
        for (let k = 0; k < n; k++) {
          const i = rows === null ? k : rows[k]!;
          const slot = slots[k]!;
          d[2 * slot] = s[2 * i]!;
          d[2 * slot + 1] = s[2 * i + 1]!;
        }
        return;
      }
      case 'bool': {
        const s = src.values as Uint8Array;
        const d = this.bool;
        for (let k = 0; k < n; k++) d[slots[k]!] = getBit(s, rows === null ? k : rows[k]!) ? 1 : 0;
        return;
      }
      case 'utf8':
      case 'list': {
        const d = this.any;
        for (let k = 0; k < n; k++) d[slots[k]!] = valid[slots[k]!] === 1 ? getValue(src, rows === null ? k : rows[k]!) : null;
        return;
      }
      case 'null':
        return;
    }
  }

  /** Copies slot `from` of `src` (a slot column of the same type) into slot `to`. */
  copySlot(src: SlotColumn, from: number, to: number): void {
    if (!src.scatteredOnly) this.scatteredOnly = false;
    this.valid[to] = src.valid[from]!;
    switch (this.storage) {
      case 'i32':
        this.i32[to] = src.i32[from]!;
        return;
      case 'f64':
        this.f64[to] = src.f64[from]!;
        return;
      case 'i64':
        this.w64[2 * to] = src.w64[2 * from]!;
        this.w64[2 * to + 1] = src.w64[2 * from + 1]!;
        return;
      case 'bool':
        this.bool[to] = src.bool[from]!;
        return;
      case 'utf8':
      case 'list':
        this.any[to] = src.any[from]!;
        return;
      case 'null':
        return;
    }
  }

  /** Whether slot `a` of this column and slot `b` of `other` (same type) hold the same value (NaN equals NaN). */
  sameAs(a: number, other: SlotColumn, b: number): boolean {
    const va = this.valid[a] === 1;
    if (va !== (other.valid[b] === 1)) return false;
    if (!va) return true;
    switch (this.storage) {
      case 'i32':
        return this.i32[a] === other.i32[b];
      case 'f64': {
        const x = this.f64[a]!;
        const y = other.f64[b]!;
        return x === y || (x !== x && y !== y);
      }
      case 'i64':
        return this.w64[2 * a] === other.w64[2 * b] && this.w64[2 * a + 1] === other.w64[2 * b + 1];
      case 'bool':
        return this.bool[a] === other.bool[b];
      case 'utf8':
        return this.any[a] === other.any[b];
      case 'list':
        return sameValue(this.any[a]!, other.any[b]!);
      case 'null':
        return true;
    }
  }

  /** The value of a slot (the slow path: rows for clients). */
  get(slot: number): Value {
    if (this.valid[slot] !== 1) return null;
    switch (this.storage) {
      case 'i32':
        return this.i32[slot]!;
      case 'f64':
        return this.f64[slot]!;
      case 'i64':
        return this.i64[slot]!;
      case 'bool':
        return this.bool[slot] === 1;
      case 'utf8':
      case 'list':
        return this.any[slot]!;
      case 'null':
        return null;
    }
  }

  /** Sets a slot from a JS value of the column's type. */
  set(slot: number, v: Value): void {
    if (v === null) {
      this.valid[slot] = 0;
      if (this.storage === 'utf8' || this.storage === 'list') this.any[slot] = null;
      return;
    }
    this.valid[slot] = 1;
    switch (this.storage) {
      case 'i32':
        this.i32[slot] = Number(v);
        return;
      case 'f64':
        this.f64[slot] = Number(v);
        return;
      case 'i64':
        this.i64[slot] = typeof v === 'bigint' ? v : BigInt(v as number);
        return;
      case 'bool':
        this.bool[slot] = v === true ? 1 : 0;
        return;
      case 'utf8':
      case 'list':
        this.any[slot] = v;
        this.scatteredOnly = false;
        return;
      case 'null':
        return;
    }
  }

  /** Sets a slot to NULL. */
  setNull(slot: number): void {
    this.valid[slot] = 0;
    if (this.storage === 'utf8' || this.storage === 'list') this.any[slot] = null;
  }

  /** Sets a slot of a double or numeric column. */
  setF64(slot: number, x: number): void {
    this.valid[slot] = 1;
    this.f64[slot] = x;
  }

  /** Sets a slot of a 64-bit column to the integer `x` (a safe integer), without a BigInt. */
  setI64FromNumber(slot: number, x: number): void {
    const hi = Math.floor(x / 4294967296);
    this.valid[slot] = 1;
    this.w64[2 * slot] = (x - hi * 4294967296) | 0;
    this.w64[2 * slot + 1] = hi | 0;
  }

  /** Sets a slot of a 64-bit column from its two 32-bit words. */
  setI64Words(slot: number, lo: number, hi: number): void {
    this.valid[slot] = 1;
    this.w64[2 * slot] = lo;
    this.w64[2 * slot + 1] = hi;
  }

  /** The values of slots `slots[0…n-1]` (null: slots 0…n-1) as a column. */
  gather(slots: Int32Array | null, n: number): Column {
    if (slots === null) {
      slots = new Int32Array(n);
      for (let k = 0; k < n; k++) slots[k] = k;
    }
    let validity: Uint8Array | null = null;
    for (let k = 0; k < n; k++) {
      if (this.valid[slots[k]!] === 1) continue;
      validity = newBitmap(n, true);
      for (let q = k; q < n; q++) if (this.valid[slots[q]!] !== 1) setBit(validity, q, false);
      break;
    }
    const type = this.type;
    switch (this.storage) {
      case 'i32': {
        const v = new Int32Array(n);
        for (let k = 0; k < n; k++) v[k] = this.i32[slots[k]!]!;
        return { type, length: n, values: v, validity };
      }
      case 'f64': {
        const v = new Float64Array(n);
        for (let k = 0; k < n; k++) v[k] = this.f64[slots[k]!]!;
        return { type, length: n, values: v, validity };
      }
      case 'i64': {
        const v = new BigInt64Array(n);
        const w = wordsOf(v);
        const s = this.w64;
        for (let k = 0; k < n; k++) {
          const slot = slots[k]!;
          w[2 * k] = s[2 * slot]!;
          w[2 * k + 1] = s[2 * slot + 1]!;
        }
        return { type, length: n, values: v, validity };
      }
      case 'bool': {
        const v = newBitmap(n, false);
        for (let k = 0; k < n; k++) if (this.bool[slots[k]!] === 1) setBit(v, k, true);
        return { type, length: n, values: v, validity };
      }
      case 'null':
        return { type, length: n, values: new Int32Array(n), validity: newBitmap(n, false) };
      case 'utf8': {
        // Texts taken from columns are canonical already: no numeric/bytea re-parse. A value set
        // from elsewhere (an accumulator's result) goes through the builder's conversion.
        const b = new ColumnBuilder(type, n);
        const fromColumns = this.scatteredOnly;
        for (let k = 0; k < n; k++) {
          const v = this.any[slots[k]!];
          if (v === null || v === undefined) b.appendNull();
          else if (fromColumns && typeof v === 'string') b.appendString(v);
          else b.append(v);
        }
        return b.finish();
      }
      case 'list': {
        const b = new ColumnBuilder(type, n);
        for (let k = 0; k < n; k++) b.append(this.any[slots[k]!] ?? null);
        return b.finish();
      }
    }
  }
}

function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a !== a && b !== b;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i]!, b[i]!)) return false;
  return true;
}
