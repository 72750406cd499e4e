/**
 * Ad-hoc SELECT: the query runs in DuckDB as written, on one of a few query connections of its
 * own, and does not hold the engine lock while it runs.
 *
 *   1. take a free query connection (waiting for one does not hold the lock)
 *   2. find the relations the text names — for a user (not the superuser) by DuckDB's own parser,
 *      which sees every position (FROM, subqueries in expressions, CTEs) — and check the caller
 *      may read them
 *   3. only if a view or source it reads changed since this connection copied it (or a copy must
 *      go), under the engine lock, briefly: copy it again (a view's store or a source's retained
 *      epochs become a temp table of the connection), then begin a transaction and pin its
 *      snapshot of the tables, so copies and tables are of the same moment between statements
 *   4. without the lock: run the query (in that transaction, or on its own: DuckDB gives every
 *      statement the committed state it starts on), so epochs, DML and other clients go on
 *
 * A copy, once taken, is the view as of a committed epoch: an epoch in progress bumps a view's
 * version before it ends, and a changed version sends the query to the lock, which waits for it.
 */
import { quoteLiteral } from '../../connectors/table/quoting.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TimeZone } from '../../common/time-zone.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import type { Statement } from '../../parser/index.js';
import { rewriteValuesQueries } from '../../parser/index.js';
import { createTableSql, decimalFor, quoteIdent } from '../duck.js';
import { getValue } from '../../common/column.js';
import { pipelines, type EngineState, type StatementResult } from './state.js';
import { checkRelation, type Principal } from './privileges.js';
import type { Monitor } from './monitor.js';
import { systemTable, systemTempName } from './system-tables.js';
import { divides, jsonbAsJson, pgColumnNames, withSessionValues } from './pg-names.js';
import { SUPERUSER_NAME } from '../../catalog/index.js';
import { catalogColumnNames, isCatalogRelation, PG_DB, readsCatalog, rewriteCatalogQuery, rewriteCatalogTree } from './pg-catalog.js';
import type { PgCatalogTables } from './pg-catalog-tables.js';
import { mentionsPgFunction, NO_LOCATION, rewriteForDuck } from './pg-functions.js';
import { fetchKept } from '../parallel/parked.js';

/** information_schema relations DuckDB answers itself (clients probe them on connect). */
const SYSTEM_RELATIONS = new Set(['tables', 'columns', 'schemata', 'views', 'table_constraints', 'key_column_usage', 'character_sets', 'routines']);

/** Schemas whose relations are catalog metadata, readable by everyone. */
const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

type SelectStmt = Extract<Statement, { kind: 'select' }>;

/** A relation a query names, and where (1-based, in the script) when known. */
interface RelationRef {
  readonly name: string;
  readonly schema: string;
  readonly position: number | undefined;
  /** Whether a WITH clause of the statement defines this name (then DuckDB may resolve it there). */
  readonly cte: boolean;
}

/** One query connection and its copies of views and sources. */
export interface QueryConn {
  readonly conn: DuckDBConnection;
  /** Views and sources copied into the connection, by the version copied. */
  readonly loaded: Map<string, number>;
  /** Copies to drop before the connection's next query (their objects were dropped meanwhile). */
  readonly stale: Set<string>;
}

/** Runs ad-hoc SELECTs on a small pool of DuckDB connections. */
export class AdHocQueries {
  private readonly idle: QueryConn[] = [];
  private readonly all: QueryConn[] = [];
  private readonly waiting: ((c: QueryConn) => void)[] = [];
  /** Sessions' own connections (transaction blocks), whose copies `unload` forgets too. */
  private readonly sessions = new Set<QueryConn>();

  /**
   * `connections` bounds how many ad-hoc queries run at once; it stays below libuv's thread
   * pool (4), which DuckDB calls run on, so DML and epochs always find a thread.
   */
  constructor(
    private readonly state: EngineState,
    private readonly monitor: Monitor,
    private readonly pgCatalog: PgCatalogTables,
    private readonly connections = 2,
  ) {}

