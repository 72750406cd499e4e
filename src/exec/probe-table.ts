/**
 * Linear-probing hash tables over word keys, held in one Int32Array of fixed-size entries: the
 * shared hash, growth and deletion of the key tables that map keys to dense ids (group-table.ts's
 * IntKeyTable, view-store.ts's IntKeyIndex, columnar-join.ts's WordKeyDict). An entry's first word
 * is id + 1 (0: empty); the capacity is a power of two and `mask` is capacity − 1. Two layouts:
 *
 *   PAIR_ENTRY (3 words)  id + 1, lo, hi   a key of up to 64 bits, kept in the table (pairHash)
 *   HASH_ENTRY (2 words)  id + 1, hash     a key kept elsewhere (any width), found by its hash
 *
 * Deletion shifts the entries after a freed one back (no tombstones), so a table never fills
 * with deleted entries however many keys come and go. These are plain functions over the
 * caller's arrays. The probe loop itself stays in each caller's row loop: a shared find
 * function, though V8 inlined it, made IntKeyTable.assign about 15% slower over a table in
 * cache, and IntKeyIndex.locate slower too, in A/B runs.
 */

/** Words per entry of a table whose keys are 64-bit word pairs held in the entry. */
export const PAIR_ENTRY = 3;
/** Words per entry of a table whose keys are held outside it, the entry keeping their hash. */
export const HASH_ENTRY = 2;
export type EntryWords = typeof PAIR_ENTRY | typeof HASH_ENTRY;

/** The hash of the 64-bit key whose 32-bit words are lo and hi. */
export function pairHash(lo: number, hi: number): number {
  const h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
  return h ^ (h >>> 16);
}

/** Enters key (lo, hi) with id `id` at entry p of a PAIR_ENTRY table. */
export function setPair(t: Int32Array, p: number, id: number, lo: number, hi: number): void {
  t[3 * p] = id + 1;
  t[3 * p + 1] = lo;
  t[3 * p + 2] = hi;
}

/** The capacity, from `cap` doubled as often as needed, that holds `entries` at most half full. */
export function capacityFor(entries: number, cap: number): number {
  while (entries * 2 > cap - 1) cap *= 2;
  return cap;
}

/** The entry's home (where its probe starts) in a table of `words`-word entries. */
function home(t: Int32Array, words: EntryWords, e: number, mask: number): number {
  return (words === PAIR_ENTRY ? pairHash(t[words * e + 1]!, t[words * e + 2]!) : t[words * e + 1]!) & mask;
}

/**
 * A table of `cap` entries holding the entries of `old`, read in entry order: an entry at old
 * entry q lands at or near q or q + old capacity, so both tables are walked nearly in order
 * (taking the keys in id order instead would write the new table at random).
 */
export function grow(old: Int32Array, words: EntryWords, cap: number): Int32Array<ArrayBuffer> {
  const t = new Int32Array(words * cap);
  const mask = cap - 1;
  const n = old.length / words;
  for (let q = 0; q < n; q++) {
    if (old[words * q] === 0) continue;
    let p = home(old, words, q, mask);
    while (t[words * p] !== 0) p = (p + 1) & mask;
    t[words * p] = old[words * q]!;
    t[words * p + 1] = old[words * q + 1]!;
    if (words === PAIR_ENTRY) t[words * p + 2] = old[words * q + 2]!;
  }
  return t;
}

/** Empties entry p, moving back the entries after it that its removal would cut off from their home. */
export function unlink(t: Int32Array, words: EntryWords, mask: number, p: number): void {
  t[words * p] = 0;
  for (let q = (p + 1) & mask; t[words * q] !== 0; q = (q + 1) & mask) {
    const ideal = home(t, words, q, mask);
    // The entry at q may move back to p unless its home lies cyclically in (p, q].
    const stays = p <= q ? p < ideal && ideal <= q : p < ideal || ideal <= q;
    if (stays) continue;
    t[words * p] = t[words * q]!;
    t[words * p + 1] = t[words * q + 1]!;
    if (words === PAIR_ENTRY) t[words * p + 2] = t[words * q + 2]!;
    t[words * q] = 0;
    p = q;
  }
}
