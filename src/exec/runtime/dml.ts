/**
 * DML: INSERT / UPDATE / DELETE on a table run in DuckDB, and the rows they touch become the
 * table's changelog for the next epoch (+1 inserted, −1 deleted, an update both).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { formatTime, formatTimestamp, parseTime, parseTimestamptz } from '../../common/values.js';
import type { TimeZone } from '../../common/time-zone.js';
import { batchFromRows, type Batch } from '../../common/column.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import { KIND_LABEL } from '../../catalog/index.js';
import type { Statement } from '../../parser/index.js';
import type { EpochRunner } from './epoch-runner.js';
import type { EngineState, StatementResult, TableRt } from './state.js';
import { changeTable } from './table-changes.js';
import { insertValues } from './bulk-load.js';
import { LiteralKind, scanInsertLiterals } from '../../parser/insert-values.js';
import { parseIntervalParts } from '../../common/interval.js';
import type { Schema, SqlType, Value } from '../../common/types.js';
import { lex } from '../../parser/lexer.js';
import { mentionsPgFunction, rewriteForDuck } from './pg-functions.js';
import { divides } from './pg-names.js';

export type DmlStatement = Extract<Statement, { kind: 'insert' | 'update' | 'delete' }>;

/** Runs a DML statement; with rw_implicit_flush on, an epoch follows at once. */
export async function executeDml(state: EngineState, epochs: EpochRunner, stmt: DmlStatement, zone: TimeZone): Promise<StatementResult> {
  const t = dmlTarget(state, stmt);
  const { count, returned } = await changelog(state, t, stmt, zone);
  if (state.settings.implicitFlush) await epochs.run(Date.now());
  return dmlResult(stmt, count, returned);
}

/** Rows a DML statement's RETURNING list gives: its columns (named as DuckDB names them) and rows. */
export interface Returned {
  readonly columns: { readonly name: string; readonly type: SqlType }[];
  readonly rows: Value[][];
}

/** A DML statement's result: its tag, with the RETURNING rows when it has a list. */
export function dmlResult(stmt: DmlStatement, count: number, returned: Returned | undefined): StatementResult {
  if (returned) return { kind: 'rows', tag: dmlTag(stmt, count), columns: returned.columns, rows: returned.rows };
  return { kind: 'command', tag: dmlTag(stmt, count) };
}

/** The tag of a DML statement that touched `count` rows. */
export function dmlTag(stmt: DmlStatement, count: number): string {
  if (stmt.kind === 'delete' && stmt.truncate) return 'TRUNCATE TABLE';
  return stmt.kind === 'insert' ? `INSERT 0 ${count}` : `${stmt.kind.toUpperCase()} ${count}`;
}

/** The table a DML statement writes, or why it may not. */
export function dmlTarget(state: EngineState, stmt: DmlStatement): TableRt {
  const t = state.tables.get(stmt.table);
  if (!t) {
    const other = state.catalog.get(stmt.table);
    if (other) throw new SluiceError('not_supported', `cannot ${stmt.kind} ${KIND_LABEL[other.kind]} "${stmt.table}": only tables take DML`, { position: stmt.pos, hint: other.kind === 'source' ? 'A source is fed by its connector; use CREATE TABLE for data you write yourself.' : undefined });
    throw new SluiceError('undefined_table', `relation "${stmt.table}" does not exist`, { position: stmt.pos });
  }
  if (t.loader) {
    throw new SluiceError('not_supported', `table "${stmt.table}" is loaded by connector '${t.entry.options.connector}' and takes no ${stmt.kind.toUpperCase()}`, { position: stmt.pos, hint: 'Change the data at its origin; the table reloads every refresh_interval.' });
  }
  if (t.entry.appendOnly && stmt.kind !== 'insert') {
    throw new SluiceError('not_supported', `table "${stmt.table}" is APPEND ONLY and cannot take ${stmt.kind.toUpperCase()}`, { position: stmt.pos });
  }
  return t;
}

/**
 * Runs the statement in DuckDB (inside changeTable's transaction, with its log record) and
 * returns the changes it made and the row count for its tag.
 */
async function changelog(state: EngineState, t: TableRt, stmt: DmlStatement, zone: TimeZone): Promise<{ count: number; returned?: Returned }> {
  let count = 0;
  let returned: Returned | undefined;
  const change = () => changeTable(state, t, async () => {
    const r = await applyDml(state, t, stmt, state.duck.conn, zone);
    count = r.count;
    returned = r.returned;
    return r.change;
  });
  if (zone.icuName === 'UTC') await change();
  else {
    // The statement's own casts and functions (DuckDB's ICU) run in the session's zone; the
    // engine's connection goes back to UTC, which everything else that uses it assumes.
    await state.duck.run(`SET TimeZone = '${zone.icuName}'`);
    try {
      await change();
    } finally {
      await state.duck.run(`SET TimeZone = 'UTC'`);
    }
  }
  return { count, ...(returned ? { returned } : {}) };
}

/**
 * The DuckDB side of a DML statement on `conn`, which is inside a transaction (changeTable's, or
 * a session's transaction block): the changelog of the rows it touched and its row count.
 */
