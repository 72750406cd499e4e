/** count(x) and count(*): the number of rows (with x non-NULL), as a double per group. */
import type { Column } from '../../common/column.js';
import type { Value } from '../../common/types.js';
import type { SlotColumn } from '../../exec/slot-columns.js';
import { bigintColumnOf, growF64, loadBigintAsNumbers, maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';

class CountAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  private counts: Float64Array = new Float64Array(64);
  readonly stateLayout: AccumulatorState = { scalar: [{ name: 'count', type: 'bigint' }], values: null };
  readonly invertible = true;
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
    this.counts = growF64(this.counts, maxGid(gids, n) + 1);
    const c = this.counts;
    const validity = this.star || arg === null ? null : arg.validity;
    if (weights === null && mask === null && validity === null) {
      for (let i = 0; i < n; i++) c[gids[i]!]!++;
      return;
    }
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i)) continue;
      if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) continue;
      c[gids[i]!]! += weights === null ? 1 : weights[i]!;
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.counts = growF64(this.counts, gid + 1);
    if (this.star || v !== null) this.counts[gid]! += w;
  }
  merge(gid: number, src: CountAccumulator, srcGid: number, sign: 1 | -1): void {
    this.counts = growF64(this.counts, gid + 1);
    if (srcGid < src.counts.length) this.counts[gid]! += sign * src.counts[srcGid]!;
  }
  evaluate(gid: number): Value {
    return BigInt(gid < this.counts.length ? this.counts[gid]! : 0);
  }
  reset(gid: number): void {
    if (gid < this.counts.length) this.counts[gid] = 0;
  }
  evaluateInto(gids: Int32Array, n: number, out: SlotColumn, outSlots: Int32Array | null): boolean {
    const c = this.counts;
    for (let k = 0; k < n; k++) {
      const g = gids[k]!;
      out.setI64FromNumber(outSlots === null ? k : outSlots[k]!, g < c.length ? c[g]! : 0);
    }
    return true;
  }
  saveColumns(n: number, gids: Int32Array | null = null): Column[] {
    return [bigintColumnOf(this.counts, n, gids)];
  }
  loadColumns(gids: Int32Array, n: number, cols: readonly Column[]): void {
    this.counts = growF64(this.counts, maxGid(gids, n) + 1);
    loadBigintAsNumbers(cols[0]!, gids, n, this.counts);
  }
}

/** count(x): rows where x is not NULL. */
export const count: AggregateFunction = { accumulator: () => new CountAccumulator(false) };

/** count(*): every row. */
export const countStar: AggregateFunction = { accumulator: () => new CountAccumulator(true) };
