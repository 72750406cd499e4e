import { describe, expect, it } from 'vitest';
import { batchFromRows, type Batch } from '../common/column.js';
import type { Schema, Value } from '../common/types.js';
import { decodeSnapshot, encodeSnapshot } from './state/state-table.js';
import { createViewStore, type ViewStore } from './view-store.js';
import { encodeValues } from './group-table.js';

/** A small deterministic generator (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sorted = (rows: Value[][]): string[] => rows.map((r) => encodeValues(r)).sort();

/** The store's rows survive a checkpoint: snapshot, Arrow IPC, restore into a fresh store. */
function restored(schema: Schema, key: readonly number[] | null, s: ViewStore): ViewStore {
  const bytes = encodeSnapshot(s.state.spec, s.state.snapshot());
  const fresh = createViewStore(schema, false, key);
  fresh.state.restore(decodeSnapshot(fresh.state.spec, bytes));
  return fresh;
}

const keyedCases: { name: string; schema: Schema; key: number[]; keyOf: (r: () => number) => Value; batch?: number }[] = [
  { name: 'a bigint key', schema: [{ name: 'k', type: 'bigint' }, { name: 'n', type: 'bigint' }, { name: 's', type: 'varchar' }], key: [0], keyOf: (r) => (r() < 0.05 ? null : BigInt(Math.floor(r() * 200) - 100)) },
  { name: 'thousands of bigint keys (index growth, deletions)', schema: [{ name: 'k', type: 'bigint' }, { name: 'n', type: 'int' }], key: [0], keyOf: (r) => BigInt(Math.floor(r() * 3000)) * 4096n, batch: 1500 },
  { name: 'an int key in the middle', schema: [{ name: 'x', type: 'double' }, { name: 'k', type: 'int' }, { name: 'b', type: 'boolean' }], key: [1], keyOf: (r) => (r() < 0.05 ? null : Math.floor(r() * 150)) },
  { name: 'a varchar key', schema: [{ name: 'k', type: 'varchar' }, { name: 'v', type: 'int[]' }], key: [0], keyOf: (r) => (r() < 0.05 ? null : `k${Math.floor(r() * 120)}`) },
  { name: 'a composite key', schema: [{ name: 'a', type: 'int' }, { name: 'b', type: 'varchar' }, { name: 't', type: 'timestamp' }], key: [0, 1], keyOf: (r) => [Math.floor(r() * 10), r() < 0.1 ? null : `b${Math.floor(r() * 10)}`] },
];

function valueFor(type: string, r: () => number): Value {
  if (r() < 0.15) return null;
  switch (type) {
    case 'bigint':
    case 'timestamp':
      return BigInt(Math.floor(r() * 2 ** 40)) * (r() < 0.5 ? -1n : 1n);
    case 'int':
      return Math.floor(r() * 1000) - 500;
    case 'double':
      return r() < 0.1 ? Number.NaN : r() * 1e6;
    case 'boolean':
      return r() < 0.5;
    case 'varchar':
      return r() < 0.1 ? 'ünïcödé' : `v${Math.floor(r() * 1e6)}`;
    case 'int[]':
      return [1, null, Math.floor(r() * 9)];
    default:
      throw new Error(type);
  }
}

/**
 * The KeyIds a batch may carry (hints the store must check): none; a producer's exact numbering
 * (a key keeps its id); the exact numbering from one of two producers in turn (parallel
 * instances); ids that are often wrong (another key's, out of range, −1).
 */
const idModes = ['none', 'exact', 'two owners', 'wrong'] as const;

function keyIdsFor(mode: (typeof idModes)[number], keys: readonly string[], numbering: Map<string, number>, round: number, r: () => number): Batch['keyIds'] {
  if (mode === 'none') return undefined;
  const ids = new Int32Array(keys.length);
  keys.forEach((k, i) => {
    if (!numbering.has(k)) numbering.set(k, numbering.size);
    ids[i] = numbering.get(k)!;
    if (mode === 'wrong' && r() < 0.5) ids[i] = r() < 0.2 ? -1 : Math.floor(r() * (numbering.size + 5));
  });
  return { owner: mode === 'two owners' ? 1 + (round % 2) : 1, ids };
}

