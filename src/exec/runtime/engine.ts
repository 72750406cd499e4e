/**
 * The engine: catalog + DuckDB + per-view pipelines + the epoch loop.
 *
 *   every batch interval (or FLUSH), under the engine mutex:
 *     1. T_n := max(T_{n-1} + 1µs, wall clock); each source's poll(T_n) returns its input
 *        range for epoch n; DML changelogs queued on tables are taken
 *     2. views run in creation order (a topological order): each view's ScanExecs get the
 *        deltas of the relations they read; endEpoch flushes aggregates; the output delta
 *        updates the view's store and feeds later views and sinks
 *     3. sinks write epoch n; metrics for epoch n are recorded
 *
 * Statements take the same mutex, so DDL, DML and ad-hoc queries see a committed epoch.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { batchFromRows, batchRows, constantColumn, isValid, type Batch } from '../../common/column.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import { typeDisplayName, type Field, type Schema, type Value } from '../../common/types.js';
import { formatInterval, parseInterval, parseSql, parseSqlGuarded, relationsOf, type Expr, type Options, type Statement } from '../../parser/index.js';
import { Catalog, KIND_LABEL, type CatalogEntry, type SinkEntry, type SourceEntry, type TableEntry, type ViewEntry } from '../../catalog/index.js';
import { Binder, explainText, planQuery, scannedRelations, uniqueKey, type PhysicalPlan, type PlannedQuery } from '../../planner/index.js';
import { explainState, Pipeline } from '../pipeline.js';
import type { OperatorContext } from '../operator.js';
import { compile, type EvalContext, type Kernel } from '../eval.js';
import { createViewStore, type ViewStore } from '../view-store.js';
import { createTableSql, Duck, fromDuck, quoteIdent } from '../duck.js';
import { AdHocGuard } from './adhoc-guard.js';
import { PathPolicy } from './path-policy.js';
import { Mutex } from './lock.js';
import { MetricsRing, type EpochMetrics } from './metrics.js';
import type { DeadLetter, SinkConnector, SourceConnector, TableLoader } from '../../connectors/api.js';
import { tableLoaderFactories, validateTableOptions } from '../../connectors/table-loaders.js';
import { encodeValues } from '../group-table.js';
import { localPathOptions, sinkFactories, sourceFactories, validateSinkOptions, validateSourceOptions } from '../../connectors/index.js';

export interface EngineOptions {
  /** Where the catalog and tables persist; null (default) keeps everything in memory. */
  readonly dataDir?: string | null;
  /** Batch interval in ms (default 1000; 50 ms to 1 hour). */
  readonly batchIntervalMs?: number;
  /** Run epochs on a timer (default true). Without it, epochs run only on FLUSH. */
  readonly autoStart?: boolean;
  /** How many recent epochs of each source an ad-hoc SELECT sees (default 10). */
  readonly retainEpochs?: number;
  readonly log?: (message: string) => void;
  /**
   * Directories file sources, sinks and tables may touch (default: the data dir and the
   * current directory). Symlinks are resolved before the check.
   */
  readonly allowPaths?: readonly string[];
}

export type StatementResult =
  | { readonly kind: 'rows'; readonly tag: string; readonly columns: readonly Field[]; readonly rows: Value[][] }
  | { readonly kind: 'command'; readonly tag: string; readonly notice?: string }
  | Subscription;

/**
 * The answer to SUBSCRIBE: columns (epoch, weight, then the view's), the snapshot rows (the
 * view's contents at the subscription's epoch, weight +1), and `listen` for every later change.
 * Changes after the snapshot are delivered in epoch order; `onEnd` fires if the view is dropped.
 */
export interface Subscription {
  readonly kind: 'subscription';
  readonly tag: string;
  readonly columns: readonly Field[];
  readonly rows: Value[][];
  listen(onRows: (rows: Value[][]) => void, onEnd: (reason: string) => void): () => void;
}

/** One change of a view: the row, +1/−1, and the epoch that made it. */
export interface Change {
  readonly row: Value[];
  readonly weight: number;
  readonly epoch: number;
}

/**
 * A relation's event-time watermark: max over its rows of the WATERMARK FOR expression, never
 * decreasing. `lastDataAt` (batch time, ms) tells when the input last had rows (idleness).
 */
interface WatermarkRt {
  readonly kernel: Kernel;
  readonly column: number;
  value: bigint | null;
  lastDataAt: number;
  lateRows: number;
}

interface SourceRt {
  readonly entry: SourceEntry;
  readonly connector: SourceConnector;
  retained: { epoch: number; batches: readonly Batch[] }[];
  /** Dead letters waiting for the epoch to write them, and how many there were in all. */
  readonly dead: { pending: DeadLetter[]; count: number };
  rowsTotal: number;
  readonly wm: WatermarkRt | null;
  /** Bumped whenever the retained epochs change. */
  version: number;
}

interface TableRt {
  readonly entry: TableEntry;
  pending: Batch[];
  readonly wm: WatermarkRt | null;
  /** Set for tables loaded by a connector (file, postgres). */
  readonly loader: TableLoader | null;
  refreshTimer: NodeJS.Timeout | null;
  lastLoadError: string | null;
}

interface ViewRt {
  readonly entry: ViewEntry;
  readonly planned: PlannedQuery;
  readonly pipeline: Pipeline;
  readonly store: ViewStore;
  readonly outputs: Batch[];
  readonly subscribers: Set<(changes: Change[]) => void>;
  readonly onDrop: Set<(reason: string) => void>;
  rowErrors: number;
  failed: SluiceError | null;
  /** The view's watermark (min over its watermarked inputs), never decreasing. */
  wm: bigint | null;
  lateRows: number;
  readonly keepLate: boolean;
  pendingLate: Batch[];
  readonly createdAtMs: number;
  /** Bumped whenever the view's contents change (ad-hoc query copies are keyed by it). */
  version: number;
}

interface SinkRt {
  readonly entry: SinkEntry;
  readonly connector: SinkConnector;
}

/** Parameters PostgreSQL clients SHOW when they connect, with sluice's fixed answers. */
const PG_PARAMETERS: Record<string, string> = {
  server_version: '15.0',
  server_version_num: '150000',
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  timezone: 'UTC',
  search_path: 'public',
  standard_conforming_strings: 'on',
  integer_datetimes: 'on',
  intervalstyle: 'postgres',
  transaction_isolation: 'serializable',
  default_transaction_isolation: 'serializable',
  transaction_read_only: 'off',
  is_superuser: 'on',
  max_identifier_length: '63',
  lc_collate: 'C',
  lc_ctype: 'C',
};

const SYSTEM_RELATIONS = new Set(['tables', 'columns', 'schemata', 'views', 'table_constraints', 'key_column_usage', 'character_sets', 'routines']);

