import { describe, expect, it } from 'vitest';
import { columnFromValues } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { AGGREGATE_SIGNATURES, type AggFn } from '../../planner/aggregate-signatures.js';
import type { AggCall } from '../../planner/expr.js';
import { createAccumulator } from './index.js';

const values: Record<'int' | 'bigint' | 'double', Value[]> = {
  int: [3, null, -7, 3, 12, 0, 5, null, 9],
  bigint: [3n, null, -7n, 3n, 12n, 0n, 5n, null, 9n],
  double: [1.5, null, -2.25, 1.5, 8, 0, 4.75, null, 3],
};
// Rows 0–2 go to pane 1, 3–5 to pane 2, 6–8 to pane 3; one row of pane 2 is deleted again.
const gids = Int32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 2]);
const weights = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, -1]);

function call(fn: AggFn, type: SqlType, distinct: boolean): AggCall {
  const sig = AGGREGATE_SIGNATURES[fn];
  const argType = sig.star ? 'null' : sig.argType(type)!;
  return { fn, arg: sig.star ? null : { kind: 'col', index: 0, type: argType }, distinct, filter: null, type: sig.returnType(argType) };
}

describe('aggregate merge', () => {
  for (const fn of Object.keys(AGGREGATE_SIGNATURES) as AggFn[]) {
    for (const type of ['int', 'bigint', 'double'] as const) {
      for (const distinct of AGGREGATE_SIGNATURES[fn].star ? [false] : [false, true]) {
        it(`${fn}${distinct ? ' DISTINCT' : ''}(${type}): merged panes equal one group, and un-merging a pane takes it out`, () => {
          const c = call(fn, type, distinct);
          const vals = [...values[type], values[type][4]!];
          const arg = columnFromValues(c.arg?.type ?? 'int', vals);
          const panes = createAccumulator(c, true);
          panes.update(gids, gids.length, arg, weights, null);
          const direct = createAccumulator(c, true);
          direct.update(new Int32Array(gids.length), gids.length, arg, weights, null);
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
