/**
 * sum(x): exact over intervals (64-bit) and, with a NUMERIC result (bigint and numeric input),
 * over decimals (numeric-sum.ts); in doubles over int (exact below 2^53) and double. The
 * sum-and-count accumulators also serve avg.
 */
import { isValid, type Column } from '../../common/column.js';
import type { SlotColumn } from '../../exec/slot-columns.js';
import { SluiceError } from '../../common/errors.js';
import type { SqlType, Value } from '../../common/types.js';
import { storageOf } from '../../exec/storage.js';
import { NumericSumAccumulator } from './numeric-sum.js';
import { IntervalSumAccumulator } from './interval-sum.js';
import { divDec, formatDec } from '../../common/decimal.js';
import { bigintColumnOf, doubleColumnOf, growF64, growI64, loadBigintAsNumbers, maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';

/**
 * The slot evaluateInto writes group g, the k-th, into (`outSlots[k]`, null: k); or −1, the slot
 * set NULL, when the group has no non-NULL values (no count, or a count of 0).
 */
function valueSlot(k: number, g: number, counts: Float64Array, out: SlotColumn, outSlots: Int32Array | null): number {
  const slot = outSlots === null ? k : outSlots[k]!;
  if (g < counts.length && counts[g] !== 0) return slot;
  out.setNull(slot);
  return -1;
}

/** Sum and count of non-NULL values held as doubles (int and double inputs); the result is the sum or the average. */
export class FloatSumAccumulator implements GroupsAccumulator {
  private sums: Float64Array = new Float64Array(64);
  private counts: Float64Array = new Float64Array(64);
  readonly stateLayout: AccumulatorState = { scalar: [{ name: 'sum', type: 'double' }, { name: 'count', type: 'bigint' }], values: null };
  readonly invertible = true;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  /**
   * An integer sum (a bigint result of 32-bit integers) merges exactly: its doubles hold
   * integers exactly below 2^53, and evaluate refuses a sum past that. A double sum does not:
   * its rounding depends on the order of the additions.
   */
  readonly combinable: boolean;
  constructor(private readonly out: 'sum' | 'avg', private readonly type: SqlType, private readonly argType: SqlType) {
    this.combinable = out === 'sum' && type === 'bigint' && storageOf(argType) === 'i32';
  }
  saveGroup(gid: number): Value[] {
    return gid < this.counts.length ? [this.sums[gid]!, BigInt(this.counts[gid]!)] : [0, 0n];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    this.sums[gid] = (state[0] as number | null) ?? 0;
    this.counts[gid] = Number(state[1] ?? 0n);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    this.grow(maxGid(gids, n) + 1);
    const s = this.sums;
    const c = this.counts;
    const a = arg!;
    const validity = a.validity;
    if (storageOf(this.argType) === 'i64') {
      const v = a.values as BigInt64Array;
      for (let i = 0; i < n; i++) {
        if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
        const w = weights === null ? 1 : weights[i]!;
        s[gids[i]!]! += Number(v[i]!) * w;
        c[gids[i]!]! += w;
      }
      return;
    }
    const v = a.values as Float64Array | Int32Array;
    if (weights === null && mask === null && validity === null) {
      for (let i = 0; i < n; i++) {
        const g = gids[i]!;
        s[g]! += v[i]!;
        c[g]!++;
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      const w = weights === null ? 1 : weights[i]!;
      s[gids[i]!]! += v[i]! * w;
      c[gids[i]!]! += w;
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.grow(gid + 1);
    if (v === null) return;
    this.sums[gid]! += Number(v) * w;
    this.counts[gid]! += w;
  }
  merge(gid: number, src: FloatSumAccumulator, srcGid: number, sign: 1 | -1): void {
    this.grow(gid + 1);
    if (srcGid >= src.counts.length) return;
    this.sums[gid]! += sign * src.sums[srcGid]!;
    this.counts[gid]! += sign * src.counts[srcGid]!;
  }
  evaluate(gid: number): Value {
    if (gid >= this.counts.length || this.counts[gid] === 0) return null;
    const s = this.sums[gid]!;
    if (this.out === 'avg') return s / this.counts[gid]!;
    if (this.type === 'bigint') {
      if (!Number.isSafeInteger(s)) throw new SluiceError('numeric_out_of_range', 'sum exceeds the exact integer range of this accumulator');
      return BigInt(s);
    }
    return s;
  }
  reset(gid: number): void {
    if (gid < this.counts.length) {
      this.sums[gid] = 0;
      this.counts[gid] = 0;
    }
  }
  evaluateInto(gids: Int32Array, n: number, out: SlotColumn, outSlots: Int32Array | null): boolean {
    const exact = this.out === 'sum' && this.type === 'bigint';
    if (!exact && storageOf(this.type) !== 'f64') return false;
    for (let k = 0; k < n; k++) {
      const g = gids[k]!;
      const slot = valueSlot(k, g, this.counts, out, outSlots);
      if (slot < 0) continue;
      const s = this.sums[g]!;
      if (!exact) out.setF64(slot, this.out === 'avg' ? s / this.counts[g]! : s);
      else if (Number.isSafeInteger(s)) out.setI64FromNumber(slot, s);
      else return false;
    }
    return true;
  }
  saveColumns(n: number, gids: Int32Array | null = null): Column[] {
    return [doubleColumnOf(this.sums, n, gids), bigintColumnOf(this.counts, n, gids)];
  }
  loadColumns(gids: Int32Array, n: number, cols: readonly Column[]): void {
    this.grow(maxGid(gids, n) + 1);
    const sums = cols[0]!;
    const v = sums.values as Float64Array;
    for (let i = 0; i < n; i++) this.sums[gids[i]!] = isValid(sums, i) ? v[i]! : 0;
    loadBigintAsNumbers(cols[1]!, gids, n, this.counts);
  }
  private grow(need: number): void {
    this.sums = growF64(this.sums, need);
    this.counts = growF64(this.counts, need);
  }
}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const TWO_64 = 2n ** 64n;

/**
 * Exact sum over 64-bit integers: intervals, and integers with a NUMERIC sum or average. The
 * sum is kept modulo 2^64 with a count of wraps beside it, so rows added and retracted in any
 * order give the exact sum; an interval sum outside the 64-bit range evaluates to an
 * out-of-range error (the view makes it NULL and counts it), a NUMERIC one is exact. The wrap
 * count is state beside the sum (`wraps`, added later: state without it has 0 wraps).
 */
export class BigSumAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  private sums: BigInt64Array = new BigInt64Array(64);
  private counts: Float64Array = new Float64Array(64);
  /** Times each group's sum wrapped past 2^63 (negative: below −2^63). */
  private wraps: Float64Array = new Float64Array(64);
  /** `type` is the argument's (int, bigint or interval); `out` says what the NUMERIC result is. */
  constructor(private readonly type: SqlType, private readonly out: 'interval' | 'sum' | 'avg' = 'interval') {}
  /** Stores an exact sum, wrapped into 64 bits, counting the wrap. */
  private store(g: number, exact: bigint): void {
    if (exact > I64_MAX || exact < I64_MIN) {
      const wrapped = BigInt.asIntN(64, exact);
      this.wraps[g]! += Number((exact - wrapped) / TWO_64);
      this.sums[g] = wrapped;
    } else this.sums[g] = exact;
  }
  readonly stateLayout: AccumulatorState = {
    scalar: [{ name: 'sum', type: 'bigint' }, { name: 'count', type: 'bigint' }, { name: 'wraps', type: 'bigint' }],
    values: null,
    added: [2],
  };
  readonly invertible = true;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  saveGroup(gid: number): Value[] {
    return gid < this.counts.length ? [this.sums[gid]!, BigInt(this.counts[gid]!), BigInt(this.wraps[gid]!)] : [0n, 0n, 0n];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    this.sums[gid] = (state[0] as bigint | null) ?? 0n;
    this.counts[gid] = Number(state[1] ?? 0n);
    this.wraps[gid] = Number(state[2] ?? 0n);
  }
  /**
   * Rows are added to the 64-bit sums word by word (two 32-bit halves with a carry, a signed
   * overflow counted as a wrap): no BigInt per row. A weight other than ±1 on a 64-bit value, or
   * a product of an int and its weight past 2^53, takes the exact BigInt path.
   */
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    this.grow(maxGid(gids, n) + 1);
    const a = arg!;
    const validity = a.validity;
    const s = this.words;
    if (a.values instanceof Int32Array) {
      const v = a.values;
      for (let i = 0; i < n; i++) {
        if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
        const w = weights === null ? 1 : weights[i]!;
        const g = gids[i]!;
        const x = v[i]! * w;
        if (x <= Number.MAX_SAFE_INTEGER && x >= -Number.MAX_SAFE_INTEGER) {
          const hi = Math.floor(x / 4294967296);
          this.add64(s, g, x - hi * 4294967296, hi);
        } else this.store(g, this.sums[g]! + BigInt(v[i]!) * BigInt(w));
        this.counts[g]! += w;
      }
      return;
    }
    const v = a.values as BigInt64Array;
    const vw = new Int32Array(v.buffer, v.byteOffset, 2 * a.length);
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      const w = weights === null ? 1 : weights[i]!;
      const g = gids[i]!;
      if (w === 1) this.add64(s, g, vw[2 * i]! >>> 0, vw[2 * i + 1]!);
      else if (w === -1) this.sub64(s, g, vw[2 * i]! >>> 0, vw[2 * i + 1]!);
      else this.store(g, this.sums[g]! + v[i]! * BigInt(w));
      this.counts[g]! += w;
    }
  }
  /** The sums as 32-bit words (little-endian: low word first), over the current array. */
  private get words(): Int32Array {
    if (this.wordsOf !== this.sums) {
      this.wordsOf = this.sums;
      this.sumWords = new Int32Array(this.sums.buffer, 0, 2 * this.sums.length);
    }
    return this.sumWords;
  }
  private wordsOf: BigInt64Array | null = null;
  private sumWords: Int32Array = new Int32Array(0);
  /** Adds the 64-bit value hi·2^32 + lo (lo unsigned) to group g's sum, counting a wrap. */
  private add64(s: Int32Array, g: number, lo: number, hi: number): void {
    let l = (s[2 * g]! >>> 0) + lo;
    let carry = 0;
    if (l >= 4294967296) {
      l -= 4294967296;
      carry = 1;
    }
    this.setHigh(s, g, l, s[2 * g + 1]! + hi + carry);
  }
  /** Subtracts the 64-bit value hi·2^32 + lo (lo unsigned) from group g's sum, counting a wrap. */
  private sub64(s: Int32Array, g: number, lo: number, hi: number): void {
    let l = (s[2 * g]! >>> 0) - lo;
    let borrow = 0;
    if (l < 0) {
      l += 4294967296;
      borrow = 1;
    }
    this.setHigh(s, g, l, s[2 * g + 1]! - hi - borrow);
  }
  /** Stores low word l and high word h (a double that may have left the int32 range: a wrap). */
  private setHigh(s: Int32Array, g: number, l: number, h: number): void {
    if (h > 2147483647) {
      h -= 4294967296;
      this.wraps[g]!++;
    } else if (h < -2147483648) {
      h += 4294967296;
      this.wraps[g]!--;
    }
    s[2 * g] = l | 0;
    s[2 * g + 1] = h;
  }
  add(gid: number, v: Value, w: number): void {
    this.grow(gid + 1);
    if (v === null) return;
    this.store(gid, this.sums[gid]! + BigInt(v as bigint | number) * BigInt(w));
    this.counts[gid]! += w;
  }
  merge(gid: number, src: BigSumAccumulator, srcGid: number, sign: 1 | -1): void {
    this.grow(gid + 1);
    if (srcGid >= src.counts.length) return;
    this.store(gid, sign > 0 ? this.sums[gid]! + src.sums[srcGid]! : this.sums[gid]! - src.sums[srcGid]!);
    this.wraps[gid]! += sign * src.wraps[srcGid]!;
    this.counts[gid]! += sign * src.counts[srcGid]!;
  }
  evaluate(gid: number): Value {
    if (gid >= this.counts.length || this.counts[gid] === 0) return null;
    if (this.out === 'sum' && this.wraps[gid] === 0) {
      // A sum within ±2^53 prints from a double: no BigInt.
      const s = this.words;
      const hi = s[2 * gid + 1]!;
      if (hi >= -2097152 && hi < 2097152) return String(hi * 4294967296 + (s[2 * gid]! >>> 0));
    }
    if (this.out !== 'interval') {
      const exact = this.sums[gid]! + BigInt(this.wraps[gid]!) * TWO_64;
      if (this.out === 'sum') return exact.toString();
      return formatDec(divDec({ digits: exact, scale: 0 }, { digits: BigInt(this.counts[gid]!), scale: 0 }));
    }
    if (this.wraps[gid] !== 0) throw new SluiceError('numeric_out_of_range', 'interval out of range');
    return this.sums[gid]!;
  }
  reset(gid: number): void {
    if (gid < this.counts.length) {
      this.sums[gid] = 0n;
      this.counts[gid] = 0;
      this.wraps[gid] = 0;
    }
  }
  evaluateInto(gids: Int32Array, n: number, out: SlotColumn, outSlots: Int32Array | null): boolean {
    // A NUMERIC sum is decimal text: written as digits straight into the slot while within
    // ±2^53 (evaluate()'s text otherwise). An average is evaluate()'s.
    if (this.out === 'sum') {
      const s = this.words;
      for (let k = 0; k < n; k++) {
        const g = gids[k]!;
        const slot = valueSlot(k, g, this.counts, out, outSlots);
        if (slot < 0) continue;
        const hi = s[2 * g + 1]!;
        if (this.wraps[g] === 0 && hi >= -2097152 && hi < 2097152) out.setIntegerText(slot, hi * 4294967296 + (s[2 * g]! >>> 0));
        else out.set(slot, this.evaluate(g));
      }
      return true;
    }
    if (this.out !== 'interval') return false;
    const words = new Int32Array(this.sums.buffer, 0, 2 * this.sums.length);
    for (let k = 0; k < n; k++) {
      const g = gids[k]!;
      const slot = valueSlot(k, g, this.counts, out, outSlots);
      if (slot < 0) continue;
      if (this.wraps[g] !== 0) return false;
      out.setI64Words(slot, words[2 * g]!, words[2 * g + 1]!);
    }
    return true;
  }
  saveColumns(n: number, gids: Int32Array | null = null): Column[] {
    const sums = new BigInt64Array(n);
    if (gids === null) sums.set(this.sums.subarray(0, Math.min(n, this.sums.length)));
    else for (let i = 0; i < n; i++) sums[i] = gids[i]! < this.sums.length ? this.sums[gids[i]!]! : 0n;
    return [{ type: 'bigint', length: n, values: sums, validity: null }, bigintColumnOf(this.counts, n, gids), bigintColumnOf(this.wraps, n, gids)];
  }
  loadColumns(gids: Int32Array, n: number, cols: readonly Column[]): void {
    this.grow(maxGid(gids, n) + 1);
    const sums = cols[0]!;
    const from = new Int32Array(sums.values.buffer, sums.values.byteOffset, 2 * sums.length);
    const to = new Int32Array(this.sums.buffer, 0, 2 * this.sums.length);
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      const ok = isValid(sums, i);
      to[2 * g] = ok ? from[2 * i]! : 0;
      to[2 * g + 1] = ok ? from[2 * i + 1]! : 0;
    }
    loadBigintAsNumbers(cols[1]!, gids, n, this.counts);
    loadBigintAsNumbers(cols[2]!, gids, n, this.wraps);
  }
  private grow(need: number): void {
    this.sums = growI64(this.sums, need);
    this.counts = growF64(this.counts, need);
    this.wraps = growF64(this.wraps, need);
  }
}

/** sum(x) over numbers and intervals; NULL for a group without non-NULL values. */
export const sum: AggregateFunction = {
  accumulator: (call) => {
    const argType = call.arg?.type ?? 'null';
    if (call.type === 'numeric') return argType === 'numeric' ? new NumericSumAccumulator('sum', argType) : new BigSumAccumulator(argType, 'sum');
    return argType === 'interval' ? new IntervalSumAccumulator('sum') : new FloatSumAccumulator('sum', call.type, argType);
  },
};
