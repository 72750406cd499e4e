/**
 * Key groups and the keyed exchange. Every row a partitioned operator keeps belongs to one of
 * KEY_GROUPS key groups, a hash of its distribution key (an aggregate's group key, a join's
 * equi-join key, a top-N's or OVER window's PARTITION BY); a pipeline of parallelism N runs N
 * instances of each partitioned operator, instance s owning the contiguous key groups
 * [s·G/N, (s+1)·G/N). The exchange in front of such an operator evaluates the key over each
 * incoming batch and splits the batch by owner, so every row of a key reaches the same instance.
 *
 *   batch ──► key columns ──► hash per row ──► key group ──► owner ──► one sub-batch per owner
 *
 * The hash must give equal keys equal groups under the operator's own equality, across both
 * sides of a join too: integers hash by value whatever their width (int 1, bigint 1 and the
 * double 1.0 agree), -0 and 0 agree, NUMERIC hashes its value with trailing fractional zeros
 * removed (1.0 = 1.00), INTERVAL its span ('1 day' and '24 hours' compare equal). Hashing
 * coarser than equality is always safe; finer would split a key.
 */
import { decodeUtf8, getValue, takeBatch, type Batch, type Column } from '../common/column.js';
import { intervalKey } from '../common/interval.js';
import { encodeValues } from './group-table.js';

/** Key groups per partitioned operator: the unit state moves in when the parallelism changes. */
export const KEY_GROUPS = 256;

/** The instance of `parallelism` that owns key group `g`. */
export function ownerOf(group: number, parallelism: number): number {
  return Math.floor((group * parallelism) / KEY_GROUPS);
}

/** The key groups instance `s` of `parallelism` owns: [from, to). */
export function keyGroupRange(s: number, parallelism: number): { readonly from: number; readonly to: number } {
  // The smallest g with ownerOf(g) = s, and the same for s + 1.
  const first = (k: number) => Math.ceil((k * KEY_GROUPS) / parallelism);
  return { from: first(s), to: first(s + 1) };
}

const F64 = new Float64Array(1);
const F64_WORDS = new Int32Array(F64.buffer);

/** Murmur3's 32-bit finalizer: spreads every input bit over the whole word. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Folds a 64-bit integer (two 32-bit words) into a running hash. */
function mixWords(h: number, lo: number, hi: number): number {
  h = Math.imul(h ^ fmix(lo), 0x9e3779b1);
  return Math.imul(h ^ fmix(hi ^ 0x27d4eb2f), 0x85ebca77);
}

const NULL_HASH = 0x5bd1e995;

/** A double's hash: integral values as the 64-bit integer they equal, others by their bits. */
function mixDouble(h: number, v: number): number {
  if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
    const hi = Math.floor(v / 4294967296);
    return mixWords(h, (v - hi * 4294967296) | 0, hi | 0);
  }
  if (Number.isNaN(v)) return mixWords(h, 0x7ff80000, 0);
  F64[0] = v;
  return mixWords(h, F64_WORDS[0]!, F64_WORDS[1]!);
}

/** FNV-1a over bytes [s, e), folded into `h`. */
function mixBytes(h: number, bytes: Uint8Array, s: number, e: number): number {
  let x = 0x811c9dc5;
  for (let i = s; i < e; i++) x = Math.imul(x ^ bytes[i]!, 0x01000193);
  return mixWords(h, x, e - s);
}

function mixString(h: number, s: string): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 0x01000193);
  return mixWords(h, x, s.length);
}

/** NUMERIC text without trailing fractional zeros ("1.500" → "1.5", "2.0" → "2", "-0.0" → "0"). */
export function numericKey(t: string): string {
  if (t.indexOf('.') < 0 || /[eE]/.test(t)) return t === '-0' ? '0' : t;
  let end = t.length;
  while (t.charCodeAt(end - 1) === 48) end--;
  if (t.charCodeAt(end - 1) === 46) end--;
  const s = t.slice(0, end);
  return s === '-0' ? '0' : s;
}

