/**
 * A view's state files: every state table of every operator of its pipeline, and its store, as
 * Arrow IPC streams in one checksummed blob file (files.ts). Restoring checks that the
 * operators and tables of the file are those of the freshly built pipeline (same ids, same
 * table names and column lists, but for columns a table added since: StateTableSpec.added,
 * restored as NULL); anything else is refused rather than half-restored.
 *
 * Incremental checkpoints: a file is either full (every table whole) or a delta over the files
 * before it in the view's chain, where each table is written whole or, when it tracks its
 * changes and few keys changed, as those keys and their current rows (state-table.ts). The
 * chain is a full file and the deltas after it; restoring a table takes its last whole copy in
 * the chain and applies the deltas after that one, in order.
 */
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Field, Schema } from '../../common/types.js';
import type { Pipeline } from '../pipeline.js';
import { decodeSnapshot, encodeSnapshot, type StateTable, type StateTableSpec } from '../state/state-table.js';
import type { ViewStore } from '../view-store.js';
import { readBlobFile, writeBlobFile, type BlobRef } from './files.js';

interface TableEntry {
  readonly op: string;
  readonly table: string;
  readonly columns: string;
  /** The rows: the whole table, or (a delta) the changed keys' current rows. */
  readonly ref: BlobRef;
  /** A delta's removed keys (absent: none, or the table is whole). */
  readonly removed?: BlobRef;
  /** Whether the entry is a delta (absent in files written before incremental checkpoints: whole). */
  readonly delta?: boolean;
  readonly rows: number;
}

interface Header {
  readonly view: string;
  readonly tables: readonly TableEntry[];
}

/** A state file as readBlobFile gives it. */
export type StateFile = ReturnType<typeof readBlobFile>;

const STORE_OP = '(store)';

function columnsOf(schema: Schema): string {
  return schema.map((f) => `${f.name}:${f.type}`).join(',');
}

/**
 * The schema a file's entry for table `spec` was written with, from the column list it saved:
 * the spec's, or the spec's without some of the columns added since (`spec.added`, a file
 * written before them); null when it is neither (the plan changed).
 */
function savedSchema(spec: StateTableSpec, columns: string): Schema | null {
  if (columns === columnsOf(spec.schema)) return spec.schema;
  const added = spec.added ?? [];
  const saved: Field[] = [];
  let rest = columns;
  for (let i = 0; i < spec.schema.length; i++) {
    const f = spec.schema[i]!;
    const entry = `${saved.length > 0 ? ',' : ''}${f.name}:${f.type}`;
    if (rest.startsWith(entry) && (rest.length === entry.length || rest[entry.length] === ',')) {
      saved.push(f);
      rest = rest.slice(entry.length);
    } else if (!added.includes(i)) return null;
  }
  return rest === '' ? saved : null;
}

/** Every state table of a view, with the operator id it belongs to; the store last. */
function tablesOf(pipeline: Pipeline, store: ViewStore): { op: string; t: StateTable }[] {
  const out: { op: string; t: StateTable }[] = [];
  for (const op of pipeline.operators) for (const t of op.state) out.push({ op: op.id, t });
  out.push({ op: STORE_OP, t: store.state });
  return out;
}

/** The schema of a delta's removed keys: the table's `deltaKey` columns. */
function keySchema(t: StateTable): Schema {
  return (t.changes?.deltaKey ?? []).map((i) => t.spec.schema[i]!);
}

/**
 * Whether a table is written as a delta: it tracks its changes and, unless `always` (tests
 * exercising deltas on small tables), they are at most half its rows.
 */
function deltaWorthIt(t: StateTable, always: boolean): boolean {
  const pending = t.changes?.pending() ?? Number.POSITIVE_INFINITY;
  return Number.isFinite(pending) && (always || pending * 2 <= t.rows());
}

/**
 * Writes a view's state to `path`: whole, or with `incremental` as a delta over the chain its
 * last file ends (each table whose changes are few enough; the others whole). Every table's
 * change tracking starts over. Returns the bytes written, the rows held, and whether the file
 * is full (every table whole: a chain may start at it).
 */
export function writeViewState(path: string, view: string, pipeline: Pipeline, store: ViewStore, incremental: boolean | 'always' = false): { bytes: number; rows: number; full: boolean } {
  const tables = tablesOf(pipeline, store);
  const blobs: Uint8Array[] = [];
  const meta: { op: string; table: string; columns: string; rows: number; delta: boolean; blobs: number }[] = [];
  let rows = 0;
  let full = true;
  for (const { op, t } of tables) {
    const n = t.rows();
    rows += n;
    if (incremental !== false && deltaWorthIt(t, incremental === 'always')) {
      const d = t.changes!.delta();
      blobs.push(encodeSnapshot(t.spec, d.rows));
      const withRemoved = d.removed.length > 0;
      if (withRemoved) blobs.push(encodeSnapshot({ name: `${t.spec.name}$removed`, schema: keySchema(t), key: [] }, [d.removed]));
      meta.push({ op, table: t.spec.name, columns: columnsOf(t.spec.schema), rows: n, delta: true, blobs: withRemoved ? 2 : 1 });
      full = false;
    } else {
      blobs.push(encodeSnapshot(t.spec, t.snapshot()));
      meta.push({ op, table: t.spec.name, columns: columnsOf(t.spec.schema), rows: n, delta: false, blobs: 1 });
    }
  }
  const bytes = writeBlobFile(path, blobs, (refs): Header => {
    let at = 0;
    return {
      view,
      tables: meta.map(({ blobs: count, delta, ...m }) => {
        const ref = refs[at++]!;
        const removed = count === 2 ? refs[at++]! : undefined;
        return { ...m, ref, ...(delta ? { delta } : {}), ...(removed ? { removed } : {}) };
      }),
    };
  });
  for (const { t } of tables) t.changes?.clear();
  return { bytes, rows, full };
}

