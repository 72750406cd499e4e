/** avg(x): the mean of the non-NULL values, a double; sum and count per group. */
import type { AggregateFunction } from './groups-accumulator.js';
import { FloatSumAccumulator } from './sum.js';

/** avg(x) over numbers; NULL for a group without non-NULL values. */
export const avg: AggregateFunction = {
  accumulator: (call) => new FloatSumAccumulator('avg', call.type, call.arg?.type ?? 'null'),
};
