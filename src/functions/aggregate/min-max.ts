/**
 * min(x) and max(x). Over an append-only input one running value per group is enough; over a
 * retracting input (or under DISTINCT, which feeds ±1 presence changes) a deleted extreme must
 * give way to the next one, so each group keeps its values as a value → count multiset.
 */
import { isValid, newBitmap, setBit, type Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { compareDecimalText } from '../../common/decimal.js';
import type { SqlType, Value } from '../../common/types.js';
import type { SlotColumn } from '../../exec/slot-columns.js';
import { storageOf } from '../../exec/storage.js';
import { addEachRow, maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';
import { ValueCountsAccumulator } from './value-counts.js';

/** SQL ordering of two non-NULL values of one type (NUMERIC texts by value). */
function lessOf(type: SqlType): (a: Value, b: Value) => boolean {
  return type === 'numeric' ? (a, b) => compareDecimalText(a as string, b as string) < 0 : (a, b) => (a as number) < (b as number);
}

/** min/max over an append-only input: one running value per group. */
class RunningExtremeAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  private readonly best: Value[] = [];
  private readonly less: (a: Value, b: Value) => boolean;
  readonly stateLayout: AccumulatorState;
  readonly invertible = false;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly max: boolean, argType: SqlType) {
    this.stateLayout = { scalar: [{ name: max ? 'max' : 'min', type: argType }], values: null };
    this.less = lessOf(argType);
  }
  saveGroup(gid: number): Value[] {
    return [this.best[gid] ?? null];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.best[gid] = state[0] ?? null;
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    addEachRow(this, gids, n, arg!, weights, mask);
  }
  add(gid: number, v: Value, w: number): void {
    if (v === null || w <= 0) {
      if (w < 0) throw new SluiceError('internal', 'running min/max received a retraction');
      return;
    }
    const cur = this.best[gid];
    if (cur === undefined || cur === null || (this.max ? this.less(cur, v) : this.less(v, cur))) this.best[gid] = v;
  }
  merge(gid: number, src: RunningExtremeAccumulator, srcGid: number, sign: 1 | -1): void {
    this.add(gid, src.best[srcGid] ?? null, sign);
  }
  evaluate(gid: number): Value {
    return this.best[gid] ?? null;
  }
  reset(gid: number): void {
    this.best[gid] = null;
  }
}

/**
 * min/max over an append-only input of 64-bit values (bigint, timestamp, timestamptz): the
 * running value of each group as its two 32-bit words, compared as words (high signed, low
 * unsigned). RunningExtremeAccumulator read each row as a BigInt (a heap object per row, which V8
 * came to allocate straight into the old generation: in Nexmark q1's checking view, max(date_time)
 * was 26 of the 46 MB its major collections freed). The same values, state and answers.
 */
