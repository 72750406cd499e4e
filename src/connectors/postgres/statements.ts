/**
 * The SQL of the PostgreSQL sink. Rows travel as one array parameter per column, expanded by
 * `unnest` on the server, so a statement carries any number of rows in one round trip with a
 * fixed number of parameters (and a plan that does not depend on the row count):
 *
 *   INSERT INTO t ("a", "b") SELECT * FROM unnest($1::integer[], $2::text[])
 *
 * Values are PostgreSQL text (changes.ts), cast by the array's element type.
 */
import type { Schema } from '../../common/types.js';
import { quoteIdent } from '../table/quoting.js';
import { pgTypeName } from '../table/postgres/query.js';
import type { TextRow } from './changes.js';

/** The table a sink writes and the progress table beside it, both quoted and schema-qualified. */
export interface SinkTables {
  readonly target: string;
  readonly progress: string;
}

/** The name of the table that records each sink's last written epoch, in the target's schema. */
export const PROGRESS_TABLE = 'sluice_sink_progress';

/** Rows per statement: bounds the size of one parameter (and of the server's memory for it). */
export const ROWS_PER_STATEMENT = 10_000;

/** `schema.name`, each part quoted. */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * CREATE TABLE IF NOT EXISTS of the target: the input's columns and, for a keyed input, a
 * unique key on them. A group key may be NULL, which a PRIMARY KEY refuses, so servers that
 * have it (15 and later) get UNIQUE NULLS NOT DISTINCT: one row per key, NULL included.
 */
export function createTargetSql(target: string, schema: Schema, key: readonly number[] | null, nullsNotDistinct: boolean): string {
  const cols = schema.map((f) => `${quoteIdent(f.name)} ${pgTypeName(f.type)}`);
  if (key !== null) {
    const keyCols = key.map((j) => quoteIdent(schema[j]!.name)).join(', ');
    cols.push(nullsNotDistinct ? `UNIQUE NULLS NOT DISTINCT (${keyCols})` : `PRIMARY KEY (${keyCols})`);
  }
  return `CREATE TABLE IF NOT EXISTS ${target} (${cols.join(', ')})`;
}

/** CREATE TABLE IF NOT EXISTS of the progress table: (sink, target table) → last epoch written. */
export function createProgressSql(progress: string): string {
  return `CREATE TABLE IF NOT EXISTS ${progress} (sink text NOT NULL, target text NOT NULL, epoch bigint, PRIMARY KEY (sink, target))`;
}

/** Whether the target has a unique index on exactly the key columns ($1: the table, $2: sorted names). */
export const UNIQUE_KEY_QUERY = `SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = $2::text[]`;

function arrays(schema: Schema, cols: readonly number[], first = 1): string {
  return cols.map((j, k) => `$${first + k}::${pgTypeName(schema[j]!.type)}[]`).join(', ');
}

function columnList(schema: Schema, cols: readonly number[]): string {
  return cols.map((j) => quoteIdent(schema[j]!.name)).join(', ');
}

function all(schema: Schema): number[] {
  return schema.map((_, j) => j);
}

/** INSERT of whole rows (parameters: one array per column). */
export function insertSql(target: string, schema: Schema): string {
  return `INSERT INTO ${target} (${columnList(schema, all(schema))}) SELECT * FROM unnest(${arrays(schema, all(schema))})`;
}

/** INSERT … ON CONFLICT (key) DO UPDATE of whole rows. */
export function upsertSql(target: string, schema: Schema, key: readonly number[]): string {
  const rest = all(schema).filter((j) => !key.includes(j));
  const action = rest.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${rest.map((j) => `${quoteIdent(schema[j]!.name)} = EXCLUDED.${quoteIdent(schema[j]!.name)}`).join(', ')}`;
  return `${insertSql(target, schema)} ON CONFLICT (${columnList(schema, key)}) ${action}`;
}

/**
 * DELETE of the rows with the given keys (parameters: one array per key column). `=` lets the
 * server use the key's index; keys holding a NULL need IS NOT DISTINCT FROM instead.
 */
export function deleteKeysSql(target: string, schema: Schema, key: readonly number[], withNulls: boolean): string {
  const op = withNulls ? 'IS NOT DISTINCT FROM' : '=';
  const cond = key.map((j, k) => `t.${quoteIdent(schema[j]!.name)} ${op} d.c${k}`).join(' AND ');
  return `DELETE FROM ${target} AS t USING unnest(${arrays(schema, key)}) AS d(${key.map((_, k) => `c${k}`).join(', ')}) WHERE ${cond}`;
}

/**
 * DELETE of `count` copies of each given row, matched on every column with IS NOT DISTINCT
 * FROM (parameters: one array per column, then the counts).
 */
export function deleteRowsSql(target: string, schema: Schema): string {
  const cols = all(schema);
  const names = cols.map((j) => `c${j}`);
  const cond = cols.map((j) => `t.${quoteIdent(schema[j]!.name)} IS NOT DISTINCT FROM d.c${j}`).join(' AND ');
  return `DELETE FROM ${target} WHERE ctid IN (SELECT v.ctid FROM unnest(${arrays(schema, cols)}, $${cols.length + 1}::integer[]) AS d(${names.join(', ')}, n), `
    + `LATERAL (SELECT t.ctid FROM ${target} AS t WHERE ${cond} LIMIT d.n) AS v)`;
}

/** The parameters of a statement above: the chosen columns of `rows`, one array each. */
export function columnArrays(rows: readonly TextRow[], cols: readonly number[]): (string | null)[][] {
  return cols.map((j) => rows.map((r) => r[j]!));
}
