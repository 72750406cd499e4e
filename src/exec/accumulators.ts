/**
 * Aggregate accumulators over dense group ids. Every accumulator takes weighted updates
 * (+w adds w copies of a value, −w removes them), so every aggregate is correct under deletes:
 * count and sum subtract; min/max over a retracting input keep a value → count multiset per
 * group; DISTINCT wraps any accumulator and forwards only presence changes of a value.
 */
import { getValue, isValid, type Column } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import type { AggCall } from '../planner/expr.js';
import { storageOf } from './eval.js';

/**
 * An accumulator's state, as state tables see it: per group a fixed row of `scalar` values, and
 * for the accumulators that keep the values themselves (min/max under retraction, DISTINCT) a
 * multiset of (value, count) of type `values`.
 */
export interface AccumulatorState {
  readonly scalar: Schema;
  readonly values: SqlType | null;
}

export interface Accumulator {
  readonly stateLayout: AccumulatorState;
  /** Group gid's scalar state, in `stateLayout.scalar` order. */
  saveGroup(gid: number): Value[];
  /** Sets group gid's scalar state (a fresh accumulator, from a snapshot). */
  loadGroup(gid: number, state: readonly Value[]): void;
  /** Group gid's value multiset (empty unless `stateLayout.values`). */
  saveValues(gid: number): [Value, number][];
  /** Adds to group gid's value multiset (from a snapshot). */
  loadValues(gid: number, entries: readonly (readonly [Value, number])[]): void;
  /** Adds `w` copies of row i's argument for group gids[i], for each row i with mask set. */
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void;
  /** Adds `w` copies of one value (slow path; DISTINCT uses it). */
  add(gid: number, v: Value, w: number): void;
  result(gid: number): Value;
  /** Forgets group gid's state, so the id can be reused (window panes are dropped). */
  reset(gid: number): void;
}

