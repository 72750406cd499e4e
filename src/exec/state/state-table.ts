/**
 * State tables: the only home of durable operator state. Each declares its schema, its key and
 * how the watermark cleans it; `snapshot()` turns its contents into Arrow-layout batches and
 * `restore()` rebuilds them in a fresh operator, so a pipeline can be checkpointed at the end
 * of an epoch and recovered into a new process (RisingWave's StateTable, Arroyo's tables()).
 *
 * An operator's tables are restored in the order it declares them (a later table may refer to
 * rows of an earlier one, as a pane's values refer to the pane).
 *
 * Operators keep their hot structures (typed arrays indexed by group id, hash indexes) and
 * expose them through a state table; the snapshot is the table's logical rows, never the
 * in-memory layout, so the layout may change without invalidating checkpoints.
 *
 * A table may also track its changes (`changes`) so a checkpoint writes only the keys changed
 * since the previous one (RisingWave's and Flink's incremental checkpoints): a delta names the
 * keys it replaces and their current rows, and recovery applies the deltas of a chain onto the
 * last full snapshot, in order.
 */
import { tableFromIPC, tableToIPC, Table } from 'apache-arrow';
import { fromArrow, toArrow } from '../../common/arrow.js';
import { batchFromRows, batchRows, constantColumn, type Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Schema, Value } from '../../common/types.js';

/** How the watermark shrinks a state table: rows whose `column` is below it can go. */
export interface WatermarkCleanup {
  readonly column: string;
  readonly note: string;
}

export interface StateTableSpec {
  /** Unique within the operator, e.g. 'groups', 'panes', 'left'. */
  readonly name: string;
  readonly schema: Schema;
  /** Indexes into `schema` of the columns that identify a row (empty: a single-row table). */
  readonly key: readonly number[];
  readonly cleanup?: WatermarkCleanup;
  /**
   * Columns (indexes into `schema`) added after checkpoints held the table: a snapshot written
   * before lacks them and decodes with them all NULL, which the operator reads as their
   * starting value.
   */
  readonly added?: readonly number[];
}

export interface StateTable {
  readonly spec: StateTableSpec;
  /** The table's rows as batches in `spec.schema` (no weights). */
  snapshot(): Batch[];
  /** Replaces the contents with the rows of `batches` (from a snapshot of the same spec). */
  restore(batches: readonly Batch[]): void;
  rows(): number;
  bytes(): number;
  /** Change tracking for incremental checkpoints; absent: the table is always written whole. */
  readonly changes?: ChangeTracking;
}

/**
 * A state table's changes since its last checkpoint. Applying a delta removes every row whose
 * `deltaKey` columns equal a key of `removed` or of a row of `rows`, then adds `rows`; with a
 * null `deltaKey` (an append-only table) nothing is removed and the rows are appended.
 */
export interface StateDelta {
  /** Keys (the `deltaKey` columns, in that order) whose rows are all gone; empty when none. */
  readonly removed: Batch;
  /** The current rows of every changed key, in `spec.schema`. */
  readonly rows: readonly Batch[];
}

export interface ChangeTracking {
  /** The columns (indexes into the schema) a delta replaces rows by; null: rows are only appended. */
  readonly deltaKey: readonly number[] | null;
  /**
   * How many keys changed since the last `clear()` (an upper bound), or Infinity when the table
   * stopped tracking (too many changes to be worth a delta: the next checkpoint writes it whole).
   */
  pending(): number;
  /** The changes since the last `clear()`. */
  delta(): StateDelta;
  /** Applies a delta written by a table of the same spec onto this (restored) table. */
  apply(d: StateDelta): void;
  /** Forgets the changes tracked so far: a checkpoint holds them (or a restore made the table anew). */
  clear(): void;
}

/**
 * Tracking stops past this many changed keys when it exceeds the table's rows too: a delta that
 * big costs what a full snapshot does, and without checkpoints (no data dir, nothing ever
 * clears) the tracked keys must not grow without bound.
 */
export const TRACK_LIMIT = 4096;

/** Whether tracking `tracked` changed keys of a table of `rows` rows is still worth it. */
export function worthTracking(tracked: number, rows: number): boolean {
  return tracked <= TRACK_LIMIT || tracked <= rows;
}

/** The row-level access an operator gives to its state for {@link rowStateTable}. */
export interface RowAccess {
  /** Every row, in an order that restoring in the same order reproduces. */
  readRows(): Iterable<Value[]>;
  /** Loads rows into freshly built (empty) state. */
  loadRows(rows: readonly Value[][]): void;
  count(): number;
}

/** A state table over an operator's own structures, read and written row by row. */
export function rowStateTable(spec: StateTableSpec, access: RowAccess): StateTable {
  const types = spec.schema.map((f) => f.type);
  return {
    spec,
    snapshot: () => [batchFromRows(types, [...access.readRows()])],
    restore: (batches) => {
      const rows: Value[][] = [];
      for (const b of batches) {
        if (b.columns.length !== types.length) throw new SluiceError('internal', `state table ${spec.name}: snapshot has ${b.columns.length} columns, expected ${types.length}`);
        for (const r of batchRows(b)) rows.push(r);
      }
      access.loadRows(rows);
    },
    rows: () => access.count(),
    bytes: () => batchBytes(batchFromRows(types, [...access.readRows()])),
  };
}

/** Bytes held by a batch's buffers. */
export function batchBytes(b: Batch): number {
  let n = 0;
  for (const c of b.columns) n += c.values.byteLength + (c.offsets?.byteLength ?? 0) + (c.validity?.byteLength ?? 0);
  return n;
}

/** A state table's snapshot as one Arrow IPC stream (what a checkpoint file holds). */
export function encodeSnapshot(spec: StateTableSpec, batches: readonly Batch[]): Uint8Array {
  const rbs = batches.map((b) => toArrow(b, spec.schema));
  if (rbs.length === 0) rbs.push(toArrow(batchFromRows(spec.schema.map((f) => f.type), []), spec.schema));
  return tableToIPC(new Table(rbs), 'stream');
}

/**
 * The inverse of {@link encodeSnapshot}, for a snapshot written with `saved`: the spec's schema,
 * or (written before columns were added) its fields without some of its `added` columns, which
 * come back all NULL.
 */
export function decodeSnapshot(spec: StateTableSpec, bytes: Uint8Array, saved: Schema = spec.schema): Batch[] {
  // Arrow reads buffers in place only when they are 8-byte aligned and copies them value by
  // value otherwise (a blob inside a file is anywhere): one aligned copy is far cheaper.
  if (bytes.byteOffset % 8 !== 0) bytes = new Uint8Array(bytes);
  const batches = tableFromIPC(bytes).batches.map((rb) => fromArrow(rb, saved));
  if (saved === spec.schema) return batches;
  const from = spec.schema.map((f) => saved.indexOf(f));
  return batches.map((b) => ({ ...b, columns: spec.schema.map((f, j) => (from[j]! >= 0 ? b.columns[from[j]!]! : constantColumn(f.type, null, b.length))) }));
}