/** DuckDB settings that would reopen file, network or extension access: no client may SET them. */
const LOCKED_SETTINGS = new Set([
  'enable_external_access', 'allowed_directories', 'allowed_paths', 'lock_configuration', 'allowed_configs',
  'autoinstall_known_extensions', 'autoload_known_extensions', 'allow_community_extensions', 'allow_unsigned_extensions',
  'allow_extensions_metadata_mismatch', 'extension_directory', 'extension_directories', 'custom_extension_repository',
  'autoinstall_extension_repository', 'allow_persistent_secrets', 'secret_directory', 'temp_directory', 'allow_unredacted_secrets',
]);

const MIN_INTERVAL = 50;
/** Tables up to this many rows get a JS hash index in lookup joins; larger ones are joined in DuckDB. */
const LOOKUP_HASH_MAX_ROWS = 1_000_000;
const MAX_INTERVAL = 3_600_000;

export class Engine {
  readonly catalog: Catalog;
  private readonly mutex = new Mutex();
  private readonly sources = new Map<string, SourceRt>();
  private readonly tables = new Map<string, TableRt>();
  private readonly views = new Map<string, ViewRt>();
  private readonly sinks = new Map<string, SinkRt>();
  private readonly metricsRing = new MetricsRing(1000);
  private readonly settings = new Map<string, string>();
  private epochNo = 0;
  private lastT = 0n;
  private timer: NodeJS.Timeout | null = null;
  private nextDue = 0;
  private closed = false;
  private batchIntervalMs: number;
  private implicitFlush = false;
  private idleTimeoutMs = 10_000;
  private queryConn: DuckDBConnection | null = null;
  /** Views and sources copied into the query connection, by the version copied. */
  private readonly loaded = new Map<string, number>();
  private windowPanes = true;
  private readonly retainEpochs: number;
  private readonly log: (m: string) => void;

  private constructor(
    private readonly duck: Duck,
    private readonly opts: EngineOptions,
    /** Where file connectors may read and write. */
    readonly paths: PathPolicy,
    private readonly adHocGuard: AdHocGuard,
  ) {
    this.catalog = new Catalog(opts.dataDir ?? null);
    this.batchIntervalMs = checkInterval(opts.batchIntervalMs ?? 1000);
    this.retainEpochs = opts.retainEpochs ?? 10;
    this.log = opts.log ?? ((m) => process.stderr.write(`sluice: ${m}\n`));
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    let path = ':memory:';
    if (opts.dataDir) {
      mkdirSync(opts.dataDir, { recursive: true });
      path = join(opts.dataDir, 'tables.duckdb');
    }
    const paths = new PathPolicy(opts.allowPaths ?? [...(opts.dataDir ? [opts.dataDir] : []), process.cwd()]);
    const duck = await Duck.open(path, paths.roots);
    const engine = new Engine(duck, opts, paths, new AdHocGuard(await duck.tableFunctions()));
    await engine.restore();
    if (opts.autoStart ?? true) engine.startTimer();
    return engine;
  }

  /** Replays the persisted catalog: every object comes back; views recompute from their inputs. */
  private async restore(): Promise<void> {
    const statements = this.catalog.loadStatements();
    for (const sql of statements) {
      for (const stmt of parseSql(sql)) await this.executeOne(stmt, sql, true);
    }
    if (statements.length) this.log(`restored ${statements.length} object(s) from ${this.opts.dataDir}`);
  }

  get batchInterval(): number {
    return this.batchIntervalMs;
  }

  get currentEpoch(): number {
    return this.epochNo;
  }

  /** Per-epoch metrics of the last 1000 epochs, oldest first. */
  metrics(): EpochMetrics[] {
    return this.metricsRing.list();
  }

  /** Counters per source and view (rows, dead letters, row errors). */
  stats(): {
    sources: Record<string, { rows: number; deadLetters: number; lateRows: number; watermark: bigint | null }>;
    tables: Record<string, { lateRows: number; watermark: bigint | null; loadError: string | null }>;
    views: Record<string, { rows: number; rowErrors: number; failed: string | null; lateRows: number; windowState: number; watermark: bigint | null }>;
  } {
    const sources: Record<string, { rows: number; deadLetters: number; lateRows: number; watermark: bigint | null }> = {};
    for (const [n, s] of this.sources) sources[n] = { rows: s.rowsTotal, deadLetters: s.dead.count, lateRows: s.wm?.lateRows ?? 0, watermark: s.wm?.value ?? null };
    const tables: Record<string, { lateRows: number; watermark: bigint | null; loadError: string | null }> = {};
    for (const [n, t] of this.tables) tables[n] = { lateRows: t.wm?.lateRows ?? 0, watermark: t.wm?.value ?? null, loadError: t.lastLoadError };
    const views: Record<string, { rows: number; rowErrors: number; failed: string | null; lateRows: number; windowState: number; watermark: bigint | null }> = {};
    for (const [n, v] of this.views) {
      views[n] = {
        rows: v.store.rowCount, rowErrors: v.rowErrors, failed: v.failed?.message ?? null,
        lateRows: v.lateRows, windowState: v.pipeline.windowStateRows(), watermark: v.wm,
      };
    }
    return { sources, tables, views };
  }

  /** Runs a script of statements in order; the first error stops the script and is thrown. */
  async execute(sql: string): Promise<StatementResult[]> {
    if (this.closed) throw new SluiceError('connection', 'the engine is closed');
    // Before parsing: SELECT and DML text reaches DuckDB as written, wherever a call hides in it.
    this.adHocGuard.check(sql, 0);
    const statements = await parseSqlGuarded(sql);
    const results: StatementResult[] = [];
    for (const stmt of statements) results.push(await this.executeOne(stmt, sql, false));
    return results;
  }

  /** Streams every change of a view to `onChange`, one call per epoch; returns an unsubscribe. */
  subscribe(view: string, onChange: (changes: Change[]) => void): () => void {
    const v = this.views.get(view);
    if (!v) throw new SluiceError('undefined_table', `materialized view "${view}" does not exist`);
    v.subscribers.add(onChange);
    return () => v.subscribers.delete(onChange);
  }

  /** Current rows of a view (a consistent snapshot between epochs). */
  async viewRows(view: string): Promise<Value[][]> {
    return this.mutex.run(async () => {
      const v = this.views.get(view);
      if (!v) throw new SluiceError('undefined_table', `materialized view "${view}" does not exist`);
      return v.store.rows();
    });
  }

