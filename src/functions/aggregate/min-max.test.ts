/**
 * The 64-bit running min/max (values compared as 32-bit words) against the general one (values
 * compared as BigInts), on random batches of bigint and timestamp values around the word
 * boundaries, with NULLs, filter masks, zero weights, merges, resets, checkpoints
 * (saveGroup/loadGroup and saveColumns/loadColumns) and the columnar emission.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, getValue, newBitmap, setBit } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { SlotColumn } from '../../exec/slot-columns.js';
import type { GroupsAccumulator } from './groups-accumulator.js';
import { extremeAccumulators } from './min-max.js';

const { RunningExtremeAccumulator, RunningExtremeI64Accumulator } = extremeAccumulators;
// Group ids: a few small ones, and some past the accumulators' first capacity (64), so they grow.
const GIDS = [0, 1, 2, 3, 63, 64, 130, 200];
const GROUPS = GIDS.length;
const value = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 33n), max: 2n ** 33n }),
  fc.constantFrom(0n, -1n, 1n, 2n ** 32n, 2n ** 32n - 1n, -(2n ** 32n), 2n ** 31n, -(2n ** 31n) - 1n, -(2n ** 63n), 2n ** 63n - 1n),
);
const gid = fc.constantFrom(...GIDS);
const row = fc.record({ v: fc.option(value, { freq: 5 }), g: gid, w: fc.constantFrom(1, 1, 1, 0, 2), on: fc.boolean() });
type Step =
  | { readonly kind: 'update'; readonly rows: readonly { v: bigint | null; g: number; w: number; on: boolean }[]; readonly masked: boolean; readonly weighted: boolean }
  | { readonly kind: 'reset'; readonly g: number }
  | { readonly kind: 'merge'; readonly g: number; readonly from: number }
  | { readonly kind: 'reload' }
  | { readonly kind: 'reloadColumns' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('update' as const), rows: fc.array(row, { maxLength: 12 }), masked: fc.boolean(), weighted: fc.boolean() }) },
  fc.record({ kind: fc.constant('reset' as const), g: gid }),
  fc.record({ kind: fc.constant('merge' as const), g: gid, from: gid }),
  fc.constant({ kind: 'reload' as const }),
  fc.constant({ kind: 'reloadColumns' as const }),
);

const allGids = Int32Array.from(GIDS);

function run(acc: GroupsAccumulator, other: GroupsAccumulator, fresh: () => GroupsAccumulator, type: SqlType, steps: readonly Step[]): { acc: GroupsAccumulator; values: Value[][] } {
  const seen: Value[][] = [];
  for (const s of steps) {
    switch (s.kind) {
      case 'update': {
        const n = s.rows.length;
        const col = batchFromRows([type], s.rows.map((r) => [r.v])).columns[0]!;
        const gids = Int32Array.from(s.rows, (r) => r.g);
        const weights = s.weighted ? Int32Array.from(s.rows, (r) => r.w) : null;
        let mask: Uint8Array | null = null;
        if (s.masked) {
          mask = newBitmap(n, false);
          s.rows.forEach((r, i) => setBit(mask!, i, r.on));
        }
        acc.update(gids, n, col, weights, mask);
        // The other accumulator gets the same rows, to merge from.
        other.update(gids, n, col, weights, mask);
        break;
      }
      case 'reset':
        acc.reset(s.g);
        break;
      case 'merge':
        acc.merge(s.g, other, s.from, 1);
        break;
      case 'reload': {
        const next = fresh();
        for (const g of GIDS) next.loadGroup(g, acc.saveGroup(g));
        acc = next;
        break;
      }
      case 'reloadColumns': {
        const next = fresh();
        const cols = acc.saveColumns ? acc.saveColumns(GROUPS, allGids) : null;
        if (cols && next.loadColumns) next.loadColumns(allGids, GROUPS, cols);
        else for (const g of GIDS) next.loadGroup(g, acc.saveGroup(g));
        acc = next;
        break;
      }
    }
    // 300: a group no step touched, past every capacity.
    seen.push([...GIDS, 300].map((g) => acc.evaluate(g)));
  }
  return { acc, values: seen };
}

describe('running min/max over 64-bit values', () => {
  for (const type of ['bigint', 'timestamp'] as const) {
    for (const max of [true, false]) {
      it(`${max ? 'max' : 'min'}(${type}) as words equals the BigInt comparison`, () => {
        fc.assert(
          fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
            const words = run(new RunningExtremeI64Accumulator(max, type), new RunningExtremeI64Accumulator(max, type), () => new RunningExtremeI64Accumulator(max, type), type, steps);
            const plain = run(new RunningExtremeAccumulator(max, type), new RunningExtremeAccumulator(max, type), () => new RunningExtremeAccumulator(max, type), type, steps);
            expect(words.values).toEqual(plain.values);
            // The columnar emission writes what evaluate returns (NULL for an empty group), into
            // the slots it is given (here in reverse order, slot GROUPS − 1 − k for group k).
            const out = new SlotColumn(type);
            out.ensure(GROUPS);
            const slots = Int32Array.from(GIDS, (_, k) => GROUPS - 1 - k);
            expect(words.acc.evaluateInto!(allGids, GROUPS, out, slots)).toBe(true);
            const emitted = out.gather(slots, GROUPS);
            expect(GIDS.map((_, k) => getValue(emitted, k))).toEqual(plain.values.at(-1)!.slice(0, GROUPS));
          }),
          { numRuns: process.env.CI ? 200 : 1500 },
        );
      });
    }
  }

  it('refuses a retraction, as the general accumulator does', () => {
    const acc = new RunningExtremeI64Accumulator(true, 'bigint');
    const col = batchFromRows(['bigint'], [[5n]]).columns[0]!;
    expect(() => acc.update(new Int32Array([0]), 1, col, new Int32Array([-1]), null)).toThrow(/retraction/);
  });
});