describe('the columnar view store', () => {
  for (const c of keyedCases) {
    it.each(idModes)(`keeps one row per key with ${c.name}, as a Map does, through random batches and restores (key ids: %s)`, (mode) => {
      const r = rng(c.key.length * 31 + c.schema.length);
      const ir = rng(99);
      const numbering = new Map<string, number>();
      let store = createViewStore(c.schema, false, c.key);
      const model = new Map<string, Value[]>();
      const rowFor = (key: Value): Value[] => {
        const row = c.schema.map((f) => valueFor(f.type, r));
        if (c.key.length === 1) row[c.key[0]!] = key;
        else c.key.forEach((k, i) => (row[k] = (key as Value[])[i]!));
        return row;
      };
      for (let round = 0; round < 60; round++) {
        const rows: Value[][] = [];
        const weights: number[] = [];
        const keys: string[] = [];
        const n = Math.floor(r() * (c.batch ?? 40));
        for (let i = 0; i < n; i++) {
          const key = c.keyOf(r);
          const mk = encodeValues(c.key.length === 1 ? [key] : (key as Value[]));
          const cur = model.get(mk);
          if (cur) {
            // Retract the held row; half the time put a new one for the key in the same batch.
            rows.push(cur);
            weights.push(-1);
            keys.push(mk);
            model.delete(mk);
            if (r() < 0.5) continue;
          }
          const fresh = rowFor(key);
          rows.push(fresh);
          weights.push(1);
          keys.push(mk);
          model.set(mk, fresh);
        }
        const b = batchFromRows(c.schema.map((f) => f.type), rows, weights);
        const keyIds = keyIdsFor(mode, keys, numbering, round, ir);
        store.apply(keyIds ? { ...b, keyIds } : b);
        expect(store.rowCount).toBe(model.size);
        expect(sorted(store.rows())).toEqual(sorted([...model.values()]));
        if (round % 15 === 14) store = restored(c.schema, c.key, store);
      }
      expect(sorted(store.rows())).toEqual(sorted([...model.values()]));
      expect(store.sample(3)).toHaveLength(Math.min(3, model.size));
    });
  }

  it('finds keys by their ids only in slots already written: a slot freed and taken again in one batch still holds the old key', () => {
    const schema: Schema = [{ name: 'k', type: 'bigint' }, { name: 'v', type: 'int' }];
    const types = schema.map((f) => f.type);
    const s = createViewStore(schema, false, [0]);
    // Key 7 has id 0, key 8 id 1.
    const apply = (rows: Value[][], weights: number[], ids: number[]): void => s.apply({ ...batchFromRows(types, rows, weights), keyIds: { owner: 5, ids: Int32Array.from(ids) } });
    apply([[7n, 1]], [1], [0]);
    // 7 leaves slot 0, 8 takes it (not yet written), 8 goes again, 7 comes back: 8's retraction
    // must not pair with 7's insertion though slot 0 still holds key 7.
    apply([[7n, 1], [8n, 2], [8n, 2], [7n, 3]], [-1, 1, -1, 1], [0, 1, 1, 0]);
    expect(s.rows()).toEqual([[7n, 3]]);
    apply([[7n, 3], [8n, 4]], [-1, 1], [0, 1]);
    expect(s.rows()).toEqual([[8n, 4]]);
    apply([[8n, 4]], [-1], [1]);
    expect(s.rowCount).toBe(0);
  });

  it('refuses a retraction of a row it does not hold and a second row for a key', () => {
    const schema: Schema = [{ name: 'k', type: 'bigint' }, { name: 'v', type: 'int' }];
    const s = createViewStore(schema, false, [0]);
    expect(() => s.apply(batchFromRows(['bigint', 'int'], [[1n, 1]], [-1]))).toThrow(/does not hold/);
    s.apply(batchFromRows(['bigint', 'int'], [[1n, 1]], [1]));
    expect(() => s.apply(batchFromRows(['bigint', 'int'], [[1n, 2]], [1]))).toThrow(/two rows for one key/);
  });

  it('keeps a multiset of whole rows without a key, as a counting Map does', () => {
    const schema: Schema = [{ name: 'a', type: 'int' }, { name: 'b', type: 'varchar' }, { name: 'c', type: 'double' }];
    const types = schema.map((f) => f.type);
    const r = rng(7);
    let store = createViewStore(schema, false, null);
    const model = new Map<string, { row: Value[]; count: number }>();
    const universe: Value[][] = Array.from({ length: 30 }, (_, i) => [i % 7, r() < 0.2 ? null : `s${i % 5}`, i % 3 === 0 ? null : i / 2]);
    for (let round = 0; round < 80; round++) {
      const rows: Value[][] = [];
      const weights: number[] = [];
      for (let i = Math.floor(r() * 30); i > 0; i--) {
        const row = universe[Math.floor(r() * universe.length)]!;
        const mk = encodeValues(row);
        const have = model.get(mk)?.count ?? 0;
        const w = have > 0 && r() < 0.5 ? -Math.ceil(r() * have) : Math.ceil(r() * 3);
        rows.push(row);
        weights.push(w);
        if (have + w === 0) model.delete(mk);
        else model.set(mk, { row, count: have + w });
      }
      store.apply(batchFromRows(types, rows, weights));
      const want = [...model.values()].flatMap(({ row, count }) => Array.from({ length: count }, () => row));
      expect(store.rowCount).toBe(want.length);
      expect(sorted(store.rows())).toEqual(sorted(want));
      if (round % 20 === 19) store = restored(schema, null, store);
    }
  });

  it('restores a million-row keyed snapshot column by column', () => {
    const schema: Schema = [{ name: 'k', type: 'bigint' }, { name: 'n', type: 'bigint' }];
    const n = 1_000_000;
    const k = new BigInt64Array(n);
    const v = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      k[i] = BigInt(i);
      v[i] = BigInt(i * 3);
    }
    const s = createViewStore(schema, false, [0]);
    s.state.restore([{ columns: [{ type: 'bigint', length: n, values: k, validity: null }, { type: 'bigint', length: n, values: v, validity: null }], length: n, weights: null }]);
    expect(s.rowCount).toBe(n);
    // Retract and re-insert a key: it is found through the index built at restore.
    s.apply(batchFromRows(['bigint', 'bigint'], [[999_999n, 2_999_997n], [999_999n, 1n]], [-1, 1]));
    const snap = s.snapshotBatch();
    expect(snap.length).toBe(n);
    expect((snap.columns[1]!.values as BigInt64Array)[n - 1]).toBe(1n);
  });
});