  /**
   * Runs a SELECT over a committed snapshot; DuckDB errors get the position of the name they are
   * about. With `own` (a session's connection inside its transaction block) the query runs there,
   * in that transaction — it sees the block's own writes — and a pool connection is only held as
   * the slot that bounds how many queries run at once.
   */
  async select(stmt: SelectStmt, principal: Principal, zone: TimeZone, signal?: AbortSignal, own?: QueryConn): Promise<StatementResult> {
    refusePredict(stmt);
    const slot = await this.acquire(signal);
    const qc = own ?? slot;
    // A cancel or statement_timeout interrupts the DuckDB query itself.
    const interrupt = () => qc.conn.interrupt();
    signal?.addEventListener('abort', interrupt);
    let open = false;
    try {
      const refs = principal.superuser ? this.parserRefs(stmt) : await this.relationRefs(stmt, qc);
      for (const ref of refs) this.authorize(ref, principal, stmt);
      if (this.needsLock(qc, refs)) {
        await this.state.mutex.run(async () => {
          if (signal?.aborted) throw signal.reason;
          open = await this.prepare(qc, refs, own === undefined);
        });
      }
      if (signal?.aborted) throw signal.reason;
      // (A VALUES query as the parser read it: DuckDB names its columns col0, col1, …; PostgreSQL column1, column2, ….)
      let sql = jsonbAsJson(withSessionValues(rewriteValuesQueries(stmt.text), { user: principal.name, database: principal.database ?? SUPERUSER_NAME }));
      // A query reading user relations and the catalog: the catalog is sluice's (pg-catalog.ts).
      if (readsCatalog(sql)) {
        await this.pgCatalog.refresh(qc.conn);
        await this.sessionVariables(principal, qc.conn);
        sql = rewriteCatalogQuery(sql);
      }
      if (divides(sql) || mentionsPgFunction(sql)) sql = await rewriteForDuck(this.state.duck, sql, qc.conn, zone);
      await this.useZone(qc, zone);
      const r = await this.state.duck.query(sql, qc.conn);
      const names = pgColumnNames(stmt.query, r.columns.map((c) => c.name), stmt.text, stmt.offset);
      const columns = r.columns.map((c, i) => ({ ...c, name: names[i]! }));
      return { kind: 'rows', tag: `SELECT ${r.rows.length}`, columns, rows: r.rows };
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw locate(toSluiceError(e), stmt.text, stmt.offset);
    } finally {
      signal?.removeEventListener('abort', interrupt);
      if (open) await this.state.duck.run('ROLLBACK', qc.conn).catch(() => undefined);
      this.release(slot);
    }
  }

  /**
   * Sets DuckDB's TimeZone (its ICU extension) on the connection to the session's, so casts,
   * date_trunc, extract and the rest over TIMESTAMPTZ work in it as PostgreSQL's do.
   */
  private async useZone(qc: QueryConn, zone: TimeZone): Promise<void> {
    await this.state.duck.run(`SET TimeZone = '${zone.icuName}'`, qc.conn);
  }

  /** A connection of a session's own (its transaction blocks run there); its copies are kept up to date like the pool's. */
  async sessionConnection(): Promise<QueryConn> {
    const qc: QueryConn = { conn: await this.connect(), loaded: new Map(), stale: new Set() };
    this.sessions.add(qc);
    return qc;
  }

  /**
   * A query connection: unqualified pg_* names find sluice's PostgreSQL catalog (pg-catalog.ts)
   * after the connection's copies and the tables, before DuckDB's own pg_catalog.
   */
  private async connect(): Promise<DuckDBConnection> {
    const conn = await this.state.duck.instance.connect();
    await this.state.duck.run(`SET search_path = 'main,${PG_DB}.main'`, conn);
    return conn;
  }

