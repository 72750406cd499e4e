/**
 * An epoch's changes as the PostgreSQL sink applies them: rows in PostgreSQL's text form (the
 * server parses each into its column's type), netted within the epoch.
 *
 *   - keyed input (an updating view with a unique key): per key, the row it has after the
 *     epoch (an upsert) or none (a delete of the key); a key whose changes cancel out is absent;
 *   - any other input: per distinct row, how many copies to delete and how many to insert.
 */
import { getValue, type Batch } from '../../common/column.js';
import type { Schema, SqlType, Value } from '../../common/types.js';
import { formatValue } from '../../common/values.js';

/** A row's values in PostgreSQL text form; null is SQL NULL. */
export type TextRow = readonly (string | null)[];

/** What a keyed input's epoch does to the table. */
export interface KeyedChanges {
  /** Whole rows to insert or, when their key exists, to update. */
  readonly upserts: TextRow[];
  /** Key values (in key column order) whose row is deleted. */
  readonly deletes: TextRow[];
}

/** What an unkeyed input's epoch does to the table. */
export interface RowChanges {
  /** Rows to insert, one entry per copy. */
  readonly inserts: TextRow[];
  /** Distinct rows to delete, each `count` copies. */
  readonly deletes: { readonly row: TextRow; readonly count: number }[];
}

/** A value as PostgreSQL reads it back exactly; -0 keeps its sign, which String() drops. */
function pgText(v: Value, type: SqlType): string | null {
  if ((type === 'double' || type === 'numeric') && Object.is(v, -0)) return '-0';
  return formatValue(v, type);
}

/** Calls `f` for each row with a non-zero weight, its values as text. */
function eachRow(schema: Schema, batches: readonly Batch[], f: (row: TextRow, weight: number) => void): void {
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const w = b.weights === null ? 1 : b.weights[i]!;
      if (w === 0) continue;
      f(schema.map((field, j) => pgText(getValue(b.columns[j]!, i), field.type)), w);
    }
  }
}

/** A map key for a list of text values (JSON tells NULL from the text 'null'). */
function identity(values: TextRow): string {
  return JSON.stringify(values);
}

/** Nets an epoch by key: the last row with a positive net weight wins its key. */
export function keyedChanges(schema: Schema, batches: readonly Batch[], key: readonly number[]): KeyedChanges {
  const byKey = new Map<string, { keyValues: TextRow; rows: Map<string, { row: TextRow; net: number }> }>();
  eachRow(schema, batches, (row, w) => {
    const keyValues = key.map((j) => row[j]!);
    const k = identity(keyValues);
    let entry = byKey.get(k);
    if (entry === undefined) byKey.set(k, (entry = { keyValues, rows: new Map() }));
    const id = identity(row);
    const r = entry.rows.get(id);
    if (r === undefined) entry.rows.set(id, { row, net: w });
    else r.net += w;
  });
  const upserts: TextRow[] = [];
  const deletes: TextRow[] = [];
  for (const { keyValues, rows } of byKey.values()) {
    let now: TextRow | null = null;
    let retracted = false;
    for (const r of rows.values()) {
      if (r.net > 0) now = r.row;
      else if (r.net < 0) retracted = true;
    }
    if (now !== null) upserts.push(now);
    else if (retracted) deletes.push(keyValues);
  }
  return { upserts, deletes };
}

/** Nets an epoch by whole row: copies to insert and to delete. */
export function rowChanges(schema: Schema, batches: readonly Batch[]): RowChanges {
  const net = new Map<string, { row: TextRow; net: number }>();
  eachRow(schema, batches, (row, w) => {
    const id = identity(row);
    const r = net.get(id);
    if (r === undefined) net.set(id, { row, net: w });
    else r.net += w;
  });
  const inserts: TextRow[] = [];
  const deletes: { row: TextRow; count: number }[] = [];
  for (const { row, net: n } of net.values()) {
    for (let k = 0; k < n; k++) inserts.push(row);
    if (n < 0) deletes.push({ row, count: -n });
  }
  return { inserts, deletes };
}

/** An append-only epoch's rows, one entry per copy, without netting. */
export function appendedRows(schema: Schema, batches: readonly Batch[]): TextRow[] {
  const rows: TextRow[] = [];
  eachRow(schema, batches, (row, w) => {
    for (let k = 0; k < w; k++) rows.push(row);
  });
  return rows;
}
