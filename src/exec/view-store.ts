/**
 * The contents of a materialized view. An append-only view keeps its output batches as they
 * came (columnar, no per-row objects); an updating view keeps its rows in slot columns with a
 * key index (by the plan's unique key, or by the whole row with a count of copies), so a
 * retraction finds the row it cancels without a row object per stored row.
 */
import { batchFromRows, ColumnBuilder, concatBatches, constantColumn, getValue, isValid, takeBatch, type Batch, type Column, type KeyIds } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import { encodeValues } from './group-table.js';
import { SlotColumn, wordsOf } from './slot-columns.js';
import { storageOf } from './storage.js';
import { capacityFor, grow, pairHash, PAIR_ENTRY, setPair, unlink } from './probe-table.js';
import { batchBytes, worthTracking, type ChangeTracking, type StateDelta, type StateTable } from './state/state-table.js';

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
  /**
   * A store with retention: `now` (the epoch's batch time, µs) stamps the rows applied after it,
   * and rows past retention go — event time below `wm` − retention, or batch time below `now` −
   * retention. Returns the rows dropped.
   */
  expire?(now: bigint, wm: bigint | null): number;
}

/** How long an append-only view keeps its rows, and by which time (see RetainingStore). */
export interface Retention {
  readonly micros: bigint;
  /** As written in the view's options. */
  readonly text: string;
  /** The view's event-time column (a watermarked input column), or null: the batch time T_n. */
  readonly column: number | null;
}

/**
 * Picks the store for a view: columnar batches when append-only, else slot columns indexed by
 * the plan's unique key when it has one, by the whole row (a multiset) when not.
 */
export function createViewStore(schema: Schema, appendOnly: boolean, key: readonly number[] | null = null, retention: Retention | null = null): ViewStore {
  if (appendOnly && retention) return new RetainingStore(schema, retention);
  if (appendOnly) return new AppendStore(schema);
  return new ColumnarStore(schema, key);
}

/**
 * The store of a sink's own query (CREATE SINK … AS SELECT): it keeps no rows — the query's
 * changes go to the sink's outbox — so only the operators' state is held and checkpointed.
 */
export function createDiscardStore(schema: Schema): ViewStore {
  const types = schema.map((f) => f.type);
  const empty = (): Batch => batchFromRows(types, []);
  const store: ViewStore = {
    apply: () => undefined,
    rows: () => [],
    sample: () => [],
    snapshotBatch: empty,
    rowCount: 0,
    state: {
      spec: { name: 'contents', schema, key: [] },
      snapshot: () => [],
      restore: () => undefined,
      rows: () => 0,
      bytes: () => 0,
    },
  };
  return store;
}

