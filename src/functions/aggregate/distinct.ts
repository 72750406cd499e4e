/** DISTINCT: an accumulator over the set of distinct values of its group, for any aggregate. */
import { intervalKey } from '../../common/interval.js';
import type { SqlType, Value } from '../../common/types.js';
import type { GroupsAccumulator } from './groups-accumulator.js';
import { ValueCountsAccumulator } from './value-counts.js';

/**
 * Wraps an accumulator, forwarding +1 when a value first appears in a group and −1 when it
 * disappears. Its state is the distinct values' counts; restoring them rebuilds the inner
 * accumulator's state, so that is not saved. Intervals are distinct by span, as PostgreSQL's
 * equality ('1 mon' and '30 days' count once): the first value of a span stands for it.
 */
export class DistinctAccumulator extends ValueCountsAccumulator {
  private readonly spans: (Map<string, { n: number; rep: Value }> | undefined)[] = [];
  private readonly interval: boolean;
  constructor(private readonly inner: GroupsAccumulator, argType: SqlType) {
    super(argType);
    this.interval = argType === 'interval';
  }
  add(gid: number, v: Value, w: number): void {
    if (v === null) return;
    if (this.interval) {
      this.bump(gid, v, w);
      const m = (this.spans[gid] ??= new Map());
      const k = intervalKey(v as string);
      const e = m.get(k);
      const before = e?.n ?? 0;
      const after = before + w;
      if (before <= 0 && after > 0) {
        m.set(k, { n: after, rep: v });
        this.inner.add(gid, v, 1);
      } else if (before > 0 && after <= 0) {
        m.delete(k);
        this.inner.add(gid, e!.rep, -1);
      } else if (e) e.n = after;
      return;
    }
    const { before, after } = this.bump(gid, v, w);
    const delta = (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    if (delta !== 0) this.inner.add(gid, v, delta);
  }
  evaluate(gid: number): Value {
    return this.inner.evaluate(gid);
  }
  override reset(gid: number): void {
    super.reset(gid);
    this.spans[gid] = undefined;
    this.inner.reset(gid);
  }
}
