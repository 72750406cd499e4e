/** bool_and(x), every(x) and bool_or(x): counts of true and false values per group, so deletes are exact. */
import type { Column } from '../../common/column.js';
import type { Value } from '../../common/types.js';
import { growF64, maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';

class BoolAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  private trues: Float64Array = new Float64Array(64);
  private falses: Float64Array = new Float64Array(64);
  readonly stateLayout: AccumulatorState = { scalar: [{ name: 'trues', type: 'bigint' }, { name: 'falses', type: 'bigint' }], values: null };
  readonly invertible = true;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly and: boolean) {}
  saveGroup(gid: number): Value[] {
    return gid < this.trues.length ? [BigInt(this.trues[gid]!), BigInt(this.falses[gid]!)] : [0n, 0n];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    this.trues[gid] = Number(state[0] ?? 0n);
    this.falses[gid] = Number(state[1] ?? 0n);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    this.grow(maxGid(gids, n) + 1);
    const a = arg!;
    const bits = a.values as Uint8Array;
    const validity = a.validity;
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      const w = weights === null ? 1 : weights[i]!;
      if (((bits[i >> 3]! >> (i & 7)) & 1) === 1) this.trues[gids[i]!]! += w;
      else this.falses[gids[i]!]! += w;
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.grow(gid + 1);
    if (v === null) return;
    if (v === true) this.trues[gid]! += w;
    else this.falses[gid]! += w;
  }
  merge(gid: number, src: BoolAccumulator, srcGid: number, sign: 1 | -1): void {
    this.grow(gid + 1);
    if (srcGid >= src.trues.length) return;
    this.trues[gid]! += sign * src.trues[srcGid]!;
    this.falses[gid]! += sign * src.falses[srcGid]!;
  }
  evaluate(gid: number): Value {
    if (gid >= this.trues.length) return null;
    const t = this.trues[gid]!;
    const f = this.falses[gid]!;
    if (t + f === 0) return null;
    return this.and ? f === 0 : t > 0;
  }
  reset(gid: number): void {
    if (gid < this.trues.length) {
      this.trues[gid] = 0;
      this.falses[gid] = 0;
    }
  }
  private grow(need: number): void {
    this.trues = growF64(this.trues, need);
    this.falses = growF64(this.falses, need);
  }
}

/** bool_and(x) (and its SQL-standard name every(x)): true when every non-NULL value is true. */
export const boolAnd: AggregateFunction = { accumulator: () => new BoolAccumulator(true) };

/** bool_or(x): true when some non-NULL value is true. */
export const boolOr: AggregateFunction = { accumulator: () => new BoolAccumulator(false) };
