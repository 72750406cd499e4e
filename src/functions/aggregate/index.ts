/**
 * The aggregate functions' implementations, one file each, and their registry. Every function
 * the planner can bind (`AggFn`, from the planner's signatures) must have an entry here: the
 * record is exhaustive, so a function without an implementation does not compile. DISTINCT is
 * not a function of its own: it wraps whichever accumulator the call asks for.
 */
import type { AggCall, AggFn } from '../../planner/expr.js';
import { avg } from './avg.js';
import { count, countStar } from './count.js';
import { DistinctAccumulator } from './distinct.js';
import type { AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';
import { max, min } from './min-max.js';
import { sum } from './sum.js';

export type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';

/** Every aggregate function by name. */
export const AGGREGATES: Readonly<Record<AggFn, AggregateFunction>> = {
  count,
  count_star: countStar,
  sum,
  avg,
  min,
  max,
};

/** A fresh accumulator for one aggregate call; `retracting` says whether its input may delete rows. */
export function createAccumulator(call: AggCall, retracting: boolean): GroupsAccumulator {
  const acc = AGGREGATES[call.fn].accumulator(call, retracting);
  return call.distinct ? new DistinctAccumulator(acc, call.arg?.type ?? 'null') : acc;
}