  /**
   * A query of PostgreSQL's catalog (pg_catalog, information_schema), as drivers and GUIs send
   * them, run in DuckDB over the `sluice_pg` tables without sluice's parser (they use casts,
   * operators and functions of PostgreSQL's own that it does not read). Returns null when the
   * query reads anything but the catalog: then it takes the ordinary path.
   */
  async catalogSelect(sql: string, principal: Principal, signal?: AbortSignal): Promise<StatementResult | null> {
    const original = withSessionValues(sql, { user: principal.name, database: principal.database ?? SUPERUSER_NAME });
    const text = rewriteCatalogQuery(original);
    const slot = await this.acquire(signal);
    const interrupt = () => slot.conn.interrupt();
    signal?.addEventListener('abort', interrupt);
    try {
      const r = await this.state.duck.run(`SELECT json_serialize_sql(${quoteLiteral(text)})`, slot.conn);
      // "No location" is 2^64 − 1, which a JavaScript number cannot hold: it travels as a string.
      const tree = JSON.parse(String(r.getRows()[0]![0]).replace(/"query_location":18446744073709551615\b/g, `"query_location":"${NO_LOCATION}"`)) as { error?: boolean };
      // DuckDB serializes SELECTs only; one statement, or the ordinary path splits the script.
      if (tree.error || (tree as { statements?: unknown[] }).statements?.length !== 1) return null;
      let run = text;
      if (rewriteCatalogTree(tree)) {
        const rewritten = JSON.stringify(tree).replaceAll(`"${NO_LOCATION}"`, '18446744073709551615');
        const back = await this.state.duck.run(`SELECT json_deserialize_sql(${quoteLiteral(rewritten)})`, slot.conn);
        run = String(back.getRows()[0]![0]);
      }
      const ctes = new Set<string>();
      collectCteNames(tree, ctes);
      let foreign = false;
      collectBaseTables(tree, (t) => {
        if (!ctes.has(t.name.toLowerCase()) && !isCatalogRelation(t.schema, t.name, t.catalog)) foreign = true;
      });
      if (foreign) return null;
      await this.pgCatalog.refresh(slot.conn);
      await this.sessionVariables(principal, slot.conn);
      const q = await this.state.duck.query(run, slot.conn);
      // Column names as written in the client's text (the rewritten one names the rewrites).
      const o = await this.state.duck.run(`SELECT json_serialize_sql(${quoteLiteral(original)})`, slot.conn);
      const names = catalogColumnNames(JSON.parse(String(o.getRows()[0]![0]).replace(/"query_location":18446744073709551615\b/g, '"query_location":-1')), original, q.columns.map((c) => c.name));
      return { kind: 'rows', tag: `SELECT ${q.rows.length}`, columns: q.columns.map((c, i) => ({ ...c, name: names[i]! })), rows: q.rows };
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw toSluiceError(e);
    } finally {
      signal?.removeEventListener('abort', interrupt);
      this.release(slot);
    }
  }

  /** The session's database and role, which the catalog's views read (pg_database, pg_roles, information_schema). */
  private async sessionVariables(principal: Principal, conn: DuckDBConnection): Promise<void> {
    await this.state.duck.run(`SET VARIABLE sluice_database = ${quoteLiteral(principal.database ?? SUPERUSER_NAME)}; SET VARIABLE sluice_user = ${quoteLiteral(principal.name)}; SET VARIABLE sluice_superuser = ${principal.superuser}`, conn);
  }

  /** Closes a session's connection (the session ended). */
  closeSessionConnection(qc: QueryConn): void {
    if (this.sessions.delete(qc)) qc.conn.closeSync();
  }

  /** Forgets the ad-hoc copies of a view or source (dropped, or about to be shadowed). Caller holds the lock. */
  unload(name: string): void {
    for (const qc of [...this.all, ...this.sessions]) {
      if (qc.loaded.delete(name)) qc.stale.add(name);
    }
  }

  /** Interrupts running queries and closes the connections (engine shutdown). */
  close(): void {
    for (const qc of [...this.all, ...this.sessions]) {
      qc.conn.interrupt();
      qc.conn.closeSync();
    }
    this.sessions.clear();
  }

  private async acquire(signal?: AbortSignal): Promise<QueryConn> {
    const free = this.idle.pop();
    if (free) return free;
    if (this.all.length < this.connections) {
      const qc: QueryConn = { conn: await this.connect(), loaded: new Map(), stale: new Set() };
      this.all.push(qc);
      return qc;
    }
    return new Promise<QueryConn>((resolve, reject) => {
      const take = (c: QueryConn) => {
        signal?.removeEventListener('abort', abort);
        resolve(c);
      };
      const abort = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(take);
    });
  }

  private release(qc: QueryConn): void {
    const next = this.waiting.shift();
    if (next) next(qc);
    else this.idle.push(qc);
  }

  /** The relations sluice's parser found in the query (the superuser's queries: no privileges to check). */
  private parserRefs(stmt: SelectStmt): RelationRef[] {
    return stmt.relations.map((name) => ({ name, schema: '', position: undefined, cte: false }));
  }

  /** Whether a copy of a view or source this query reads is out of date, or copies must be dropped. */
  private needsLock(qc: QueryConn, refs: readonly RelationRef[]): boolean {
    // System tables are filled from the engine's figures, read under the lock.
    return qc.stale.size > 0 || refs.some((r) => {
      if (systemRef(r)) return true;
      const version = this.state.views.get(r.name)?.version ?? this.state.sources.get(r.name)?.version;
      return version !== undefined && qc.loaded.get(r.name) !== version;
    });
  }

