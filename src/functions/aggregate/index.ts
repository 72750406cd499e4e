/**
 * The aggregate functions' implementations, one file each, and their registry. Every function
 * the planner can bind (`AggFn`, from the planner's signatures) must have an entry here: the
 * record is exhaustive, so a function without an implementation does not compile. DISTINCT is
 * not a function of its own: it wraps whichever accumulator the call asks for (the
 * order-sensitive ones, which keep their rows anyway, count each distinct row once themselves).
 */
import { AGGREGATE_SIGNATURES, type AggregateSignature } from '../../planner/aggregate-signatures.js';
import type { AggCall, AggFn, BoundExpr } from '../../planner/expr.js';
import { avg } from './avg.js';
import { bitAnd, bitOr, bitXor } from './bit.js';
import { boolAnd, boolOr } from './bool.js';
import { count, countStar } from './count.js';
import { DistinctAccumulator } from './distinct.js';
import type { AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';
import { max, min } from './min-max.js';
import { arrayAgg, jsonbAgg, firstValue, lastValue, mode, percentileCont, percentileDisc, stringAgg } from './ordered.js';
import { sum } from './sum.js';
import { stddevPop, stddevSamp, varPop, varSamp } from './variance.js';

export type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';
export { scalarStateColumns } from './groups-accumulator.js';

/** Every aggregate function by name. */
export const AGGREGATES: Readonly<Record<AggFn, AggregateFunction>> = {
  count,
  count_star: countStar,
  sum,
  avg,
  min,
  max,
  bool_and: boolAnd,
  bool_or: boolOr,
  every: boolAnd,
  bit_and: bitAnd,
  bit_or: bitOr,
  bit_xor: bitXor,
  stddev: stddevSamp,
  stddev_samp: stddevSamp,
  stddev_pop: stddevPop,
  variance: varSamp,
  var_samp: varSamp,
  var_pop: varPop,
  string_agg: stringAgg,
  array_agg: arrayAgg,
  jsonb_agg: jsonbAgg,
  json_agg: jsonbAgg,
  first_value: firstValue,
  last_value: lastValue,
  percentile_cont: percentileCont,
  percentile_disc: percentileDisc,
  mode,
};

/** A fresh accumulator for one aggregate call; `retracting` says whether its input may delete rows. */
export function createAccumulator(call: AggCall, retracting: boolean): GroupsAccumulator {
  const acc = AGGREGATES[call.fn].accumulator(call, retracting);
  const sig: AggregateSignature = AGGREGATE_SIGNATURES[call.fn];
  return call.distinct && !sig.ordered ? new DistinctAccumulator(acc, call.arg?.type ?? 'null') : acc;
}

/**
 * The per-row inputs of a call beyond its argument, in the order its accumulator's `update`
 * takes them: further arguments (string_agg's delimiter), then the ORDER BY keys. Ordered-set
 * aggregates take none: their direct arguments are constants and their sort key is the argument.
 */
export function moreInputs(call: AggCall): BoundExpr[] {
  const sig: AggregateSignature = AGGREGATE_SIGNATURES[call.fn];
  if (sig.orderedSet) return [];
  return [...(call.args ?? []), ...(call.orderBy ?? []).map((k) => k.expr)];
}
