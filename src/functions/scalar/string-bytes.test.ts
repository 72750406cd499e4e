import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ColumnBuilder, getValue, type Column } from '../../common/column.js';
import { compile, type EvalContext } from '../../exec/eval.js';
import type { BoundExpr } from '../../planner/expr.js';
import { firstCased } from './string.js';

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

  it('lower and upper of all-ASCII columns (mapped as a whole, or returned as they are) give toLowerCase / toUpperCase', () => {
    const kernels = [kernel('lower', 'varchar'), kernel('upper', 'varchar')];
    const ascii = fc.option(fc.oneof(fc.string({ unit: fc.constantFrom('a', 'b', 'z', 'A', 'Z', '@', '[', '`', '{', ' ', '0', '\x7f'), maxLength: 12 }), fc.string({ maxLength: 12 })), { freq: 6 });
    fc.assert(
      fc.property(fc.array(ascii, { minLength: 1, maxLength: 40 }), fc.nat(3), (values, skip) => {
        const b = new ColumnBuilder('varchar', values.length);
        for (const v of values) b.append(v);
        let col: Column = b.finish();
        // A column whose rows start past its first byte (as a slice of another).
        const from = Math.min(skip, values.length - 1);
        const strings = values.slice(from);
        col = { ...col, length: strings.length, offsets: col.offsets!.subarray(from), validity: null };
        const batch = { columns: [col], length: strings.length, weights: null };
        const got = kernels.map((k) => strings.map((_, i) => getValue(k(batch, ctx), i)));
        const all = strings.map((v) => v ?? '');
        expect(got).toEqual([all.map((v) => v.toLowerCase()), all.map((v) => v.toUpperCase())]);
      }),
      { numRuns: 1000 },
    );
  });

  it('firstCased finds the first letter of the case, at any alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }).map((a) => a.map((c) => c & 0x7f)), fc.nat(7), fc.nat(7), fc.boolean(), (a, pre, post, upper) => {
        const buf = new Uint8Array(pre + a.length + post);
        buf.set(a, pre);
        const view = buf.subarray(pre % 4);
        const s = pre - (pre % 4);
        const lo = upper ? 0x61 : 0x41;
        let want = s + a.length;
        for (let k = 0; k < a.length; k++) if (a[k]! >= lo && a[k]! < lo + 26) { want = s + k; break; }
        expect(firstCased(view, s, s + a.length, lo)).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('= and <> of VARCHAR columns are whether the strings are equal (NULL when either is)', () => {
    const left: BoundExpr = { kind: 'col', index: 0, type: 'varchar' };
    const right: BoundExpr = { kind: 'col', index: 1, type: 'varchar' };
    const eq = compile({ kind: 'call', fn: 'eq', args: [left, right], type: 'boolean' });
    const ne = compile({ kind: 'call', fn: 'ne', args: [left, right], type: 'boolean' });
    const short = fc.option(fc.oneof(fc.constantFrom('', 'a', 'ab', 'b', 'é', 'e\u0301', 'ab\u0000'), fc.string({ maxLength: 4 })), { freq: 8 });
    fc.assert(
      fc.property(fc.array(fc.tuple(short, short), { minLength: 1, maxLength: 30 }), (pairs) => {
        const cols = [0, 1].map((k) => {
          const b = new ColumnBuilder('varchar', pairs.length);
          for (const p of pairs) b.append(p[k]!);
          return b.finish();
        });
        const batch = { columns: cols, length: pairs.length, weights: null };
        const want = pairs.map(([x, y]) => (x === null || y === null ? null : x === y));
        expect(pairs.map((_, i) => getValue(eq(batch, ctx), i))).toEqual(want);
        expect(pairs.map((_, i) => getValue(ne(batch, ctx), i))).toEqual(want.map((w) => (w === null ? null : !w)));
      }),
      { numRuns: 1000 },
    );
  });
});
