/**
 * DDL: CREATE SOURCE / TABLE / MATERIALIZED VIEW / SINK and DROP. A created object gets its
 * runtime in the engine state and its entry in the (persisted) catalog; a new view is
 * backfilled from the current contents of what it reads before it joins the epoch loop.
 */
import { shardThreadsDefault } from '../parallel/remote.js';
import { batchFromRows, type Batch } from '../../common/column.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import { parseNumericTypmod, type Schema, type SqlType, type Value } from '../../common/types.js';
import { lex, relationsOf, type Options, type Statement } from '../../parser/index.js';
import { KIND_LABEL, type CatalogEntry, type ModelEntry, type SinkEntry, type SourceEntry, type TableEntry, type ViewEntry } from '../../catalog/index.js';
import { planQuery, scannedRelations, lookupTableRelations, uniqueKey, type PlannedQuery } from '../../planner/index.js';
import type { DeadLetter, SinkConnector, SinkContext, SourceConnector, TableLoader } from '../../connectors/api.js';
import { tableLoaderFactories, validateTableOptions } from '../../connectors/table-loaders.js';
import { localPathOptions, sinkFactories, sourceFactories, validateSinkOptions, validateSourceOptions } from '../../connectors/index.js';
import { Pipeline } from '../pipeline.js';
import { rescaleState } from '../rescale.js';
import { createDiscardStore, createViewStore, type Retention } from '../view-store.js';
import { createTableSql, duckError, fromDuck, quoteIdent } from '../duck.js';
import { quoteLiteral } from '../../connectors/table/quoting.js';
import type { EpochRunner } from './epoch-runner.js';
import type { LookupService } from './lookup-service.js';
import type { AdHocQueries } from './select.js';
import { batchTime, emptyViewStore, type EngineState, type SinkRt, type SourceRt, type StatementResult, type TableRt, type ViewRt } from './state.js';
import { checkParallelism } from './settings.js';
import { checkpointNow, restoreOutbox, restoreView, restoreWatermark } from './commit.js';
import { openSink, stopDelivery } from './outbox.js';
import { replaceContents, scheduleRefresh, stopRefresh } from './table-refresh.js';
import { compileWatermark, lateInputSchema } from './watermark.js';
import { PidRateEstimator } from './rate-controller.js';
import { viewRetention } from './retention.js';
import { OptionReader } from '../../connectors/option-reader.js';
import { modelSchema, ModelState, ModelTrainOp } from '../ml/model.js';
import { modelSpec } from '../ml/spec.js';
import { renameObject } from './rename.js';
import type { TimeZone } from '../../common/time-zone.js';
import { release } from '../parallel/parked.js';

type Stmt<K extends Statement['kind']> = Extract<Statement, { kind: K }>;

/** Rows of a table per part of a view's backfill: large enough to run columnar, small enough to bound memory and show progress. */
const BACKFILL_ROWS = 65_536;

/** The WITH options the engine takes from every source (the rest go to its connector). */
const ENGINE_SOURCE_OPTIONS = ['max_rate'];

/** Splits a source's options: `max_rate` (rows/s, checked) for the engine, the rest for the connector. */
function engineSourceOptions(all: Options): { options: Options; maxRate: number | null } {
  const options: Record<string, string> = {};
  const mine: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) (ENGINE_SOURCE_OPTIONS.includes(k) ? mine : options)[k] = v;
  const maxRate = new OptionReader(all.connector ?? 'source', mine).positiveNumber('max_rate') ?? null;
  return { options, maxRate };
}

/**
 * A CREATE statement with its top-level WITH (…) clause written anew from `options` (added at
 * the end when it had none). Values are written as string literals, which the parser reads as
 * it reads numbers.
 */
export function withOptionsClause(sql: string, options: Options): string {
  const toks = lex(sql);
  const rendered = `WITH (${Object.entries(options).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join(', ')})`;
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind === 'symbol' && t.value === '(') depth++;
    else if (t.kind === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'ident' && t.value === 'with' && toks[i + 1]?.value === '(') {
      let d = 0;
      for (let j = i + 1; j < toks.length; j++) {
        if (toks[j]!.kind === 'symbol' && toks[j]!.value === '(') d++;
        else if (toks[j]!.kind === 'symbol' && toks[j]!.value === ')' && --d === 0) return sql.slice(0, t.start) + rendered + sql.slice(toks[j]!.end);
      }
    }
  }
  return `${sql.trimEnd()} ${rendered}`;
}

/**
 * A CREATE MATERIALIZED VIEW statement with its WITH (…) clause (the one before AS) written anew
 * from `options`, or taken out when there are none.
 */
function withViewOptions(sql: string, options: Options): string {
  const toks = lex(sql);
  const as = toks.findIndex((t) => t.kind === 'ident' && t.value === 'as');
  if (as < 0) return sql;
  const rendered = Object.keys(options).length === 0 ? '' : `WITH (${Object.entries(options).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join(', ')}) `;
  const withAt = toks.findIndex((t, i) => i < as && t.kind === 'ident' && t.value === 'with' && toks[i + 1]?.value === '(');
  if (withAt < 0) return sql.slice(0, toks[as]!.start) + rendered + sql.slice(toks[as]!.start);
  return sql.slice(0, toks[withAt]!.start) + rendered + sql.slice(toks[as]!.start);
}

/** A CREATE statement with the object's name (the name after the object kind) replaced by `name`. */
export function renamedStatement(sql: string, name: string): string {
  const toks = lex(sql);
  let i = toks.findIndex((t) => t.kind === 'ident' && ['source', 'table', 'view', 'sink', 'model'].includes(t.value));
  if (i < 0) return sql;
  i++;
  if (toks[i]?.value === 'if' && toks[i + 1]?.value === 'not' && toks[i + 2]?.value === 'exists') i += 3;
  const first = toks[i]!;
  let last = first;
  while (toks[i + 1]?.value === '.' && toks[i + 2]) {
    i += 2;
    last = toks[i]!;
  }
  const written = /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
  return sql.slice(0, first.start) + written + sql.slice(last.end);
}

/** The parts DDL works with besides the state. */
export interface DdlParts {
  readonly epochs: EpochRunner;
  readonly lookup: LookupService;
  readonly adHoc: AdHocQueries;
}

/** The DDL statement handlers. */
export class Ddl {
  constructor(
    private readonly state: EngineState,
    private readonly parts: DdlParts,
  ) {}