  /**
   * The relations the query names, by DuckDB's own parser (what will run), plus the ones our
   * parser found (for their positions).
   */
  private async relationRefs(stmt: SelectStmt, qc: QueryConn): Promise<RelationRef[]> {
    const r = await this.state.duck.run(`SELECT json_serialize_sql(${quoteLiteral(stmt.text)})`, qc.conn);
    const tree = JSON.parse(String(r.getRows()[0]![0])) as { error?: boolean; error_message?: string };
    if (tree.error) {
      // Without DuckDB's tree the relations it would read are not known for sure: refused.
      throw new SluiceError('syntax', `cannot check the privileges of this query: ${tree.error_message ?? 'DuckDB cannot parse it'}`, { position: stmt.offset + 1 });
    }
    const refs = new Map<string, RelationRef>();
    const ctes = new Set<string>();
    collectCteNames(tree, ctes);
    collectBaseTables(tree, (t) => {
      const name = this.resolve(t.name);
      const key = `${t.schema}.${name}`;
      if (!refs.has(key)) refs.set(key, { name, schema: t.schema, position: t.at === undefined ? undefined : stmt.offset + t.at + 1, cte: ctes.has(t.name.toLowerCase()) });
    });
    for (const name of stmt.relations) {
      if (![...refs.values()].some((x) => x.name === name)) refs.set(`.${name}`, { name, schema: '', position: undefined, cte: false });
    }
    return [...refs.values()];
  }

  /** Refuses a relation that does not exist, or one the principal may not read. */
  private authorize(ref: RelationRef, principal: Principal, stmt: SelectStmt): void {
    const { state } = this;
    if (SYSTEM_SCHEMAS.has(ref.schema.toLowerCase()) || /^pg_/.test(ref.name) || SYSTEM_RELATIONS.has(ref.name) || systemRef(ref)) return;
    const position = ref.position ?? namePosition(ref.name, stmt);
    const base = derivedBase(state, ref.name);
    if (!state.catalog.get(ref.name) && base === null) {
      // A CTE's name: DuckDB resolves it; anything else does not exist.
      if (ref.cte) return;
      throw new SluiceError('undefined_table', `relation "${ref.name}" does not exist`, { position });
    }
    checkRelation(state, principal, base ?? ref.name, 'SELECT', position);
  }

  /** The catalog's spelling of a name DuckDB resolves case-insensitively (the name itself if none). */
  private resolve(name: string): string {
    if (this.state.catalog.get(name)) return name;
    const lower = name.toLowerCase();
    return this.state.catalog.list().find((e) => e.name.toLowerCase() === lower)?.name ?? name;
  }

