import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ColumnBuilder, getValue } from '../../common/column.js';
import { compile, type EvalContext } from '../../exec/eval.js';
import type { BoundExpr } from '../../planner/expr.js';

const ctx = { now: 0n, onRowError: (e: Error) => { throw e; } } as unknown as EvalContext;
const text: BoundExpr = { kind: 'col', index: 0, type: 'varchar' };
const kernel = (fn: 'lower' | 'upper' | 'length', type: 'varchar' | 'int') => compile({ kind: 'call', fn, args: [text], type });

/** Strings of ASCII, accented, case-special (ß, İ, ς) and astral characters, and NULLs. */
const value = fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('', 'ABC def', 'Straße', 'İstanbul', 'ΟΔΟΣ', '😀A', 'é')), { freq: 6 });

describe('string functions over bytes', () => {
  it('lower, upper and length give what the string functions give, row by row', () => {
    const kernels = [kernel('lower', 'varchar'), kernel('upper', 'varchar'), kernel('length', 'int')];
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 30 }), (values) => {
        // A column holds UTF-8: lone surrogates arrive as U+FFFD.
        const strings = values.map((v) => (v === null ? null : Buffer.from(v, 'utf8').toString('utf8')));
        const b = new ColumnBuilder('varchar', strings.length);
        for (const v of strings) b.append(v);
        const batch = { columns: [b.finish()], length: strings.length, weights: null };
        const got = kernels.map((k) => strings.map((_, i) => getValue(k(batch, ctx), i)));
        expect(got).toEqual([
          strings.map((v) => (v === null ? null : v.toLowerCase())),
          strings.map((v) => (v === null ? null : v.toUpperCase())),
          strings.map((v) => (v === null ? null : [...v].length)),
        ]);
      }),
      { numRuns: 1000 },
    );
  });
});
