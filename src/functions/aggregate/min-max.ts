/**
 * min(x) and max(x). Over an append-only input one running value per group is enough; over a
 * retracting input (or under DISTINCT, which feeds ±1 presence changes) a deleted extreme must
 * give way to the next one, so each group keeps its values as a value → count multiset.
 */
import type { Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { compareDecimalText } from '../../common/decimal.js';
import type { SqlType, Value } from '../../common/types.js';
import { addEachRow, NO_VALUES } from './group-arrays.js';
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
      return retracting || call.distinct ? new MultisetExtremeAccumulator(max, argType) : new RunningExtremeAccumulator(max, argType);
    },
  };
}

/** min(x): the smallest non-NULL value. */
export const min: AggregateFunction = extreme(false);

/** max(x): the largest non-NULL value. */
export const max: AggregateFunction = extreme(true);