/**
 * The parallelism a view's state file was written at: one more than the highest instance
 * number in its operator ids (`<view>/<path>#<s>`), or 1 when no operator had several instances.
 */
export function savedParallelism(f: StateFile): number {
  let p = 1;
  for (const e of (f.header as Header).tables) {
    const m = /#(\d+)$/.exec(e.op);
    if (m) p = Math.max(p, Number(m[1]) + 1);
  }
  return p;
}

/** Whether a state file's operators and tables are exactly those of `pipeline` (with its store). */
export function fitsPipeline(f: StateFile, pipeline: Pipeline, store: ViewStore, view: string, savedAs = view): boolean {
  const tables = tablesOf(pipeline, store);
  const saved = (f.header as Header).tables;
  const savedOp = (op: string) => (savedAs !== view && op.startsWith(`${view}/`) ? `${savedAs}/${op.slice(view.length + 1)}` : op);
  return saved.length === tables.length && tables.every(({ op, t }, i) => saved[i]!.op === savedOp(op) && saved[i]!.table === t.spec.name);
}

/**
 * Restores a view's freshly built pipeline and empty store from its chain of state files (the
 * full file first, then its deltas; each with `read`: that file already read and checked).
 * `savedAs`: the name the view had when the files were written (a rename since).
 */
export function readViewState(chain: readonly { path: string; read?: StateFile }[], view: string, pipeline: Pipeline, store: ViewStore, savedAs = view): { bytes: number; rows: number } {
  const files = chain.map((c) => {
    const f = c.read ?? readBlobFile<Header>(c.path);
    return { path: c.path, header: f.header as Header, blob: f.blob, bytes: f.bytes };
  });
  const tables = tablesOf(pipeline, store);
  const mismatch = (path: string, what: string) => new SluiceError('internal', `the checkpointed state of view "${view}" (${path}) does not fit its plan: ${what}`, {
    hint: 'The view\'s plan changed since the checkpoint (a new sluice version?): drop and recreate the view to start it over.',
  });
  // Operator ids start with the view's name: a renamed view's file has the old one.
  const savedOp = (op: string) => (savedAs !== view && op.startsWith(`${view}/`) ? `${savedAs}/${op.slice(view.length + 1)}` : op);
  // Each file's schema of each table (a file written before columns were added lacks them).
  const saved = files.map((f) => {
    if (f.header.view !== savedAs) throw mismatch(f.path, `it belongs to view "${f.header.view}"`);
    if (f.header.tables.length !== tables.length) throw mismatch(f.path, `${f.header.tables.length} state tables saved, ${tables.length} expected`);
    return tables.map(({ op, t }, i) => {
      const e = f.header.tables[i]!;
      const schema = e.op === savedOp(op) && e.table === t.spec.name ? savedSchema(t.spec, e.columns) : null;
      if (schema === null) throw mismatch(f.path, `table ${e.op}.${e.table} where ${op}.${t.spec.name} was expected`);
      if (e.delta && !t.changes) throw mismatch(f.path, `table ${e.op}.${e.table} is a delta, which the operator cannot apply`);
      return schema;
    });
  });
  if (files.length > 0 && files[0]!.header.tables.some((e) => e.delta)) throw mismatch(files[0]!.path, 'the first file of the chain is a delta');
  let rows = 0;
  tables.forEach(({ t }, i) => {
    // The table's last whole copy in the chain, then the deltas after it.
    let from = 0;
    files.forEach((f, j) => {
      if (!f.header.tables[i]!.delta) from = j;
    });
    const base = files[from]!;
    t.restore(decodeSnapshot(t.spec, base.blob(base.header.tables[i]!.ref), saved[from]![i]!));
    for (let j = from + 1; j < files.length; j++) {
      const f = files[j]!;
      const e = f.header.tables[i]!;
      const removed: Batch = e.removed
        ? decodeSnapshot({ name: `${t.spec.name}$removed`, schema: keySchema(t), key: [] }, f.blob(e.removed))[0] ?? { columns: [], length: 0, weights: null }
        : { columns: [], length: 0, weights: null };
      t.changes!.apply({ removed, rows: decodeSnapshot(t.spec, f.blob(e.ref), saved[j]![i]!) });
    }
    t.changes?.clear();
    rows += files[files.length - 1]!.header.tables[i]!.rows;
  });
  return { bytes: files.reduce((a, f) => a + f.bytes, 0), rows };
}