/** Folds column `c`'s value at each of rows 0…n-1 into hashes[i]. */
function mixColumn(c: Column, n: number, hashes: Int32Array): void {
  const valid = c.validity;
  const isNull = (i: number) => valid !== null && ((valid[i >> 3]! >> (i & 7)) & 1) === 0;
  switch (c.type) {
    case 'int':
    case 'date': {
      const v = c.values as Int32Array;
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixWords(hashes[i]!, v[i]!, v[i]! < 0 ? -1 : 0);
      return;
    }
    case 'bigint':
    case 'timestamp':
    case 'timestamptz':
    case 'time': {
      const v = c.values as BigInt64Array;
      const w = new Int32Array(v.buffer, v.byteOffset, v.length * 2);
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixWords(hashes[i]!, w[2 * i]!, w[2 * i + 1]!);
      return;
    }
    case 'double': {
      const v = c.values as Float64Array;
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixDouble(hashes[i]!, v[i]!);
      return;
    }
    case 'boolean': {
      const v = c.values as Uint8Array;
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixWords(hashes[i]!, (v[i >> 3]! >> (i & 7)) & 1, 0);
      return;
    }
    case 'varchar':
    case 'bytea':
    case 'jsonb': {
      const v = c.values as Uint8Array;
      const o = c.offsets!;
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixBytes(hashes[i]!, v, o[i]!, o[i + 1]!);
      return;
    }
    case 'numeric': {
      const v = c.values as Uint8Array;
      const o = c.offsets!;
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixString(hashes[i]!, numericKey(decodeUtf8(v, o[i]!, o[i + 1]!)));
      return;
    }
    case 'interval': {
      const v = c.values as Uint8Array;
      const o = c.offsets!;
      for (let i = 0; i < n; i++) hashes[i] = isNull(i) ? mixWords(hashes[i]!, NULL_HASH, 0) : mixString(hashes[i]!, intervalKey(decodeUtf8(v, o[i]!, o[i + 1]!)));
      return;
    }
    default:
      // Arrays and the null type: through their values (rare as keys).
      for (let i = 0; i < n; i++) {
        const x = getValue(c, i);
        hashes[i] = x === null ? mixWords(hashes[i]!, NULL_HASH, 0) : mixString(hashes[i]!, encodeValues([x]));
      }
  }
}

/** The key group of each of rows 0…n-1 of the key columns `keys`. */
export function keyGroupsOf(keys: readonly Column[], n: number, out: Int32Array = new Int32Array(n)): Int32Array {
  out.fill(0x3c6ef372, 0, n);
  for (const c of keys) mixColumn(c, n, out);
  for (let i = 0; i < n; i++) out[i] = (fmix(out[i]!) >>> 0) % KEY_GROUPS;
  return out;
}

/**
 * Splits `b` by the owner of each row's key group among `parallelism` instances: entry s is the
 * sub-batch for instance s, or null when no row goes there. A batch that goes whole to one
 * instance is passed on as it is.
 */
export function splitByOwner(b: Batch, keys: readonly Column[], parallelism: number): (Batch | null)[] {
  const n = b.length;
  const owner = keyGroupsOf(keys, n);
  const counts = new Int32Array(parallelism);
  for (let i = 0; i < n; i++) counts[(owner[i] = ownerOf(owner[i]!, parallelism))]!++;
  const out: (Batch | null)[] = new Array<Batch | null>(parallelism).fill(null);
  for (let s = 0; s < parallelism; s++) {
    if (counts[s] === n) {
      out[s] = b;
      return out;
    }
  }
  const idx = Array.from({ length: parallelism }, (_, s) => new Int32Array(counts[s]!));
  const fill = new Int32Array(parallelism);
  for (let i = 0; i < n; i++) {
    const s = owner[i]!;
    idx[s]![fill[s]!++] = i;
  }
  for (let s = 0; s < parallelism; s++) if (counts[s]! > 0) out[s] = takeBatch(b, idx[s]!, counts[s]!);
  return out;
}