  /** Runs one epoch now (what FLUSH does). */
  async flush(): Promise<void> {
    await this.mutex.run(() => this.runEpoch(Date.now()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.mutex.run(async () => {
      for (const s of this.sources.values()) await s.connector.stop().catch(() => undefined);
      for (const s of this.sinks.values()) await s.connector.close().catch(() => undefined);
      for (const t of this.tables.values()) {
        if (t.refreshTimer) clearInterval(t.refreshTimer);
        await t.loader?.close().catch(() => undefined);
      }
      this.queryConn?.closeSync();
      this.duck.close();
    });
  }

  private startTimer(): void {
    this.nextDue = Date.now() + this.batchIntervalMs;
    const tick = () => {
      if (this.closed) return;
      const scheduled = this.nextDue;
      void this.mutex
        .run(() => this.runEpoch(scheduled))
        .catch((e) => this.log(`epoch failed: ${toSluiceError(e).message}`))
        .finally(() => {
          if (this.closed) return;
          this.nextDue = scheduled + this.batchIntervalMs;
          const now = Date.now();
          // Missed slots are skipped, not replayed in a burst: scheduling delay shows the lag.
          if (this.nextDue < now) this.nextDue = now;
          this.timer = setTimeout(tick, this.nextDue - now);
        });
    };
    this.timer = setTimeout(tick, this.batchIntervalMs);
  }

  private async executeOne(stmt: Statement, sql: string, replaying: boolean): Promise<StatementResult> {
    return this.mutex.run(async () => {
      try {
        return await this.dispatch(stmt, sql, replaying);
      } catch (e) {
        throw toSluiceError(e);
      }
    });
  }

  private async dispatch(stmt: Statement, sql: string, replaying: boolean): Promise<StatementResult> {
    switch (stmt.kind) {
      case 'create_source':
        return this.createSource(stmt);
      case 'create_table':
        return this.createTable(stmt, replaying);
      case 'create_view':
        return this.createView(stmt, sql);
      case 'create_sink':
        return this.createSink(stmt);
      case 'insert':
      case 'update':
      case 'delete':
        return this.dml(stmt);
      case 'drop':
        return this.drop(stmt);
      case 'show_objects': {
        const rows = this.catalog.list(stmt.objectKind).map((e) => [e.name] as Value[]);
        return { kind: 'rows', tag: `SHOW ${rows.length}`, columns: [{ name: 'Name', type: 'varchar' }], rows };
      }
      case 'show_variable':
        return this.showVariable(stmt.name);
      case 'set':
        return this.set(stmt.name, stmt.value);
      case 'describe':
        return this.describe(stmt.name, stmt.pos);
      case 'explain':
        return this.explain(stmt.statement, sql);
      case 'flush':
        await this.runEpoch(Date.now());
        return { kind: 'command', tag: 'FLUSH' };
      case 'select':
        return this.select(stmt);
      case 'subscribe':
        return this.subscription(stmt);
      case 'transaction':
        return { kind: 'command', tag: stmt.tag };
    }
  }

  private subscription(stmt: Extract<Statement, { kind: 'subscribe' }>): Subscription {
    const v = this.views.get(stmt.name);
    if (!v) {
      const e = this.catalog.get(stmt.name);
      throw new SluiceError(e ? 'not_supported' : 'undefined_table', e ? `cannot SUBSCRIBE to ${KIND_LABEL[e.kind]} "${stmt.name}"` : `materialized view "${stmt.name}" does not exist`, {
        position: stmt.pos,
        hint: e ? 'SUBSCRIBE takes a materialized view; create one over it first.' : undefined,
      });
    }
    const epoch = BigInt(this.epochNo);
    const columns: Field[] = [{ name: 'epoch', type: 'bigint' }, { name: 'weight', type: 'int' }, ...v.entry.schema];
    const rows = stmt.snapshot ? v.store.rows().map((r) => [epoch, 1, ...r]) : [];
    // Registered now, under the engine mutex: the snapshot and the changes never overlap.
    const queue: Value[][][] = [];
    let sink: ((rows: Value[][]) => void) | null = null;
    let ended: string | null = null;
    let endSink: ((reason: string) => void) | null = null;
    const onChange = (changes: Change[]) => {
      const batch = changes.map((c) => [BigInt(c.epoch), c.weight, ...c.row] as Value[]);
      if (sink) sink(batch);
      else queue.push(batch);
    };
    v.subscribers.add(onChange);
    const onDrop = (reason: string) => {
      ended = reason;
      endSink?.(reason);
    };
    v.onDrop.add(onDrop);
    return {
      kind: 'subscription',
      tag: 'SUBSCRIBE',
      columns,
      rows,
      listen: (onRows, onEnd) => {
        for (const b of queue.splice(0)) onRows(b);
        sink = onRows;
        endSink = onEnd;
        if (ended !== null) onEnd(ended);
        return () => {
          v.subscribers.delete(onChange);
          v.onDrop.delete(onDrop);
        };
      },
    };
  }

  private ensureNew(name: string, ifNotExists: boolean): StatementResult | null {
    const existing = this.catalog.get(name);
    if (!existing) return null;
    if (ifNotExists) return { kind: 'command', tag: 'CREATE', notice: `${KIND_LABEL[existing.kind]} "${name}" already exists, skipping` };
    throw new SluiceError('duplicate_object', `${KIND_LABEL[existing.kind]} "${name}" already exists`, { hint: `DROP it first, or use CREATE … IF NOT EXISTS.` });
  }

  private async createSource(stmt: Extract<Statement, { kind: 'create_source' }>): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    const schema: Schema = stmt.columns.map((c) => ({ name: c.name, type: c.type }));
    const connectorName = stmt.options.connector;
    if (!connectorName) throw new SluiceError('invalid_parameter', `source "${stmt.name}" needs a connector`, { hint: `Add WITH (connector = '${Object.keys(sourceFactories).join("' | '")}', …).` });
    validateSourceOptions(connectorName, stmt.options, schema);
    this.checkPaths('source', stmt.name, connectorName, stmt.options);
    const entry: SourceEntry = { kind: 'source', name: stmt.name, sql: stmt.text, createdAt: this.nextOrder(), schema, options: stmt.options, watermark: stmt.watermark };
    const dead = { pending: [] as DeadLetter[], count: 0 };
    const connector = sourceFactories[connectorName]!({
      name: stmt.name,
      schema,
      options: stmt.options,
      dataDir: this.opts.dataDir ?? null,
      deadLetter: (d) => {
        dead.pending.push(d);
        dead.count++;
      },
      log: (m) => this.log(`source ${stmt.name}: ${m}`),
    });
    const rt: SourceRt = { entry, connector, retained: [], dead, rowsTotal: 0, wm: this.watermarkRt(stmt.name, schema, stmt.watermark), version: 0 };
    await connector.start(null);
    const errorsTable = `${stmt.name}_errors`;
    await this.duck.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(errorsTable)} (position VARCHAR, raw VARCHAR, error VARCHAR, received_at TIMESTAMP)`);
    this.sources.set(stmt.name, rt);
    this.catalog.add(entry);
    return { kind: 'command', tag: 'CREATE_SOURCE' };
  }

  /** Compiles a WATERMARK FOR clause over the relation's columns. */
  private watermarkRt(name: string, schema: Schema, wm: { column: string; expr: Expr } | null): WatermarkRt | null {
    if (!wm) return null;
    const binder = new Binder(this.catalog);
    const scope = { fields: schema.map((f) => ({ qualifier: name, name: f.name, type: f.type })) };
    const bound = binder.bindExpr(wm.expr, { scope, agg: null, noAggIn: 'WATERMARK' });
    if (bound.type !== 'timestamp') throw new SluiceError('datatype_mismatch', `the WATERMARK expression must be a timestamp, not ${typeDisplayName(bound.type)}`);
    const column = schema.findIndex((f) => f.name === wm.column);
    if (schema[column]!.type !== 'timestamp') throw new SluiceError('datatype_mismatch', `the WATERMARK column "${wm.column}" must be a timestamp`);
    return { kernel: compile(bound), column, value: null, lastDataAt: Date.now(), lateRows: 0 };
  }

  /** Refuses (42501) a connector whose path options lead outside the allowed roots. */
  private checkPaths(kind: 'source' | 'sink' | 'table', name: string, connector: string, options: Options): void {
    for (const option of localPathOptions[kind][connector] ?? []) {
      const path = options[option];
      if (path !== undefined) this.paths.check(path, `${kind} "${name}"`);
    }
  }

  private order = 0;
  private nextOrder(): number {
    return ++this.order;
  }

  private async createTable(stmt: Extract<Statement, { kind: 'create_table' }>, replaying: boolean): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    if (stmt.watermark && !stmt.appendOnly) {
      throw new SluiceError('not_supported', `a table with a WATERMARK must be APPEND ONLY`, { hint: 'Add APPEND ONLY after the column list: late rows are only well defined for data that is never updated.' });
    }
    const schema: Schema = stmt.columns.map((c) => ({ name: c.name, type: c.type }));
    const connector = stmt.options.connector;
    let loader: TableLoader | null = null;
    let initial: Value[][] = [];
    if (connector) {
      validateTableOptions(connector, stmt.options, schema);
      this.checkPaths('table', stmt.name, connector, stmt.options);
      loader = tableLoaderFactories[connector]!({
        name: stmt.name,
        schema,
        options: stmt.options,
        dataDir: this.opts.dataDir ?? null,
        query: async (sql) => (await this.duck.query(sql)).rows,
        log: (m) => this.log(`table ${stmt.name}: ${m}`),
      });
      try {
        initial = await loader.snapshot();
      } catch (e) {
        await loader.close().catch(() => undefined);
        throw e;
      }
    }
    const sqlText = createTableSql(stmt.name, schema, stmt.primaryKey);
    // A loaded table is reloaded on restart; a DML table keeps its rows in the DuckDB file.
    await this.duck.run(replaying && !loader ? sqlText.replace(/^CREATE TABLE/, 'CREATE TABLE IF NOT EXISTS') : sqlText.replace(/^CREATE TABLE/, 'CREATE OR REPLACE TABLE'));
    const entry: TableEntry = { kind: 'table', name: stmt.name, sql: stmt.text, createdAt: this.nextOrder(), schema, primaryKey: stmt.primaryKey, appendOnly: stmt.appendOnly, options: stmt.options, watermark: stmt.watermark };
    const rt: TableRt = { entry, pending: [], wm: this.watermarkRt(stmt.name, schema, stmt.watermark), loader, refreshTimer: null, lastLoadError: null };
    if (initial.length) {
      await this.duck.appendRows(stmt.name, schema, initial);
      rt.pending.push(batchFromRows(schema.map((f) => f.type), initial, stmt.appendOnly ? undefined : initial.map(() => 1)));
    }
    this.tables.set(stmt.name, rt);
    this.catalog.add(entry);
    if (loader?.refreshMs) this.scheduleRefresh(rt, loader.refreshMs);
    return { kind: 'command', tag: 'CREATE_TABLE' };
  }

  /** Reloads a connector table every `ms`: the difference to its rows becomes a changelog. */
  private scheduleRefresh(rt: TableRt, ms: number): void {
    // One refresh at a time per table: a slow or silent origin must not pile up queued reloads.
    let busy = false;
    rt.refreshTimer = setInterval(() => {
      if (this.closed || busy) return;
      busy = true;
      void this.mutex.run(async () => {
        if (!this.tables.has(rt.entry.name) || !rt.loader) return;
        let fresh: Value[][];
        try {
          fresh = await rt.loader.snapshot();
          rt.lastLoadError = null;
        } catch (e) {
          const err = toSluiceError(e);
          if (rt.lastLoadError !== err.message) this.log(`table ${rt.entry.name}: refresh failed, keeping the last good snapshot: ${err.message}${err.hint ? ` (${err.hint})` : ''}`);
          rt.lastLoadError = err.message;
          return;
        }
        const { rows: current } = await this.duck.query(`SELECT * FROM ${quoteIdent(rt.entry.name)}`);
        const count = new Map<string, { row: Value[]; n: number }>();
        for (const r of current) {
          const k = encodeValues(r);
          const c = count.get(k);
          if (c) c.n--;
          else count.set(k, { row: r, n: -1 });
        }
        for (const r of fresh) {
          const k = encodeValues(r);
          const c = count.get(k);
          if (c) c.n++;
          else count.set(k, { row: r, n: 1 });
        }
        const rows: Value[][] = [];
        const weights: number[] = [];
        for (const { row, n } of count.values()) for (let i = 0; i < Math.abs(n); i++) {
          rows.push(row);
          weights.push(Math.sign(n));
        }
        if (rows.length === 0) return;
        await this.duck.run(`DELETE FROM ${quoteIdent(rt.entry.name)}`);
        await this.duck.appendRows(rt.entry.name, rt.entry.schema, fresh);
        rt.pending.push(batchFromRows(rt.entry.schema.map((f) => f.type), rows, weights));
      })
        .catch((e) => this.log(`table ${rt.entry.name}: ${toSluiceError(e).message}`))
        .finally(() => {
          busy = false;
        });
    }, ms);
    rt.refreshTimer.unref();
  }

  private async createView(stmt: Extract<Statement, { kind: 'create_view' }>, sql: string): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    for (const k of Object.keys(stmt.options)) {
      if (k !== 'late_rows') throw new SluiceError('invalid_parameter', `unknown view option "${k}"`, { hint: "Views take WITH (late_rows = 'keep' | 'drop')." });
    }
    const lateOpt = stmt.options.late_rows ?? 'drop';
    if (lateOpt !== 'keep' && lateOpt !== 'drop') throw new SluiceError('invalid_parameter', `late_rows must be 'keep' or 'drop', not '${lateOpt}'`);
    const lookupStrategy = await this.lookupStrategies(relationsOf(stmt.query));
    const planned = planQuery(stmt.query, this.catalog, sql, { emitOnWindowClose: stmt.emitOnWindowClose, windowPanes: this.windowPanes, lookupStrategy });
    // Drain queued table changes so the backfill snapshot and the changelog never overlap.
    // Sources are not polled: what they have now belongs to the next epoch, which the new
    // view will see.
    await this.runEpoch(Date.now(), false);
    const schema = planned.optimized.schema;
    const dependsOn = [...scannedRelations(planned.optimized)];
    const entry: ViewEntry = { kind: 'view', name: stmt.name, sql: stmt.text, createdAt: this.nextOrder(), schema, dependsOn, appendOnly: planned.optimized.appendOnly };
    const outputs: Batch[] = [];
    const pipeline = new Pipeline(stmt.name, planned.physical, (b) => outputs.push(b));
    const rt: ViewRt = {
      entry, planned, pipeline, store: createViewStore(schema, entry.appendOnly, uniqueKey(planned.optimized)), outputs, subscribers: new Set(), onDrop: new Set(),
      rowErrors: 0, failed: null, wm: null, lateRows: 0, keepLate: lateOpt === 'keep', pendingLate: [], createdAtMs: Date.now(), version: 0,
    };
    const lateSchema = lateInputSchema(planned);
    if (rt.keepLate) {
      if (!lateSchema) throw new SluiceError('invalid_parameter', "late_rows = 'keep' needs a windowed aggregate over an input with a watermark");
      await this.duck.run(createTableSql(`${stmt.name}_late`, [...lateSchema, { name: 'reason', type: 'varchar' }]).replace(/^CREATE TABLE/, 'CREATE OR REPLACE TABLE'));
    }
    // Backfill: the current contents of tables and views it reads enter as the first delta.
    const initial = new Map<string, Batch[]>();
    for (const rel of dependsOn) {
      const t = this.tables.get(rel);
      if (t) {
        const { rows } = await this.duck.query(`SELECT * FROM ${quoteIdent(rel)}`);
        initial.set(rel, [batchFromRows(t.entry.schema.map((f) => f.type), rows)]);
      }
      const v = this.views.get(rel);
      if (v) initial.set(rel, [v.store.snapshotBatch()]);
    }
    const wmAfter = this.viewWatermark(rt, this.lastT === 0n ? Date.now() : Number(this.lastT / 1000n));
    await this.runView(rt, initial, this.evalContext(rt, { before: null, after: wmAfter }));
    rt.wm = wmAfter;
    for (const b of outputs.splice(0)) rt.store.apply(b);
    this.views.set(stmt.name, rt);
    this.catalog.add(entry);
    return { kind: 'command', tag: 'CREATE_MATERIALIZED_VIEW' };
  }

  private async createSink(stmt: Extract<Statement, { kind: 'create_sink' }>): Promise<StatementResult> {
    const skip = this.ensureNew(stmt.name, stmt.ifNotExists);
    if (skip) return skip;
    const from = this.catalog.relation(stmt.from);
    const connectorName = stmt.options.connector;
    if (!connectorName) throw new SluiceError('invalid_parameter', `sink "${stmt.name}" needs a connector`, { hint: `Add WITH (connector = '${Object.keys(sinkFactories).join("' | '")}', …).` });
    validateSinkOptions(connectorName, stmt.options, from.schema);
    this.checkPaths('sink', stmt.name, connectorName, stmt.options);
    const appendOnly = from.kind === 'source' || (from.kind === 'table' && from.appendOnly) || (from.kind === 'view' && from.appendOnly);
    let primaryKey: readonly string[] | undefined;
    if (from.kind === 'view') {
      const key = uniqueKey(this.views.get(from.name)!.planned.optimized);
      if (key && key.length) primaryKey = key.map((i) => from.schema[i]!.name);
    } else if (from.kind === 'table' && from.primaryKey.length) primaryKey = from.primaryKey;
    const connector = sinkFactories[connectorName]!({ name: stmt.name, schema: from.schema, options: stmt.options, appendOnly, primaryKey, log: (m) => this.log(`sink ${stmt.name}: ${m}`) });
    const entry: SinkEntry = { kind: 'sink', name: stmt.name, sql: stmt.text, createdAt: this.nextOrder(), from: from.name, options: stmt.options };
    this.sinks.set(stmt.name, { entry, connector });
    this.catalog.add(entry);
    return { kind: 'command', tag: 'CREATE_SINK' };
  }

  private async dml(stmt: Extract<Statement, { kind: 'insert' | 'update' | 'delete' }>): Promise<StatementResult> {
    const t = this.tables.get(stmt.table);
    if (!t) {
      const other = this.catalog.get(stmt.table);
      if (other) throw new SluiceError('not_supported', `cannot ${stmt.kind} ${KIND_LABEL[other.kind]} "${stmt.table}": only tables take DML`, { position: stmt.pos, hint: other.kind === 'source' ? 'A source is fed by its connector; use CREATE TABLE for data you write yourself.' : undefined });
      throw new SluiceError('undefined_table', `relation "${stmt.table}" does not exist`, { position: stmt.pos });
    }
    if (t.loader) {
      throw new SluiceError('not_supported', `table "${stmt.table}" is loaded by connector '${t.entry.options.connector}' and takes no ${stmt.kind.toUpperCase()}`, { position: stmt.pos, hint: 'Change the data at its origin; the table reloads every refresh_interval.' });
    }
    if (t.entry.appendOnly && stmt.kind !== 'insert') {
      throw new SluiceError('not_supported', `table "${stmt.table}" is APPEND ONLY and cannot take ${stmt.kind.toUpperCase()}`, { position: stmt.pos });
    }
    const types = t.entry.schema.map((f) => f.type);
    const conn = this.duck.conn;
    let changes: Batch;
    let count: number;
    if (stmt.kind === 'update') {
      await this.duck.run('BEGIN TRANSACTION', conn);
      try {
        const old = await this.duck.query(stmt.selectOldText, conn);
        const fresh = await this.duck.query(`${stmt.text} RETURNING *`, conn);
        await this.duck.run('COMMIT', conn);
        changes = batchFromRows(types, [...old.rows, ...fresh.rows], [...old.rows.map(() => -1), ...fresh.rows.map(() => 1)]);
        count = fresh.rows.length;
      } catch (e) {
        await this.duck.run('ROLLBACK', conn).catch(() => undefined);
        throw e;
      }
    } else {
      const r = await this.duck.query(`${stmt.text} RETURNING *`, conn);
      const w = stmt.kind === 'insert' ? 1 : -1;
      changes = batchFromRows(types, r.rows, w === 1 && t.entry.appendOnly ? undefined : r.rows.map(() => w));
      count = r.rows.length;
    }
    if (changes.length) t.pending.push(changes);
    if (this.implicitFlush) await this.runEpoch(Date.now());
    const tag = stmt.kind === 'insert' ? `INSERT 0 ${count}` : `${stmt.kind.toUpperCase()} ${count}`;
    return { kind: 'command', tag };
  }

  private async drop(stmt: Extract<Statement, { kind: 'drop' }>): Promise<StatementResult> {
    const e = this.catalog.get(stmt.name);
    const tag = `DROP_${stmt.objectKind === 'view' ? 'MATERIALIZED_VIEW' : stmt.objectKind.toUpperCase()}`;
    if (!e || e.kind !== stmt.objectKind) {
      if (stmt.ifExists) return { kind: 'command', tag, notice: `${KIND_LABEL[stmt.objectKind]} "${stmt.name}" does not exist, skipping` };
      const hint = e ? `"${stmt.name}" is a ${KIND_LABEL[e.kind]}; use DROP ${KIND_LABEL[e.kind].toUpperCase()}.` : undefined;
      throw new SluiceError('undefined_table', `${KIND_LABEL[stmt.objectKind]} "${stmt.name}" does not exist`, { position: stmt.pos, hint });
    }
    const deps = this.catalog.dependents(stmt.name);
    if (deps.length && !stmt.cascade) {
      throw new SluiceError('dependent_objects', `cannot drop ${KIND_LABEL[e.kind]} ${stmt.name} because other objects depend on it`, {
        hint: `${deps.map((d) => `${KIND_LABEL[d.kind]} ${d.name}`).join(', ')} depend(s) on it. Use DROP … CASCADE to drop them too.`,
      });
    }
    await this.dropEntry(e);
    return { kind: 'command', tag };
  }

  private async dropEntry(e: CatalogEntry): Promise<void> {
    for (const d of this.catalog.dependents(e.name)) if (this.catalog.has(d.name)) await this.dropEntry(d);
    await this.unload(e.name);
    switch (e.kind) {
      case 'source': {
        const s = this.sources.get(e.name)!;
        await s.connector.stop();
        this.sources.delete(e.name);
        await this.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name + '_errors')}`);
        break;
      }
      case 'table': {
        const t = this.tables.get(e.name);
        if (t?.refreshTimer) clearInterval(t.refreshTimer);
        await t?.loader?.close();
        this.tables.delete(e.name);
        await this.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name)}`);
        break;
      }
      case 'view':
        if (this.views.get(e.name)?.keepLate) await this.duck.run(`DROP TABLE IF EXISTS ${quoteIdent(e.name + '_late')}`);
        for (const f of this.views.get(e.name)?.onDrop ?? []) f(`materialized view "${e.name}" was dropped`);
        this.views.delete(e.name);
        break;
      case 'sink': {
        const s = this.sinks.get(e.name)!;
        await s.connector.close();
        this.sinks.delete(e.name);
        break;
      }
    }
    this.catalog.remove(e.name);
  }

  private showVariable(name: string): StatementResult {
    const n = name.toLowerCase();
    let value: string;
    if (n === 'batch_interval') value = formatMs(this.batchIntervalMs);
    else if (n === 'rw_implicit_flush') value = this.implicitFlush ? 'true' : 'false';
    else if (n === 'watermark_idle_timeout') value = formatMs(this.idleTimeoutMs);
    else if (n === 'enable_window_panes') value = this.windowPanes ? 'true' : 'false';
    else if (this.settings.has(n)) value = this.settings.get(n)!;
    else if (n in PG_PARAMETERS) value = PG_PARAMETERS[n]!;
    else throw new SluiceError('invalid_parameter', `unrecognized configuration parameter "${name}"`, { hint: 'Known: batch_interval, rw_implicit_flush, and any parameter set with SET.' });
    return { kind: 'rows', tag: 'SHOW', columns: [{ name: n, type: 'varchar' }], rows: [[value]] };
  }

  private set(name: string, value: string): StatementResult {
    const n = name.toLowerCase();
    if (LOCKED_SETTINGS.has(n)) {
      throw new SluiceError('insufficient_privilege', `permission denied to set parameter "${n}"`, {
        hint: 'The embedded DuckDB runs locked down (no external access, no extensions); server options decide what it may read.',
      });
    }
    if (n === 'batch_interval') {
      const ms = Number(parseInterval(/^\d+$/.test(value) ? `${value} ms` : value) / 1000n);
      this.batchIntervalMs = checkInterval(ms);
      if (this.timer) {
        clearTimeout(this.timer);
        this.startTimer();
      }
    } else if (n === 'rw_implicit_flush') {
      this.implicitFlush = ['true', 'on', '1', 't'].includes(value.toLowerCase());
    } else if (n === 'enable_window_panes') {
      this.windowPanes = !['false', 'off', '0', 'f'].includes(value.toLowerCase());
    } else if (n === 'watermark_idle_timeout') {
      this.idleTimeoutMs = Number(parseInterval(/^\d+$/.test(value) ? `${value} ms` : value) / 1000n);
    } else this.settings.set(n, value);
    return { kind: 'command', tag: 'SET' };
  }

  private describe(name: string, pos: number): StatementResult {
    const e = this.catalog.relation(name, pos);
    const rows: Value[][] = e.schema.map((f) => [f.name, typeDisplayName(f.type)]);
    return { kind: 'rows', tag: `DESCRIBE ${rows.length}`, columns: [{ name: 'Name', type: 'varchar' }, { name: 'Type', type: 'varchar' }], rows };
  }

  private async explain(stmt: Statement, sql: string): Promise<StatementResult> {
    let planned: PlannedQuery;
    let header: string[];
    if (stmt.kind === 'create_view') {
      planned = planQuery(stmt.query, this.catalog, sql, { emitOnWindowClose: stmt.emitOnWindowClose, windowPanes: this.windowPanes, lookupStrategy: await this.lookupStrategies(relationsOf(stmt.query)) });
      header = [`MaterializeExec: ${stmt.name} [${materializeMode(planned)}]`];
    } else if (stmt.kind === 'select') {
      planned = planQuery(stmt.query, this.catalog, sql);
      header = ['One-shot SELECT: runs in DuckDB over a snapshot; the plan it would have as a view:'];
    } else throw new SluiceError('not_supported', `EXPLAIN ${stmt.kind} is not supported`, { hint: 'EXPLAIN takes CREATE MATERIALIZED VIEW or SELECT.' });
    const lines = explainText(planned, header);
    if (stmt.kind === 'create_view') lines.push(...explainState(new Pipeline(stmt.name, planned.physical, () => undefined)));
    return { kind: 'rows', tag: `EXPLAIN ${lines.length}`, columns: [{ name: 'QUERY PLAN', type: 'varchar' }], rows: lines.map((l) => [l]) };
  }

  private async select(stmt: Extract<Statement, { kind: 'select' }>): Promise<StatementResult> {
    // One connection for ad-hoc queries (statements are serialised by the engine mutex); a view
    // or source is copied into a temp table of that connection only when it changed since.
    this.queryConn ??= await this.duck.instance.connect();
    const conn: DuckDBConnection = this.queryConn;
    try {
      for (const rel of stmt.relations) {
        const e = this.catalog.get(rel);
        if (!e) {
          if (rel.endsWith('_errors') && this.sources.has(rel.slice(0, -'_errors'.length))) continue;
          if (rel.endsWith('_late') && this.views.get(rel.slice(0, -'_late'.length))?.keepLate) continue;
          // DuckDB's own catalog views answer clients' pg_catalog/information_schema probes.
          if (/^pg_/.test(rel) || SYSTEM_RELATIONS.has(rel)) continue;
          const m = new RegExp(`\\b${rel}\\b`, 'i').exec(stmt.text);
          throw new SluiceError('undefined_table', `relation "${rel}" does not exist`, { position: m ? stmt.offset + m.index + 1 : undefined });
        }
        if (e.kind !== 'view' && e.kind !== 'source') continue;
        const version = e.kind === 'view' ? this.views.get(rel)!.version : this.sources.get(rel)!.version;
        if (this.loaded.get(rel) === version) continue;
        await this.duck.run(createTableSql(rel, e.schema, [], true).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), conn);
        if (e.kind === 'view') await this.duck.appendRows(rel, e.schema, this.views.get(rel)!.store.rows(), conn);
        else await this.duck.appendBatch(rel, e.schema, this.sources.get(rel)!.retained.flatMap((r) => r.batches), conn);
        this.loaded.set(rel, version);
      }
      const r = await this.duck.query(stmt.text, conn);
      return { kind: 'rows', tag: `SELECT ${r.rows.length}`, columns: r.columns, rows: r.rows };
    } catch (e) {
      throw locate(toSluiceError(e), stmt.text, stmt.offset);
    }
  }

  /** Forgets the ad-hoc copy of a view or source (dropped, or about to be shadowed). */
  private async unload(name: string): Promise<void> {
    if (!this.loaded.delete(name) || !this.queryConn) return;
    await this.duck.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(name)}`, this.queryConn);
  }

  private evalContext(v: ViewRt, watermark: { before: bigint | null; after: bigint | null }): OperatorContext {
    const now = this.lastT === 0n ? BigInt(Date.now()) * 1000n : this.lastT;
    return {
      epoch: this.epochNo,
      now,
      watermark,
      countLate: (n) => {
        v.lateRows += n;
      },
      onRowError: (e) => {
        if (v.rowErrors++ < 5) this.log(`view ${v.entry.name}: row error (the value becomes NULL): ${e.message}`);
      },
      lookupInDuck: (req) => this.lookupInDuck(req),
      onLate: (rows, reason) => {
        v.lateRows += rows.length;
        if (v.keepLate) v.pendingLate.push({ ...rows, columns: [...rows.columns, constantColumn('varchar', reason, rows.length)], weights: null });
      },
    };
  }

  /** The DuckDB lookup-join strategy: the stream rows go to a temp table joined with the table. */
  private async lookupInDuck(req: Parameters<NonNullable<EvalContext['lookupInDuck']>>[0]): Promise<Value[][]> {
    this.queryConn ??= await this.duck.instance.connect();
    const conn = this.queryConn;
    const tmp = '__sluice_lookup_input';
    const streamSchema = req.streamSchema.map((f, i) => ({ name: `c${i}`, type: f.type }));
    await this.duck.run(createTableSql(tmp, streamSchema, [], true).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), conn);
    await this.duck.appendBatch(tmp, streamSchema, req.batches, conn);
    const on = req.streamKeys.map((k, i) => `s.c${k} = t.${quoteIdent(req.tableKeys[i]!)}`).join(' AND ');
    const cols = [...streamSchema.map((f) => `s.${f.name}`), ...req.columns.map((c) => `t.${quoteIdent(c)}`)].join(', ');
    const r = await this.duck.run(`SELECT ${cols} FROM temp.main.${tmp} s ${req.left ? 'LEFT ' : ''}JOIN main.${quoteIdent(req.table)} t ON ${on}`, conn);
    const rows = r.getRows().map((row) => row.map((v, i) => fromDuck(v, req.outputTypes[i]!)));
    await this.duck.run(`DROP TABLE temp.main.${tmp}`, conn);
    return rows;
  }

  /** Lookup strategy per table: SET lookup_join_strategy = 'hash' | 'duckdb' | 'auto' (by table size). */
  private async lookupStrategies(relations: readonly string[]): Promise<(table: string) => 'hash' | 'duckdb'> {
    const mode = (this.settings.get('lookup_join_strategy') ?? 'auto').toLowerCase();
    if (mode === 'hash' || mode === 'duckdb') return () => mode;
    const sizes = new Map<string, number>();
    for (const rel of relations) {
      if (!this.tables.has(rel)) continue;
      const { rows } = await this.duck.query(`SELECT count(*) FROM ${quoteIdent(rel)}`);
      sizes.set(rel, Number(rows[0]![0]));
    }
    // A small table fits a JS hash index; a large one stays in DuckDB.
    return (table) => ((sizes.get(table) ?? 0) > LOOKUP_HASH_MAX_ROWS ? 'duckdb' : 'hash');
  }

  /**
   * A view's watermark after this epoch: the minimum over its watermarked inputs, leaving out
   * inputs idle for longer than watermark_idle_timeout (if all are idle, the maximum); never
   * below its previous value. Null while a non-idle input has no watermark yet.
   */
  private viewWatermark(v: ViewRt, nowMs: number): bigint | null {
    const inputs: WatermarkRt[] = [];
    for (const rel of v.entry.dependsOn) {
      const wm = this.sources.get(rel)?.wm ?? this.tables.get(rel)?.wm;
      if (wm) inputs.push(wm);
    }
    if (inputs.length === 0) return null;
    const active = inputs.filter((w) => nowMs - Math.max(w.lastDataAt, v.createdAtMs) <= this.idleTimeoutMs);
    let next: bigint | null = null;
    if (active.length) {
      if (active.some((w) => w.value === null)) next = null;
      else next = active.reduce((m, w) => (w.value! < m ? w.value! : m), active[0]!.value!);
    } else {
      for (const w of inputs) if (w.value !== null && (next === null || w.value > next)) next = w.value;
    }
    if (v.wm !== null && (next === null || next < v.wm)) return v.wm;
    return next;
  }

  private async runView(v: ViewRt, deltas: ReadonlyMap<string, readonly Batch[]>, ctx: OperatorContext): Promise<void> {
    await v.pipeline.runEpoch(deltas, ctx);
  }

  /** One epoch: plan input ranges, run views, write sinks, record metrics. Caller holds the mutex. */
  private async runEpoch(scheduledAtMs: number, pollSources = true): Promise<void> {
    const started = performance.now();
    const startedWall = Date.now();
    const epoch = ++this.epochNo;
    let t = BigInt(startedWall) * 1000n;
    if (t <= this.lastT) t = this.lastT + 1n;
    this.lastT = t;
    const nowMs = Number(t / 1000n);
    const deltas = new Map<string, Batch[]>();
    const rowsIn: Record<string, number> = {};
    const ranges: Record<string, unknown> = {};
    let dead = 0;
    for (const [name, s] of pollSources ? this.sources : []) {
      let read;
      try {
        read = await s.connector.poll(t);
      } catch (e) {
        this.log(`source ${name}: ${toSluiceError(e).message}`);
        continue;
      }
      const batches = read.batches.filter((b) => b.length > 0);
      if (s.wm) advanceWatermark(s.wm, batches, nowMs, this.log);
      deltas.set(name, batches);
      ranges[name] = read.range;
      const n = batches.reduce((a, b) => a + b.length, 0);
      rowsIn[name] = n;
      s.rowsTotal += n;
      if (batches.length) {
        s.retained.push({ epoch, batches });
        if (s.retained.length > this.retainEpochs) s.retained.shift();
        s.version++;
      }
      if (s.dead.pending.length) {
        const rows = s.dead.pending.splice(0).map((d) => [d.position, d.raw, d.error, t] as Value[]);
        dead += rows.length;
        await this.duck.appendRows(`${name}_errors`, [
          { name: 'position', type: 'varchar' }, { name: 'raw', type: 'varchar' }, { name: 'error', type: 'varchar' }, { name: 'received_at', type: 'timestamp' },
        ], rows);
      }
    }
    for (const [name, tb] of this.tables) {
      const batches = tb.pending.splice(0);
      if (tb.wm) advanceWatermark(tb.wm, batches, nowMs, this.log);
      deltas.set(name, batches);
      rowsIn[name] = batches.reduce((a, b) => a + b.length, 0);
    }
    const rowsOut: Record<string, number> = {};
    let rowErrors = 0;
    for (const v of this.views.values()) {
      if (v.failed) continue;
      const before = v.rowErrors;
      const wmAfter = this.viewWatermark(v, nowMs);
      try {
        await this.runView(v, deltas, this.evalContext(v, { before: v.wm, after: wmAfter }));
        v.wm = wmAfter;
      } catch (e) {
        v.failed = toSluiceError(e);
        v.outputs.length = 0;
        this.log(`view ${v.entry.name} stopped: ${v.failed.message}`);
        continue;
      }
      rowErrors += v.rowErrors - before;
      const out = v.outputs.splice(0);
      let n = 0;
      for (const b of out) {
        v.store.apply(b);
        n += b.length;
      }
      if (n) v.version++;
      rowsOut[v.entry.name] = n;
      deltas.set(v.entry.name, out);
      if (v.subscribers.size && out.length) {
        const changes: Change[] = [];
        for (const b of out) batchRows(b).forEach((row, i) => changes.push({ row, weight: b.weights ? b.weights[i]! : 1, epoch }));
        for (const s of v.subscribers) {
          try {
            s(changes);
          } catch (e) {
            this.log(`subscriber of ${v.entry.name} failed: ${toSluiceError(e).message}`);
          }
        }
      }
    }
    for (const v of this.views.values()) {
      if (!v.pendingLate.length) continue;
      const lateSchema = lateInputSchema(v.planned)!;
      await this.duck.appendBatch(`${v.entry.name}_late`, [...lateSchema, { name: 'reason', type: 'varchar' }], v.pendingLate.splice(0));
    }
    for (const s of this.sinks.values()) {
      const bs = deltas.get(s.entry.from) ?? [];
      try {
        await s.connector.write(epoch, bs);
      } catch (e) {
        this.log(`sink ${s.entry.name}: epoch ${epoch} not written: ${toSluiceError(e).message}`);
      }
    }
    this.metricsRing.push({
      epoch,
      batchTimeMs: Number(t / 1000n),
      scheduledAtMs,
      schedulingDelayMs: Math.max(0, startedWall - scheduledAtMs),
      processingTimeMs: performance.now() - started,
      rowsIn,
      ranges,
      rowsOut,
      deadLetters: dead,
      rowErrors,
    });
  }
}

