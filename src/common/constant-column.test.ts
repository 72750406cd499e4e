import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantColumn, getValue } from './column.js';

describe('constantColumn', () => {
  it('repeats a text value (empty, multi-byte, long) in every row', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 7 }), fc.constantFrom('', ' ', 'x'.repeat(300))), fc.integer({ min: 0, max: 300 }), (v, n) => {
        const c = constantColumn('varchar', v, n);
        expect(c.length).toBe(n);
        expect(Array.from({ length: n }, (_, i) => getValue(c, i))).toEqual(Array.from({ length: n }, () => v));
      }),
      { numRuns: 300 },
    );
  });
});