describe('retaining store', () => {
  const schema: Schema = [{ name: 'id', type: 'int' }, { name: 'ts', type: 'timestamp' }];

  /** Random epochs of rows into a store with retention, against a plain list of (row, stamp) filtered the same way. */
  it.each([{ column: 1 }, { column: null }])('drops what a row-by-row model drops, and keeps it through a snapshot (column $column)', ({ column }) => {
    const r = rng(column === null ? 11 : 12);
    const retention = { micros: 50n, text: '50 microseconds', column };
    let s = createViewStore(schema, true, null, retention);
    let model: { row: Value[]; stamp: bigint }[] = [];
    let wm: bigint | null = null;
    for (let epoch = 1; epoch <= 40; epoch++) {
      const now = BigInt(epoch * 10);
      const rows: Value[][] = Array.from({ length: Math.floor(r() * 6) }, () => [Math.floor(r() * 1000), r() < 0.1 ? null : now + BigInt(Math.floor(r() * 60) - 40)]);
      for (const row of rows) if (row[1] !== null && (wm === null || (row[1] as bigint) > wm)) wm = row[1] as bigint;
      s.expire!(now, wm);
      const weights = rows.map(() => (r() < 0.2 ? 2 : 1));
      if (rows.length) s.apply(batchFromRows(['int', 'timestamp'], rows, weights));
      rows.forEach((row, i) => {
        for (let k = 0; k < weights[i]!; k++) model.push({ row, stamp: now });
      });
      const cutoff = column === null ? now - 50n : wm === null ? null : wm - 50n;
      if (cutoff !== null) model = model.filter((m) => (column === null ? m.stamp >= cutoff : m.row[1] === null || (m.row[1] as bigint) >= cutoff));
      if (epoch % 7 === 0) {
        const bytes = encodeSnapshot(s.state.spec, s.state.snapshot());
        const fresh = createViewStore(schema, true, null, retention);
        fresh.state.restore(decodeSnapshot(fresh.state.spec, bytes));
        expect(sorted(fresh.rows())).toEqual(sorted(s.rows()));
        s = fresh;
      }
      expect(sorted(s.rows())).toEqual(sorted(model.map((m) => m.row)));
      expect(s.rowCount).toBe(model.length);
    }
  });
});
