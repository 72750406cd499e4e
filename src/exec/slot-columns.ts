/**
 * A slot column: one SQL column's values held per slot (a row position of a store or a group id
 * of an operator) in a growable typed array, with a byte of validity per slot. Fixed-width types
 * keep their bits (64-bit values are copied as two 32-bit words, never through a BigInt); text
 * types (varchar, numeric, interval, bytea, jsonb) keep their UTF-8 bytes in one arena, each slot
 * a reserved run of it; arrays keep JS values. Batches are scattered into slots and slots
 * gathered into columns a column at a time, so a store of a million rows holds a handful of
 * arrays, not a million row objects or strings.
 *
 * Text arena: a slot's value is rewritten in place when it fits the run the slot reserved, and
 * moves to the arena's end when it does not (its old run becomes garbage); the arena is compacted
 * when it is full and at least half garbage. Values set from JS (not copied from a column) are
 * made canonical as a column builder would (numeric, bytea and jsonb text), so slots hold column
 * text only and are gathered by copying bytes.
 */
import { canonicalText, ColumnBuilder, decodeUtf8, getBit, getValue, newBitmap, setBit, type Column } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import { storageOf, type Storage } from './storage.js';

/** The 32-bit words of a BigInt64Array (little-endian: word 2i is the low half of value i). */
export function wordsOf(v: BigInt64Array): Int32Array {
  return new Int32Array(v.buffer, v.byteOffset, v.length * 2);
}

/**
 * The capacity an array grown from `capacity` to hold `need` elements gets: twice as much while
 * small, four times as much once past 64 Ki elements. Growing copies the old elements into fresh
 * memory, and a fresh page costs far more than copying into it (a page fault, ~10–20 µs on a
 * VM); room the array never uses is never touched, so costs no page. Growing four-fold copies
 * a third of the final size in all instead of as much again as doubling does.
 */
export function grownCapacity(capacity: number, need: number): number {
  return Math.max(need, capacity < 65536 ? capacity * 2 : capacity * 4, 16);
}

const encoder = new TextEncoder();

export class SlotColumn {
  private readonly storage: Storage;
  private i32: Int32Array = new Int32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private i64: BigInt64Array = new BigInt64Array(0);
  private w64: Int32Array = new Int32Array(0);
  private bool: Uint8Array = new Uint8Array(0);
  private any: Value[] = [];
  private valid: Uint8Array = new Uint8Array(0);
  /** Text: the arena, and each slot's run of it (start, bytes used, bytes reserved). */
  private text: Uint8Array = new Uint8Array(0);
  private tStart: Int32Array = new Int32Array(0);
  private tLen: Int32Array = new Int32Array(0);
  private tCap: Int32Array = new Int32Array(0);
  /** Arena bytes handed out (runs lie below), and how many of them no slot reserves any more. */
  private textEnd = 0;
  private textGarbage = 0;

  constructor(readonly type: SqlType, capacity = 64) {
    this.storage = storageOf(type);
    this.ensure(capacity);
  }

  get capacity(): number {
    return this.valid.length;
  }

  /** A 64-bit column's values as 32-bit words (slot s: words 2s and 2s + 1), for scans; replaced when the column grows. */
  get words(): Int32Array {
    return this.w64;
  }

  /** The validity byte per slot (1: not NULL), for scans; replaced when the column grows. */
  get validBytes(): Uint8Array {
    return this.valid;
  }

