/**
 * Ad-hoc SELECT: the query runs in DuckDB as written, on the engine's query connection. Tables
 * live in DuckDB already; a view (its store) or a source (its retained recent epochs) is copied
 * into a temp table of that connection, and copied again only when it changed since.
 */
import { SluiceError, toSluiceError } from '../../common/errors.js';
import type { Statement } from '../../parser/index.js';
import { createTableSql, quoteIdent } from '../duck.js';
import { queryConnection, type EngineState, type StatementResult } from './state.js';
import type { Monitor } from './monitor.js';
import { systemTable, systemTempName } from './system-tables.js';

/** information_schema relations DuckDB answers itself (clients probe them on connect). */
const SYSTEM_RELATIONS = new Set(['tables', 'columns', 'schemata', 'views', 'table_constraints', 'key_column_usage', 'character_sets', 'routines']);

/** Runs ad-hoc SELECTs and keeps the query connection's copies of views and sources. */
export class AdHocQueries {
  /** Views and sources copied into the query connection, by the version copied. */
  private readonly loaded = new Map<string, number>();

  constructor(
    private readonly state: EngineState,
    private readonly monitor: Monitor,
  ) {}

  /** Runs a SELECT over the committed state; DuckDB errors get the position of the name they are about. */
  async select(stmt: Extract<Statement, { kind: 'select' }>, signal?: AbortSignal): Promise<StatementResult> {
    const conn = await queryConnection(this.state);
    // A cancel or statement_timeout interrupts the DuckDB query itself, so the engine is free at once.
    const interrupt = () => conn.interrupt();
    signal?.addEventListener('abort', interrupt);
    try {
      for (const rel of stmt.relations) await this.load(rel, stmt);
      if (signal?.aborted) throw signal.reason;
      const r = await this.state.duck.query(stmt.text, conn);
      return { kind: 'rows', tag: `SELECT ${r.rows.length}`, columns: r.columns, rows: r.rows };
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw locate(toSluiceError(e), stmt.text, stmt.offset);
    } finally {
      signal?.removeEventListener('abort', interrupt);
    }
  }

  /** Forgets the ad-hoc copy of a view or source (dropped, or about to be shadowed). */
  async unload(name: string): Promise<void> {
    if (!this.loaded.delete(name) || !this.state.queryConn) return;
    await this.state.duck.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(name)}`, this.state.queryConn);
  }

  /** Makes `rel` readable on the query connection; refuses a relation that does not exist. */
  private async load(rel: string, stmt: Extract<Statement, { kind: 'select' }>): Promise<void> {
    const { state } = this;
    const sys = systemTable(rel);
    if (sys) {
      // Refilled for every query that reads it: the figures move with every epoch.
      const conn = await queryConnection(state);
      const temp = systemTempName(sys.name);
      await state.duck.run(createTableSql(temp, sys.table.schema, [], true).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), conn);
      await state.duck.appendRows(temp, sys.table.schema, sys.table.rows(this.monitor), conn);
      return;
    }
    const e = state.catalog.get(rel);
    if (!e) {
      if (rel.endsWith('_errors') && state.sources.has(rel.slice(0, -'_errors'.length))) return;
      if (rel.endsWith('_late') && state.views.get(rel.slice(0, -'_late'.length))?.keepLate) return;
      // DuckDB's own catalog views answer clients' pg_catalog/information_schema probes.
      if (/^pg_/.test(rel) || SYSTEM_RELATIONS.has(rel)) return;
      const m = new RegExp(`\\b${rel}\\b`, 'i').exec(stmt.text);
      throw new SluiceError('undefined_table', `relation "${rel}" does not exist`, { position: m ? stmt.offset + m.index + 1 : undefined });
    }
    if (e.kind !== 'view' && e.kind !== 'source') return;
    const version = e.kind === 'view' ? state.views.get(rel)!.version : state.sources.get(rel)!.version;
    if (this.loaded.get(rel) === version) return;
    const conn = await queryConnection(state);
    await state.duck.run(createTableSql(rel, e.schema, [], true).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), conn);
    if (e.kind === 'view') await state.duck.appendRows(rel, e.schema, state.views.get(rel)!.store.rows(), conn);
    else await state.duck.appendBatch(rel, e.schema, state.sources.get(rel)!.retained.flatMap((r) => r.batches), conn);
    this.loaded.set(rel, version);
  }
}

/** Gives a DuckDB error about a named column or table the position of that name in the query. */
function locate(e: SluiceError, text: string, offset: number): SluiceError {
  if (e.position !== undefined) return e;
  const m = /column "([^"]+)"|relation "([^"]+)"/.exec(e.message);
  const name = m?.[1] ?? m?.[2];
  if (!name) return e;
  const at = new RegExp(`(^|[^A-Za-z0-9_])(${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})(?![A-Za-z0-9_])`, 'i').exec(text);
  return at ? e.withPosition(offset + at.index + at[1]!.length + 1) : e;
}
