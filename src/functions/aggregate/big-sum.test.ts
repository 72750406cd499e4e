/**
 * The exact integer sum adds rows word by word (two 32-bit halves, wraps counted) instead of
 * through BigInt: against a BigInt reference, random int and bigint rows with weights ±1 and
 * larger, near ±2^63 and past it, inserted and retracted in random order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnFromValues } from '../../common/column.js';
import { BigSumAccumulator } from './sum.js';

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const bigint = fc.oneof(
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
  fc.bigInt({ min: I64_MAX - 1000n, max: I64_MAX }),
  fc.bigInt({ min: I64_MIN, max: I64_MIN + 1000n }),
  fc.bigInt({ min: -5000n, max: 5000n }),
  fc.bigInt({ min: -(2n ** 53n) - 10n, max: -(2n ** 53n) + 10n }),
);
const weight = fc.oneof(fc.constant(1), fc.constant(-1), fc.integer({ min: -3, max: 3 }), fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }));

describe('BigSumAccumulator', () => {
  for (const type of ['int', 'bigint'] as const) {
    it(`sums ${type} rows with weights exactly, past the 64-bit range too (500 cases)`, () => {
      const value = type === 'int' ? fc.integer({ min: -2147483648, max: 2147483647 }).map(BigInt) : bigint;
      const rows = fc.array(fc.tuple(fc.nat({ max: 3 }), fc.option(value, { nil: null }), weight), { maxLength: 40 });
      fc.assert(
        fc.property(fc.array(rows, { maxLength: 4 }), (batches) => {
          const acc = new BigSumAccumulator(type, 'sum');
          const want = [0n, 0n, 0n, 0n];
          const counts = [0, 0, 0, 0];
          for (const batch of batches) {
            const vals = batch.map(([, v]) => (v === null ? null : type === 'int' ? Number(v) : v));
            acc.update(Int32Array.from(batch.map(([g]) => g)), batch.length, columnFromValues(type, vals), Int32Array.from(batch.map(([, , w]) => w)), null);
            for (const [g, v, w] of batch) {
              if (v === null) continue;
              want[g]! += v * BigInt(w);
              counts[g]! += w;
            }
          }
          for (let g = 0; g < 4; g++) expect(acc.evaluate(g), `group ${g}`).toBe(counts[g] === 0 ? null : want[g]!.toString());
        }),
        { numRuns: 500 },
      );
    });
  }

  it('saves its wraps with its state: a fresh accumulator loaded from it sums on exactly, by columns and by group', () => {
    const acc = new BigSumAccumulator('bigint', 'sum');
    const gids = Int32Array.from([0, 0, 1, 1, 2]);
    acc.update(gids, 5, columnFromValues('bigint', [I64_MAX, I64_MAX, I64_MIN, -5n, 7n]), null, null);
    const byColumns = new BigSumAccumulator('bigint', 'sum');
    byColumns.loadColumns(Int32Array.from([0, 1, 2]), 3, acc.saveColumns(3));
    const byGroup = new BigSumAccumulator('bigint', 'sum');
    for (let g = 0; g < 3; g++) byGroup.loadGroup(g, acc.saveGroup(g));
    for (const a of [acc, byColumns, byGroup]) a.update(Int32Array.from([0, 1]), 2, columnFromValues('bigint', [1n, -1n]), null, null);
    const want = [2n * I64_MAX + 1n, I64_MIN - 6n, 7n].map(String);
    for (const a of [acc, byColumns, byGroup]) expect([0, 1, 2].map((g) => a.evaluate(g))).toEqual(want);
  });

  it('reads state saved without wraps (before they were saved) as no wraps', () => {
    const acc = new BigSumAccumulator('bigint', 'sum');
    acc.update(Int32Array.from([0]), 1, columnFromValues('bigint', [-9n]), null, null);
    const [sum, count] = acc.saveColumns(1);
    const fresh = new BigSumAccumulator('bigint', 'sum');
    fresh.loadColumns(Int32Array.from([0]), 1, [sum!, count!, columnFromValues('bigint', [null])]);
    fresh.loadGroup(1, [4n, 1n]);
    expect([fresh.evaluate(0), fresh.evaluate(1)]).toEqual(['-9', '4']);
  });
});