  /** Grows to at least `need` slots (see {@link grownCapacity}). */
  ensure(need: number): void {
    if (need <= this.valid.length) return;
    const cap = grownCapacity(this.valid.length, need);
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
      case 'utf8': {
        const grow = (a: Int32Array): Int32Array => {
          const b = new Int32Array(cap);
          b.set(a);
          return b;
        };
        this.tStart = grow(this.tStart);
        this.tLen = grow(this.tLen);
        this.tCap = grow(this.tCap);
        break;
      }
      case 'list':
        this.any.length = cap;
        break;
      case 'null':
        break;
    }
  }

  /** Reserves `len` text bytes for `slot` (in place when they fit its run); returns where to write them. */
  private reserveText(slot: number, len: number): number {
    if (len <= this.tCap[slot]!) {
      this.tLen[slot] = len;
      return this.tStart[slot]!;
    }
    const cap = len < 8 ? 8 : len;
    if (this.textEnd + cap > this.text.length) this.makeRoom(cap);
    this.textGarbage += this.tCap[slot]!;
    const at = this.textEnd;
    this.textEnd += cap;
    this.tStart[slot] = at;
    this.tCap[slot] = cap;
    this.tLen[slot] = len;
    return at;
  }

  /** Room for `cap` more arena bytes: the live runs compacted into a new arena when half is garbage, else the arena grown. */
  private makeRoom(cap: number): void {
    const live = this.textEnd - this.textGarbage;
    const size = Math.max(256, 2 * (live + cap), this.textGarbage >= live ? 0 : 2 * this.text.length);
    const next = new Uint8Array(size);
    if (this.textGarbage < live) {
      next.set(this.text.subarray(0, this.textEnd));
      this.text = next;
      return;
    }
    let at = 0;
    const old = this.text;
    for (let slot = 0; slot < this.tCap.length; slot++) {
      const c = this.tCap[slot]!;
      if (c === 0) continue;
      const from = this.tStart[slot]!;
      const len = this.tLen[slot]!;
      for (let k = 0; k < len; k++) next[at + k] = old[from + k]!;
      this.tStart[slot] = at;
      at += c;
    }
    this.text = next;
    this.textEnd = at;
    this.textGarbage = 0;
  }

  /** Sets a text slot to the UTF-8 bytes of `s` (already canonical). */
  private setText(slot: number, s: string): void {
    let ascii = true;
    for (let k = 0; k < s.length; k++) {
      if (s.charCodeAt(k) < 128) continue;
      ascii = false;
      break;
    }
    const bytes = ascii ? null : encoder.encode(s);
    const len = bytes === null ? s.length : bytes.length;
    const at = this.reserveText(slot, len);
    const d = this.text;
    if (bytes !== null) d.set(bytes, at);
    else for (let k = 0; k < len; k++) d[at + k] = s.charCodeAt(k);
  }

  /** Sets a numeric (or text) slot to the decimal digits of the integer `x` (a safe integer), without a string. */
  setIntegerText(slot: number, x: number): void {
    this.valid[slot] = 1;
    const neg = x < 0;
    let m = neg ? -x : x;
    if (m < 2147483648) {
      // Below 2^31: int32 division by 10 (a multiply and shift), not a double division per digit.
      let u = m | 0;
      const len = decimalDigits(u) + (neg ? 1 : 0);
      const at = this.reserveText(slot, len);
      const d = this.text;
      if (neg) d[at] = 45;
      for (let k = at + len - 1; k >= at + (neg ? 1 : 0); k--) {
        const q = (u / 10) | 0;
        d[k] = 48 + (u - q * 10);
        u = q;
      }
      return;
    }
    let digits = 1;
    for (let t = m; t >= 10; t = Math.floor(t / 10)) digits++;
    const len = digits + (neg ? 1 : 0);
    const at = this.reserveText(slot, len);
    const d = this.text;
    if (neg) d[at] = 45;
    for (let k = at + len - 1; k >= at + (neg ? 1 : 0); k--) {
      const q = Math.floor(m / 10);
      d[k] = 48 + (m - q * 10);
      m = q;
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
      case 'utf8': {
        const o = src.offsets!;
        const s = src.values as Uint8Array;
        for (let k = 0; k < n; k++) {
          const slot = slots[k]!;
          if (valid[slot] !== 1) continue;
          const i = rows === null ? k : rows[k]!;
          const from = o[i]!;
          const len = o[i + 1]! - from;
          const at = this.reserveText(slot, len);
          const d = this.text;
          if (len < 32) for (let q = 0; q < len; q++) d[at + q] = s[from + q]!;
          else d.set(s.subarray(from, from + len), at);
        }
        return;
      }
      case 'list': {
        const d = this.any;
        for (let k = 0; k < n; k++) d[slots[k]!] = valid[slots[k]!] === 1 ? getValue(src, rows === null ? k : rows[k]!) : null;
        return;
      }
      case 'null':
        return;
    }
  }

  /**
   * A test of whether `slot` holds the value of row i of `col` (a column of this type): both NULL,
   * or equal bits (fixed width; doubles by ===) or equal bytes (text). True means equal values
   * (equal as a key index compares them); false may also mean "not told cheaply" (NaN), so a
   * caller falls back to its slow way. Null where no cheap test exists (arrays).
   */
  matcher(col: Column): ((slot: number, i: number) => boolean) | null {
    const validity = col.validity;
    const validAt = (i: number): number => (validity === null ? 1 : (validity[i >> 3]! >> (i & 7)) & 1);
    switch (this.storage) {
      case 'i32': {
        const v = col.values as Int32Array;
        return (slot, i) => {
          const ok = validAt(i);
          return this.valid[slot] === ok && (ok === 0 || this.i32[slot] === v[i]);
        };
      }
      case 'f64': {
        const v = col.values as Float64Array;
        return (slot, i) => {
          const ok = validAt(i);
          return this.valid[slot] === ok && (ok === 0 || this.f64[slot] === v[i]);
        };
      }
      case 'i64': {
        const v = wordsOf(col.values as BigInt64Array);
        return (slot, i) => {
          const ok = validAt(i);
          return this.valid[slot] === ok && (ok === 0 || (this.w64[2 * slot] === v[2 * i] && this.w64[2 * slot + 1] === v[2 * i + 1]));
        };
      }
      case 'bool': {
        const v = col.values as Uint8Array;
        return (slot, i) => {
          const ok = validAt(i);
          return this.valid[slot] === ok && (ok === 0 || this.bool[slot] === ((v[i >> 3]! >> (i & 7)) & 1));
        };
      }
      case 'utf8': {
        const v = col.values as Uint8Array;
        const o = col.offsets!;
        return (slot, i) => {
          const ok = validAt(i);
          if (this.valid[slot] !== ok) return false;
          if (ok === 0) return true;
          const from = o[i]!;
          const len = o[i + 1]! - from;
          if (this.tLen[slot] !== len) return false;
          const t = this.text;
          const at = this.tStart[slot]!;
          for (let q = 0; q < len; q++) if (t[at + q] !== v[from + q]) return false;
          return true;
        };
      }
      case 'null':
        return (slot, i) => validAt(i) === 0 && this.valid[slot] === 0;
      case 'list':
        return null;
    }
  }

  /** Copies slot `from` of `src` (a slot column of the same type) into slot `to`. */
  copySlot(src: SlotColumn, from: number, to: number): void {
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
      case 'utf8': {
        if (src.valid[from] !== 1) return;
        const len = src.tLen[from]!;
        const at = this.reserveText(to, len);
        // Read the source's arena after the reservation: when it is this column's own, the reservation may have moved it.
        const s = src.text;
        const start = src.tStart[from]!;
        const d = this.text;
        for (let q = 0; q < len; q++) d[at + q] = s[start + q]!;
        return;
      }
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
      case 'utf8': {
        const len = this.tLen[a]!;
        if (other.tLen[b] !== len) return false;
        const x = this.text;
        const y = other.text;
        const sa = this.tStart[a]!;
        const sb = other.tStart[b]!;
        for (let q = 0; q < len; q++) if (x[sa + q] !== y[sb + q]) return false;
        return true;
      }
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
        return decodeUtf8(this.text, this.tStart[slot]!, this.tStart[slot]! + this.tLen[slot]!);
      case 'list':
        return this.any[slot]!;
      case 'null':
        return null;
    }
  }

  /** Sets a slot from a JS value of the column's type. */
  set(slot: number, v: Value): void {
    if (v === null) {
      this.setNull(slot);
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
        this.setText(slot, canonicalText(this.type, v));
        return;
      case 'list':
        this.any[slot] = v;
        return;
      case 'null':
        return;
    }
  }

  /** Sets a slot to NULL. */
  setNull(slot: number): void {
    this.valid[slot] = 0;
    if (this.storage === 'list') this.any[slot] = null;
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

  /**
   * Copies slot `from[k]` of `src` (a slot column of the same type) into slot `to[k]`, for k < n:
   * copySlot a column at a time.
   */
  copySlots(src: SlotColumn, from: Int32Array, to: Int32Array, n: number): void {
    for (let k = 0; k < n; k++) this.valid[to[k]!] = src.valid[from[k]!]!;
    switch (this.storage) {
      case 'i32':
        for (let k = 0; k < n; k++) this.i32[to[k]!] = src.i32[from[k]!]!;
        return;
      case 'f64':
        for (let k = 0; k < n; k++) this.f64[to[k]!] = src.f64[from[k]!]!;
        return;
      case 'i64': {
        const d = this.w64;
        const s = src.w64;
        for (let k = 0; k < n; k++) {
          const a = 2 * to[k]!;
          const b = 2 * from[k]!;
          d[a] = s[b]!;
          d[a + 1] = s[b + 1]!;
        }
        return;
      }
      case 'bool':
        for (let k = 0; k < n; k++) this.bool[to[k]!] = src.bool[from[k]!]!;
        return;
      default:
        for (let k = 0; k < n; k++) this.copySlot(src, from[k]!, to[k]!);
    }
  }

  /**
   * A column of n values: value k is slot `other[k]` of `b` (a slot column of the same type)
   * where that is not −1, else slot `mine[k]` of this one. An aggregate's −old/+new rows, the
   * old values from the emitted ones and the new from the fresh, gathered in one pass.
   */
  gatherEither(mine: Int32Array, b: SlotColumn, other: Int32Array, n: number): Column {
    const type = this.type;
    let validity: Uint8Array | null = null;
    for (let k = 0; k < n; k++) {
      const ok = other[k]! >= 0 ? b.valid[other[k]!] : this.valid[mine[k]!];
      if (ok === 1) continue;
      validity ??= newBitmap(n, true);
      setBit(validity, k, false);
    }
    switch (this.storage) {
      case 'i32':
      case 'f64': {
        const v = this.storage === 'i32' ? new Int32Array(n) : new Float64Array(n);
        const x = this.storage === 'i32' ? this.i32 : this.f64;
        const y = this.storage === 'i32' ? b.i32 : b.f64;
        for (let k = 0; k < n; k++) v[k] = other[k]! >= 0 ? y[other[k]!]! : x[mine[k]!]!;
        return { type, length: n, values: v, validity };
      }
      case 'i64': {
        const v = new BigInt64Array(n);
        const w = wordsOf(v);
        const x = this.w64;
        const y = b.w64;
        for (let k = 0; k < n; k++) {
          const o = other[k]!;
          const s = o >= 0 ? y : x;
          const at = 2 * (o >= 0 ? o : mine[k]!);
          w[2 * k] = s[at]!;
          w[2 * k + 1] = s[at + 1]!;
        }
        return { type, length: n, values: v, validity };
      }
      case 'utf8': {
        const offsets = new Int32Array(n + 1);
        let total = 0;
        for (let k = 0; k < n; k++) {
          const o = other[k]!;
          if (o >= 0 ? b.valid[o] === 1 : this.valid[mine[k]!] === 1) total += o >= 0 ? b.tLen[o]! : this.tLen[mine[k]!]!;
          offsets[k + 1] = total;
        }
        const values = new Uint8Array(total);
        for (let k = 0; k < n; k++) {
          const at = offsets[k]!;
          const len = offsets[k + 1]! - at;
          const o = other[k]!;
          const s = o >= 0 ? b.text : this.text;
          const from = o >= 0 ? b.tStart[o]! : this.tStart[mine[k]!]!;
          for (let q = 0; q < len; q++) values[at + q] = s[from + q]!;
        }
        return { type, length: n, values, offsets, validity };
      }
      default: {
        const scratch = new SlotColumn(type, n);
        for (let k = 0; k < n; k++) {
          if (other[k]! >= 0) scratch.copySlot(b, other[k]!, k);
          else scratch.copySlot(this, mine[k]!, k);
        }
        return scratch.gather(null, n);
      }
    }
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
        const offsets = new Int32Array(n + 1);
        let total = 0;
        for (let k = 0; k < n; k++) {
          const slot = slots[k]!;
          if (this.valid[slot] === 1) total += this.tLen[slot]!;
          offsets[k + 1] = total;
        }
        const values = new Uint8Array(total);
        const s = this.text;
        for (let k = 0; k < n; k++) {
          const at = offsets[k]!;
          const len = offsets[k + 1]! - at;
          const from = this.tStart[slots[k]!]!;
          if (len < 32) for (let q = 0; q < len; q++) values[at + q] = s[from + q]!;
          else values.set(s.subarray(from, from + len), at);
        }
        return { type, length: n, values, offsets, validity };
      }
      case 'list': {
        const b = new ColumnBuilder(type, n);
        for (let k = 0; k < n; k++) b.append(this.any[slots[k]!] ?? null);
        return b.finish();
      }
    }
  }
}

/** The number of decimal digits of u (0 ≤ u < 2^31). */
function decimalDigits(u: number): number {
  if (u < 100000) return u < 10 ? 1 : u < 100 ? 2 : u < 1000 ? 3 : u < 10000 ? 4 : 5;
  return u < 1000000 ? 6 : u < 10000000 ? 7 : u < 100000000 ? 8 : u < 1000000000 ? 9 : 10;
}

function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a !== a && b !== b;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i]!, b[i]!)) return false;
  return true;
}
