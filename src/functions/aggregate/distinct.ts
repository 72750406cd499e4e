/** DISTINCT: an accumulator over the set of distinct values of its group, for any aggregate. */
import type { SqlType, Value } from '../../common/types.js';
import type { GroupsAccumulator } from './groups-accumulator.js';
import { ValueCountsAccumulator } from './value-counts.js';

/**
 * Wraps an accumulator, forwarding +1 when a value first appears in a group and −1 when it
 * disappears. Its state is the distinct values' counts; restoring them rebuilds the inner
 * accumulator's state, so that is not saved.
 */
export class DistinctAccumulator extends ValueCountsAccumulator {
  constructor(private readonly inner: GroupsAccumulator, argType: SqlType) {
    super(argType);
  }
  add(gid: number, v: Value, w: number): void {
    if (v === null) return;
    const { before, after } = this.bump(gid, v, w);
    const delta = (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    if (delta !== 0) this.inner.add(gid, v, delta);
  }
  evaluate(gid: number): Value {
    return this.inner.evaluate(gid);
  }
  override reset(gid: number): void {
    super.reset(gid);
    this.inner.reset(gid);
  }
}
