/** DISTINCT: an accumulator over the set of distinct values of its group, for any aggregate. */
import type { Column } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { addEachRow, addEntries } from './group-arrays.js';
import type { AccumulatorState, GroupsAccumulator } from './groups-accumulator.js';

/** Wraps an accumulator, forwarding +1 when a value first appears in a group and −1 when it disappears. */
export class DistinctAccumulator implements GroupsAccumulator {
  private readonly seen: (Map<Value, number> | undefined)[] = [];
  readonly stateLayout: AccumulatorState;
  // Merging adds the other group's value counts, which can be taken out again.
  readonly invertible = true;
  constructor(private readonly inner: GroupsAccumulator, argType: SqlType) {
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
    addEntries(this, gid, entries, 1);
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
  merge(gid: number, src: DistinctAccumulator, srcGid: number, sign: 1 | -1): void {
    const m = src.seen[srcGid];
    if (m) addEntries(this, gid, m, sign);
  }
  evaluate(gid: number): Value {
    return this.inner.evaluate(gid);
  }
  reset(gid: number): void {
    this.seen[gid] = undefined;
    this.inner.reset(gid);
  }
}
