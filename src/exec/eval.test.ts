import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows } from '../common/column.js';
import type { SluiceError } from '../common/errors.js';
import type { SqlType, Value } from '../common/types.js';
import { Binder } from '../planner/binder.js';
import { Catalog } from '../catalog/index.js';
import { parseExpression } from '../parser/index.js';
import { compile } from './eval.js';
import { constantColumn, getValue } from '../common/column.js';
import { allSet } from './operators.js';

const schema = [
  { name: 'a', type: 'int' as SqlType },
  { name: 'b', type: 'boolean' as SqlType },
  { name: 's', type: 'varchar' as SqlType },
  { name: 't', type: 'timestamp' as SqlType },
];

function evalRows(expr: string, rows: Value[][]): { values: Value[]; errors: string[] } {
  const catalog = new Catalog(null);
  const binder = new Binder(catalog);
  const scope = { fields: schema.map((f) => ({ qualifier: 'x', name: f.name, type: f.type })) };
  const bound = binder.bindExpr(parseExpression(expr), { scope, agg: null, noAggIn: null });
  const batch = batchFromRows(schema.map((f) => f.type), rows);
  const errors: string[] = [];
  const col = compile(bound)(batch, { now: 0n, onRowError: (e: SluiceError) => errors.push(e.message) });
  return { values: rows.map((_, i) => getValue(col, i)), errors };
}

const T = 1_700_000_000_000_000n; // 2023-11-14 22:13:20 UTC

describe('expression kernels', () => {
  const rows: Value[][] = [
    [1, true, 'apple', T],
    [null, false, null, null],
    [-7, null, 'Banana', T + 3_600_000_000n],
  ];

  it('implements SQL three-valued logic', () => {
    expect(evalRows('b AND a > 0', rows).values).toEqual([true, false, false]);
    expect(evalRows('b OR a > 0', rows).values).toEqual([true, null, null]);
    expect(evalRows('NOT b', rows).values).toEqual([false, true, null]);
    expect(evalRows('a IS NULL', rows).values).toEqual([false, true, false]);
    expect(evalRows('b IS NOT TRUE', rows).values).toEqual([false, true, true]);
    expect(evalRows('a IN (1, NULL)', rows).values).toEqual([true, null, null]);
  });

  it('does arithmetic with NULLs, integer division and errors as NULL', () => {
    expect(evalRows('a + 1', rows).values).toEqual([2, null, -6]);
    expect(evalRows('a / 2', rows).values).toEqual([0, null, -3]);
    expect(evalRows('a % 2', rows).values).toEqual([1, null, -1]);
    const r = evalRows('10 / (a - 1)', rows);
    expect(r.values).toEqual([null, null, -1]);
    expect(r.errors).toEqual(['division by zero']);
    expect(evalRows('2147483647 + a', rows).errors).toEqual(['integer out of range']);
  });

  it('evaluates CASE, CAST, coalesce, string functions and LIKE', () => {
    expect(evalRows("CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' END", rows).values).toEqual(['pos', null, 'neg']);
    expect(evalRows("CASE a WHEN 1 THEN 'one' ELSE 'other' END", rows).values).toEqual(['one', 'other', 'other']);
    expect(evalRows('CAST(a AS DOUBLE) / 2', rows).values).toEqual([0.5, null, -3.5]);
    expect(evalRows("CAST(s AS INT)", [[1, true, '42', T], [1, true, 'x', T]]).values).toEqual([42, null]);
    expect(evalRows('coalesce(s, \'none\')', rows).values).toEqual(['apple', 'none', 'Banana']);
    expect(evalRows("upper(s) || '!'", rows).values).toEqual(['APPLE!', null, 'BANANA!']);
    expect(evalRows('length(s)', rows).values).toEqual([5, null, 6]);
    expect(evalRows("substring(s, 2, 3)", rows).values).toEqual(['ppl', null, 'ana']);
    expect(evalRows("s LIKE '%an%'", rows).values).toEqual([false, null, true]);
    expect(evalRows("s ILIKE 'b%'", rows).values).toEqual([false, null, true]);
    expect(evalRows("s NOT LIKE 'a_ple'", rows).values).toEqual([false, null, true]);
  });

  it('truncates and extracts on timestamps', () => {
    expect(evalRows("date_trunc('hour', t)", rows).values).toEqual([1_699_999_200_000_000n, null, 1_700_002_800_000_000n]);
    // EXTRACT is NUMERIC (PostgreSQL 14+); date_part stays double precision.
    expect(evalRows('extract(hour from t)', rows).values).toEqual(['22', null, '23']);
    expect(evalRows("extract(minute from t)", rows).values).toEqual(['13', null, '13']);
    expect(evalRows("date_part('minute', t)", rows).values).toEqual([13, null, 13]);
    expect(evalRows("t + INTERVAL '1 day' > TIMESTAMP '2023-11-15 00:00:00'", rows).values).toEqual([true, null, true]);
    expect(evalRows("t > '2023-11-14 23:00:00'", rows).values).toEqual([false, null, true]);
  });

  it('keeps a batch round trip through Arrow-layout builders lossless', () => {
    const b = batchFromRows(schema.map((f) => f.type), rows);
    expect(batchRows(b)).toEqual(rows);
  });

  it('gives a literal column of each batch length, shorter batches a view of the longest one built', () => {
    const lits: { value: Value; type: SqlType }[] = [
      { value: '0.908', type: 'numeric' }, { value: '', type: 'varchar' }, { value: 'abc', type: 'varchar' }, { value: 7, type: 'int' },
      { value: 5n, type: 'bigint' }, { value: true, type: 'boolean' }, { value: null, type: 'varchar' }, { value: null, type: 'int' }, { value: 1.5, type: 'double' },
    ];
    fc.assert(
      fc.property(fc.constantFrom(...lits), fc.array(fc.nat(70), { minLength: 1, maxLength: 8 }), ({ value, type }, lengths) => {
        const k = compile({ kind: 'lit', value, type });
        for (const n of lengths) {
          const col = k({ columns: [], length: n, weights: null }, { now: 0n, onRowError: () => undefined });
          const want = constantColumn(type, value, n);
          expect(col.length).toBe(n);
          expect(Array.from({ length: n }, (_, i) => getValue(col, i))).toEqual(Array.from({ length: n }, (_, i) => getValue(want, i)));
          if (col.offsets) expect(col.offsets.length).toBe(n + 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("allSet is whether a filter's bitmap passes every row", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), fc.nat(2), (bits, extra) => {
        const bitmap = new Uint8Array(((bits.length + 7) >> 3) + extra).fill(extra === 0 ? 0 : 0xff);
        for (let i = 0; i < bits.length; i++) {
          if (bits[i]) bitmap[i >> 3]! |= 1 << (i & 7);
          else bitmap[i >> 3]! &= ~(1 << (i & 7));
        }
        expect(allSet(bitmap, bits.length)).toBe(bits.every((b) => b));
      }),
      { numRuns: 1000 },
    );
  });
});