function growF64(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growI64(a: BigInt64Array, need: number): BigInt64Array {
  if (need <= a.length) return a;
  const b = new BigInt64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

const NO_VALUES = { saveValues: (): [Value, number][] => [], loadValues: (): void => undefined };

const on = (mask: Uint8Array | null, i: number) => mask === null || ((mask[i >> 3]! >> (i & 7)) & 1) === 1;

class CountAcc implements Accumulator {
  private counts: Float64Array = new Float64Array(64);
  readonly stateLayout: AccumulatorState = { scalar: [{ name: 'count', type: 'bigint' }], values: null };
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly star: boolean) {}
  saveGroup(gid: number): Value[] {
    return [BigInt(gid < this.counts.length ? this.counts[gid]! : 0)];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.counts = growF64(this.counts, gid + 1);
    this.counts[gid] = Number(state[0] ?? 0n);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    let max = 0;
    for (let i = 0; i < n; i++) if (gids[i]! > max) max = gids[i]!;
    this.counts = growF64(this.counts, max + 1);
    const c = this.counts;
    const validity = this.star || arg === null ? null : arg.validity;
    if (weights === null && mask === null && validity === null) {
      for (let i = 0; i < n; i++) c[gids[i]!]!++;
      return;
    }
    for (let i = 0; i < n; i++) {
      if (!on(mask, i)) continue;
      if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) continue;
      c[gids[i]!]! += weights === null ? 1 : weights[i]!;
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.counts = growF64(this.counts, gid + 1);
    if (this.star || v !== null) this.counts[gid]! += w;
  }
  result(gid: number): Value {
    return BigInt(gid < this.counts.length ? this.counts[gid]! : 0);
  }
  reset(gid: number): void {
    if (gid < this.counts.length) this.counts[gid] = 0;
  }
}

/** sum/avg over numbers held as doubles (int, double, numeric inputs). */
class FloatSumAcc implements Accumulator {
  private sums: Float64Array = new Float64Array(64);
  private counts: Float64Array = new Float64Array(64);
  readonly stateLayout: AccumulatorState = { scalar: [{ name: 'sum', type: 'double' }, { name: 'count', type: 'bigint' }], values: null };
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly out: 'sum' | 'avg', private readonly type: SqlType, private readonly argType: SqlType) {}
  saveGroup(gid: number): Value[] {
    return gid < this.counts.length ? [this.sums[gid]!, BigInt(this.counts[gid]!)] : [0, 0n];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.sums = growF64(this.sums, gid + 1);
    this.counts = growF64(this.counts, gid + 1);
    this.sums[gid] = (state[0] as number | null) ?? 0;
    this.counts[gid] = Number(state[1] ?? 0n);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    let max = 0;
    for (let i = 0; i < n; i++) if (gids[i]! > max) max = gids[i]!;
    this.sums = growF64(this.sums, max + 1);
    this.counts = growF64(this.counts, max + 1);
    const s = this.sums;
    const c = this.counts;
    const a = arg!;
    const validity = a.validity;
    if (storageOf(this.argType) === 'i64') {
      const v = a.values as BigInt64Array;
      for (let i = 0; i < n; i++) {
        if (!on(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
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
      if (!on(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      const w = weights === null ? 1 : weights[i]!;
      s[gids[i]!]! += v[i]! * w;
      c[gids[i]!]! += w;
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.sums = growF64(this.sums, gid + 1);
    this.counts = growF64(this.counts, gid + 1);
    if (v === null) return;
    this.sums[gid]! += Number(v) * w;
    this.counts[gid]! += w;
  }
  result(gid: number): Value {
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
}

/** Exact sum over 64-bit integers (bigint, interval). */
class BigSumAcc implements Accumulator {
  private sums: BigInt64Array = new BigInt64Array(64);
  private counts: Float64Array = new Float64Array(64);
  readonly stateLayout: AccumulatorState = { scalar: [{ name: 'sum', type: 'bigint' }, { name: 'count', type: 'bigint' }], values: null };
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  saveGroup(gid: number): Value[] {
    return gid < this.counts.length ? [this.sums[gid]!, BigInt(this.counts[gid]!)] : [0n, 0n];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.sums = growI64(this.sums, gid + 1);
    this.counts = growF64(this.counts, gid + 1);
    this.sums[gid] = (state[0] as bigint | null) ?? 0n;
    this.counts[gid] = Number(state[1] ?? 0n);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    let max = 0;
    for (let i = 0; i < n; i++) if (gids[i]! > max) max = gids[i]!;
    this.sums = growI64(this.sums, max + 1);
    this.counts = growF64(this.counts, max + 1);
    const a = arg!;
    const v = a.values as BigInt64Array;
    const validity = a.validity;
    for (let i = 0; i < n; i++) {
      if (!on(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      const w = weights === null ? 1 : weights[i]!;
      const g = gids[i]!;
      this.sums[g] = this.sums[g]! + (w === 1 ? v[i]! : v[i]! * BigInt(w));
      this.counts[g]! += w;
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.sums = growI64(this.sums, gid + 1);
    this.counts = growF64(this.counts, gid + 1);
    if (v === null) return;
    this.sums[gid] = this.sums[gid]! + (v as bigint) * BigInt(w);
    this.counts[gid]! += w;
  }
  result(gid: number): Value {
    if (gid >= this.counts.length || this.counts[gid] === 0) return null;
    return this.sums[gid]!;
  }
  reset(gid: number): void {
    if (gid < this.counts.length) {
      this.sums[gid] = 0n;
      this.counts[gid] = 0;
    }
  }
}

/** The row-at-a-time update of value-keeping accumulators: each selected non-NULL value, weighted. */
function addEachRow(acc: Accumulator, gids: Int32Array, n: number, a: Column, weights: Int32Array | null, mask: Uint8Array | null): void {
  for (let i = 0; i < n; i++) {
    if (!on(mask, i) || !isValid(a, i)) continue;
    acc.add(gids[i]!, getValue(a, i), weights === null ? 1 : weights[i]!);
  }
}

export function less(a: Value, b: Value): boolean {
  return (a as number) < (b as number);
}

/** min/max over an append-only input: one running value per group. */
class RunningExtremeAcc implements Accumulator {
  private readonly best: Value[] = [];
  readonly stateLayout: AccumulatorState;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly max: boolean, argType: SqlType) {
    this.stateLayout = { scalar: [{ name: max ? 'max' : 'min', type: argType }], values: null };
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
    if (cur === undefined || cur === null || (this.max ? less(cur, v) : less(v, cur))) this.best[gid] = v;
  }
  result(gid: number): Value {
    return this.best[gid] ?? null;
  }
  reset(gid: number): void {
    this.best[gid] = null;
  }
}

/** min/max over a retracting input: a multiset of values per group. */
class MultisetExtremeAcc implements Accumulator {
  private readonly sets: (Map<Value, number> | undefined)[] = [];
  readonly stateLayout: AccumulatorState;
  constructor(private readonly max: boolean, argType: SqlType) {
    this.stateLayout = { scalar: [], values: argType };
  }
  saveGroup(): Value[] {
    return [];
  }
  loadGroup(): void {}
  saveValues(gid: number): [Value, number][] {
    return [...(this.sets[gid] ?? [])];
  }
  loadValues(gid: number, entries: readonly (readonly [Value, number])[]): void {
    for (const [v, c] of entries) this.add(gid, v, c);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    addEachRow(this, gids, n, arg!, weights, mask);
  }
  add(gid: number, v: Value, w: number): void {
    if (v === null) return;
    let m = this.sets[gid];
    if (!m) m = this.sets[gid] = new Map();
    const c = (m.get(v) ?? 0) + w;
    if (c === 0) m.delete(v);
    else m.set(v, c);
  }
  result(gid: number): Value {
    const m = this.sets[gid];
    if (!m || m.size === 0) return null;
    let best: Value = null;
    for (const [v, c] of m) {
      if (c <= 0) continue;
      if (best === null || (this.max ? less(best, v) : less(v, best))) best = v;
    }
    return best;
  }
  reset(gid: number): void {
    this.sets[gid] = undefined;
  }
}

/** DISTINCT: forwards +1 when a value first appears in a group and −1 when it disappears. */
class DistinctAcc implements Accumulator {
  private readonly seen: (Map<Value, number> | undefined)[] = [];
  readonly stateLayout: AccumulatorState;
  constructor(private readonly inner: Accumulator, argType: SqlType) {
    // The inner accumulator's state follows from the distinct values: restoring them rebuilds it.
    this.stateLayout = { scalar: [], values: argType };
  }
  saveGroup(): Value[] {
    return [];
  }
  loadGroup(): void {}
  saveValues(gid: number): [Value, number][] {
    return [...(this.seen[gid] ?? [])];
  }
  loadValues(gid: number, entries: readonly (readonly [Value, number])[]): void {
    for (const [v, c] of entries) this.add(gid, v, c);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    addEachRow(this, gids, n, arg!, weights, mask);
  }
  add(gid: number, v: Value, w: number): void {
    if (v === null) return;
    let m = this.seen[gid];
    if (!m) m = this.seen[gid] = new Map();
    const before = m.get(v) ?? 0;
    const after = before + w;
    if (after === 0) m.delete(v);
    else m.set(v, after);
    const delta = (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    if (delta !== 0) this.inner.add(gid, v, delta);
  }
  result(gid: number): Value {
    return this.inner.result(gid);
  }
  reset(gid: number): void {
    this.seen[gid] = undefined;
    this.inner.reset(gid);
  }
}

export function createAccumulator(a: AggCall, retracting: boolean): Accumulator {
  const argType = a.arg?.type ?? 'null';
  let acc: Accumulator;
  switch (a.fn) {
    case 'count_star':
      acc = new CountAcc(true);
      break;
    case 'count':
      acc = new CountAcc(false);
      break;
    case 'sum':
      acc = argType === 'bigint' || argType === 'interval' ? new BigSumAcc() : new FloatSumAcc('sum', a.type, argType);
      break;
    case 'avg':
      acc = new FloatSumAcc('avg', a.type, argType);
      break;
    case 'min':
    case 'max':
      // DISTINCT feeds ±1 presence changes, which a running value cannot undo.
      acc = retracting || a.distinct ? new MultisetExtremeAcc(a.fn === 'max', argType) : new RunningExtremeAcc(a.fn === 'max', argType);
      break;
  }
  return a.distinct ? new DistinctAcc(acc, argType) : acc;
}
