/**
 * A view's state file: every state table of every operator of its pipeline, and its store, as
 * Arrow IPC streams in one checksummed blob file (files.ts). Restoring checks that the
 * operators and tables of the file are those of the freshly built pipeline (same ids, same
 * table names and column lists); anything else is refused rather than half-restored.
 */
import { SluiceError } from '../../common/errors.js';
import type { Schema } from '../../common/types.js';
import type { Pipeline } from '../pipeline.js';
import { decodeSnapshot, encodeSnapshot, type StateTable } from '../state/state-table.js';
import type { ViewStore } from '../view-store.js';
import { readBlobFile, writeBlobFile, type BlobRef } from './files.js';

interface TableEntry {
  readonly op: string;
  readonly table: string;
  readonly columns: string;
  readonly ref: BlobRef;
  readonly rows: number;
}

interface Header {
  readonly view: string;
  readonly tables: readonly TableEntry[];
}

const STORE_OP = '(store)';

function columnsOf(schema: Schema): string {
  return schema.map((f) => `${f.name}:${f.type}`).join(',');
}

/** Every state table of a view, with the operator id it belongs to; the store last. */
function tablesOf(pipeline: Pipeline, store: ViewStore): { op: string; t: StateTable }[] {
  const out: { op: string; t: StateTable }[] = [];
  for (const op of pipeline.operators) for (const t of op.state) out.push({ op: op.id, t });
  out.push({ op: STORE_OP, t: store.state });
  return out;
}

/** Writes a view's state to `path`; returns the bytes written and the rows held. */
export function writeViewState(path: string, view: string, pipeline: Pipeline, store: ViewStore): { bytes: number; rows: number } {
  const tables = tablesOf(pipeline, store);
  const blobs: Uint8Array[] = [];
  const meta: { op: string; table: string; columns: string; rows: number }[] = [];
  let rows = 0;
  for (const { op, t } of tables) {
    const snap = t.snapshot();
    const n = snap.reduce((a, b) => a + b.length, 0);
    rows += n;
    blobs.push(encodeSnapshot(t.spec, snap));
    meta.push({ op, table: t.spec.name, columns: columnsOf(t.spec.schema), rows: n });
  }
  const bytes = writeBlobFile(path, blobs, (refs): Header => ({ view, tables: meta.map((m, i) => ({ ...m, ref: refs[i]! })) }));
  return { bytes, rows };
}

/**
 * Restores a view's freshly built pipeline and empty store from `path` (`read`: that file, already
 * read and checked). `savedAs`: the name the view had when the file was written (a rename since).
 */
export function readViewState(path: string, view: string, pipeline: Pipeline, store: ViewStore, read?: ReturnType<typeof readBlobFile>, savedAs = view): { bytes: number; rows: number } {
  const file = read ? { ...read, header: read.header as Header } : readBlobFile<Header>(path);
  const tables = tablesOf(pipeline, store);
  const entries = file.header.tables;
  const mismatch = (what: string) => new SluiceError('internal', `the checkpointed state of view "${view}" (${path}) does not fit its plan: ${what}`, {
    hint: 'The view\'s plan changed since the checkpoint (a new sluice version?): drop and recreate the view to start it over.',
  });
  if (file.header.view !== savedAs) throw mismatch(`it belongs to view "${file.header.view}"`);
  // Operator ids start with the view's name: a renamed view's file has the old one.
  const savedOp = (op: string) => (savedAs !== view && op.startsWith(`${view}/`) ? `${savedAs}/${op.slice(view.length + 1)}` : op);
  if (entries.length !== tables.length) throw mismatch(`${entries.length} state tables saved, ${tables.length} expected`);
  let rows = 0;
  tables.forEach(({ op, t }, i) => {
    const e = entries[i]!;
    if (e.op !== savedOp(op) || e.table !== t.spec.name || e.columns !== columnsOf(t.spec.schema)) throw mismatch(`table ${e.op}.${e.table} where ${op}.${t.spec.name} was expected`);
    t.restore(decodeSnapshot(t.spec, file.blob(e.ref)));
    rows += e.rows;
  });
  return { bytes: file.bytes, rows };
}
