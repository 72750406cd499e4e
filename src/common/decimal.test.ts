import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ColumnBuilder, getValue } from './column.js';
import { compile, type EvalContext } from '../exec/eval.js';
import type { BoundExpr } from '../planner/expr.js';
import { addDec, decOf, formatDec, mulDec, parseDec, smallDecAt, smallDecScale, subDec, writeSmallDec } from './decimal.js';

/** Canonical NUMERIC texts: up to 18 digits (so some are beyond the small range), scales 0–20. */
const decimalText = fc
  .tuple(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), fc.integer({ min: 0, max: 20 }))
  .map(([digits, scale]) => formatDec({ digits, scale }));

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

describe('small decimals from and to bytes', () => {
  it('reads a canonical text of at most 15 digits exactly, and nothing longer', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const d = decOf(text);
        const v = smallDecAt(bytes(text), 0, text.length);
        const digits = text.replace(/[-.]/g, '').length;
        if (digits > 15) expect(v).toBeNaN();
        else {
          expect(BigInt(v)).toBe(d.digits);
          expect(smallDecScale()).toBe(d.scale);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('writes the text formatDec writes, for every safe integer and scale', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(0, -0, 1, -1, 2 ** 53 - 1, -(2 ** 53) + 1)), fc.integer({ min: 0, max: 64 }), (digits, scale) => {
        const out = new Uint8Array(100);
        const end = writeSmallDec(out, 3, digits, scale);
        expect(new TextDecoder().decode(out.subarray(3, end))).toBe(formatDec({ digits: BigInt(digits), scale }));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the exact arithmetic\'s answers through NUMERIC columns (+, -, *, the integer cast), NULLs kept', () => {
    const numeric = (index: number): BoundExpr => ({ kind: 'col', index, type: 'numeric' });
    const call = (fn: 'add' | 'sub' | 'mul', a: BoundExpr, b: BoundExpr): BoundExpr => ({ kind: 'call', fn, args: [a, b], type: 'numeric' });
    const asNumeric: BoundExpr = { kind: 'cast', arg: { kind: 'col', index: 2, type: 'bigint' }, type: 'numeric' };
    const kernels = [call('add', numeric(0), numeric(1)), call('sub', numeric(0), numeric(1)), call('mul', numeric(0), numeric(1)), call('mul', asNumeric, numeric(0)), asNumeric].map(compile);
    const ctx: EvalContext = { now: 0n, onRowError: (e) => { throw e; } } as EvalContext;
    const row = fc.tuple(fc.option(decimalText, { freq: 8 }), fc.option(decimalText, { freq: 8 }), fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { freq: 8 }));
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), (rows) => {
        const types = ['numeric', 'numeric', 'bigint'] as const;
        const columns = types.map((t, k) => {
          const b = new ColumnBuilder(t, rows.length);
          for (const r of rows) b.append(r[k]!);
          return b.finish();
        });
        const batch = { columns, length: rows.length, weights: null };
        const got = kernels.map((k) => rows.map((_, i) => getValue(k(batch, ctx), i)));
        const want = [addDec, subDec, mulDec].map((op) => rows.map(([x, y]) => (x === null || y === null ? null : formatDec(op(parseDec(x), parseDec(y))))));
        want.push(rows.map(([x, , k]) => (x === null || k === null ? null : formatDec(mulDec({ digits: k, scale: 0 }, parseDec(x))))));
        want.push(rows.map(([, , k]) => (k === null ? null : String(k))));
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it('builds columns larger than its scratch buffer', () => {
    const n = 30_000;
    const x = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? `${'9'.repeat(30)}.${'1'.repeat(i % 40)}` : `${i}.25`));
    const b = new ColumnBuilder('numeric', n);
    for (const v of x) b.append(v);
    const k = new ColumnBuilder('bigint', n);
    for (let i = 0; i < n; i++) k.append(BigInt(i) * 1_000_000_007n);
    const batch = { columns: [b.finish(), k.finish()], length: n, weights: null };
    const numeric = (index: number): BoundExpr => ({ kind: 'col', index, type: 'numeric' });
    const asNumeric: BoundExpr = { kind: 'cast', arg: { kind: 'col', index: 1, type: 'bigint' }, type: 'numeric' };
    const ctx = { now: 0n, onRowError: (e: Error) => { throw e; } } as unknown as EvalContext;
    const sum = compile({ kind: 'call', fn: 'add', args: [numeric(0), asNumeric], type: 'numeric' })(batch, ctx);
    for (let i = 0; i < n; i++) expect(getValue(sum, i)).toBe(formatDec(addDec(parseDec(x[i]!), { digits: BigInt(i) * 1_000_000_007n, scale: 0 })));
  });
});
