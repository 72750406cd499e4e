/** avg(x): the mean of the non-NULL values; sum and count per group. */
import type { AggregateFunction } from './groups-accumulator.js';
import { NumericSumAccumulator } from './numeric-sum.js';
import { FloatSumAccumulator } from './sum.js';

/** avg(x) over numbers (NUMERIC for integers and numeric, as PostgreSQL); NULL for a group without non-NULL values. */
export const avg: AggregateFunction = {
  accumulator: (call) => (call.type === 'numeric' ? new NumericSumAccumulator('avg', call.arg?.type ?? 'null') : new FloatSumAccumulator('avg', call.type, call.arg?.type ?? 'null')),
};
