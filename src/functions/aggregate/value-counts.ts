/**
 * The base of accumulators that keep each group's values themselves, as a value → count
 * multiset (min/max under retraction, DISTINCT): their whole state is that multiset, so saving,
 * restoring, row-at-a-time updates and merging are the same for all of them.
 */
import type { Column } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { addEachRow, addEntries } from './group-arrays.js';
import type { AccumulatorState, GroupsAccumulator } from './groups-accumulator.js';

export abstract class ValueCountsAccumulator implements GroupsAccumulator {
  protected readonly counts: (Map<Value, number> | undefined)[] = [];
  readonly stateLayout: AccumulatorState;
  // Merging adds the other group's value counts, which can be taken out again.
  readonly invertible = true;

  constructor(argType: SqlType) {
    this.stateLayout = { scalar: [], values: argType };
  }

  abstract add(gid: number, v: Value, w: number): void;
  abstract evaluate(gid: number): Value;

  saveGroup(): Value[] {
    return [];
  }
  loadGroup(): void {}
  saveValues(gid: number): [Value, number][] {
    return [...(this.counts[gid] ?? [])];
  }
  loadValues(gid: number, entries: readonly (readonly [Value, number])[]): void {
    addEntries(this, gid, entries, 1);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    addEachRow(this, gids, n, arg!, weights, mask);
  }
  merge(gid: number, src: this, srcGid: number, sign: 1 | -1): void {
    const m = src.counts[srcGid];
    if (m) addEntries(this, gid, m, sign);
  }
  reset(gid: number): void {
    this.counts[gid] = undefined;
  }

  /** Adds `w` to value v's count in group gid (NULLs are not counted); returns the counts before and after. */
  protected bump(gid: number, v: Value, w: number): { before: number; after: number } {
    let m = this.counts[gid];
    if (!m) m = this.counts[gid] = new Map();
    const before = m.get(v) ?? 0;
    const after = before + w;
    if (after === 0) m.delete(v);
    else m.set(v, after);
    return { before, after };
  }
}
