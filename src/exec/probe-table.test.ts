import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityFor, grow, HASH_ENTRY, pairHash, PAIR_ENTRY, setPair, unlink } from './probe-table.js';

/** The entry of key (lo, hi) in a PAIR_ENTRY table, or the empty entry where it belongs (the callers' probe loop). */
function findPair(t: Int32Array, mask: number, lo: number, hi: number): number {
  let p = pairHash(lo, hi) & mask;
  while (t[3 * p] !== 0 && (t[3 * p + 1] !== lo || t[3 * p + 2] !== hi)) p = (p + 1) & mask;
  return p;
}

/** Steps on keys 0…39: enter (true, two steps in three, so runs form) or remove (false) a key. */
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 2 }).map((x) => x > 0)), { maxLength: 300 });

describe('probe table', () => {
  it('PAIR_ENTRY: finds every entered key and no removed one, through growth and backward-shift removal', () => {
    fc.assert(
      fc.property(steps, (ops) => {
        let t = new Int32Array(PAIR_ENTRY * 4);
        let mask = 3;
        const model = new Map<number, number>();
        // Keys with the same low word and different high words, and negative ones, to collide.
        const lo = (k: number): number => (k % 3) - 1;
        const hi = (k: number): number => k * 0x10001;
        for (const [k, enter] of ops) {
          const p = findPair(t, mask, lo(k), hi(k));
          expect(t[PAIR_ENTRY * p]! - 1).toBe(model.get(k) ?? -1);
          if (enter && !model.has(k)) {
            setPair(t, p, model.size + 100, lo(k), hi(k));
            model.set(k, model.size + 100);
            if (model.size * 2 > mask) {
              t = grow(t, PAIR_ENTRY, 2 * (mask + 1));
              mask = 2 * mask + 1;
            }
          } else if (!enter && model.has(k)) {
            unlink(t, PAIR_ENTRY, mask, p);
            model.delete(k);
          }
          for (let q = 0; q < 40; q++) expect(t[PAIR_ENTRY * findPair(t, mask, lo(q), hi(q))]! - 1).toBe(model.get(q) ?? -1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('HASH_ENTRY: finds every entered key by its stored hash and no removed one, through growth and backward-shift removal', () => {
    fc.assert(
      fc.property(steps, (ops) => {
        let t = new Int32Array(HASH_ENTRY * 4);
        let mask = 3;
        const model = new Set<number>();
        // The key is the id; a poor hash (a few values, one negative) makes long runs that wrap.
        const hash = (k: number): number => (k % 5) * 0x40000001 - 7;
        const find = (k: number): number => {
          let p = hash(k) & mask;
          while (t[HASH_ENTRY * p] !== 0 && t[HASH_ENTRY * p] !== k + 1) p = (p + 1) & mask;
          return p;
        };
        for (const [k, enter] of ops) {
          const p = find(k);
          expect(t[HASH_ENTRY * p] === k + 1).toBe(model.has(k));
          if (enter && !model.has(k)) {
            t[HASH_ENTRY * p] = k + 1;
            t[HASH_ENTRY * p + 1] = hash(k);
            model.add(k);
            if (model.size * 2 > mask) {
              t = grow(t, HASH_ENTRY, 2 * (mask + 1));
              mask = 2 * mask + 1;
            }
          } else if (!enter && model.has(k)) {
            unlink(t, HASH_ENTRY, mask, p);
            model.delete(k);
          }
          for (let q = 0; q < 40; q++) expect(t[HASH_ENTRY * find(q)] === q + 1).toBe(model.has(q));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('sizes a table to at most half full', () => {
    expect(capacityFor(0, 16)).toBe(16);
    expect(capacityFor(7, 16)).toBe(16);
    expect(capacityFor(8, 16)).toBe(32);
    expect(capacityFor(1000, 16)).toBe(2048);
  });
});