/** Raises a relation's watermark with one epoch's batches; counts rows below the old watermark. */
function advanceWatermark(wm: WatermarkRt, batches: readonly Batch[], nowMs: number, log: (m: string) => void): void {
  const before = wm.value;
  let max = before;
  const ctx: EvalContext = { now: BigInt(nowMs) * 1000n, onRowError: (e) => log(`watermark: ${e.message}`) };
  for (const b of batches) {
    if (b.length === 0) continue;
    wm.lastDataAt = nowMs;
    const c = wm.kernel(b, ctx);
    const v = c.values as BigInt64Array;
    const tcol = b.columns[wm.column]!;
    const tv = tcol.values as BigInt64Array;
    for (let i = 0; i < b.length; i++) {
      if (isValid(c, i) && (max === null || v[i]! > max)) max = v[i]!;
      if (before !== null && isValid(tcol, i) && tv[i]! < before) wm.lateRows++;
    }
  }
  wm.value = max;
}

/** The schema of the rows a view's window operator drops as late (its input), if it has one. */
function lateInputSchema(p: PlannedQuery): Schema | null {
  const find = (n: PhysicalPlan): Schema | null => {
    if (n.kind === 'WindowAggExec') return n.input.schema;
    if (n.kind === 'ProjectExec' || n.kind === 'FilterExec') return find(n.input);
    return null;
  };
  return find(p.physical);
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

function materializeMode(p: PlannedQuery): string {
  if (p.optimized.appendOnly) return 'append-only: rows kept as batches';
  const key = uniqueKey(p.optimized);
  if (key === null) return 'updating: row multiset';
  return `updating: keyed by (${key.map((k) => p.optimized.schema[k]!.name).join(', ')})`;
}

function checkInterval(ms: number): number {
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL || ms > MAX_INTERVAL) {
    throw new SluiceError('invalid_parameter', `batch_interval must be between ${MIN_INTERVAL} ms and 1 hour, not ${ms} ms`, { hint: "Write it like '500ms', '2 seconds' or '1 minute'." });
  }
  return ms;
}

function formatMs(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  return Engine.create(opts);
}

export { formatInterval };