function contentsTable(store: ViewStore, schema: Schema, key: readonly number[], reserve?: (rows: number) => void, changes?: ChangeTracking): StateTable {
  return {
    changes,
    spec: { name: 'contents', schema, key },
    snapshot: () => [store.snapshotBatch()],
    restore: (batches) => {
      if (store.rowCount !== 0) throw new SluiceError('internal', 'a view store is restored only when empty');
      reserve?.(batches.reduce((a, b) => a + b.length, 0));
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
  /** Batches and rows held at the last checkpoint: a delta is what came after. */
  private ckptBatches = 0;
  private ckptRows = 0;
  constructor(private readonly schema: Schema) {
    this.state = contentsTable(this, schema, [], undefined, {
      deltaKey: null,
      pending: () => this.rowCount - this.ckptRows,
      delta: () => ({ removed: NO_KEYS, rows: this.batches.slice(this.ckptBatches) }),
      apply: (d) => {
        for (const b of d.rows) this.apply(b);
      },
      clear: () => {
        this.ckptBatches = this.batches.length;
        this.ckptRows = this.rowCount;
      },
    });
  }
  apply(b: Batch): void {
    b = appendedCopies(b);
    this.batches.push(b);
    this.rowCount += b.length;
  }
  rows(): Value[][] {
    return this.sample(Number.POSITIVE_INFINITY);
  }
  sample(limit: number): Value[][] {
    return rowsOf(this.batches, this.schema.length, limit);
  }
  snapshotBatch(): Batch {
    return concatBatches(this.schema.map((f) => f.type), this.batches);
  }
}

/** Up to `limit` rows of stored batches, in order, as row arrays (the UI's sample, rows()). */
function rowsOf(batches: readonly Batch[], width: number, limit: number): Value[][] {
  const out: Value[][] = [];
  for (const b of batches) {
    for (let i = 0; i < b.length && out.length < limit; i++) {
      const r: Value[] = new Array(width);
      for (let j = 0; j < width; j++) r[j] = getValue(b.columns[j]!, i);
      out.push(r);
    }
  }
  return out;
}

/** No keys removed (an append-only delta). */
const NO_KEYS: Batch = { columns: [], length: 0, weights: null };

/** The column a retaining store's state table adds: each row's batch time (when it was stored). */
const STAMP_COLUMN = 'sluice$batch_time';

/** Rows of one epoch in a retaining store: the batch, its batch-time stamp, its event-time range. */
interface Stamped {
  readonly b: Batch;
  readonly stamp: bigint;
  /** Least and greatest event time (null when no column or all NULL). */
  readonly min: bigint | null;
  readonly max: bigint | null;
}

/**
 * An append-only view's store with retention (WITH (retention = …)): batches as they came, each
 * stamped with the batch time that stored it. Expiry drops whole batches past the cutoff and
 * filters the ones that straddle it; rows with a NULL event time are kept. The state table adds
 * the stamp as a last column, so a restart keeps the batch times.
 */
class RetainingStore implements ViewStore {
  private batches: Stamped[] = [];
  rowCount = 0;
  private now = 0n;
  /** Event time below this is past retention (null: no watermark yet, or batch time). */
  private cutoff: bigint | null = null;
  readonly state: StateTable;
  private readonly types: SqlType[];

  constructor(private readonly schema: Schema, private readonly retention: Retention) {
    this.types = schema.map((f) => f.type);
    const stateSchema: Schema = [...schema, { name: STAMP_COLUMN, type: 'timestamp' }];
    this.state = {
      spec: { name: 'contents', schema: stateSchema, key: [] },
      snapshot: () => this.batches.map((s) => ({ columns: [...s.b.columns, constantColumn('timestamp', s.stamp, s.b.length)], length: s.b.length, weights: null })),
      restore: (batches) => {
        if (this.rowCount !== 0) throw new SluiceError('internal', 'a view store is restored only when empty');
        for (const b of batches) this.restoreBatch(b);
      },
      rows: () => this.rowCount,
      bytes: () => this.batches.reduce((a, s) => a + batchBytes(s.b), 0),
    };
  }

  /** A restored batch: split into runs of one stamp. */
  private restoreBatch(b: Batch): void {
    const stamps = b.columns[this.schema.length]!;
    const data: Batch = { columns: b.columns.slice(0, this.schema.length), length: b.length, weights: null };
    let start = 0;
    for (let i = 1; i <= b.length; i++) {
      if (i < b.length && getValue(stamps, i) === getValue(stamps, start)) continue;
      const idx = Int32Array.from({ length: i - start }, (_, k) => start + k);
      this.push(start === 0 && i === b.length ? data : takeBatch(data, idx, idx.length), getValue(stamps, start) as bigint);
      start = i;
    }
  }

  private push(b: Batch, stamp: bigint): void {
    if (b.length === 0) return;
    let min: bigint | null = null;
    let max: bigint | null = null;
    const col = this.retention.column;
    if (col !== null) {
      const c = b.columns[col]!;
      for (let i = 0; i < b.length; i++) {
        const t = getValue(c, i) as bigint | null;
        if (t === null) continue;
        if (min === null || t < min) min = t;
        if (max === null || t > max) max = t;
      }
    }
    this.batches.push({ b, stamp, min, max });
    this.rowCount += b.length;
  }

  apply(b: Batch): void {
    b = appendedCopies(b);
    this.push(b, this.now);
    if (this.cutoff !== null) this.drop();
  }

  expire(now: bigint, wm: bigint | null): number {
    this.now = now;
    this.cutoff = this.retention.column === null ? now - this.retention.micros : wm === null ? null : wm - this.retention.micros;
    return this.cutoff === null ? 0 : this.drop();
  }

  /** Drops the rows below the cutoff; returns how many. */
  private drop(): number {
    const cutoff = this.cutoff!;
    const col = this.retention.column;
    const before = this.rowCount;
    const kept: Stamped[] = [];
    for (const s of this.batches) {
      if (col === null) {
        if (s.stamp >= cutoff) kept.push(s);
      } else if (s.min === null || s.min >= cutoff) {
        kept.push(s);
      } else if (s.max! >= cutoff || s.b.columns[col]!.validity) {
        // Straddles the cutoff (or holds NULL times, which stay): keep the rows at or after it.
        const c = s.b.columns[col]!;
        const idx: number[] = [];
        for (let i = 0; i < s.b.length; i++) {
          const t = getValue(c, i) as bigint | null;
          if (t === null || t >= cutoff) idx.push(i);
        }
        if (idx.length) kept.push({ b: takeBatch(s.b, Int32Array.from(idx), idx.length), stamp: s.stamp, min: s.max! >= cutoff ? cutoff : null, max: s.max! >= cutoff ? s.max : null });
      }
    }
    this.batches = kept;
    this.rowCount = kept.reduce((a, s) => a + s.b.length, 0);
    return before - this.rowCount;
  }

  rows(): Value[][] {
    return this.sample(Number.POSITIVE_INFINITY);
  }
  sample(limit: number): Value[][] {
    return rowsOf(this.batches.map((x) => x.b), this.schema.length, limit);
  }
  snapshotBatch(): Batch {
    return concatBatches(this.types, this.batches.map((x) => x.b));
  }
}

/**
 * Where the rows of a columnar store are found by key: `locate` looks a row's key up and
 * remembers it, so `add` (after a miss) or `remove` (after a hit) needs no second lookup.
 */
interface KeyIndex {
  /** The slot holding row i's key, or −1. */
  locate(b: Batch, i: number): number;
  /** Maps the key last located (a miss) to `slot`. */
  add(slot: number): void;
  /** Unmaps the key last located (a hit). */
  remove(): void;
  /** Whether rows i and j of `b` certainly have the same key (false when unsure). */
  sameKey(b: Batch, i: number, j: number): boolean;
  /** Makes room for `n` more keys at once (a restore), instead of growing step by step. */
  reserve(n: number): void;
}

/** Keys as JS values (a single number or string key) or injective encodings, in a Map. */
class MapKeyIndex implements KeyIndex {
  private readonly map = new Map<unknown, number>();
  private last: unknown = null;
  private readonly scratch: Value[];
  constructor(private readonly key: readonly number[]) {
    this.scratch = new Array<Value>(key.length);
  }
  locate(b: Batch, i: number): number {
    if (this.key.length === 1) {
      // An array is a fresh JS array per read: keyed by its encoding, not by identity.
      const v = getValue(b.columns[this.key[0]!]!, i);
      this.last = typeof v === 'object' && v !== null ? encodeValues([v]) : v;
    } else {
      for (let k = 0; k < this.key.length; k++) this.scratch[k] = getValue(b.columns[this.key[k]!]!, i);
      this.last = encodeValues(this.scratch);
    }
    return this.map.get(this.last) ?? -1;
  }
  add(slot: number): void {
    this.map.set(this.last, slot);
  }
  remove(): void {
    this.map.delete(this.last);
  }
  reserve(): void {
    // A Map sizes itself.
  }
  sameKey(b: Batch, i: number, j: number): boolean {
    if (this.key.length !== 1) return false;
    const c = b.columns[this.key[0]!]!;
    const v = getValue(c, i);
    return (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') && v === getValue(c, j);
  }
}

/**
 * One integer-like key column (int, date, bigint, timestamp, interval) in open addressing over
 * the value's two 32-bit words, kept in the table beside the slot: no BigInt, no Map entry per row.
 * Linear probing with backward-shift deletion (probe-table.ts's PAIR_ENTRY layout), so the
 * table never fills with deleted entries however many keys come and go.
 */
class IntKeyIndex implements KeyIndex {
  /** Triples (slot + 1, lo, hi), slot + 1 = 0 empty: a probe finds the key beside the slot (one cache line, not two). */
  private table = new Int32Array(3 * 1024);
  private mask = 1023;
  private size = 0;
  private nullSlot = -1;
  private pos = 0;
  private lastLo = 0;
  private lastHi = 0;
  private lastNull = false;
  private readonly wide: boolean;
  constructor(private readonly column: number, type: SqlType) {
    this.wide = storageOf(type) === 'i64';
  }
  locate(b: Batch, i: number): number {
    const c = b.columns[this.column]!;
    if (c.validity !== null && ((c.validity[i >> 3]! >> (i & 7)) & 1) === 0) {
      this.lastNull = true;
      return this.nullSlot;
    }
    this.lastNull = false;
    let lo: number;
    let hi = 0;
    if (this.wide) {
      const v = c.values as BigInt64Array;
      // A word view per call would allocate; the batch's own buffer is read through a cached one.
      const w = this.words(v);
      lo = w[2 * i]!;
      hi = w[2 * i + 1]!;
    } else lo = (c.values as Int32Array)[i]!;
    this.lastLo = lo;
    this.lastHi = hi;
    let p = pairHash(lo, hi) & this.mask;
    const t = this.table;
    for (;;) {
      const s = t[3 * p]!;
      if (s === 0) break;
      if (t[3 * p + 1] === lo && t[3 * p + 2] === hi) {
        this.pos = p;
        return s - 1;
      }
      p = (p + 1) & this.mask;
    }
    this.pos = p;
    return -1;
  }
  sameKey(b: Batch, i: number, j: number): boolean {
    const c = b.columns[this.column]!;
    if (c.validity !== null && (!isValid(c, i) || !isValid(c, j))) return false;
    if (!this.wide) return (c.values as Int32Array)[i] === (c.values as Int32Array)[j];
    const w = this.words(c.values as BigInt64Array);
    return w[2 * i] === w[2 * j] && w[2 * i + 1] === w[2 * j + 1];
  }
  private cachedOf: BigInt64Array | null = null;
  private cachedWords: Int32Array = new Int32Array(0);
  private words(v: BigInt64Array): Int32Array {
    if (this.cachedOf !== v) {
      this.cachedOf = v;
      this.cachedWords = wordsOf(v);
    }
    return this.cachedWords;
  }
  reserve(n: number): void {
    const cap = capacityFor(this.size + n, this.mask + 1);
    if (cap !== this.mask + 1) this.rehash(cap);
  }
  add(slot: number): void {
    if (this.lastNull) {
      this.nullSlot = slot;
      return;
    }
    setPair(this.table, this.pos, slot, this.lastLo, this.lastHi);
    if (++this.size * 2 > this.mask) this.rehash(2 * (this.mask + 1));
  }
  remove(): void {
    if (this.lastNull) {
      this.nullSlot = -1;
      return;
    }
    unlink(this.table, PAIR_ENTRY, this.mask, this.pos);
    this.size--;
  }
  private rehash(cap: number): void {
    this.table = grow(this.table, PAIR_ENTRY, cap);
    this.mask = cap - 1;
  }
}

/**
 * The rows of an updating view, held column by column in slot columns (slot-columns.ts):
 * a key index maps each key to its slot, freed slots are reused (a free list). Keyed (`key`
 * given, the plan's unique key): a retraction removes the key's row, an insertion sets it.
 * Multiset (no key): the whole row is the key and a count per slot says how many copies.
 * A batch is applied in two passes: the index decides each row's slot row by row (no row
 * objects), then every column is scattered into the slots at once.
 */
class ColumnarStore implements ViewStore {
  private readonly cols: SlotColumn[];
  private readonly index: KeyIndex;
  private live = new Uint8Array(64);
  private counts: Int32Array | null;
  private free = new Int32Array(64);
  private freeTop = 0;
  /** Slots ever used: live and free ones are all below it. */
  private high = 0;
  private srcRows = new Int32Array(64);
  private dstSlots = new Int32Array(64);
  rowCount = 0;
  readonly state: StateTable;
  /** The key columns (indexes into the schema): the plan's key, or the whole row. */
  private readonly keyCols: readonly number[];
  /**
   * Keys applied since the last checkpoint, as copies of the applied batches' key columns (at
   * their schema positions; null elsewhere), or null when too many to track (written whole).
   */
  private touched: { readonly cols: (Column | null)[]; readonly length: number }[] | null = [];
  private nTouched = 0;

  constructor(private readonly schema: Schema, private readonly key: readonly number[] | null) {
    this.cols = schema.map((f) => new SlotColumn(f.type));
    this.keyCols = key ?? schema.map((_, i) => i);
    const intKey = key !== null && key.length === 1 && ['i32', 'i64'].includes(storageOf(schema[key[0]!]!.type));
    this.index = intKey ? new IntKeyIndex(key[0]!, schema[key[0]!]!.type) : new MapKeyIndex(this.keyCols);
    this.counts = key === null ? new Int32Array(64) : null;
    this.state = contentsTable(this, schema, key ?? [], (rows) => this.reserve(rows), {
      deltaKey: this.keyCols,
      pending: () => (this.touched === null ? Number.POSITIVE_INFINITY : this.nTouched),
      delta: () => this.delta(),
      apply: (d) => this.applyDelta(d),
      clear: () => {
        this.touched = [];
        this.nTouched = 0;
      },
    });
  }

  /** Notes the keys of batch `b` as changed (a copy: the batch's buffers are not the store's). */
  private track(b: Batch): void {
    if (this.touched === null) return;
    // Keys changed, about: an update is a −old/+new pair of one key, so the larger side counts.
    let keys = b.length;
    if (b.weights !== null) {
      let pos = 0;
      for (let i = 0; i < b.length; i++) if (b.weights[i]! > 0) pos++;
      keys = Math.max(pos, b.length - pos);
    }
    if (!worthTracking(this.nTouched + keys, this.rowCount)) {
      this.touched = null;
      return;
    }
    const cols: (Column | null)[] = this.schema.map(() => null);
    for (const k of this.keyCols) cols[k] = copyColumn(b.columns[k]!);
    this.touched.push({ cols, length: b.length });
    this.nTouched += keys;
  }

  /** The current rows of every key changed since the last checkpoint, and the changed keys now gone. */
  private delta(): StateDelta {
    const seen = new Uint8Array(this.high);
    const slots: number[] = [];
    const gone = this.keyCols.map((k) => new ColumnBuilder(this.schema[k]!.type, 0));
    // Counted apart from the columns: a view of one row (an aggregate without GROUP BY) has no key columns.
    let nGone = 0;
    for (const t of this.touched ?? []) {
      const b = sparseBatch(t.cols, t.length);
      for (let i = 0; i < b.length; i++) {
        const s = this.index.locate(b, i);
        if (s < 0) {
          nGone++;
          this.keyCols.forEach((k, j) => gone[j]!.appendFrom(b.columns[k]!, i));
        } else if (seen[s] === 0) {
          seen[s] = 1;
          const copies = this.counts === null ? 1 : this.counts[s]!;
          for (let c = 0; c < copies; c++) slots.push(s);
        }
      }
    }
    const at = Int32Array.from(slots);
    const removed = gone.map((g) => g.finish());
    return {
      removed: { columns: removed, length: nGone, weights: null },
      rows: [{ columns: this.cols.map((c) => c.gather(at, at.length)), length: at.length, weights: null }],
    };
  }

  /** Removes every row of the delta's keys (removed ones and those of its rows), then adds its rows. */
  private applyDelta(d: StateDelta): void {
    const width = this.schema.length;
    const drop = (b: Batch): void => {
      for (let i = 0; i < b.length; i++) {
        const s = this.index.locate(b, i);
        if (s < 0) continue;
        this.index.remove();
        this.rowCount -= this.counts === null ? 1 : this.counts[s]!;
        this.release(s);
      }
    };
    const removedCols: (Column | null)[] = new Array<Column | null>(width).fill(null);
    this.keyCols.forEach((k, j) => (removedCols[k] = d.removed.columns[j] ?? null));
    if (d.removed.length > 0) drop(sparseBatch(removedCols, d.removed.length));
    for (const b of d.rows) drop(b);
    for (const b of d.rows) this.apply({ ...b, weights: null });
  }

  /** Room for `rows` more rows: the columns and the index grown once. */
  private reserve(rows: number): void {
    const need = this.high + rows;
    if (need > this.live.length) this.grow(need);
    this.index.reserve(rows);
  }

  private grow(need: number): void {
    const cap = Math.max(need, this.live.length * 2);
    const live = new Uint8Array(cap);
    live.set(this.live);
    this.live = live;
    if (this.counts) {
      const c = new Int32Array(cap);
      c.set(this.counts);
      this.counts = c;
    }
    for (const c of this.cols) c.ensure(cap);
  }

  private alloc(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop]!;
    const s = this.high++;
    if (s >= this.live.length) this.grow(s + 1);
    return s;
  }

  private release(slot: number): void {
    this.live[slot] = 0;
    if (this.freeTop === this.free.length) {
      const f = new Int32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeTop++] = slot;
  }

  /** The scratch arrays of a batch of n rows: row i of the batch goes to slot slots[k] where rows[k] = i. */
  private scratch(n: number): { readonly rows: Int32Array; readonly slots: Int32Array } {
    if (this.srcRows.length < n) {
      this.srcRows = new Int32Array(n);
      this.dstSlots = new Int32Array(n);
    }
    return { rows: this.srcRows, slots: this.dstSlots };
  }

  /** Removes the keyed row in `slot`, the key the index last located. */
  private dropRow(slot: number): void {
    this.index.remove();
    this.release(slot);
    this.rowCount--;
  }

  /** Writes rows srcRows[0…m-1] of `b` into slots dstSlots[0…m-1], every column at once. */
  private scatter(b: Batch, m: number): void {
    if (m === 0) return;
    for (let j = 0; j < this.cols.length; j++) this.cols[j]!.scatter(b.columns[j]!, this.srcRows, this.dstSlots, m);
  }

  apply(b: Batch): void {
    const n = b.length;
    this.track(b);
    if (this.counts === null && b.keyIds !== undefined && b.keyIds.ids.length >= n) {
      const match = this.keyMatcher(b);
      if (match !== null) {
        this.applyByKeyIds(b, b.keyIds, match);
        return;
      }
    }
    const { rows, slots } = this.scratch(n);
    const weights = b.weights;
    const counts = this.counts;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const w = weights === null ? 1 : weights[i]!;
      if (w === 0) continue;
      const found = this.index.locate(b, i);
      if (counts === null) {
        if (w < 0) {
          if (found < 0) throw new SluiceError('internal', 'a view retracted a row it does not hold');
          // −old/+new of one key (an aggregate's update): the new row takes the old one's slot.
          if (i + 1 < n && (weights === null || weights[i + 1]! > 0) && this.index.sameKey(b, i, i + 1)) {
            rows[m] = ++i;
            slots[m++] = found;
            continue;
          }
          this.dropRow(found);
          continue;
        }
        if (found >= 0) throw new SluiceError('internal', 'a view received two rows for one key');
        this.rowCount++;
      } else {
        this.rowCount += w;
        if (found >= 0) {
          const c = (counts[found]! += w);
          if (c === 0) {
            this.index.remove();
            this.release(found);
          }
          continue;
        }
      }
      const slot = this.alloc();
      this.index.add(slot);
      this.live[slot] = 1;
      if (this.counts !== null) this.counts[slot] = w;
      rows[m] = i;
      slots[m++] = slot;
    }
    this.scatter(b, m);
  }

  /** Whether slot s holds row i's key, tested on the stored key columns (null: no cheap test for some key column). */
  private keyMatcher(b: Batch): ((slot: number, i: number) => boolean) | null {
    const tests: ((slot: number, i: number) => boolean)[] = [];
    for (const k of this.keyCols) {
      const t = this.cols[k]!.matcher(b.columns[k]!);
      if (t === null) return null;
      tests.push(t);
    }
    if (tests.length === 1) return tests[0]!;
    return (slot, i) => {
      for (const t of tests) if (!t(slot, i)) return false;
      return true;
    };
  }

  /** The slot of each key id, per producer: −1 or a slot that held that key when last seen (it may have moved since). */
  private slotOfKeyId = new Map<number, Int32Array>();

  private keyIdSlots(owner: number, maxId: number): Int32Array {
    let t = this.slotOfKeyId.get(owner);
    if (t === undefined || t.length <= maxId) {
      const grown = new Int32Array(Math.max(maxId + 1, 2 * (t?.length ?? 0), 64)).fill(-1);
      if (t) grown.set(t);
      t = grown;
      this.slotOfKeyId.set(owner, t);
    }
    return t;
  }

  /**
   * apply() of a keyed store for a batch whose producer numbered its keys (KeyIds, a hash
   * aggregate's group ids): a key's slot is looked up by its id in a table beside the index and
   * used when the slot is live and holds the row's key (checked, so a wrong or stale id costs
   * only the index lookup). The index is probed only for keys new to the store or leaving it, so
   * an update of a held key costs no hashing at all. Same outcome as the loop in apply().
   */
  private applyByKeyIds(b: Batch, keyIds: KeyIds, match: (slot: number, i: number) => boolean): void {
    const n = b.length;
    const ids = keyIds.ids;
    let maxId = 0;
    for (let i = 0; i < n; i++) if (ids[i]! > maxId) maxId = ids[i]!;
    const cache = this.keyIdSlots(keyIds.owner, maxId);
    const { rows, slots } = this.scratch(n);
    const weights = b.weights;
    const index = this.index;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const w = weights === null ? 1 : weights[i]!;
      if (w === 0) continue;
      const id = ids[i]!;
      const hinted = id >= 0 ? cache[id]! : -1;
      let found: number;
      let located = false;
      if (hinted >= 0 && hinted < this.high && this.live[hinted] === 1 && match(hinted, i)) found = hinted;
      else {
        found = index.locate(b, i);
        located = true;
      }
      if (w < 0) {
        if (found < 0) throw new SluiceError('internal', 'a view retracted a row it does not hold');
        // −old/+new of one key: the new row takes the old one's slot. (Its key is compared with
        // the slot's when the slot is written, else with row i's as apply() does.)
        if (i + 1 < n && (weights === null || weights[i + 1]! > 0) && (this.live[found] === 1 ? match(found, i + 1) : index.sameKey(b, i, i + 1))) {
          if (id >= 0) cache[id] = found;
          const next = ids[i + 1]!;
          if (next >= 0 && next <= maxId) cache[next] = found;
          rows[m] = ++i;
          slots[m++] = found;
          continue;
        }
        // The index's removal needs row i's probe position.
        if (!located) index.locate(b, i);
        this.dropRow(found);
        continue;
      }
      if (found >= 0) throw new SluiceError('internal', 'a view received two rows for one key');
      this.rowCount++;
      const slot = this.alloc();
      index.add(slot);
      // Live, but its columns are written only after the loop (they may still hold a freed key):
      // 2 keeps a hint from matching it meanwhile.
      this.live[slot] = 2;
      if (id >= 0) cache[id] = slot;
      rows[m] = i;
      slots[m++] = slot;
    }
    this.scatter(b, m);
    // (A slot taken and released again within the batch stays free.)
    for (let k = 0; k < m; k++) if (this.live[slots[k]!] === 2) this.live[slots[k]!] = 1;
  }

  /** The slots of the current rows, a slot repeated once per copy, at most `limit` entries. */
  private liveSlots(limit: number): Int32Array {
    const counts = this.counts;
    const out = new Int32Array(Math.max(0, Math.min(limit, this.rowCount)));
    let k = 0;
    for (let s = 0; s < this.high && k < out.length; s++) {
      if (this.live[s] !== 1) continue;
      const copies = counts === null ? 1 : counts[s]!;
      for (let c = 0; c < copies && k < out.length; c++) out[k++] = s;
    }
    return k === out.length ? out : out.subarray(0, k);
  }

  rows(): Value[][] {
    return this.sample(Number.POSITIVE_INFINITY);
  }

  sample(limit: number): Value[][] {
    const slots = this.liveSlots(limit);
    const out: Value[][] = new Array(slots.length);
    const width = this.cols.length;
    for (let k = 0; k < slots.length; k++) {
      const r: Value[] = new Array(width);
      for (let j = 0; j < width; j++) r[j] = this.cols[j]!.get(slots[k]!);
      out[k] = r;
    }
    return out;
  }

  snapshotBatch(): Batch {
    const slots = this.liveSlots(Number.POSITIVE_INFINITY);
    return { columns: this.cols.map((c) => c.gather(slots, slots.length)), length: slots.length, weights: null };
  }
}

/** A copy of a column's buffers (whole: a copy at memcpy speed, not value by value). */
function copyColumn(c: Column): Column {
  return {
    ...c,
    values: c.values.slice(),
    validity: c.validity?.slice() ?? null,
    ...(c.offsets ? { offsets: c.offsets.slice() } : {}),
    ...(c.child ? { child: copyColumn(c.child) } : {}),
  };
}

/** A batch over columns of which only some are present (a key index reads only its key columns). */
function sparseBatch(cols: readonly (Column | null)[], length: number): Batch {
  return { columns: cols as Column[], length, weights: null };
}

/** An append-only batch with its weights as copies (weight n > 1 is n rows: a join's output, say); a retraction cannot happen here. */
function appendedCopies(b: Batch): Batch {
  if (!b.weights) return b;
  const idx: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const w = b.weights[i]!;
    if (w < 0) throw new SluiceError('internal', 'an append-only view received a retraction');
    for (let k = 0; k < w; k++) idx.push(i);
  }
  return takeBatch({ ...b, weights: null }, Int32Array.from(idx), idx.length);
}