  /**
   * ALTER SOURCE name SET (max_rate = n) / RESET (max_rate): the engine's rate limit changes from
   * the next epoch on, and the stored statement with it (a restart keeps it). Other options are
   * the connector's, fixed while it runs.
   */
  async alterSet(stmt: Stmt<'alter_set'>): Promise<StatementResult> {
    const { state } = this;
    const e = state.catalog.get(stmt.name);
    const label = KIND_LABEL[stmt.objectKind];
    if (!e || e.kind !== stmt.objectKind) throw new SluiceError('undefined_table', `${label} "${stmt.name}" does not exist`, { position: stmt.pos });
    if (e.kind === 'view') return this.alterViewSet(e, stmt);
    const rt = e.kind === 'source' ? state.sources.get(e.name) : undefined;
    for (const key of Object.keys(stmt.options)) {
      if (!rt || !ENGINE_SOURCE_OPTIONS.includes(key)) {
        throw new SluiceError('not_supported', `option "${key}" of ${label} "${stmt.name}" cannot be changed while it runs`, {
          position: stmt.pos,
          hint: rt ? `ALTER SOURCE … SET changes ${ENGINE_SOURCE_OPTIONS.join(', ')}; for the rest, drop the source and create it again (SHOW CREATE SOURCE ${stmt.name} gives its statement).` : `Drop it and create it again (SHOW CREATE gives its statement).`,
        });
      }
    }
    const entry = rt!.entry;
    const options: Record<string, string> = { ...entry.options };
    for (const [k, v] of Object.entries(stmt.options)) {
      if (v === null) delete options[k];
      else options[k] = v;
    }
    const { maxRate } = engineSourceOptions(options);
    const updated: SourceEntry = { ...entry, options, sql: withOptionsClause(entry.sql, options) };
    rt!.maxRate = maxRate;
    rt!.entry = updated;
    state.catalog.replace(updated);
    return { kind: 'command', tag: 'ALTER_SOURCE' };
  }

