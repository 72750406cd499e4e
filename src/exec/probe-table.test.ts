import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityFor, grow, HASH_ENTRY, pairHash, PAIR_ENTRY, setPair, unlink, type EntryWords } from './probe-table.js';

/** A table layout under test, over keys 0…39 with id k for key k. */
interface Layout {
  readonly words: EntryWords;
  /** The entry of key k, or the empty entry where it belongs (the callers' probe loop). */
  find(t: Int32Array, mask: number, k: number): number;
  /** Enters key k at entry p. */
  enter(t: Int32Array, p: number, k: number): void;
}

// Keys with the same low word and different high words, and negative ones, to collide.
const lo = (k: number): number => (k % 3) - 1;
const hi = (k: number): number => k * 0x10001;
const pairs: Layout = {
  words: PAIR_ENTRY,
  find: (t, mask, k) => {
    let p = pairHash(lo(k), hi(k)) & mask;
    while (t[3 * p] !== 0 && (t[3 * p + 1] !== lo(k) || t[3 * p + 2] !== hi(k))) p = (p + 1) & mask;
    return p;
  },
  enter: (t, p, k) => setPair(t, p, k, lo(k), hi(k)),
};

// The key is kept outside the table (here: it is the id); a poor hash (a few values, one
// negative) makes long runs that wrap.
const hash = (k: number): number => (k % 5) * 0x40000001 - 7;
const hashes: Layout = {
  words: HASH_ENTRY,
  find: (t, mask, k) => {
    let p = hash(k) & mask;
    while (t[2 * p] !== 0 && t[2 * p] !== k + 1) p = (p + 1) & mask;
    return p;
  },
  enter: (t, p, k) => {
    t[2 * p] = k + 1;
    t[2 * p + 1] = hash(k);
  },
};

/** Steps on keys 0…39: enter (true, two steps in three, so runs form) or remove (false) a key. */
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 2 }).map((x) => x > 0)), { maxLength: 300 });

/** Takes the steps, growing the table at half full, and checks after each that exactly the keys held are found. */
function exercise(layout: Layout, ops: readonly (readonly [number, boolean])[]): void {
  const w = layout.words;
  let t = new Int32Array(w * 4);
  let mask = 3;
  const held = new Set<number>();
  for (const [k, enter] of ops) {
    const p = layout.find(t, mask, k);
    if (enter && !held.has(k)) {
      layout.enter(t, p, k);
      held.add(k);
      if (held.size * 2 > mask) {
        t = grow(t, w, 2 * (mask + 1));
        mask = 2 * mask + 1;
      }
    } else if (!enter && held.has(k)) {
      unlink(t, w, mask, p);
      held.delete(k);
    }
    for (let q = 0; q < 40; q++) expect(t[w * layout.find(t, mask, q)] === q + 1, `key ${q}`).toBe(held.has(q));
  }
}

describe('probe table', () => {
  for (const [name, layout] of [['PAIR_ENTRY', pairs], ['HASH_ENTRY', hashes]] as const) {
    it(`${name}: finds every entered key and no removed one, through growth and backward-shift removal`, () => {
      fc.assert(
        fc.property(steps, (ops) => exercise(layout, ops)),
        { numRuns: 200 },
      );
    });
  }

  it('sizes a table to at most half full', () => {
    expect(capacityFor(0, 16)).toBe(16);
    expect(capacityFor(7, 16)).toBe(16);
    expect(capacityFor(8, 16)).toBe(32);
    expect(capacityFor(1000, 16)).toBe(2048);
  });
});
