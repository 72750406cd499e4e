/**
 * advanceWatermark compares 64-bit timestamps as 32-bit words; this checks it against the plain
 * BigInt comparison it replaced, on random epochs of timestamps around the places where the words
 * behave differently from the value: negative times (before 1970), values one apart across a
 * low-word carry (2^32), the extremes, equal values, and NULLs in both the watermark expression's
 * column and the time column.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, isValid, type Batch, type Column } from '../../common/column.js';
import type { WatermarkRt } from './state.js';
import { advanceWatermark } from './watermark.js';

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;
const micros = fc.oneof(
  fc.bigInt({ min: MIN, max: MAX }),
  fc.bigInt({ min: -(2n ** 33n), max: 2n ** 33n }),
  fc.constantFrom(0n, -1n, 1n, 2n ** 32n, 2n ** 32n - 1n, -(2n ** 32n), -(2n ** 32n) - 1n, 2n ** 31n, -(2n ** 31n), MIN, MAX, 1_704_067_200_000_000n),
);
// A row: the time column's value and the watermark expression's (either may be NULL).
const row = fc.tuple(fc.option(micros, { freq: 6 }), fc.option(micros, { freq: 6 }));
const epochs = fc.array(fc.array(fc.array(row, { maxLength: 12 }), { maxLength: 3 }), { minLength: 1, maxLength: 5 });

/** The watermark state over batches whose column 0 is the time column and column 1 the expression's value. */
function watermark(): WatermarkRt {
  return { kernel: (b: Batch): Column => b.columns[1]!, column: 0, reads: [0, 1], value: null, lastDataAt: 0, lateRows: 0 };
}

/** What advanceWatermark computed before, with BigInt comparisons. */
function reference(wm: { value: bigint | null; lateRows: number }, batches: readonly Batch[]): void {
  const before = wm.value;
  let max = before;
  for (const b of batches) {
    const c = b.columns[1]!;
    const t = b.columns[0]!;
    for (let i = 0; i < b.length; i++) {
      const v = (c.values as BigInt64Array)[i]!;
      if (isValid(c, i) && (max === null || v > max)) max = v;
      if (before !== null && isValid(t, i) && (t.values as BigInt64Array)[i]! < before) wm.lateRows++;
    }
  }
  wm.value = max;
}

describe('advanceWatermark', () => {
  it('raises the watermark and counts late rows as BigInt comparisons do', () => {
    fc.assert(
      fc.property(epochs, (eps) => {
        const wm = watermark();
        const model = { value: null as bigint | null, lateRows: 0 };
        for (const ep of eps) {
          const batches = ep.map((rows) => batchFromRows(['timestamp', 'timestamp'], rows.map(([t, w]) => [t, w])));
          advanceWatermark(wm, batches, 1, () => undefined);
          reference(model, batches);
          expect(wm.value).toBe(model.value);
          expect(wm.lateRows).toBe(model.lateRows);
        }
      }),
      { numRuns: process.env.CI ? 300 : 2000 },
    );
  });

  it('keeps a watermark no row of the epoch raises, and starts none from NULLs alone', () => {
    const wm = watermark();
    advanceWatermark(wm, [batchFromRows(['timestamp', 'timestamp'], [[5n, null], [6n, null]])], 1, () => undefined);
    expect(wm.value).toBe(null);
    expect(wm.lateRows).toBe(0);
    advanceWatermark(wm, [batchFromRows(['timestamp', 'timestamp'], [[-(2n ** 32n), -(2n ** 32n)]])], 1, () => undefined);
    expect(wm.value).toBe(-(2n ** 32n));
    // Below the watermark: late, and the watermark stays.
    advanceWatermark(wm, [batchFromRows(['timestamp', 'timestamp'], [[-(2n ** 32n) - 1n, -(2n ** 32n) - 1n], [null, -5n - 2n ** 32n]])], 1, () => undefined);
    expect(wm.value).toBe(-(2n ** 32n));
    expect(wm.lateRows).toBe(1);
  });
});