  /**
   * Under the lock: fresh copies of the views and sources read, and, when the query reads tables
   * too and `pin`, a transaction pinned to now (true: the caller ends it).
   */
  private async prepare(qc: QueryConn, refs: readonly RelationRef[], pin: boolean): Promise<boolean> {
    const { state } = this;
    for (const name of qc.stale) await state.duck.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(name)}`, qc.conn);
    qc.stale.clear();
    const names = new Set(refs.filter((r) => !systemRef(r)).map((r) => r.name));
    for (const rel of names) await this.load(qc, rel);
    for (const r of refs) {
      const sys = systemRef(r);
      if (!sys) continue;
      // Refilled for every query that reads it: the figures move with every epoch.
      const temp = systemTempName(sys.name);
      if (sys.name === 'operators' || sys.name === 'views') for (const v of pipelines(state)) await v.pipeline.refreshFigures(2000);
      await state.duck.run(createTableSql(temp, sys.table.schema, [], true).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), qc.conn);
      await state.duck.appendRows(temp, sys.table.schema, sys.table.rows(this.monitor), qc.conn);
    }
    const table = [...names].find((n) => state.tables.has(n) || derivedBase(state, n) !== null);
    if (!table || !pin) return false;
    // DuckDB starts a transaction's snapshot when it first touches a database: touch the tables
    // now, under the lock, so DML and epochs after this point are not seen.
    await state.duck.run(`BEGIN TRANSACTION; SELECT 1 FROM main.${quoteIdent(table)} LIMIT 0`, qc.conn);
    return true;
  }

  /** Brings the connection's copy of a view or source up to date. */
  private async load(qc: QueryConn, rel: string): Promise<void> {
    const { state } = this;
    const e = state.catalog.get(rel);
    if (!e || (e.kind !== 'view' && e.kind !== 'model' && e.kind !== 'source')) return;
    const version = e.kind === 'source' ? state.sources.get(rel)!.version : state.views.get(rel)!.version;
    if (qc.loaded.get(rel) === version) return;
    const batches = e.kind === 'source' ? state.sources.get(rel)!.retained.flatMap((r) => r.batches) : [state.views.get(rel)!.store.snapshotBatch()];
    // Rows of a source's recent epochs that shard workers keep are fetched from them (parked.ts).
    await fetchKept(batches);
    // An unconstrained NUMERIC column is copied as the narrowest DECIMAL holding its values, so
    // the query computes and orders it as a number (VARCHAR when it needs more than 38 digits).
    const numeric = e.schema.map((f, j) => (f.type !== 'numeric' || f.typmod ? null : decimalFor(batches.map((b) => b.columns[j]!))));
    await state.duck.run(createTableSql(rel, e.schema, [], true, numeric).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), qc.conn);
    await state.duck.appendBatch(rel, e.schema, batches, qc.conn);
    qc.loaded.set(rel, version);
  }
}

/**
 * predict(model, …) is evaluated by sluice's own kernels, in views; an ad-hoc SELECT runs in
 * DuckDB, which has no such function: refused (0A000) with the way to get predictions.
 */
function refusePredict(stmt: SelectStmt): void {
  let found: { name: string; pos?: number } | null = null;
  const walk = (node: unknown): void => {
    if (found || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const x of node) walk(x);
      return;
    }
    const o = node as { kind?: unknown; name?: unknown; pos?: number };
    if (o.kind === 'func' && (o.name === 'predict' || o.name === 'predict_proba')) {
      found = { name: o.name, pos: o.pos };
      return;
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(stmt.query);
  if (!found) return;
  const f: { name: string; pos?: number } = found;
  throw new SluiceError('not_supported', `${f.name}() is not supported in an ad-hoc SELECT`, {
    position: f.pos ?? namePosition(f.name, stmt),
    hint: `Predictions are made in materialized views: CREATE MATERIALIZED VIEW … AS SELECT …, ${f.name}(model, …) FROM …; a model's parameters are read with SELECT * FROM model.`,
  });
}

/** The system table (`sluice.epochs`, …) a reference names, if it names one. */
function systemRef(r: RelationRef): ReturnType<typeof systemTable> {
  return systemTable(r.schema.toLowerCase() === 'sluice' ? `sluice.${r.name}` : r.name);
}

/** The source of `<source>_errors` or the view of `<view>_late` (what reading it needs), else null. */
function derivedBase(state: EngineState, name: string): string | null {
  if (name.endsWith('_errors') && state.sources.has(name.slice(0, -'_errors'.length))) return name.slice(0, -'_errors'.length);
  if (name.endsWith('_late') && state.views.get(name.slice(0, -'_late'.length))?.keepLate) return name.slice(0, -'_late'.length);
  return null;
}

/** Walks DuckDB's serialized parse tree for every base-table reference. */
function collectBaseTables(node: unknown, out: (t: { name: string; schema: string; catalog: string; at: number | undefined }) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) collectBaseTables(x, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (o.type === 'BASE_TABLE' && typeof o.table_name === 'string') {
    out({ name: o.table_name, schema: typeof o.schema_name === 'string' ? o.schema_name : '', catalog: typeof o.catalog_name === 'string' ? o.catalog_name : '', at: typeof o.query_location === 'number' && o.query_location < 2 ** 40 ? o.query_location : undefined });
  }
  for (const v of Object.values(o)) collectBaseTables(v, out);
}

/** Names the statement defines in WITH clauses, at any depth of DuckDB's parse tree. */
function collectCteNames(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const x of node) collectCteNames(x, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  const map = (o.cte_map as { map?: { key?: unknown }[] } | undefined)?.map;
  if (Array.isArray(map)) for (const m of map) if (typeof m.key === 'string') out.add(m.key.toLowerCase());
  for (const v of Object.values(o)) collectCteNames(v, out);
}

function namePosition(name: string, stmt: SelectStmt): number | undefined {
  const m = new RegExp(`\\b${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').exec(stmt.text);
  return m ? stmt.offset + m.index + 1 : undefined;
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
