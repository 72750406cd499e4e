/** Helpers shared by the accumulators' hot loops: growable per-group arrays and the filter mask. */
import { getValue, isValid, type Column } from '../../common/column.js';
import type { Value } from '../../common/types.js';
import type { GroupsAccumulator } from './groups-accumulator.js';

/** `a`, or a copy of it grown to at least `need` slots (doubling, so growth is amortized). */
export function growF64(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** `a`, or a copy of it grown to at least `need` slots. */
export function growI64(a: BigInt64Array, need: number): BigInt64Array {
  if (need <= a.length) return a;
  const b = new BigInt64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** The largest group id among the first n, so arrays are grown once per batch. */
export function maxGid(gids: Int32Array, n: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) if (gids[i]! > max) max = gids[i]!;
  return max;
}

/** Whether row i is selected by a filter mask (null: every row). */
export const selected = (mask: Uint8Array | null, i: number): boolean => mask === null || ((mask[i >> 3]! >> (i & 7)) & 1) === 1;

/** The value-multiset methods of accumulators that keep none. */
export const NO_VALUES = { saveValues: (): [Value, number][] => [], loadValues: (): void => undefined };

/** The row-at-a-time update of value-keeping accumulators: each selected non-NULL value, weighted. */
export function addEachRow(acc: GroupsAccumulator, gids: Int32Array, n: number, a: Column, weights: Int32Array | null, mask: Uint8Array | null): void {
  for (let i = 0; i < n; i++) {
    if (!selected(mask, i) || !isValid(a, i)) continue;
    acc.add(gids[i]!, getValue(a, i), weights === null ? 1 : weights[i]!);
  }
}

/** Adds `sign` × each (value, count) of a multiset to group gid, one value at a time. */
export function addEntries(acc: GroupsAccumulator, gid: number, entries: Iterable<readonly [Value, number]>, sign: 1 | -1): void {
  for (const [v, c] of entries) acc.add(gid, v, sign * c);
}

/**
 * Groups 0…n-1 (or groups `gids[0…n-1]`) of a per-group array of integral doubles as a bigint
 * column (no BigInt per value).
 */
export function bigintColumnOf(a: Float64Array, n: number, gids: Int32Array | null = null): Column {
  const v = new BigInt64Array(n);
  const w = new Int32Array(v.buffer, 0, 2 * n);
  for (let i = 0; i < n; i++) {
    const g = gids === null ? i : gids[i]!;
    const x = g < a.length ? a[g]! : 0;
    const hi = Math.floor(x / 4294967296);
    w[2 * i] = (x - hi * 4294967296) | 0;
    w[2 * i + 1] = hi | 0;
  }
  return { type: 'bigint', length: n, values: v, validity: null };
}

/** Sets `dst[gids[i]]` to row i of a bigint column as a double (NULL: 0), for i < n. */
export function loadBigintAsNumbers(c: Column, gids: Int32Array, n: number, dst: Float64Array): void {
  const v = c.values as BigInt64Array;
  const w = new Int32Array(v.buffer, v.byteOffset, 2 * c.length);
  for (let i = 0; i < n; i++) dst[gids[i]!] = isValid(c, i) ? w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0) : 0;
}

/** Groups 0…n-1 (or groups `gids[0…n-1]`) of a per-group double array as a double column. */
export function doubleColumnOf(a: Float64Array, n: number, gids: Int32Array | null = null): Column {
  const v = new Float64Array(n);
  if (gids === null) v.set(a.subarray(0, Math.min(n, a.length)));
  else for (let i = 0; i < n; i++) v[i] = gids[i]! < a.length ? a[gids[i]!]! : 0;
  return { type: 'double', length: n, values: v, validity: null };
}