class RunningExtremeI64Accumulator implements GroupsAccumulator {
  readonly combinable = true;
  readonly stateLayout: AccumulatorState;
  readonly invertible = false;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  /** Group g's value: low word at 2g, high word at 2g + 1, when has[g] is 1. */
  private words = new Int32Array(128);
  private has = new Uint8Array(64);
  constructor(private readonly max: boolean, private readonly argType: SqlType) {
    this.stateLayout = { scalar: [{ name: max ? 'max' : 'min', type: argType }], values: null };
  }
  private grow(need: number): void {
    if (need <= this.has.length) return;
    const cap = Math.max(need, this.has.length * 2);
    const h = new Uint8Array(cap);
    h.set(this.has);
    this.has = h;
    const w = new Int32Array(2 * cap);
    w.set(this.words);
    this.words = w;
  }
  /** Offers value (lo, hi) to group g. */
  private offer(g: number, lo: number, hi: number): void {
    const words = this.words;
    if (this.has[g] === 1) {
      const bh = words[2 * g + 1]!;
      const bl = words[2 * g]! >>> 0;
      const l = lo >>> 0;
      if (this.max ? hi < bh || (hi === bh && l <= bl) : hi > bh || (hi === bh && l >= bl)) return;
    }
    this.has[g] = 1;
    words[2 * g] = lo;
    words[2 * g + 1] = hi;
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    if (n === 0) return;
    this.grow(maxGid(gids, n) + 1);
    const a = arg!;
    const v = a.values as BigInt64Array;
    const w = new Int32Array(v.buffer, v.byteOffset, 2 * a.length);
    const validity = a.validity;
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      if (weights !== null && weights[i]! <= 0) {
        if (weights[i]! < 0) throw new SluiceError('internal', 'running min/max received a retraction');
        continue;
      }
      this.offer(gids[i]!, w[2 * i]!, w[2 * i + 1]!);
    }
  }
  add(gid: number, v: Value, w: number): void {
    if (v === null || w <= 0) {
      if (w < 0) throw new SluiceError('internal', 'running min/max received a retraction');
      return;
    }
    this.grow(gid + 1);
    const x = v as bigint;
    this.offer(gid, Number(BigInt.asIntN(32, x)), Number(BigInt.asIntN(32, x >> 32n)));
  }
  merge(gid: number, src: RunningExtremeI64Accumulator, srcGid: number, sign: 1 | -1): void {
    if (sign < 0) throw new SluiceError('internal', 'running min/max received a retraction');
    if (srcGid >= src.has.length || src.has[srcGid] !== 1) return;
    const lo = src.words[2 * srcGid]!;
    const hi = src.words[2 * srcGid + 1]!;
    this.grow(gid + 1);
    this.offer(gid, lo, hi);
  }
  evaluate(gid: number): Value {
    if (gid >= this.has.length || this.has[gid] !== 1) return null;
    return (BigInt(this.words[2 * gid + 1]!) << 32n) | BigInt(this.words[2 * gid]! >>> 0);
  }
  saveGroup(gid: number): Value[] {
    return [this.evaluate(gid)];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    this.has[gid] = 0;
    this.add(gid, state[0] ?? null, 1);
  }
  reset(gid: number): void {
    if (gid < this.has.length) this.has[gid] = 0;
  }
  evaluateInto(gids: Int32Array, n: number, out: SlotColumn, outSlots: Int32Array | null): boolean {
    for (let k = 0; k < n; k++) {
      const g = gids[k]!;
      const slot = outSlots === null ? k : outSlots[k]!;
      if (g < this.has.length && this.has[g] === 1) out.setI64Words(slot, this.words[2 * g]!, this.words[2 * g + 1]!);
      else out.setNull(slot);
    }
    return true;
  }
  saveColumns(n: number, gids: Int32Array | null = null): Column[] {
    const values = new BigInt64Array(n);
    const w = new Int32Array(values.buffer);
    const validity = newBitmap(n, false);
    let nulls = 0;
    for (let i = 0; i < n; i++) {
      const g = gids === null ? i : gids[i]!;
      if (g < this.has.length && this.has[g] === 1) {
        w[2 * i] = this.words[2 * g]!;
        w[2 * i + 1] = this.words[2 * g + 1]!;
        setBit(validity, i, true);
      } else nulls++;
    }
    return [{ type: this.argType, length: n, values, validity: nulls === 0 ? null : validity }];
  }
  loadColumns(gids: Int32Array, n: number, cols: readonly Column[]): void {
    if (n === 0) return;
    this.grow(maxGid(gids, n) + 1);
    const c = cols[0]!;
    const v = c.values as BigInt64Array;
    const w = new Int32Array(v.buffer, v.byteOffset, 2 * c.length);
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      this.has[g] = isValid(c, i) ? 1 : 0;
      this.words[2 * g] = w[2 * i]!;
      this.words[2 * g + 1] = w[2 * i + 1]!;
    }
  }
}

/** min/max over a retracting input: a multiset of values per group. */
class MultisetExtremeAccumulator extends ValueCountsAccumulator {
  private readonly less: (a: Value, b: Value) => boolean;
  constructor(private readonly max: boolean, argType: SqlType) {
    super(argType);
    this.less = lessOf(argType);
  }
  add(gid: number, v: Value, w: number): void {
    if (v !== null) this.bump(gid, v, w);
  }
  evaluate(gid: number): Value {
    const m = this.counts[gid];
    if (!m || m.size === 0) return null;
    let best: Value = null;
    for (const [v, c] of m) {
      if (c <= 0) continue;
      if (best === null || (this.max ? this.less(best, v) : this.less(v, best))) best = v;
    }
    return best;
  }
}

function extreme(max: boolean): AggregateFunction {
  return {
    accumulator: (call, retracting) => {
      const argType = call.arg?.type ?? 'null';
      if (retracting || call.distinct) return new MultisetExtremeAccumulator(max, argType);
      return storageOf(argType) === 'i64' ? new RunningExtremeI64Accumulator(max, argType) : new RunningExtremeAccumulator(max, argType);
    },
  };
}

/** The accumulator classes, for the tests that compare them. */
export const extremeAccumulators = { RunningExtremeAccumulator, RunningExtremeI64Accumulator };

/** min(x): the smallest non-NULL value. */
export const min: AggregateFunction = extreme(false);

/** max(x): the largest non-NULL value. */
export const max: AggregateFunction = extreme(true);
