import { describe, expect, it } from 'vitest';
import { columnFromValues } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { AGGREGATE_SIGNATURES, type AggFn, type AggregateSignature } from '../../planner/aggregate-signatures.js';
import type { AggCall } from '../../planner/expr.js';
import { createAccumulator, moreInputs } from './index.js';

const values: Record<'int' | 'bigint' | 'double' | 'boolean' | 'varchar', Value[]> = {
  int: [3, null, -7, 3, 12, 0, 5, null, 9],
  bigint: [3n, null, -7n, 3n, 12n, 0n, 5n, null, 9n],
  double: [1.5, null, -2.25, 1.5, 8, 0, 4.75, null, 3],
  boolean: [true, null, false, true, true, false, true, null, true],
  varchar: ['c', null, 'a', 'c', 'zz', '', 'b', null, 'q'],
};
// Rows 0–2 go to pane 1, 3–5 to pane 2, 6–8 to pane 3; one row of pane 2 is deleted again.
const gids = Int32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 2]);
const weights = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, -1]);

function call(fn: AggFn, type: SqlType, distinct: boolean): AggCall {
  const sig: AggregateSignature = AGGREGATE_SIGNATURES[fn];
  const argType = sig.star ? 'null' : sig.argType(type)!;
  const arg = { kind: 'col', index: 0, type: argType } as const;
  // Order-sensitive calls sort by their argument; ordered-set ones take the fraction 0.5.
  const order = sig.ordered ? { orderBy: [{ expr: arg, desc: false, nullsFirst: false }] } : {};
  const direct = sig.orderedSet ? { args: [{ kind: 'lit', value: 0.5, type: 'double' } as const] } : {};
  return { fn, arg: sig.star ? null : arg, distinct, filter: null, type: sig.returnType(argType), ...order, ...direct };
}

describe('aggregate merge', () => {
  for (const fn of Object.keys(AGGREGATE_SIGNATURES) as AggFn[]) {
    for (const type of ['int', 'bigint', 'double', 'boolean', 'varchar'] as const) {
      const sig: AggregateSignature = AGGREGATE_SIGNATURES[fn];
      if (!sig.star && sig.argType(type) !== type) continue;
      for (const distinct of AGGREGATE_SIGNATURES[fn].star ? [false] : [false, true]) {
        it(`${fn}${distinct ? ' DISTINCT' : ''}(${type}): merged panes equal one group, and un-merging a pane takes it out`, () => {
          const c = call(fn, type, distinct);
          const vals = [...values[type], values[type][4]!];
          const arg = columnFromValues(c.arg?.type ?? 'int', vals);
          const more = moreInputs(c).map(() => arg);
          const panes = createAccumulator(c, true);
          panes.update(gids, gids.length, arg, weights, null, more);
          const direct = createAccumulator(c, true);
          direct.update(new Int32Array(gids.length), gids.length, arg, weights, null, more);
          const window = createAccumulator(c, true);
          for (const g of [1, 2, 3]) window.merge(0, panes, g, 1);
          expect(window.evaluate(0)).toEqual(direct.evaluate(0));
          if (!window.invertible) return;
          window.merge(0, panes, 1, -1);
          const rest = createAccumulator(c, true);
          for (const g of [2, 3]) rest.merge(0, panes, g, 1);
          expect(window.evaluate(0)).toEqual(rest.evaluate(0));
        });
      }
    }
  }

  it('min/max over an append-only input merge running values, and are not invertible', () => {
    const c = call('max', 'int', false);
    const panes = createAccumulator(c, false);
    panes.update(Int32Array.from([1, 1, 2]), 3, columnFromValues('int', [4, 9, 7]), null, null);
    const window = createAccumulator(c, false);
    window.merge(0, panes, 1, 1);
    window.merge(0, panes, 2, 1);
    expect(window.invertible).toBe(false);
    expect(window.evaluate(0)).toBe(9);
  });
});