export async function applyDml(state: EngineState, t: TableRt, stmt: DmlStatement, conn: DuckDBConnection, zone: TimeZone): Promise<{ change: Batch; count: number; returned?: Returned }> {
  const { duck } = state;
  const types = t.entry.schema.map((f) => f.type);
  const width = types.length;
  // The table's rows for the changelog, then the statement's own RETURNING list (in DuckDB,
  // over the same rows: the new ones of an UPDATE, the deleted ones of a DELETE).
  const returning = stmt.returning === undefined ? 'RETURNING *' : `RETURNING *, ${stmt.returning}`;
  const split = (r: { columns: readonly { name: string; type: SqlType }[]; rows: Value[][] }): { rows: Value[][]; returned?: Returned } => {
    if (stmt.returning === undefined) return { rows: r.rows };
    return { rows: r.rows.map((row) => row.slice(0, width)), returned: { columns: r.columns.slice(width).map((c) => ({ name: c.name, type: c.type })), rows: r.rows.map((row) => row.slice(width)) } };
  };
  if (stmt.kind === 'update') {
    // The old rows and the new ones are read in one transaction, so they describe one change.
    const old = await duck.query(stmt.selectOldText, conn);
    const fresh = split(await duck.query(`${stmt.text} ${returning}`, conn));
    return { change: batchFromRows(types, [...old.rows, ...fresh.rows], [...old.rows.map(() => -1), ...fresh.rows.map(() => 1)]), count: fresh.rows.length, ...(fresh.returned ? { returned: fresh.returned } : {}) };
  }
  if (stmt.kind === 'insert' && stmt.values && stmt.returning === undefined) {
    const fast = await insertValues(duck, conn, t.entry, stmt.values, zone);
    if (fast) return fast;
  }
  let text = stmt.kind === 'insert' && t.entry.schema.some((f) => f.type === 'interval' || f.type === 'timestamptz' || f.type === 'time') ? literalsForDuck(stmt.text, t.entry.schema, zone) : stmt.text;
  if (stmt.kind === 'insert') text = await insertQueryForDuck(state, text, conn, zone);
  const r = split(
    await duck.query(`${text} ${returning}`, conn).catch((e: unknown) => {
      throw stmt.kind === 'insert' ? nearTokenPosition(toSluiceError(e), stmt.text, stmt.offset) : e;
    }),
  );
  const w = stmt.kind === 'insert' ? 1 : -1;
  return { change: batchFromRows(types, r.rows, w === 1 && t.entry.appendOnly ? undefined : r.rows.map(() => w)), count: r.rows.length, ...(r.returned ? { returned: r.returned } : {}) };
}

/**
 * INSERT … SELECT / WITH: the query runs with PostgreSQL's functions and division, as a one-shot
 * SELECT does (`INSERT INTO t SELECT generate_series(1, 3)` inserts three rows, not a list).
 * The query is the text from the first SELECT or WITH outside parentheses (after the column list).
 */
async function insertQueryForDuck(state: EngineState, text: string, conn: DuckDBConnection, zone: TimeZone): Promise<string> {
  if (!divides(text) && !mentionsPgFunction(text)) return text;
  let depth = 0;
  for (const t of lex(text)) {
    if (t.kind === 'symbol' && t.value === '(') depth++;
    else if (t.kind === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'ident' && (t.value === 'select' || t.value === 'with')) {
      // A RETURNING list or ON CONFLICT clause after the query is not part of it.
      const query = text.slice(t.start);
      if (/\b(returning|on\s+conflict)\b/i.test(query)) return text;
      return text.slice(0, t.start) + (await rewriteForDuck(state.duck, query, conn, zone));
    }
  }
  return text;
}

/** DuckDB's `syntax error at or near "X"` (an INSERT is parsed by DuckDB only) gets X's position. */
function nearTokenPosition(e: SluiceError, text: string, offset: number): SluiceError {
  const m = /at or near "([^"]+)"/.exec(e.message);
  if (e.position !== undefined || e.category !== 'syntax' || !m) return e;
  const at = text.indexOf(m[1]!);
  return at < 0 ? e : e.withPosition(offset + at + 1);
}

/**
 * An INSERT of literals with its interval strings read as PostgreSQL reads them and written in a
 * form DuckDB casts to the same months, days and microseconds (DuckDB's own reader refuses
 * '-1 days +02:00' and reads '1.5 months' otherwise), and its timestamptz strings read in the
 * session's zone as PostgreSQL reads them and written as the instant. Other statements come back
 * as they are.
 */
function literalsForDuck(text: string, schema: Schema, zone: TimeZone): string {
  const v = scanInsertLiterals(text);
  if (!v) return text;
  const cols = v.columns ?? schema.map((f) => f.name);
  const types = cols.map((c) => schema.find((f) => f.name === c)?.type);
  let out = '';
  let at = 0;
  for (let i = 0; i < v.rows * v.width; i++) {
    const kind = v.kinds[i];
    const type = types[i % v.width];
    if ((type !== 'interval' && type !== 'timestamptz' && type !== 'time') || (kind !== LiteralKind.String && kind !== LiteralKind.EscapedString)) continue;
    const raw = text.slice(v.starts[i], v.ends[i]);
    const s = kind === LiteralKind.EscapedString ? raw.replaceAll("''", "'") : raw;
    let written: string;
    if (type === 'timestamptz') written = `${formatTimestamp(parseTimestamptz(s, zone))}+00`;
    // PostgreSQL's time input (AM/PM, a date before it, 24:00:00) as the plain text DuckDB reads.
    else if (type === 'time') written = formatTime(parseTime(s));
    else {
      const p = parseIntervalParts(s);
      written = `${p.months} months ${p.days} days ${p.micros} microseconds`;
    }
    out += text.slice(at, v.starts[i]) + written;
    at = v.ends[i]!;
  }
  return out + text.slice(at);
}
