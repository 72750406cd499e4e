import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnFromValues } from '../../common/column.js';
import { addDec, divDec, formatDec, parseDec, pow10, type Dec } from '../../common/decimal.js';
import { NumericSumAccumulator } from './numeric-sum.js';

/** NUMERIC texts of a few scales, small and beyond 15 digits. */
const text = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: -99999, max: 99999 }), fc.constantFrom(0, 2, 3)).map(([d, s]) => formatDec({ digits: BigInt(d), scale: s })) },
  { weight: 1, arbitrary: fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.constantFrom(0, 1, 5)).map(([d, s]) => formatDec({ digits: d, scale: s })) },
  { weight: 1, arbitrary: fc.constantFrom('4503599627370495', '-4503599627370495', '9007199254740991') },
);

/** PostgreSQL's sum over the current values (each with its count): at their largest scale. */
function reference(values: Map<string, number>, out: 'sum' | 'avg'): string | null {
  let n = 0;
  let scale = 0;
  for (const [t, c] of values) {
    if (c === 0) continue;
    n += c;
    scale = Math.max(scale, parseDec(t).scale);
  }
  if (n === 0) return null;
  let sum: Dec = { digits: 0n, scale };
  for (const [t, c] of values) {
    const d = parseDec(t);
    sum = addDec(sum, { digits: d.digits * BigInt(c), scale: d.scale });
  }
  const exact: Dec = { digits: sum.digits / pow10(sum.scale - scale), scale };
  return out === 'sum' ? formatDec(exact) : formatDec(divDec(exact, { digits: BigInt(n), scale: 0 }));
}

describe('NumericSumAccumulator', () => {
  it('sums and averages exactly through inserts, retractions, saves, restores and merges, at the scale of the values present', () => {
    const op = fc.tuple(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), text, fc.constantFrom(1, 1, 1, 2)), { minLength: 1, maxLength: 20 }), fc.boolean(), fc.boolean());
    fc.assert(
      fc.property(fc.constantFrom('sum' as const, 'avg' as const), fc.array(op, { minLength: 1, maxLength: 8 }), (out, ops) => {
        let acc = new NumericSumAccumulator(out, 'numeric');
        const want = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
        for (const [rows, retract, restore] of ops) {
          // Retracting takes back rows inserted before (so counts never go negative).
          const batch = rows.filter(([g, t, w]) => !retract || (want[g]!.get(t) ?? 0) >= w);
          const gids = Int32Array.from(batch.map(([g]) => g));
          const weights = Int32Array.from(batch.map(([, , w]) => (retract ? -w : w)));
          acc.update(gids, batch.length, columnFromValues('numeric', batch.map(([, t]) => t)), weights, null);
          batch.forEach(([g, t, w]) => want[g]!.set(t, (want[g]!.get(t) ?? 0) + (retract ? -w : w)));
          if (restore) {
            // Saved and loaded into a fresh accumulator, then group 0 merged into group 2 and out again.
            const next = new NumericSumAccumulator(out, 'numeric');
            for (let g = 0; g < 3; g++) next.loadGroup(g, acc.saveGroup(g));
            next.merge(2, next, 0, 1);
            next.merge(2, next, 0, -1);
            acc = next;
          }
          for (let g = 0; g < 3; g++) expect(acc.evaluate(g)).toBe(reference(want[g]!, out));
        }
      }),
      { numRuns: 400 },
    );
  });
});
