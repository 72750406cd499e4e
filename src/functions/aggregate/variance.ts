/**
 * var_samp, var_pop (variance), stddev_samp (stddev) and stddev_pop. Over integers each group keeps
 * exact sums (n, Σx, Σx² as big integers), so deletes leave no rounding behind; over floating-point
 * values it keeps the values' multiset and computes the two-pass variance when asked, since
 * running float sums of squares lose the small differences a retraction leaves.
 */
import type { Column } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { storageOf } from '../../exec/storage.js';
import { maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';
import { ValueCountsAccumulator } from './value-counts.js';

interface Spread {
  /** Sample (n − 1) or population (n) variance. */
  readonly sample: boolean;
  /** The standard deviation (its square root) rather than the variance. */
  readonly sqrt: boolean;
}

function finish(s: Spread, v: number): number {
  return s.sqrt ? Math.sqrt(v) : v;
}

/** Exact sums over integer inputs. */
class IntegerSpreadAccumulator implements GroupsAccumulator {
  private n: number[] = [];
  private s1: bigint[] = [];
  private s2: bigint[] = [];
  readonly stateLayout: AccumulatorState = {
    scalar: [{ name: 'count', type: 'bigint' }, { name: 'sum', type: 'varchar' }, { name: 'sum_squares', type: 'varchar' }],
    values: null,
  };
  readonly invertible = true;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly spread: Spread) {}
  saveGroup(gid: number): Value[] {
    return [BigInt(this.n[gid] ?? 0), String(this.s1[gid] ?? 0n), String(this.s2[gid] ?? 0n)];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.n[gid] = Number(state[0] ?? 0n);
    this.s1[gid] = BigInt(String(state[1] ?? '0'));
    this.s2[gid] = BigInt(String(state[2] ?? '0'));
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    const a = arg!;
    const validity = a.validity;
    const big = storageOf(a.type) === 'i64';
    const vals = a.values as BigInt64Array | Int32Array;
    this.ensure(maxGid(gids, n) + 1);
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      const x = big ? (vals as BigInt64Array)[i]! : BigInt((vals as Int32Array)[i]!);
      this.addOne(gids[i]!, x, weights === null ? 1 : weights[i]!);
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.ensure(gid + 1);
    if (v !== null) this.addOne(gid, BigInt(v as number | bigint), w);
  }
  merge(gid: number, src: IntegerSpreadAccumulator, srcGid: number, sign: 1 | -1): void {
    this.ensure(gid + 1);
    if (src.n[srcGid] === undefined) return;
    const k = BigInt(sign);
    this.n[gid]! += sign * src.n[srcGid]!;
    this.s1[gid] = this.s1[gid]! + k * src.s1[srcGid]!;
    this.s2[gid] = this.s2[gid]! + k * src.s2[srcGid]!;
  }
  evaluate(gid: number): Value {
    const n = this.n[gid] ?? 0;
    if (n === 0 || (this.spread.sample && n === 1)) return null;
    const bn = BigInt(n);
    const num = bn * this.s2[gid]! - this.s1[gid]! * this.s1[gid]!;
    const den = this.spread.sample ? bn * (bn - 1n) : bn * bn;
    return finish(this.spread, ratio(num, den));
  }
  reset(gid: number): void {
    this.n[gid] = 0;
    this.s1[gid] = 0n;
    this.s2[gid] = 0n;
  }
  private addOne(g: number, x: bigint, w: number): void {
    const k = BigInt(w);
    this.n[g]! += w;
    this.s1[g] = this.s1[g]! + k * x;
    this.s2[g] = this.s2[g]! + k * x * x;
  }
  private ensure(need: number): void {
    for (let g = this.n.length; g < need; g++) {
      this.n.push(0);
      this.s1.push(0n);
      this.s2.push(0n);
    }
  }
}

/** num / den as a double, exact to the double's precision even when both exceed 2^53. */
function ratio(num: bigint, den: bigint): number {
  const q = num / den;
  const r = num - q * den;
  return Number(q) + Number(r) / Number(den);
}

/** Two-pass variance over each group's multiset of floating-point values. */
class FloatSpreadAccumulator extends ValueCountsAccumulator {
  constructor(private readonly spread: Spread, argType: SqlType) {
    super(argType);
  }
  add(gid: number, v: Value, w: number): void {
    if (v !== null) this.bump(gid, v, w);
  }
  evaluate(gid: number): Value {
    const m = this.counts[gid];
    if (!m) return null;
    let n = 0;
    let sum = 0;
    for (const [v, c] of m) {
      n += c;
      sum += Number(v) * c;
    }
    if (n === 0 || (this.spread.sample && n === 1)) return null;
    const mean = sum / n;
    let m2 = 0;
    for (const [v, c] of m) m2 += c * (Number(v) - mean) ** 2;
    return finish(this.spread, m2 / (this.spread.sample ? n - 1 : n));
  }
}

function spread(s: Spread): AggregateFunction {
  return {
    accumulator: (call) => {
      const t = call.arg?.type ?? 'double';
      return t === 'int' || t === 'bigint' ? new IntegerSpreadAccumulator(s) : new FloatSpreadAccumulator(s, t);
    },
  };
}

/** var_samp(x) and variance(x): the sample variance. */
export const varSamp = spread({ sample: true, sqrt: false });
/** var_pop(x): the population variance. */
export const varPop = spread({ sample: false, sqrt: false });
/** stddev_samp(x) and stddev(x): the sample standard deviation. */
export const stddevSamp = spread({ sample: true, sqrt: true });
/** stddev_pop(x): the population standard deviation. */
export const stddevPop = spread({ sample: false, sqrt: true });