  /**
   * ALTER MATERIALIZED VIEW name SET (late_rows = 'keep' | 'drop', retention = '…') / RESET (…):
   * from the next epoch the view keeps its late rows in `<view>_late` (made now) or stops keeping
   * them (the table goes, as when the view is dropped); a new retention applies at once to the
   * rows it holds (retention.ts). The stored statement changes with it. A view's other
   * properties are its query's: refused, with the way to change them.
   */
  private async alterViewSet(e: ViewEntry, stmt: Stmt<'alter_set'>): Promise<StatementResult> {
    const { state } = this;
    const rt = state.views.get(e.name)!;
    for (const key of Object.keys(stmt.options)) {
      if (key !== 'late_rows' && key !== 'retention' && key !== 'parallelism') {
        throw new SluiceError('not_supported', `option "${key}" of materialized view "${e.name}" cannot be changed`, {
          position: stmt.pos,
          hint: `ALTER MATERIALIZED VIEW … SET changes late_rows ('keep' | 'drop'), retention ('<interval>') and parallelism (N); a view has no other options. To change its query, create it again (SHOW CREATE MATERIALIZED VIEW ${e.name} gives its statement).`,
        });
      }
    }
    const parallelism = stmt.options.parallelism === undefined ? rt.pipeline.parallelism : stmt.options.parallelism === null ? state.settings.parallelism : checkParallelism(stmt.options.parallelism);
    const late = stmt.options.late_rows === undefined ? (rt.keepLate ? 'keep' : 'drop') : (stmt.options.late_rows ?? 'drop');
    if (late !== 'keep' && late !== 'drop') throw new SluiceError('invalid_parameter', `late_rows must be 'keep' or 'drop', not '${late}'`, { position: stmt.pos });
    const retentionText = stmt.options.retention === undefined ? rt.retention?.text : (stmt.options.retention ?? undefined);
    const retention = viewRetention(e.name, retentionText, rt.planned, state.catalog, stmt.pos);
    const keep = late === 'keep';
    if (keep && !rt.keepLate) {
      const lateSchema = lateInputSchema(rt.planned);
      if (!lateSchema) throw new SluiceError('invalid_parameter', "late_rows = 'keep' needs a windowed aggregate over an input with a watermark", { position: stmt.pos });
      await state.duck.run(createTableSql(`${e.name}_late`, [...lateSchema, { name: 'reason', type: 'varchar' }]).replace(/^CREATE TABLE/, 'CREATE OR REPLACE TABLE'));
    } else if (!keep && rt.keepLate) {
      await state.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name + '_late')}`);
      rt.pendingLate.length = 0;
    }
    // Checked and built before anything changes: a view whose state cannot move is refused as it is.
    const rescaled = parallelism !== rt.pipeline.parallelism ? await rescaledPipeline(rt, parallelism) : null;
    rt.keepLate = keep;
    if (stmt.options.retention !== undefined) this.replaceStore(rt, retention);
    if (rescaled) {
      rt.pipeline.dispose();
      rt.pipeline = rescaled;
      // The next checkpoint writes the view whole, at its new parallelism.
      rt.ckptFile = null;
      rt.dirty = true;
    }
    const options: Record<string, string> = {};
    if (keep) options.late_rows = 'keep';
    if (retention) options.retention = retention.text;
    // The parallelism is the catalog's (recorded beside the statement), not the statement's. A
    // change of parallelism alone keeps the statement as it is: recovery compares it with the
    // checkpoint's, and one that differed would have the view recomputed from its inputs.
    const rewrite = stmt.options.late_rows !== undefined || stmt.options.retention !== undefined;
    const updated: ViewEntry = { ...e, sql: rewrite ? withViewOptions(e.sql, options) : e.sql, parallelism };
    rt.entry = updated;
    state.catalog.replace(updated);
    // The new statement and the state it describes are checkpointed together (a restart restores
    // them; one before that checkpoint moves the older state to the new parallelism).
    if (stmt.options.retention !== undefined || rescaled) await checkpointNow(state);
    return { kind: 'command', tag: 'ALTER_MATERIALIZED_VIEW' };
  }

  /**
   * A view's store rebuilt for a new retention, holding the rows it held: between retaining
   * stores their batch times go along; rows of a store without retention are stamped now.
   */
  private replaceStore(rt: ViewRt, retention: Retention | null): void {
    const old = rt.store;
    const store = emptyViewStore(rt.entry, rt.planned, retention);
    if (rt.retention && retention) store.state.restore(old.state.snapshot());
    else {
      store.expire?.(batchTime(this.state), null);
      const b = old.snapshotBatch();
      if (b.length) store.apply(b);
    }
    store.expire?.(batchTime(this.state), rt.wm);
    rt.store = store;
    rt.retention = retention;
    rt.version++;
    rt.dirty = true;
  }

  /** ALTER … RENAME TO: the object and everything that reads it follow the new name (rename.ts). */
  async rename(stmt: Stmt<'alter_rename'>): Promise<StatementResult> {
    return renameObject(this.state, this.parts, stmt);
  }

  /** COMMENT ON: the object (and column) must exist; the comment is kept in the catalog. */
  comment(stmt: Stmt<'comment'>): StatementResult {
    const { state } = this;
    const e = state.catalog.get(stmt.name);
    if (stmt.objectKind === 'column') {
      if (!e || e.kind === 'sink') throw new SluiceError('undefined_table', `relation "${stmt.name}" does not exist`, { position: stmt.pos });
      if (!e.schema.some((f) => f.name === stmt.column)) {
        throw new SluiceError('undefined_column', `column "${stmt.column}" of relation "${stmt.name}" does not exist`, { position: stmt.pos });
      }
    } else if (!e || e.kind !== stmt.objectKind) {
      throw new SluiceError('undefined_table', `${KIND_LABEL[stmt.objectKind]} "${stmt.name}" does not exist`, { position: stmt.pos });
    }
    state.catalog.setComment(stmt.name, stmt.column, stmt.text === '' ? null : stmt.text);
    return { kind: 'command', tag: 'COMMENT' };
  }

  /**
   * CREATE INDEX: checked as PostgreSQL checks it (the relation is a table or a materialized
   * view, the key columns exist, the name is free among relations and indexes; a name left out
   * is made as PostgreSQL makes it), then kept in the catalog. Nothing in sluice reads it: a
   * table is looked up by its primary key, a view keeps its own state, and an ad-hoc query
   * scans DuckDB; so an index changes no result, as in PostgreSQL. A UNIQUE index would
   * constrain the rows: it is taken only on a table's primary key columns, which are unique
   * already, and refused (0A000) elsewhere.
   */
  createIndex(stmt: Stmt<'create_index'>): StatementResult {
    const { catalog } = this.state;
    const rel = catalog.get(stmt.table);
    if (!rel || rel.kind === 'sink') throw new SluiceError('undefined_table', `relation "${stmt.table}" does not exist`, { position: stmt.tablePos });
    if (rel.kind === 'source') {
      throw new SluiceError('wrong_object_type', `cannot create index on relation "${stmt.table}"`, {
        position: stmt.tablePos,
        hint: 'A source is read as it arrives and keeps no rows to index; index a materialized view over it.',
      });
    }
    const columns: string[] = [];
    for (const k of stmt.keys) {
      if (k.column === null) continue;
      if (!rel.schema.some((f) => f.name === k.column)) throw new SluiceError('undefined_column', `column "${k.column}" does not exist`, { position: k.pos });
      columns.push(k.column);
    }
    if (stmt.unique) {
      const pk = rel.kind === 'table' ? rel.primaryKey : [];
      const onKey = pk.length > 0 && stmt.keys.every((k) => k.column !== null) && pk.every((c) => columns.includes(c));
      if (!onKey) {
        throw new SluiceError('not_supported', 'CREATE UNIQUE INDEX is supported only over a table\'s primary key columns', {
          position: stmt.pos,
          hint: 'Declare the unique columns as the table\'s PRIMARY KEY: a table enforces its key (an insert with an existing key replaces the row).',
        });
      }
    }
    const name = stmt.name ?? this.indexName(stmt.table, stmt.keys.map((k) => k.column ?? 'expr'));
    const skip = this.ensureNew(name, stmt.ifNotExists);
    if (skip) return { ...skip, tag: 'CREATE INDEX' };
    catalog.addIndex({ name, table: stmt.table, keys: stmt.keys.map((k) => k.text), unique: stmt.unique, sql: stmt.text, createdAt: ++this.state.order });
    return { kind: 'command', tag: 'CREATE INDEX' };
  }

  /** PostgreSQL's name for an unnamed index: table_col1_col2_idx, cut to 63 bytes, numbered when taken. */
  private indexName(table: string, cols: readonly string[]): string {
    const { catalog } = this.state;
    for (let n = 0; ; n++) {
      const suffix = n === 0 ? '_idx' : `_idx${n}`;
      let base = `${table}_${cols.join('_')}`;
      while (Buffer.byteLength(base + suffix) > 63) base = base.slice(0, -1);
      const name = base + suffix;
      if (!catalog.get(name) && !catalog.getIndex(name)) return name;
    }
  }

  /** DROP INDEX: every name must be an index (42704 otherwise, or a notice with IF EXISTS). */
  dropIndex(stmt: Stmt<'drop_index'>): StatementResult {
    const { catalog } = this.state;
    const notices: string[] = [];
    for (const { name, pos } of stmt.names) {
      if (catalog.getIndex(name)) continue;
      if (catalog.get(name)) throw new SluiceError('wrong_object_type', `"${name}" is not an index`, { position: pos, hint: `DROP ${KIND_LABEL[catalog.get(name)!.kind].toUpperCase()} drops it.` });
      if (!stmt.ifExists) throw new SluiceError('undefined_object', `index "${name}" does not exist`, { position: pos });
      notices.push(`index "${name}" does not exist, skipping`);
    }
    for (const { name } of stmt.names) if (catalog.getIndex(name)) catalog.removeIndex(name);
    return { kind: 'command', tag: 'DROP INDEX', ...(notices.length ? { notice: notices.join('\n') } : {}) };
  }

  /** CREATE SOURCE: validates the connector options, starts the connector, makes `<name>_errors`. */
  async createSource(stmt: Stmt<'create_source'>): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    const { state } = this;
    const schema: Schema = columnsSchema(stmt.columns);
    const connectorName = stmt.options.connector;
    if (!connectorName) throw new SluiceError('invalid_parameter', `source "${stmt.name}" needs a connector`, { hint: `Add WITH (connector = '${Object.keys(sourceFactories).join("' | '")}', …).` });
    const { options, maxRate } = engineSourceOptions(stmt.options);
    validateSourceOptions(connectorName, options, schema);
    this.checkPaths('source', stmt.name, connectorName, options);
    const entry: SourceEntry = { kind: 'source', name: stmt.name, sql: stmt.text, createdAt: ++state.order, schema, options: stmt.options, watermark: stmt.watermark };
    const dead = { pending: [] as DeadLetter[], count: 0 };
    const connector = sourceConnector(state, stmt.name, schema, stmt.options, dead);
    const saved = state.recovering?.manifest.sources[stmt.name];
    const rt: SourceRt = {
      entry, connector, retained: [], dead, rowsTotal: saved?.rowsTotal ?? 0, wm: compileWatermark(state.catalog, stmt.name, schema, stmt.watermark), version: 0, position: saved?.position ?? null,
      maxRate, pid: new PidRateEstimator(() => state.settings.batchIntervalMs, undefined, () => state.settings.backpressureTarget), rate: null, lastLimit: Infinity,
    };
    dead.count = saved?.deadLetters ?? 0;
    restoreWatermark(rt.wm, saved?.wm);
    // At recovery a source starts past the epochs being replayed (engine.ts restore()).
    const resumeAt = state.recovering?.resumeAt;
    await connector.start((resumeAt && Object.hasOwn(resumeAt, stmt.name) ? (resumeAt[stmt.name] as typeof rt.position) : null) ?? saved?.position ?? null);
    rt.position = connector.currentPosition?.() ?? rt.position;
    const errorsTable = `${stmt.name}_errors`;
    await state.duck.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(errorsTable)} (position VARCHAR, raw VARCHAR, error VARCHAR, received_at TIMESTAMP)`);
    state.sources.set(stmt.name, rt);
    state.catalog.add(entry);
    await checkpointNow(state);
    return { kind: 'command', tag: 'CREATE_SOURCE' };
  }

  /**
   * CREATE TABLE: a DuckDB table, filled by DML or loaded by a connector (its first snapshot
   * enters the next epoch as inserts; a refresh interval reloads it).
   */
  async createTable(stmt: Stmt<'create_table'>, replaying: boolean): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    if (stmt.watermark && !stmt.appendOnly) {
      throw new SluiceError('not_supported', `a table with a WATERMARK must be APPEND ONLY`, { hint: 'Add APPEND ONLY after the column list: late rows are only well defined for data that is never updated.' });
    }
    const { state } = this;
    const schema: Schema = columnsSchema(stmt.columns);
    const loaded = stmt.options.connector ? await this.loadTable(stmt, schema) : null;
    const loader = loaded?.loader ?? null;
    const initial = loaded?.initial ?? [];
    const sqlText = createTableSql(stmt.name, schema, stmt.primaryKey);
    // A DML table keeps its rows in the DuckDB file. A loaded table is reloaded on restart: with
    // a checkpoint its views hold the old contents, so the reload is a change against them;
    // without one, it starts over.
    const keep = replaying && (!loader || state.recovering !== null);
    await state.duck.run(keep ? sqlText.replace(/^CREATE TABLE/, 'CREATE TABLE IF NOT EXISTS') : sqlText.replace(/^CREATE TABLE/, 'CREATE OR REPLACE TABLE'));
    if (keep) await this.upgradeTimestamptz(stmt.name, schema);
    const entry: TableEntry = { kind: 'table', name: stmt.name, sql: stmt.text, createdAt: ++state.order, schema, primaryKey: stmt.primaryKey, appendOnly: stmt.appendOnly, options: stmt.options, watermark: stmt.watermark };
    const rt: TableRt = { entry, pending: [], wm: compileWatermark(state.catalog, stmt.name, schema, stmt.watermark), loader, refreshTimer: null, lastLoadError: null };
    restoreWatermark(rt.wm, state.recovering?.manifest.tables[stmt.name]?.wm);
    if (loader) await replaceContents(state, rt, initial);
    state.tables.set(stmt.name, rt);
    state.catalog.add(entry);
    await checkpointNow(state);
    if (loader?.refreshMs) scheduleRefresh(state, rt, loader.refreshMs);
    return { kind: 'command', tag: 'CREATE_TABLE' };
  }

  /**
   * A table kept from a data dir made before TIMESTAMPTZ existed holds a TIMESTAMPTZ column as
   * TIMESTAMP (the same UTC µs): the column becomes TIMESTAMPTZ, converted on the engine's
   * connection, whose zone is UTC, so every value stays the instant it was.
   */
  private async upgradeTimestamptz(table: string, schema: Schema): Promise<void> {
    const { state } = this;
    for (const f of schema) {
      if (f.type !== 'timestamptz') continue;
      const r = await state.duck.query(`SELECT data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(table)} AND column_name = ${quoteLiteral(f.name)}`);
      if (r.rows[0]?.[0] !== 'TIMESTAMP') continue;
      try {
        await state.duck.run(`ALTER TABLE main.${quoteIdent(table)} ALTER COLUMN ${quoteIdent(f.name)} TYPE TIMESTAMPTZ`);
        state.log(`table ${table}: column ${f.name} upgraded from TIMESTAMP to TIMESTAMPTZ (its values are the same instants)`);
      } catch (e) {
        state.log(`table ${table}: column ${f.name} stays TIMESTAMP in DuckDB (${toSluiceError(e).message}); its values are still read as instants`);
      }
    }
  }

  /** Opens a connector table's loader and takes its first snapshot (closing it again on failure). */
  private async loadTable(stmt: Stmt<'create_table'>, schema: Schema): Promise<{ loader: TableLoader; initial: Value[][] }> {
    const { state } = this;
    const connector = stmt.options.connector!;
    validateTableOptions(connector, stmt.options, schema);
    this.checkPaths('table', stmt.name, connector, stmt.options);
    const loader = tableLoaderFactories[connector]!({
      name: stmt.name,
      schema,
      options: stmt.options,
      dataDir: state.dataDir,
      query: async (sql) => {
        const progress = state.progress.start('table_load', stmt.name, 'rows');
        try {
          const { rows } = await state.duck.queryStreaming(sql, (n) => progress.update(n));
          progress.finish();
          return rows;
        } catch (e) {
          progress.finish(toSluiceError(e).message);
          throw e;
        }
      },
      log: (m) => state.log(`table ${stmt.name}: ${m}`),
    });
    try {
      return { loader, initial: await loader.snapshot() };
    } catch (e) {
      await loader.close().catch(() => undefined);
      throw e;
    }
  }

  /** CREATE MATERIALIZED VIEW: plans the query, builds its pipeline and store, and backfills it. */
  async createView(stmt: Stmt<'create_view'>, sql: string, zone: TimeZone): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    for (const k of Object.keys(stmt.options)) {
      if (k !== 'late_rows' && k !== 'retention' && k !== 'parallelism') throw new SluiceError('invalid_parameter', `unknown view option "${k}"`, { hint: "Views take WITH (late_rows = 'keep' | 'drop', retention = '<interval>', parallelism = N)." });
    }
    const lateOpt = stmt.options.late_rows ?? 'drop';
    if (lateOpt !== 'keep' && lateOpt !== 'drop') throw new SluiceError('invalid_parameter', `late_rows must be 'keep' or 'drop', not '${lateOpt}'`);
    const { state } = this;
    const lookupStrategy = await this.parts.lookup.strategies(relationsOf(stmt.query));
    const planned = planQuery(stmt.query, state.catalog, sql, { emitOnWindowClose: stmt.emitOnWindowClose, windowPanes: state.settings.windowPanes, lookupStrategy, zone });
    const retention = viewRetention(stmt.name, stmt.options.retention, planned, state.catalog);
    // Cluster mode: a view over a Kafka source runs across the members (cluster.ts), or is refused.
    const clusterSource = kafkaSourceOf(state, planned);
    if (clusterSource) state.cluster!.check(stmt.name, planned.physical);
    refuseOverClusterView(state, planned, `view "${stmt.name}"`);
    // A relation's columns have distinct names (PostgreSQL: 42701). Views made before this
    // check existed still recover.
    if (!state.recovering) distinctColumns(planned.optimized.schema);
    // Drain queued table changes so the backfill snapshot and the changelog never overlap.
    // Sources are not polled: what they have now belongs to the next epoch, which the new
    // view will see. (At recovery the queued changes come after the catalog; nothing to drain.)
    if (!state.recovering) await this.parts.epochs.run(Date.now(), false);
    const schema = planned.optimized.schema;
    const dependsOn = [...new Set([...scannedRelations(planned.optimized), ...planned.models])];
    const parallelism = viewParallelism(state, stmt.options);
    const entry: ViewEntry = { kind: 'view', name: stmt.name, sql: stmt.text, createdAt: ++state.order, schema, dependsOn, appendOnly: planned.optimized.appendOnly, timeZone: zone.name, parallelism };
    const outputs: Batch[] = [];
    const pipeline = new Pipeline(stmt.name, planned.physical, (b) => outputs.push(b), undefined, { parallelism });
    const rt: ViewRt = {
      entry, model: null, planned, pipeline, store: emptyViewStore(entry, planned, retention), retention, outputs, subscribers: new Set(), onDrop: new Set(),
      rowErrors: 0, failed: null, wm: null, lateRows: 0, keepLate: lateOpt === 'keep', pendingLate: [], createdAtMs: Date.now(), version: 0, ckptFile: null, ckptChain: null, dirty: true,
    };
    const lateSchema = lateInputSchema(planned);
    if (rt.keepLate) {
      if (!lateSchema) throw new SluiceError('invalid_parameter', "late_rows = 'keep' needs a windowed aggregate over an input with a watermark");
      await state.duck.run(createTableSql(`${stmt.name}_late`, [...lateSchema, { name: 'reason', type: 'varchar' }]).replace(/^CREATE TABLE/, 'CREATE OR REPLACE TABLE'));
    }
    if (clusterSource) {
      // Its store fills from the cluster's changes topic: at recovery from where the checkpoint
      // of its store (same incarnation) stood in that topic, else from the topic's start.
      const saved = state.recovering?.manifest.views[stmt.name]?.cluster;
      const from = saved && saved.incarnation === state.cluster!.incarnationOf(stmt.name) && restoreView(state, rt) ? saved : null;
      if (state.recovering) state.log(from ? `RECOVERY: cluster view ${stmt.name} restored from its checkpoint, at offset ${Object.values(from.offsets).reduce((a, o) => a + o, 0)} of its changes topic (summed over partitions); read on from there` : `RECOVERY: cluster view ${stmt.name} has no checkpoint of this incarnation; its changes are read from the start`);
      rt.cluster = state.cluster!.attach({
        name: stmt.name, plan: planned.physical, schema, key: uniqueKey(planned.optimized) ?? [], zone,
        source: { name: clusterSource.name, schema: clusterSource.schema, options: clusterSource.options },
        deadLetter: (d) => {
          const dead = state.sources.get(clusterSource.name)?.dead;
          if (!dead) return;
          dead.pending.push(d);
          dead.count++;
        },
      }, from);
    } else if (!restoreView(state, rt)) {
      if (state.recovering) state.log(`RECOVERY: view ${stmt.name} has no checkpointed state; it is recomputed from its inputs`);
      await this.backfill(rt, dependsOn);
    }
    state.views.set(stmt.name, rt);
    state.catalog.add(entry);
    await checkpointNow(state);
    return { kind: 'command', tag: 'CREATE_MATERIALIZED_VIEW' };
  }

  /**
   * CREATE MODEL: plans the training query (append-only, or refused), reads the model's options
   * against its columns, and runs the model like a view whose root is its trainer. Rows the
   * query already has (a table's contents) are its first training batch.
   */
  async createModel(stmt: Stmt<'create_model'>, sql: string): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    const { state } = this;
    const lookupStrategy = await this.parts.lookup.strategies(relationsOf(stmt.query));
    const planned = planQuery(stmt.query, state.catalog, sql, { windowPanes: state.settings.windowPanes, lookupStrategy });
    if (!planned.optimized.appendOnly) {
      throw new SluiceError('not_supported', `the training query of model "${stmt.name}" is not append-only: a model learns from new rows and cannot unlearn updated or deleted ones`, {
        position: stmt.queryPos,
        hint: 'Train on a source, an APPEND ONLY table, or a view over them without aggregates, joins of updating inputs, ORDER BY … LIMIT or DISTINCT.',
      });
    }
    const querySchema = planned.optimized.schema;
    const columnPos = (col: string): number | undefined => {
      const m = new RegExp(`(^|[^A-Za-z0-9_"])"?${col.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?(?![A-Za-z0-9_])`, 'i').exec(stmt.queryText);
      return m ? stmt.queryPos + m.index + m[1]!.length : undefined;
    };
    const spec = modelSpec(stmt.name, stmt.options, stmt.optionPositions, querySchema, columnPos);
    const model = new ModelState(stmt.name, spec);
    if (!state.recovering) await this.parts.epochs.run(Date.now(), false);
    const schema = modelSchema(spec);
    const dependsOn = [...new Set([...scannedRelations(planned.optimized), ...planned.models])];
    const entry: ModelEntry = {
      kind: 'model', name: stmt.name, sql: stmt.text, createdAt: ++state.order, schema, dependsOn, appendOnly: false, model, modelType: spec.type, features: spec.features,
    };
    const outputs: Batch[] = [];
    const pipeline = new Pipeline(stmt.name, planned.physical, (b) => outputs.push(b), (id) => new ModelTrainOp(id, model));
    const rt: ViewRt = {
      entry, model, planned, pipeline, store: createViewStore(schema, false, [0]), retention: null, outputs, subscribers: new Set(), onDrop: new Set(),
      rowErrors: 0, failed: null, wm: null, lateRows: 0, keepLate: false, pendingLate: [], createdAtMs: Date.now(), version: 0, ckptFile: null, ckptChain: null, dirty: true,
    };
    if (!restoreView(state, rt)) {
      if (state.recovering) state.log(`RECOVERY: model ${stmt.name} has no checkpointed state; it is retrained from its inputs`);
      rt.store.apply(model.rows(1));
      try {
        await this.backfill(rt, dependsOn);
      } catch (e) {
        // Training on the existing rows failed (a non-finite parameter): the model exists, stopped.
        rt.failed = toSluiceError(e);
        rt.outputs.length = 0;
        state.log(`model ${stmt.name} stopped: ${rt.failed.message}`);
      }
    }
    state.views.set(stmt.name, rt);
    state.catalog.add(entry);
    await checkpointNow(state);
    return { kind: 'command', tag: 'CREATE_MODEL' };
  }

  /**
   * Backfill: the current contents of the tables and views a new view reads, as its first delta.
   * Tables are streamed from DuckDB (on a connection of their own, so lookups the pipeline makes
   * meanwhile do not cut the stream) in parts of BACKFILL_ROWS rows; progress is rows done of the
   * inputs' total.
   */
  private async backfill(rt: ViewRt, dependsOn: readonly string[], onOutput?: (b: Batch) => void): Promise<void> {
    const { state } = this;
    const lookups = lookupTableRelations(rt.planned.optimized);
    dependsOn = [...dependsOn.filter((r) => lookups.has(r)), ...dependsOn.filter((r) => !lookups.has(r))];
    let total = 0;
    for (const rel of dependsOn) {
      if (state.tables.has(rel)) total += Number((await state.duck.run(`SELECT count(*) FROM ${quoteIdent(rel)}`)).getRows()[0]![0]);
      total += state.views.get(rel)?.store.rowCount ?? 0;
    }
    const progress = state.progress.start('backfill', rt.entry.name, 'rows', total);
    let done = 0;
    const conn = await state.duck.instance.connect();
    async function* parts(): AsyncGenerator<Map<string, Batch[]>> {
      for (const rel of dependsOn) {
        const v = state.views.get(rel);
        if (v) {
          const b = v.store.snapshotBatch();
          yield new Map([[rel, [b]]]);
          progress.update((done += b.length));
        }
        const t = state.tables.get(rel);
        if (!t) continue;
        const types = t.entry.schema.map((f) => f.type);
        let result;
        try {
          result = await conn.stream(`SELECT * FROM ${quoteIdent(rel)}`);
        } catch (e) {
          throw duckError(e);
        }
        let rows: Value[][] = [];
        for (;;) {
          const chunk = await result.fetchChunk();
          if (chunk === null || chunk.rowCount === 0) break;
          for (const r of chunk.getRows()) rows.push(r.map((x, i) => fromDuck(x, types[i]!)));
          if (rows.length >= BACKFILL_ROWS) {
            yield new Map([[rel, [batchFromRows(types, rows)]]]);
            progress.update((done += rows.length));
            rows = [];
          }
        }
        if (rows.length > 0) {
          yield new Map([[rel, [batchFromRows(types, rows)]]]);
          progress.update((done += rows.length));
        }
      }
    }
    try {
      await this.parts.epochs.backfill(rt, parts(), onOutput);
      progress.finish();
    } catch (e) {
      progress.finish(toSluiceError(e).message);
      throw e;
    } finally {
      conn.disconnectSync();
    }
  }

  /**
   * CREATE SINK: a connector writing every epoch's delta of a relation (upserts by its key, if
   * any). A new sink is opened at once, so an unreachable destination or one that cannot be
   * created fails the statement; a sink restored from the catalog opens before its first write,
   * so a destination that is down does not stop the engine from starting.
   *
   * CREATE SINK … AS query: the query is planned and run for the sink alone, like a view whose
   * store keeps no rows (sinkQuery); its current result is the sink's first delta.
   */
  async createSink(stmt: Stmt<'create_sink'>, sql: string, replaying: boolean): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    const { state } = this;
    const connectorName = stmt.options.connector;
    if (!connectorName) throw new SluiceError('invalid_parameter', `sink "${stmt.name}" needs a connector`, { hint: `Add WITH (connector = '${Object.keys(sinkFactories).join("' | '")}', …).` });
    let schema: Schema;
    let appendOnly: boolean;
    let key: readonly number[] | null = null;
    let dependsOn: readonly string[];
    let planned: PlannedQuery | null = null;
    if (stmt.query) {
      const lookupStrategy = await this.parts.lookup.strategies(relationsOf(stmt.query.query));
      planned = planQuery(stmt.query.query, state.catalog, sql, { emitOnWindowClose: stmt.query.emitOnWindowClose, windowPanes: state.settings.windowPanes, lookupStrategy });
      schema = planned.optimized.schema;
      // A sink's rows are records with one field per column (JSON objects, table rows).
      if (!state.recovering) distinctColumns(schema);
      appendOnly = planned.optimized.appendOnly;
      key = uniqueKey(planned.optimized);
      dependsOn = [...new Set([...scannedRelations(planned.optimized), ...planned.models])];
    } else {
      const from = state.catalog.relation(stmt.from!);
      schema = from.schema;
      appendOnly = from.kind === 'source' || (from.kind === 'table' && from.appendOnly) || (from.kind === 'view' && from.appendOnly);
      if (from.kind === 'view') key = uniqueKey(state.views.get(from.name)!.planned.optimized);
      else if (from.kind === 'table' && from.primaryKey.length) key = from.primaryKey.map((c) => schema.findIndex((f) => f.name === c));
      dependsOn = [from.name];
    }
    validateSinkOptions(connectorName, stmt.options, schema);
    this.checkPaths('sink', stmt.name, connectorName, stmt.options);
    const primaryKey = key && key.length ? key.map((i) => schema[i]!.name) : undefined;
    const log = (m: string): void => state.log(`sink ${stmt.name}: ${m}`);
    const clusterView = stmt.from && state.views.get(stmt.from)?.cluster ? stmt.from : null;
    if (planned) refuseOverClusterView(state, planned, `sink "${stmt.name}"`);
    if (state.cluster && (clusterView || (planned && kafkaSourceOf(state, planned)))) {
      if (!clusterView || connectorName !== 'kafka') {
        throw new SluiceError('not_supported', `sink "${stmt.name}" cannot run in cluster mode: ${clusterView ? `only a Kafka sink can take the changes of cluster view "${clusterView}" (each member writes the keys it owns, in the transactions of its exchange partitions)` : 'its query reads a Kafka source, which the cluster\'s members read a partition each'}`, {
          hint: clusterView ? "Use WITH (connector = 'kafka', topic = '…', key = '<group columns>')." : 'Make the query a materialized view (a GROUP BY aggregate of the source) and sink it with CREATE SINK … FROM that view.',
        });
      }
    }
    const connector = clusterView
      ? clusterManagedSink(state, clusterView as string, { name: stmt.name, schema, options: stmt.options, appendOnly, primaryKey, log })
      : sinkFactories[connectorName]!({ name: stmt.name, schema, options: stmt.options, appendOnly, primaryKey, log });
    const entry: SinkEntry = { kind: 'sink', name: stmt.name, sql: stmt.text, createdAt: ++state.order, from: stmt.from, dependsOn, options: stmt.options };
    const query = planned ? this.sinkQuery(entry, planned, schema, appendOnly) : null;
    const rt: SinkRt = { entry, connector, schema, query, outbox: [], delivered: undefined, delivering: false, error: null, rowsWritten: 0, retryMs: 0, retryTimer: null, closed: false };
    if (!replaying) {
      // A new sink opens at once: an unreachable destination fails the statement. A restored
      // one opens at its first delivery (retried), so a destination that is down does not stop
      // the engine from starting.
      try {
        rt.delivered = await openSink(state, rt);
      } catch (e) {
        await connector.close().catch(() => undefined);
        throw e;
      }
    }
    let snapshot: Batch[] = [];
    if (query) {
      try {
        // As for a view: queued table changes go first, so the backfill and the changelog never overlap.
        if (!state.recovering) await this.parts.epochs.run(Date.now(), false);
        if (!restoreView(state, query)) {
          if (state.recovering) state.log(`RECOVERY: sink ${stmt.name} has no checkpointed state for its query; it is recomputed from its inputs (its current result is not sent again)`);
          await this.backfill(query, dependsOn, (b) => snapshot.push(b));
        }
      } catch (e) {
        await connector.close().catch(() => undefined);
        throw e;
      }
      if (state.recovering) snapshot = [];
    }
    restoreOutbox(state, rt);
    state.sinks.set(stmt.name, rt);
    state.catalog.add(entry);
    // The query's current result is the sink's delta of the epoch it was created at, committed with its state.
    await checkpointNow(state, snapshot.length ? new Map([[stmt.name, snapshot]]) : undefined);
    return { kind: 'command', tag: 'CREATE_SINK' };
  }

  /** The runtime of a sink's own query: a view's, under the sink's name, with a store that keeps no rows. */
  private sinkQuery(sink: SinkEntry, planned: PlannedQuery, schema: Schema, appendOnly: boolean): ViewRt {
    const entry: ViewEntry = { kind: 'view', name: sink.name, sql: sink.sql, createdAt: sink.createdAt, schema, dependsOn: sink.dependsOn, appendOnly };
    const outputs: Batch[] = [];
    return {
      entry, model: null, planned, pipeline: new Pipeline(sink.name, planned.physical, (b) => outputs.push(b)), store: createDiscardStore(schema), retention: null, outputs,
      subscribers: new Set(), onDrop: new Set(), rowErrors: 0, failed: null, wm: null, lateRows: 0, keepLate: false, pendingLate: [], createdAtMs: Date.now(),
      version: 0, ckptFile: null, ckptChain: null, dirty: true,
    };
  }

  /** DROP: refuses an object others depend on unless CASCADE, which drops them first. */
  async drop(stmt: Stmt<'drop'>): Promise<StatementResult> {
    const { state } = this;
    const e = state.catalog.get(stmt.name);
    const tag = `DROP_${stmt.objectKind === 'view' ? 'MATERIALIZED_VIEW' : stmt.objectKind.toUpperCase()}`;
    if (!e || e.kind !== stmt.objectKind) {
      if (stmt.ifExists) return { kind: 'command', tag, notice: `${KIND_LABEL[stmt.objectKind]} "${stmt.name}" does not exist, skipping` };
      const hint = e ? `"${stmt.name}" is a ${KIND_LABEL[e.kind]}; use DROP ${KIND_LABEL[e.kind].toUpperCase()}.` : undefined;
      throw new SluiceError('undefined_table', `${KIND_LABEL[stmt.objectKind]} "${stmt.name}" does not exist`, { position: stmt.pos, hint });
    }
    const deps = this.state.catalog.dependents(stmt.name);
    if (deps.length && !stmt.cascade) {
      throw new SluiceError('dependent_objects', `cannot drop ${KIND_LABEL[e.kind]} ${stmt.name} because other objects depend on it`, {
        hint: `${deps.map((d) => `${KIND_LABEL[d.kind]} ${d.name}`).join(', ')} depend(s) on it. Use DROP … CASCADE to drop them too.`,
      });
    }
    await this.dropEntry(e);
    await checkpointNow(state);
    return { kind: 'command', tag };
  }

  /** Drops an object after its dependents: stops its runtime, removes its DuckDB tables and catalog entry. */
  private async dropEntry(e: CatalogEntry): Promise<void> {
    const { state } = this;
    for (const d of state.catalog.dependents(e.name)) if (state.catalog.has(d.name)) await this.dropEntry(d);
    await this.parts.adHoc.unload(e.name);
    switch (e.kind) {
      case 'source': {
        const s = state.sources.get(e.name)!;
        await s.connector.stop();
        await s.connector.discard?.();
        release(s.retained.map((r) => r.batches));
        state.sources.delete(e.name);
        await state.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name + '_errors')}`);
        break;
      }
      case 'table': {
        const t = state.tables.get(e.name);
        if (t) await stopRefresh(t);
        state.tables.delete(e.name);
        await state.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name)}`);
        break;
      }
      case 'model':
      case 'view':
        if (state.views.get(e.name)?.keepLate) await state.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name + '_late')}`);
        for (const f of state.views.get(e.name)?.onDrop ?? []) f(`materialized view "${e.name}" was dropped`);
        state.views.get(e.name)?.pipeline.dispose();
        if (state.views.get(e.name)?.cluster) await state.cluster!.detach(e.name);
        state.views.delete(e.name);
        break;
      case 'sink': {
        const s = state.sinks.get(e.name)!;
        stopDelivery(s);
        await s.connector.close();
        state.cluster?.removeSink(e.name);
        s.query?.pipeline.dispose();
        state.sinks.delete(e.name);
        state.checkpointer?.dropSinkOutbox(e.name);
        break;
      }
    }
    state.catalog.remove(e.name);
  }

  /** Null when `name` is free; the skip notice for IF NOT EXISTS; otherwise 42710. */
  private ensureNew(name: string, ifNotExists: boolean): StatementResult | null {
    const existing = this.state.catalog.get(name);
    if (!existing) {
      // Indexes share the relations' names, as in PostgreSQL.
      if (!this.state.catalog.getIndex(name)) return null;
      if (ifNotExists) return { kind: 'command', tag: 'CREATE', notice: `relation "${name}" already exists, skipping` };
      throw new SluiceError('duplicate_table', `relation "${name}" already exists`, { hint: 'It is an index: DROP INDEX it first, or choose another name.' });
    }
    if (ifNotExists) return { kind: 'command', tag: 'CREATE', notice: `${KIND_LABEL[existing.kind]} "${name}" already exists, skipping` };
    throw new SluiceError('duplicate_object', `${KIND_LABEL[existing.kind]} "${name}" already exists`, { hint: `DROP it first, or use CREATE … IF NOT EXISTS.` });
  }

  /** Refuses (42501) a connector whose path options lead outside the allowed roots. */
  private checkPaths(kind: 'source' | 'sink' | 'table', name: string, connector: string, options: Options): void {
    for (const option of localPathOptions[kind][connector] ?? []) {
      const path = options[option];
      if (path !== undefined) this.state.paths.check(path, `${kind} "${name}"`);
    }
  }
}

/** A source's connector (not started), feeding `dead` with its dead letters. */
export function sourceConnector(state: EngineState, name: string, schema: Schema, all: Options, dead: SourceRt['dead']): SourceConnector {
  return sourceFactories[all.connector!]!({
    name,
    schema,
    options: engineSourceOptions(all).options,
    dataDir: state.dataDir,
    parallelism: () => (shardThreadsDefault() ? state.settings.parallelism : 1),
    deadLetter: (d) => {
      dead.pending.push(d);
      dead.count++;
    },
    log: (m) => state.log(`source ${name}: ${m}`),
  });
}

/** The schema of declared columns, with NUMERIC(p, s) typmods. */
function columnsSchema(columns: readonly { readonly name: string; readonly type: SqlType; readonly typeName: string }[]): Schema {
  return columns.map((c) => {
    const typmod = c.type === 'numeric' ? parseNumericTypmod(c.typeName) : undefined;
    return typmod ? { name: c.name, type: c.type, typmod } : { name: c.name, type: c.type };
  });
}

/** Refuses a result whose columns repeat a name (PostgreSQL: 42701 for a relation's columns). */
function distinctColumns(schema: Schema): void {
  const names = schema.map((f) => f.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new SluiceError('duplicate_column', `column "${dup}" specified more than once`, { hint: 'Name the columns apart with AS.' });
}

/**
 * A pipeline for view `rt` at `parallelism` holding its current state, each keyed row in the
 * instance that owns its key group there (rescale.ts); the view's own pipeline is left as it is.
 */
async function rescaledPipeline(rt: ViewRt, parallelism: number): Promise<Pipeline> {
  // Instances in worker threads send their state here first.
  await rt.pipeline.fetchState(false);
  const pipeline = new Pipeline(rt.entry.name, rt.planned.physical, (b) => rt.outputs.push(b), undefined, { parallelism });
  try {
    rescaleState(rt.entry.name, rt.pipeline.instancesByNode(), pipeline.instancesByNode());
  } catch (e) {
    pipeline.dispose();
    throw e;
  }
  return pipeline;
}

/**
 * The parallelism of a view being created: its WITH (parallelism = N) option, else the
 * `parallelism` setting; at a restart, what the catalog recorded (ALTER … SET (parallelism)
 * changes that, not the statement).
 */
export function viewParallelism(state: EngineState, options: Readonly<Record<string, string>>): number {
  if (state.replayParallelism !== null) return state.replayParallelism;
  return options.parallelism === undefined ? state.settings.parallelism : checkParallelism(options.parallelism);
}

/** The Kafka source a planned query reads in cluster mode (null: not cluster mode, or none). */
function kafkaSourceOf(state: EngineState, planned: PlannedQuery): SourceEntry | null {
  if (!state.cluster) return null;
  for (const rel of scannedRelations(planned.optimized)) {
    const e = state.catalog.get(rel);
    if (e?.kind === 'source' && e.options.connector === 'kafka') return e;
  }
  return null;
}

/**
 * A Kafka sink over a cluster view: the members' stage-2 transactions write its topic (each the
 * keys it owns, with the exchange offsets), so the engine's own delivery writes nothing. The real
 * connector is still built, which checks the options the way a sink of one process does.
 */
function clusterManagedSink(state: EngineState, view: string, ctx: SinkContext): SinkConnector {
  sinkFactories.kafka!(ctx);
  state.cluster!.addSink(view, { name: ctx.name, options: ctx.options, schema: ctx.schema });
  return { open: async () => null, write: async () => undefined, close: async () => undefined };
}

/**
 * Cluster mode: a view or sink query over a cluster view is refused. A member's copy of a cluster
 * view is read again from the changes topic's start whenever it has no checkpoint of its
 * incarnation or falls out of step (epoch-runner.ts), and a view over it, restored from its own
 * checkpoint, would then count that history twice.
 */
function refuseOverClusterView(state: EngineState, planned: PlannedQuery, what: string): void {
  if (!state.cluster) return;
  const over = [...scannedRelations(planned.optimized)].find((rel) => state.views.get(rel)?.cluster);
  if (over === undefined) return;
  throw new SluiceError('not_supported', `${what} reads cluster view "${over}", and views and sink queries over a cluster view are not supported yet`, {
    hint: `Read "${over}" with SELECT (any member answers for the cluster), or sink it with CREATE SINK … FROM ${over} WITH (connector = 'kafka', …).`,
  });
}
