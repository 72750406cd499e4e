/** avg(x): the mean of the non-NULL values; sum and count per group. */
import type { AggregateFunction } from './groups-accumulator.js';
import { NumericSumAccumulator } from './numeric-sum.js';
import { IntervalSumAccumulator } from './interval-sum.js';
import { BigSumAccumulator, FloatSumAccumulator } from './sum.js';

/** avg(x) over numbers (NUMERIC for integers and numeric, as PostgreSQL); NULL for a group without non-NULL values. */
export const avg: AggregateFunction = {
  accumulator: (call) => {
    const argType = call.arg?.type ?? 'null';
    if (argType === 'interval') return new IntervalSumAccumulator('avg');
    if (call.type !== 'numeric') return new FloatSumAccumulator('avg', call.type, argType);
    return argType === 'numeric' ? new NumericSumAccumulator('avg', argType) : new BigSumAccumulator(argType, 'avg');
  },
};
