/**
 * The contents of a materialized view. An append-only view keeps its output batches as they
 * came (columnar, no per-row objects); an updating view keeps a multiset of rows keyed by an
 * injective encoding of the row, so a retraction finds the row it cancels.
 */
import { batchFromRows, getValue, takeBatch, type Batch } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Schema, Value } from '../common/types.js';
import { encodeValues } from './group-table.js';
import { batchBytes, type StateTable } from './state/state-table.js';

export interface ViewStore {
  apply(b: Batch): void;
  /** The current rows (a copy). */
  rows(): Value[][];
  /** Up to `limit` of the current rows (a copy), without copying the rest: the UI's sample. */
  sample(limit: number): Value[][];
  snapshotBatch(): Batch;
  readonly rowCount: number;
  /** The contents as a state table (one row per copy); restore into a fresh, empty store. */
  readonly state: StateTable;
}

/**
 * Picks the store for a view: columnar batches when append-only, a map keyed by the plan's
 * unique key when it has one (one map entry per group, no full-row encoding), else a multiset.
 */
export function createViewStore(schema: Schema, appendOnly: boolean, key: readonly number[] | null = null): ViewStore {
  if (appendOnly) return new AppendStore(schema);
  if (key !== null) return new KeyedStore(schema, key);
  return new MultisetStore(schema);
}

function contentsTable(store: ViewStore, schema: Schema, key: readonly number[]): StateTable {
  return {
    spec: { name: 'contents', schema, key },
    snapshot: () => [store.snapshotBatch()],
    restore: (batches) => {
      if (store.rowCount !== 0) throw new SluiceError('internal', 'a view store is restored only when empty');
      for (const b of batches) store.apply({ ...b, weights: null });
    },
    rows: () => store.rowCount,
    bytes: () => batchBytes(store.snapshotBatch()),
  };
}

class AppendStore implements ViewStore {
  private batches: Batch[] = [];
  rowCount = 0;
  readonly state: StateTable;
  constructor(private readonly schema: Schema) {
    this.state = contentsTable(this, schema, []);
  }
  apply(b: Batch): void {
    if (b.weights) {
      // Weight n > 1 is n copies (a join's output, say); a retraction cannot happen here.
      const idx: number[] = [];
      for (let i = 0; i < b.length; i++) {
        const w = b.weights[i]!;
        if (w < 0) throw new SluiceError('internal', 'an append-only view received a retraction');
        for (let k = 0; k < w; k++) idx.push(i);
      }
      b = takeBatch({ ...b, weights: null }, Int32Array.from(idx), idx.length);
    }
    this.batches.push(b);
    this.rowCount += b.length;
  }
  rows(): Value[][] {
    return this.sample(Number.POSITIVE_INFINITY);
  }
  sample(limit: number): Value[][] {
    const out: Value[][] = [];
    for (const b of this.batches) {
      for (let i = 0; i < b.length && out.length < limit; i++) {
        const r: Value[] = new Array(this.schema.length);
        for (let j = 0; j < this.schema.length; j++) r[j] = getValue(b.columns[j]!, i);
        out.push(r);
      }
    }
    return out;
  }
  snapshotBatch(): Batch {
    return batchFromRows(this.schema.map((f) => f.type), this.rows());
  }
}

class MultisetStore implements ViewStore {
  private readonly map = new Map<string, { row: Value[]; count: number }>();
  rowCount = 0;
  readonly state: StateTable;
  constructor(private readonly schema: Schema) {
    this.state = contentsTable(this, schema, []);
  }
  apply(b: Batch): void {
    const width = this.schema.length;
    for (let i = 0; i < b.length; i++) {
      const row: Value[] = new Array(width);
      for (let j = 0; j < width; j++) row[j] = getValue(b.columns[j]!, i);
      const w = b.weights ? b.weights[i]! : 1;
      const key = encodeValues(row);
      const cur = this.map.get(key);
      const count = (cur?.count ?? 0) + w;
      this.rowCount += w;
      if (count === 0) this.map.delete(key);
      else if (cur) cur.count = count;
      else this.map.set(key, { row, count });
    }
  }
  rows(): Value[][] {
    return this.sample(Number.POSITIVE_INFINITY);
  }
  sample(limit: number): Value[][] {
    const out: Value[][] = [];
    for (const { row, count } of this.map.values()) {
      for (let k = 0; k < count && out.length < limit; k++) out.push(row.slice());
      if (out.length >= limit) break;
    }
    return out;
  }
  snapshotBatch(): Batch {
    return batchFromRows(this.schema.map((f) => f.type), this.rows());
  }
}

/**
 * Rows of a view whose plan guarantees a unique key: a retraction removes the key's row, an
 * insertion sets it. A single integer or string key is the Map key itself.
 */
class KeyedStore implements ViewStore {
  private readonly map = new Map<unknown, Value[]>();
  readonly state: StateTable;
  constructor(private readonly schema: Schema, private readonly key: readonly number[]) {
    this.state = contentsTable(this, schema, key);
  }
  get rowCount(): number {
    return this.map.size;
  }
  private keyAt(b: Batch, i: number): unknown {
    if (this.key.length === 1) {
      // An array is a fresh JS array per read: keyed by its encoding, not by identity.
      const v = getValue(b.columns[this.key[0]!]!, i);
      return typeof v === 'object' && v !== null ? encodeValues([v]) : v;
    }
    return encodeValues(this.key.map((k) => getValue(b.columns[k]!, i)));
  }
  apply(b: Batch): void {
    const width = this.schema.length;
    for (let i = 0; i < b.length; i++) {
      const w = b.weights ? b.weights[i]! : 1;
      const k = this.keyAt(b, i);
      if (w < 0) {
        if (!this.map.delete(k)) throw new SluiceError('internal', 'a view retracted a row it does not hold');
      } else if (w > 0) {
        if (this.map.has(k)) throw new SluiceError('internal', 'a view received two rows for one key');
        const row: Value[] = new Array(width);
        for (let j = 0; j < width; j++) row[j] = getValue(b.columns[j]!, i);
        this.map.set(k, row);
      }
    }
  }
  rows(): Value[][] {
    return [...this.map.values()].map((r) => r.slice());
  }
  sample(limit: number): Value[][] {
    const out: Value[][] = [];
    for (const r of this.map.values()) {
      if (out.length >= limit) break;
      out.push(r.slice());
    }
    return out;
  }
  snapshotBatch(): Batch {
    return batchFromRows(this.schema.map((f) => f.type), this.rows());
  }
}
