import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringToArray } from '../functions/scalar/array.js';
import { batchFromRows, batchRows, type Batch } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import type { BoundExpr } from '../planner/expr.js';
import type { SetCall } from '../planner/logical.js';
import type { OperatorContext } from './operator.js';
import { ProjectSetOp } from './project-set.js';

const ctx = (errors: string[]): OperatorContext => ({ now: 0n, epoch: 1, onRowError: (e) => errors.push(e.message), countLate: () => undefined });
const col = (index: number, type: SqlType): BoundExpr => ({ kind: 'col', index, type });
const lit = (value: Value, type: SqlType): BoundExpr => ({ kind: 'lit', value, type });

/** Runs one batch through a ProjectSet; returns rows with their weight first, as `+`/`-` changes. */
function run(calls: SetCall[], input: Batch, opts: { ordinality?: boolean; outer?: boolean } = {}, errors: string[] = []): Value[][] {
  const op = new ProjectSetOp('t/0', input.columns.map((_, i) => i), calls, opts.ordinality ?? false, opts.outer ?? false);
  const out: Value[][] = [];
  op.processBatch(0, input, ctx(errors), (b) => batchRows(b).forEach((r, i) => out.push([b.weights ? b.weights[i]! : 1, ...r])));
  return out;
}

describe('ProjectSetOp', () => {
  const unnest: SetCall = { fn: 'unnest', args: [col(1, 'varchar[]')], type: 'varchar' };

  it('expands each row with its weight: an insert adds its elements, a delete retracts them', () => {
    const input = batchFromRows(['int', 'varchar[]'], [[1, ['a', 'b']], [2, []], [3, null], [1, ['a', 'b']]], [1, 1, 1, -1]);
    expect(run([unnest], input)).toEqual([
      [1, 1, ['a', 'b'], 'a'],
      [1, 1, ['a', 'b'], 'b'],
      [-1, 1, ['a', 'b'], 'a'],
      [-1, 1, ['a', 'b'], 'b'],
    ]);
  });

  it('zips several calls to the longest, numbers rows WITH ORDINALITY, and keeps empty rows when outer', () => {
    const series: SetCall = { fn: 'generate_series', args: [lit(1, 'int'), col(0, 'int')], type: 'int' };
    const input = batchFromRows(['int', 'varchar[]'], [[3, ['a']], [0, []]]);
    expect(run([unnest, series], input, { ordinality: true, outer: true })).toEqual([
      [1, 3, ['a'], 'a', 1, 1n],
      [1, 3, ['a'], null, 2, 2n],
      [1, 3, ['a'], null, 3, 3n],
      [1, 0, [], null, null, null],
    ]);
  });

  it('reports a row whose call fails and expands it to nothing', () => {
    const series: SetCall = { fn: 'generate_series', args: [lit(1, 'int'), lit(3, 'int'), col(0, 'int')], type: 'int' };
    const errors: string[] = [];
    expect(run([series], batchFromRows(['int'], [[0], [2]]), {}, errors)).toEqual([[1, 2, 1], [1, 2, 3]]);
    expect(errors).toEqual(['step size cannot equal zero']);
  });

  it('splits string_to_table on the bytes exactly as split() does: multi-byte text and delimiters, NULLs, empty delimiters, null_string', () => {
    const piece = fc.constantFrom('a', 'b', 'é', '€', '😀', ' ', ',', ', ', 'ab', '');
    const text = fc.option(fc.array(piece, { maxLength: 8 }).map((p) => p.join('')), { freq: 6 });
    const delim = fc.option(fc.constantFrom(' ', ',', ', ', 'é', '€', '😀', 'ab', 'a', ''), { freq: 8 });
    const nullString = fc.option(fc.constantFrom('a', '', 'é'), { freq: 1 });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, delim, nullString, fc.constantFrom(1, -1, 2)), { maxLength: 12 }), fc.boolean(), fc.boolean(), (rows, three, outer) => {
        const input = batchFromRows(['int', 'varchar', 'varchar', 'varchar'], rows.map(([t, d, n], i) => [i, t, d, n]), rows.map((r) => r[3]));
        const call: SetCall = { fn: 'string_to_table', args: three ? [col(1, 'varchar'), col(2, 'varchar'), col(3, 'varchar')] : [col(1, 'varchar'), col(2, 'varchar')], type: 'varchar' };
        const want: Value[][] = [];
        rows.forEach(([t, d, n, w], i) => {
          const parts = t === null ? [] : stringToArray(t, d, three ? n : null);
          for (const p of parts.length === 0 && outer ? [null] : parts) want.push([w, i, t, d, n, p]);
        });
        expect(run([call], input, { outer })).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});
