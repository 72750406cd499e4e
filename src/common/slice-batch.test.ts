import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows, sliceBatch } from './column.js';
import type { SqlType, Value } from './types.js';

/** Per type, values including nulls (the slice must cut validity and value bitmaps alike). */
const VALUES: readonly [SqlType, fc.Arbitrary<Value>][] = [
  ['int', fc.integer({ min: -1000, max: 1000 })],
  ['bigint', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
  ['double', fc.double({ noNaN: true })],
  ['boolean', fc.boolean()],
  ['varchar', fc.string({ unit: 'grapheme', maxLength: 6 })],
  ['int[]', fc.array(fc.integer({ min: -9, max: 9 }), { maxLength: 3 })],
];

describe('sliceBatch', () => {
  it('equals the rows it cuts, for every type, with nulls and weights, from any multiple of 8', () => {
    fc.assert(
      fc.property(
        fc.subarray(VALUES.map((_, i) => i), { minLength: 1 }),
        fc.integer({ min: 0, max: 70 }),
        fc.boolean(),
        fc.integer(),
        fc.integer(),
        (cols, n, weighted, a, b) => {
          const types = cols.map((i) => VALUES[i]![0]);
          const rows = fc.sample(fc.tuple(...cols.map((i) => fc.option(VALUES[i]![1], { freq: 4 }))), { numRuns: n, seed: a });
          const weights = weighted ? rows.map((_, i) => ((i * 7 + a) % 5) - 2 || 1) : undefined;
          const batch = batchFromRows(types, rows, weights);
          const start = n === 0 ? 0 : (Math.abs(a) % (Math.floor(n / 8) + 1)) * 8;
          const end = Math.min(n, start + (Math.abs(b) % (n + 1)));
          const s = sliceBatch(batch, Math.min(start, end), end);
          expect(batchRows(s)).toEqual(rows.slice(Math.min(start, end), end));
          expect(s.weights ? Array.from(s.weights) : undefined).toEqual(weights?.slice(Math.min(start, end), end));
        },
      ),
      { numRuns: 400 },
    );
  });
});
