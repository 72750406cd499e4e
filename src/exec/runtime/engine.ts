/**
 * The engine: a facade over its parts, which share one `EngineState` (state.ts).
 *
 *   execute(sql) ─► privileges.ts ─► dispatch ─┬─ ddl.ts   CREATE SOURCE/TABLE/MATERIALIZED VIEW/SINK, DROP
 *                             ├─ dml.ts        INSERT/UPDATE/DELETE
 *                             ├─ select.ts     ad-hoc SELECT in DuckDB (not under the mutex)
 *                             ├─ users.ts      CREATE/ALTER/DROP USER, GRANT, REVOKE
 *                             ├─ settings.ts   SET/SHOW
 *                             ├─ describe.ts   SHOW objects, DESCRIBE
 *                             ├─ explain.ts    EXPLAIN
 *                             └─ subscribe.ts  SUBSCRIBE
 *   timer / FLUSH ──────────────► epoch-runner.ts  poll ─► views ─► sinks ─► metrics
 *   table-refresh.ts (connector tables' reloads), lookup-service.ts (lookup joins in DuckDB)
 *
 * Statements and epochs take the same mutex, so DDL, DML and ad-hoc queries see a committed
 * epoch; an ad-hoc SELECT takes it only to pin its snapshot, and runs after releasing it.
 * Errors and log lines leave with every known connector secret redacted (secrets.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertNever, SluiceError, toSluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { formatInterval, parseSql, parseSqlGuarded, scanInsertValues, type Statement } from '../../parser/index.js';
import { Catalog, KIND_LABEL } from '../../catalog/index.js';
import { Duck } from '../duck.js';
import { AdHocGuard } from './adhoc-guard.js';
import { PathPolicy } from './path-policy.js';
import { Mutex, ReadWriteGate } from './lock.js';
import { MetricsRing, type EpochMetrics } from './metrics.js';
import { Ddl } from './ddl.js';
import { describe, showObjects } from './describe.js';
import { dmlTarget, executeDml } from './dml.js';
import { CopyLoad, type CopyBatch } from './bulk-load.js';
import { EpochRunner } from './epoch-runner.js';
import { explain } from './explain.js';
import { LookupService } from './lookup-service.js';
import { AdHocQueries, type QueryConn } from './select.js';
import { initialSettings, isTimeZoneSetting, setVariable, showVariable, timeZoneSetting, type SessionZone } from './settings.js';
import { timeZoneOf, UTC, type TimeZone } from '../../common/time-zone.js';
import type { Change, EngineOptions, EngineState, ParameterSource, StatementResult } from './state.js';
import { pipelines } from './state.js';
import { subscription } from './subscribe.js';
import { checkStatement, SUPERUSER, type Principal } from './privileges.js';
import { redactStatement, scrub, scrubError, secretsIn } from './secrets.js';
import { executeUserStatement } from './users.js';
import { stopRefresh } from './table-refresh.js';
import { Checkpointer } from '../checkpoint/checkpointer.js';
import { checkpointNow } from './commit.js';
import { stopDelivery } from './outbox.js';
import { requeueTableChanges } from './table-changes.js';
import { showCheckpoints } from './describe.js';
import { replayEpoch } from './replay.js';
import { currentName, redoRenames, throughRenames } from './rename.js';
import { Monitor } from './monitor.js';
import { ProgressTracker } from './progress.js';
import { systemTableSetup } from './system-tables.js';
import { pgCatalogSetup, readsCatalog } from './pg-catalog.js';
import { PgCatalogTables } from './pg-catalog-tables.js';
import { createTableSql, quoteIdent } from '../duck.js';
import { sourceRate } from './rate-controller.js';
import { registerPgFunctions } from './pg-functions.js';
import { createFunction, dropFunction } from './function-ddl.js';
import { ClusterRuntime } from '../../cluster/cluster.js';
import { abortedBlock, dmlInBlock, EngineSession, refuseInBlock, rollbackBlock, transactionStatement, type BlockContext } from './transaction.js';
import { release } from '../parallel/parked.js';

export type { Change, EngineOptions, ParameterSource, StatementResult, Subscription } from './state.js';
export type { Principal } from './privileges.js';
export { SUPERUSER } from './privileges.js';
export { EngineSession, type TransactionStatus } from './transaction.js';

/** Options of one `Engine.execute` call. */
export interface ExecuteOptions {
  readonly signal?: AbortSignal;
  /** Who runs the statements (default: the superuser). */
  readonly principal?: Principal;
  /** The client session the statements belong to: its transaction block (see transaction.ts). */
  readonly session?: EngineSession;
  /** A statement run only to learn its result's shape (Describe): its error does not fail the block. */
  readonly probe?: boolean;
  /** The client session's TimeZone, which its SET TIME ZONE changes (default: the engine's own, for callers without sessions). */
  readonly zone?: SessionZone;
  /** Cluster mode: a statement of the catalog topic being applied (it is not sent there again). */
  readonly fromCatalog?: boolean;
}

/** The statements cluster mode sends through the catalog topic: sources, views and sinks. */
function isClusterDdl(s: Statement): boolean {
  return s.kind === 'create_source' || s.kind === 'create_view' || s.kind === 'create_sink' || (s.kind === 'drop' && (s.objectKind === 'source' || s.objectKind === 'view' || s.objectKind === 'sink'));
}

/** A sluice engine: runs SQL statements and the epoch loop over its catalog. */
export class Engine {
  readonly catalog: Catalog;
  private readonly state: EngineState;
  private readonly epochs: EpochRunner;
  private readonly lookup: LookupService;
  private readonly adHoc: AdHocQueries;
  private readonly ddl: Ddl;
  /** The runtime figures the HTTP API, /metrics and the sluice.* system tables show. */
  private readonly monitorImpl: Monitor;
  private timer: NodeJS.Timeout | null = null;
  private nextDue = 0;
  /** The TimeZone of statements run without a session's (the REPL, engine.execute). */
  private readonly zone: SessionZone = { zone: UTC };
  /** Where reads wait so that a crowd of them cannot crowd out writers (see ReadWriteGate). */
  private readonly gate = new ReadWriteGate(READS_IN_PROGRESS, 2, 5, 20);
  /**
   * Parsed scripts by text, for repeated small scripts (dashboards and drivers send the same
   * queries again and again; parsing a SELECT costs about a millisecond of the event loop).
   * ASTs are immutable, so a cached one is shared safely. Least recently used goes first.
   */
  private readonly parsed = new Map<string, Statement[]>();

  private constructor(
    duck: Duck,
    private readonly opts: EngineOptions,
    /** Where file connectors may read and write. */
    readonly paths: PathPolicy,
    private readonly adHocGuard: AdHocGuard,
  ) {
    this.catalog = new Catalog(opts.dataDir ?? null);
    const log = opts.log ?? ((m) => process.stderr.write(`sluice: ${m}\n`));
    this.state = {
      catalog: this.catalog, duck, mutex: new Mutex(), paths, dataDir: opts.dataDir ?? null,
      retainEpochs: opts.retainEpochs ?? 10, log: (m) => log(scrub(m, this.knownSecrets())),
      sources: new Map(), tables: new Map(), views: new Map(), sinks: new Map(), metrics: new MetricsRing(1000), progress: new ProgressTracker(),
      settings: initialSettings(opts.batchIntervalMs ?? 1000, opts.statementTimeoutMs ?? 0, opts.parallelism ?? 1), clock: opts.clock ?? Date.now, epochNo: 0, lastT: 0n, closed: false, order: 0, queryConn: null,
      checkpointer: null, tableSeq: 0, consumedSeq: 0, recovering: null, replayParallelism: null, lastStateWrite: null,
      cluster: opts.cluster ? new ClusterRuntime(opts.cluster, (m) => log(m), opts.dataDir ?? null) : null,
    };
    this.lookup = new LookupService(this.state);
    this.epochs = new EpochRunner(this.state, this.lookup);
    this.monitorImpl = new Monitor(this.state);
    this.adHoc = new AdHocQueries(this.state, this.monitorImpl, new PgCatalogTables(this.state.duck, { catalog: this.state.catalog, settings: () => this.pgSettings() }));
    this.ddl = new Ddl(this.state, { epochs: this.epochs, lookup: this.lookup, adHoc: this.adHoc });
  }

  /** Opens an engine (what `createEngine` does). */
  static async create(opts: EngineOptions = {}): Promise<Engine> {
    let path = ':memory:';
    if (opts.dataDir) {
      mkdirSync(opts.dataDir, { recursive: true });
      path = join(opts.dataDir, 'tables.duckdb');
    }
    const paths = new PathPolicy(opts.allowPaths ?? [...(opts.dataDir ? [opts.dataDir] : []), process.cwd()]);
    const duck = await Duck.open(path, paths.roots);
    const guard = new AdHocGuard(await duck.tableFunctions());
    const conn = await duck.instance.connect();
    registerPgFunctions(conn);
    for (const sql of systemTableSetup(quoteIdent, (name, schema) => createTableSql(name, schema, [], true))) await duck.run(sql, conn);
    for (const sql of pgCatalogSetup()) await duck.run(sql, conn);
    conn.closeSync();
    const engine = new Engine(duck, opts, paths, guard);
    OPEN_ENGINES.add(engine);
    await engine.restore();
    if (engine.state.cluster) await engine.joinCluster(engine.state.cluster);
    if (opts.autoStart ?? true) engine.startTimer();
    return engine;
  }

  /** Cluster mode: applies the catalog topic's statements this member has not, and follows it. */
  private async joinCluster(cluster: ClusterRuntime): Promise<void> {
    try {
      await cluster.catalog.start(async (sql) => (await this.execute(sql, { fromCatalog: true }))[0], Math.min(500, this.state.settings.batchIntervalMs));
    } catch (e) {
      await this.close();
      throw new SluiceError('connection', `cannot join cluster ${cluster.config.name}: its catalog topic on brokers ${cluster.config.brokers.join(',')} is out of reach (${toSluiceError(e).message})`, { hint: 'Check that the brokers are running and --kafka is right.' });
    }
  }

  /**
   * Recovery: finds the newest valid checkpoint, replays the persisted catalog (sources resume
   * from their checkpointed positions, views restore their state, or recompute from their
   * inputs without one), queues the table changes the checkpoint had not consumed, and takes a
   * fresh checkpoint of the result. Sinks then deliver their committed, undelivered epochs.
   */
  private async restore(): Promise<void> {
    const { state } = this;
    if (this.opts.dataDir) {
      const { checkpointer, recovered } = await Checkpointer.open(this.opts.dataDir, state.duck, state.log);
      state.checkpointer = checkpointer;
      state.recovering = recovered;
      if (recovered) {
        const m = recovered.manifest;
        state.epochNo = m.epoch;
        state.lastT = BigInt(m.lastT);
        state.tableSeq = m.tableSeq;
        state.consumedSeq = m.tableSeq;
      }
    }
    try {
      // The epochs to replay, known before any source starts: each source starts at its
      // position after them (a receiver that connected at the checkpoint's position and was
      // then restarted would have the broker redeliver what it had not acknowledged yet).
      // Renames the last checkpoint does not cover: their moves are redone, and the checkpoint
      // and the epochs after it are read under the new names (rename.ts).
      const statements = this.catalog.loadStatements();
      const renames = this.catalog.renames();
      await redoRenames(state, renames);
      let plan = state.recovering ? state.checkpointer!.replayPlan(state.recovering) : [];
      if (state.recovering && renames.length) ({ recovery: state.recovering, plan } = throughRenames(state.recovering, plan, renames));
      if (state.recovering) {
        const resumeAt: Record<string, unknown> = {};
        for (const [name, s] of Object.entries(state.recovering.manifest.sources)) resumeAt[name] = s.position;
        for (const record of plan) Object.assign(resumeAt, record.positions);
        state.recovering.resumeAt = resumeAt;
      }
      for (const { sql, timeZone, parallelism } of statements) {
        const zone = timeZone === undefined ? UTC : timeZoneOf(timeZone);
        state.replayParallelism = parallelism ?? 1;
        try {
          for (const stmt of parseSql(sql)) await this.executeOne(stmt, sql, true, zone);
        } finally {
          state.replayParallelism = null;
        }
      }
      const recovered = state.recovering;
      if (recovered) {
        const m = recovered.manifest;
        const n = await requeueTableChanges(state, m.tableSeq, currentName(renames));
        for (const record of plan) await this.epochs.replay(record);
        state.log(`recovered checkpoint ${m.id} (epoch ${m.epoch}) with ${statements.length} object(s) from ${this.opts.dataDir}${plan.length ? `; replayed epochs ${plan[0]!.epoch}–${recovered.committedEpoch}` : ''}${n ? `; ${n} table change(s) queued` : ''}`);
      } else {
        // Views were computed from the tables as they are: logged changes are in them already.
        if (state.checkpointer) state.tableSeq = state.consumedSeq = await state.checkpointer.lastTableSeq();
        if (statements.length) state.log(`restored ${statements.length} object(s) from ${this.opts.dataDir}`);
      }
    } finally {
      state.recovering = null;
      state.checkpointer?.forgetVerified();
    }
    await state.mutex.run(() => checkpointNow(state));
    if (state.checkpointer) this.catalog.settleRenames();
  }

  /** The batch interval in ms (SET batch_interval changes it). */
  get batchInterval(): number {
    return this.state.settings.batchIntervalMs;
  }

  /** The number of the last epoch run (0 before the first). */
  get currentEpoch(): number {
    return this.state.epochNo;
  }

  /** Per-epoch metrics of the last 1000 epochs, oldest first. */
  metrics(): EpochMetrics[] {
    return this.state.metrics.list();
  }

  /** The last epoch's metrics (metrics().at(-1) without copying the list). */
  lastMetrics(): EpochMetrics | undefined {
    return this.state.metrics.last();
  }

  /**
   * Reads the monitor's figures under the engine lock (a committed epoch boundary): the HTTP
   * API and /metrics call this.
   */
  async monitor<T>(read: (m: Monitor) => T): Promise<T> {
    return this.state.mutex.run(async () => {
      // Instances in worker threads measure their state there.
      for (const v of pipelines(this.state)) await v.pipeline.refreshFigures(2000);
      return read(this.monitorImpl);
    });
  }

  /** Long work in progress (backfills, table loads, scripts); read and listened to without the lock. */
  get progress(): ProgressTracker {
    return this.state.progress;
  }

  /** Calls `listener` after every epoch with its metrics; returns the unsubscribe. */
  onEpoch(listener: (m: EpochMetrics) => void): () => void {
    return this.state.metrics.listen(listener);
  }

  /** Counters per source and view (rows, dead letters, row errors). */
  stats(): {
    sources: Record<string, { rows: number; deadLetters: number; lateRows: number; watermark: bigint | null; rate: number | null }>;
    tables: Record<string, { lateRows: number; watermark: bigint | null; loadError: string | null }>;
    views: Record<string, { rows: number; rowErrors: number; failed: string | null; lateRows: number; windowState: number; watermark: bigint | null }>;
    sinks: Record<string, { pendingEpochs: number; deliveredEpoch: number | null; error: string | null }>;
  } {
    const sources: Record<string, { rows: number; deadLetters: number; lateRows: number; watermark: bigint | null; rate: number | null }> = {};
    for (const [n, s] of this.state.sources) {
      // The rate the next epoch reads at (rows/s): the smaller of max_rate and backpressure's; null: unlimited.
      sources[n] = { rows: s.rowsTotal, deadLetters: s.dead.count, lateRows: s.wm?.lateRows ?? 0, watermark: s.wm?.value ?? null, rate: sourceRate(s.maxRate, s.rate, this.state.settings) };
    }
    const tables: Record<string, { lateRows: number; watermark: bigint | null; loadError: string | null }> = {};
    for (const [n, t] of this.state.tables) tables[n] = { lateRows: t.wm?.lateRows ?? 0, watermark: t.wm?.value ?? null, loadError: t.lastLoadError };
    const views: Record<string, { rows: number; rowErrors: number; failed: string | null; lateRows: number; windowState: number; watermark: bigint | null }> = {};
    for (const [n, v] of this.state.views) {
      views[n] = {
        rows: v.store.rowCount, rowErrors: v.rowErrors, failed: v.failed?.message ?? null,
        lateRows: v.lateRows, windowState: v.pipeline.windowStateRows(), watermark: v.wm,
      };
    }
    const sinks: Record<string, { pendingEpochs: number; deliveredEpoch: number | null; error: string | null }> = {};
    for (const [n, s] of this.state.sinks) sinks[n] = { pendingEpochs: s.outbox.length, deliveredEpoch: s.delivered ?? null, error: s.error };
    return { sources, tables, views, sinks };
  }

  /**
   * Installs the answers SHOW gives for parameters the engine does not own (after its own
   * settings and SET values): the pg-wire server installs PostgreSQL's client parameters.
   */
  setParameterSource(source: ParameterSource | null): void {
    this.state.settings.parameters = source;
  }

  /**
   * Runs a script of statements in order; the first error stops the script and is thrown, with
   * any secret the engine knows (or the script holds) redacted. `principal` is who runs it
   * (default: the superuser).
   */
  async execute(sql: string, opts: ExecuteOptions = {}): Promise<StatementResult[]> {
    // Cluster mode: DDL goes through the catalog topic, which every member applies in order.
    if (this.state.cluster && !opts.fromCatalog && !isRead(sql)) {
      const statements = await this.parse(sql);
      if (statements.some(isClusterDdl)) return [await this.submitToCluster(this.state.cluster, sql, statements, opts)];
    }
    const run = () => this.executeScript(sql, opts);
    return isRead(sql) ? this.gate.read(run, opts.signal) : this.gate.write(run);
  }

  private async submitToCluster(cluster: ClusterRuntime, sql: string, statements: readonly Statement[], opts: ExecuteOptions): Promise<StatementResult> {
    if (statements.length !== 1) {
      throw new SluiceError('not_supported', 'in cluster mode a CREATE or DROP of a source, view or sink is sent alone, one statement per query', { hint: 'Every member applies it from the cluster\'s catalog topic; send the statements one at a time.' });
    }
    if (opts.principal && !opts.principal.superuser) throw new SluiceError('insufficient_privilege', 'in cluster mode only a superuser changes the cluster\'s catalog');
    if (opts.session && opts.session.status !== 'idle') throw new SluiceError('active_sql_transaction', 'in cluster mode DDL cannot run inside a transaction block');
    // Checked here, by the member that got the statement (the others apply it from the topic
    // whatever their copies hold by then).
    const s = statements[0]!;
    const from = s.kind === 'create_sink' && s.from ? this.state.views.get(s.from) : undefined;
    if (from?.cluster && from.store.rowCount > 0) {
      throw new SluiceError('not_supported', `cluster view "${from.entry.name}" already has rows, and a Kafka sink over a cluster view only carries the changes after it is created (its current rows would be missing from the topic)`, {
        hint: 'Create the sink right after the view, before its source has input; or drop the view and create it again, then its sink (the view starts over from the source).',
      });
    }
    return (await cluster.catalog.submit(sql)) as StatementResult;
  }

  /** Parses client SQL (guarded), from the cache when the same small script came before. */
  private async parse(sql: string): Promise<Statement[]> {
    const hit = this.parsed.get(sql);
    if (hit) {
      this.parsed.delete(sql);
      this.parsed.set(sql, hit);
      return hit;
    }
    const statements = await parseSqlGuarded(sql);
    if (sql.length <= PARSE_CACHE_MAX_TEXT) {
      this.parsed.set(sql, statements);
      if (this.parsed.size > PARSE_CACHE_ENTRIES) this.parsed.delete(this.parsed.keys().next().value!);
    }
    return statements;
  }

  private async executeScript(sql: string, opts: ExecuteOptions): Promise<StatementResult[]> {
    try {
      if (this.state.closed) throw new SluiceError('connection', 'the engine is closed');
      // Before parsing: SELECT and DML text reaches DuckDB as written, wherever a call hides in it.
      // A bulk INSERT of literals calls nothing, and lexing its megabytes would cost seconds.
      if (!scanInsertValues(sql)) this.adHocGuard.check(sql, 0);
      // A query of PostgreSQL's catalog (a driver's or GUI's probe) is answered from the
      // sluice_pg tables as written; one that reads anything else goes on as usual.
      if (readsCatalog(sql)) {
        if (opts.session?.status === 'failed') throw abortedBlock();
        const answer = await this.adHoc.catalogSelect(sql, opts.principal ?? SUPERUSER, statementSignal(opts.signal, this.state.settings.statementTimeoutMs));
        if (answer) return [answer];
      }
      const statements = await this.parse(sql);
      const results: StatementResult[] = [];
      // Without a session, a script with BEGIN gets one of its own, ended (rolled back if
      // still open) with the script, as if it were a connection of its own.
      const session = opts.session ?? (statements.some((s) => s.kind === 'transaction') ? this.openSession() : undefined);
      try {
        const zs = opts.zone ?? this.zone;
        for (const stmt of statements) {
          const signal = statementSignal(opts.signal, this.state.settings.statementTimeoutMs);
          const principal = opts.principal ?? SUPERUSER;
          // TimeZone belongs to the session, not the engine (as in PostgreSQL).
          if ((stmt.kind === 'set' || stmt.kind === 'show_variable') && isTimeZoneSetting(stmt.name)) {
            if (session?.status === 'failed') throw abortedBlock();
            if (stmt.kind === 'set') zs.zone = timeZoneSetting(stmt.value);
            results.push(stmt.kind === 'set' ? { kind: 'command', tag: 'SET' } : { kind: 'rows', tag: 'SHOW', columns: [{ name: 'TimeZone', type: 'varchar' }], rows: [[zs.zone.name]] });
            continue;
          }
          results.push(await (session ? this.inSession(session, stmt, sql, signal, principal, opts.probe ?? false, zs.zone) : this.executeOne(stmt, sql, false, zs.zone, signal, principal)));
        }
      } finally {
        if (session && session !== opts.session) await this.closeSession(session);
      }
      return results;
    } catch (e) {
      throw scrubError(toSluiceError(e), [...this.knownSecrets(), ...secretsIn(sql)]);
    }
  }

  /** pg_settings' rows: the engine's settings and the PostgreSQL parameters clients look for. */
  private pgSettings(): [string, string, string][] {
    const own = ['batch_interval', 'checkpoint_interval', 'checkpoint_full_interval', 'parallelism', 'statement_timeout', 'backpressure', 'backpressure_initial_rate', 'backpressure_target',
      'watermark_idle_timeout', 'enable_window_panes', 'rw_implicit_flush'];
    const fixed: [string, string, string][] = [
      ['server_version', '15.0', 'Shows the server version.'], ['server_version_num', '150000', 'Shows the server version as an integer.'],
      ['server_encoding', 'UTF8', 'Shows the server (database) character set encoding.'], ['client_encoding', 'UTF8', 'Sets the client\'s character set encoding.'],
      ['DateStyle', 'ISO, MDY', 'Sets the display format for date and time values.'], ['TimeZone', 'UTC', 'Sets the time zone for displaying and interpreting time stamps.'],
      ['integer_datetimes', 'on', 'Shows whether datetimes are integer based.'], ['standard_conforming_strings', 'on', 'Causes \'...\' strings to treat backslashes literally.'],
      ['max_identifier_length', '63', 'Shows the maximum identifier length.'], ['search_path', 'public', 'Sets the schema search order for names that are not schema-qualified.'],
      ['default_transaction_isolation', 'read committed', 'Sets the transaction isolation level of each new transaction.'],
      ['transaction_isolation', 'read committed', 'Sets the current transaction\'s isolation level.'],
    ];
    const engine = own.map((name): [string, string, string] => {
      const r = showVariable(this.state.settings, name);
      return [name, r.kind === 'rows' ? String(r.rows[0]![0]) : '', 'sluice engine setting (SET/SHOW).'];
    });
    return [...fixed, ...engine];
  }

  /** A new client session (a connection): its transaction blocks. Close it with `closeSession`. */
  openSession(): EngineSession {
    return new EngineSession();
  }

  /** Ends a session: a block in progress is rolled back (a client that left mid-transaction). */
  async closeSession(session: EngineSession): Promise<void> {
    await session.lock.run(async () => {
      if (session.closed) return;
      session.closed = true;
      if (session.status !== 'idle') await rollbackBlock(this.blockContext, session);
      if (session.conn) this.adHoc.closeSessionConnection(session.conn);
      session.conn = null;
    });
  }

  private get blockContext(): BlockContext {
    return { state: this.state, epochs: this.epochs, adHoc: this.adHoc };
  }

  /**
   * One statement of a session, one at a time: outside a block as any statement; BEGIN, COMMIT
   * and ROLLBACK; inside a block DML on the session's transaction, SELECT seeing its writes, and
   * DDL refused. An error inside a block fails it (unless the statement was a probe).
   */
  private async inSession(session: EngineSession, stmt: Statement, sql: string, signal: AbortSignal | undefined, principal: Principal, probe: boolean, zone: TimeZone): Promise<StatementResult> {
    return session.lock.run(async () => {
      if (session.closed) throw new SluiceError('connection', 'the session is closed');
      if (stmt.kind === 'transaction') return transactionStatement(this.blockContext, session, stmt);
      if (session.status === 'idle') return this.executeOne(stmt, sql, false, zone, signal, principal);
      if (session.status === 'failed') throw abortedBlock();
      try {
        refuseInBlock(stmt);
        if (stmt.kind === 'insert' || stmt.kind === 'update' || stmt.kind === 'delete') {
          return await this.state.mutex.run(async () => {
            try {
              if (signal?.aborted) throw signal.reason;
              checkStatement(this.state, principal, stmt);
              return await dmlInBlock(this.blockContext, session, stmt, zone);
            } catch (e) {
              throw toSluiceError(e);
            }
          });
        }
        // After the block's first write its reads run in its DuckDB transaction. A probe (only
        // its columns are wanted) does not: its failure would abort that DuckDB transaction.
        if (stmt.kind === 'select' && session.open && session.conn && !probe) {
          return await this.adHoc.select(stmt, principal, zone, signal, session.conn).catch((e: unknown) => Promise.reject(toSluiceError(e)));
        }
        return await this.executeOne(stmt, sql, false, zone, signal, principal);
      } catch (e) {
        if (!probe) session.fail();
        throw e;
      }
    });
  }

  /** Every secret in the catalog's statements (connector passwords, keys, URL passwords). */
  private knownSecrets(): string[] {
    return this.catalog.list().flatMap((e) => secretsIn(e.sql));
  }

  /** Streams every change of a view to `onChange`, one call per epoch; returns an unsubscribe. */
  subscribe(view: string, onChange: (changes: Change[]) => void): () => void {
    const v = this.state.views.get(view);
    if (!v) throw new SluiceError('undefined_table', `materialized view "${view}" does not exist`);
    v.subscribers.add(onChange);
    return () => v.subscribers.delete(onChange);
  }

  /**
   * COPY table FROM STDIN's load, the superuser only: each batch of rows (text fields, null for
   * NULL) is cast to the table's types and inserted as it arrives, on a connection of its own in
   * one DuckDB transaction, without the engine lock; the commit (with its change-log record) and
   * the change for the views happen at the end, at once. A bad row, a failed or abandoned stream
   * rolls the whole COPY back. Returns the rows inserted.
   */
  async copyInto(table: string, columns: readonly string[] | null, batches: AsyncIterable<CopyBatch>, principal: Principal = SUPERUSER): Promise<number> {
    if (!principal.superuser) {
      throw new SluiceError('insufficient_privilege', `permission denied for table ${table}`, { hint: 'COPY FROM is not granted to users: only the superuser writes.' });
    }
    const { state } = this;
    let qc: QueryConn | null = null;
    try {
      const { t, load } = await this.gate.write(() => state.mutex.run(async () => {
        const target = dmlTarget(state, { kind: 'insert', table, text: '', pos: 0, offset: 0 });
        qc = await this.adHoc.sessionConnection();
        // The transaction's snapshot is pinned here, under the lock, between statements and epochs.
        await state.duck.run(`BEGIN TRANSACTION; SELECT 1 FROM main.${quoteIdent(table)} LIMIT 0`, qc.conn);
        return { t: target, load: new CopyLoad(state.duck, qc.conn, target.entry, columns) };
      }));
      for await (const b of batches) await load.push(b.rows, b.firstLine);
      const conn = qc!.conn;
      await this.gate.write(() => state.mutex.run(async () => {
        if (state.tables.get(table) !== t) throw new SluiceError('serialization_failure', `could not serialize access: table "${table}" was dropped during the COPY`);
        // One change (one sequence number) in as many batches as were loaded.
        const seq = state.tableSeq + 1;
        if (state.checkpointer) for (const b of load.changes) await state.checkpointer.logTableChange(seq, table, t.entry.schema, b, conn);
        await state.duck.run('COMMIT', conn);
        if (!load.changes.length) return;
        state.tableSeq = seq;
        for (const b of load.changes) t.pending.push({ seq, batch: b });
        if (state.settings.implicitFlush) await this.epochs.run(Date.now());
      }));
      return load.count;
    } catch (e) {
      if (qc) await state.duck.run('ROLLBACK', (qc as QueryConn).conn).catch(() => undefined);
      throw scrubError(toSluiceError(e), this.knownSecrets());
    } finally {
      if (qc) this.adHoc.closeSessionConnection(qc);
    }
  }

  /** Current rows of a view (a consistent snapshot between epochs). */
  async viewRows(view: string): Promise<Value[][]> {
    return this.state.mutex.run(async () => {
      const v = this.state.views.get(view);
      if (!v) throw new SluiceError('undefined_table', `materialized view "${view}" does not exist`);
      return v.store.rows();
    });
  }

  /**
   * Runs epochs now until no source has input left that was available (what FLUSH does): one
   * epoch, or several when a source bounds its epochs (a file source's max_bytes_per_epoch).
   */
  async flush(): Promise<void> {
    while (await this.state.mutex.run(() => this.epochs.run(Date.now()))) {
      if (this.state.closed) return;
    }
  }

  /** Stops the timer, the connectors and the table loaders, and closes DuckDB; later statements fail. */
  /**
   * Stops the engine. `checkpoint: false` skips the final state write (what a crash leaves: a
   * restart replays the epochs since the last one; tests of recovery use it).
   */
  async close(opts: { readonly checkpoint?: boolean } = {}): Promise<void> {
    const { state } = this;
    if (state.closed) return;
    state.closed = true;
    OPEN_ENGINES.delete(this);
    if (this.timer) clearTimeout(this.timer);
    // First, outside the mutex: applying a catalog statement takes it.
    await state.cluster?.close().catch(() => undefined);
    await state.mutex.run(async () => {
      // A graceful stop writes the views' state as of the last epoch (Spark's stopGracefully): a
      // restart then restores it and replays nothing; after a crash it replays the epochs since
      // the last state write (checkpoint_interval bounds them).
      if (state.checkpointer && opts.checkpoint !== false) {
        try {
          await checkpointNow(state);
        } catch (e) {
          state.log(`closing: the final checkpoint failed (${toSluiceError(e).message}); a restart replays from the one before`);
        }
      }
      for (const s of state.sources.values()) {
        await s.connector.stop().catch(() => undefined);
        // The shard workers (shared by every engine of the process) drop the rows they keep for it (parked.ts).
        release(s.retained.map((r) => r.batches));
      }
      for (const s of state.sinks.values()) {
        stopDelivery(s);
        await s.connector.close().catch(() => undefined);
      }
      state.checkpointer?.close();
      for (const v of pipelines(state)) v.pipeline.dispose();
      for (const t of state.tables.values()) await stopRefresh(t).catch(() => undefined);
      this.adHoc.close();
      state.queryConn?.closeSync();
      state.duck.close();
    });
  }

  private startTimer(): void {
    this.nextDue = Date.now() + this.state.settings.batchIntervalMs;
    const tick = () => {
      if (this.state.closed) return;
      const scheduled = this.nextDue;
      let more = false;
      void this.state.mutex
        .run(() => this.epochs.run(scheduled))
        .then((m) => {
          more = m;
        })
        .catch((e) => this.state.log(`epoch failed: ${toSluiceError(e).message}`))
        .finally(() => {
          if (this.state.closed) return;
          // A source with a backlog it takes in bounded epochs is caught up at once, not one epoch per interval.
          this.nextDue = more ? Date.now() : scheduled + this.state.settings.batchIntervalMs;
          const now = Date.now();
          // Missed slots are skipped, not replayed in a burst: scheduling delay shows the lag.
          if (this.nextDue < now) this.nextDue = now;
          this.timer = setTimeout(tick, this.nextDue - now);
        });
    };
    this.timer = setTimeout(tick, this.state.settings.batchIntervalMs);
  }

  /** A changed batch interval takes effect now if the timer runs. */
  private restartTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.startTimer();
  }

  /** One statement; `zone` is the TimeZone it runs under (its session's, or a view's own at replay). */
  private async executeOne(stmt: Statement, sql: string, replaying: boolean, zone: TimeZone, signal?: AbortSignal, principal: Principal = SUPERUSER): Promise<StatementResult> {
    // An ad-hoc SELECT takes the mutex only while it pins its snapshot (select.ts).
    if (stmt.kind === 'select') return this.adHoc.select(stmt, principal, zone, signal).catch((e: unknown) => Promise.reject(toSluiceError(e)));
    return this.state.mutex.run(async () => {
      try {
        // Cancelled or timed out while waiting for the engine: do not start.
        if (signal?.aborted) throw signal.reason;
        checkStatement(this.state, principal, stmt);
        if ((stmt.kind === 'alter_set' || stmt.kind === 'alter_rename') && this.state.views.get(stmt.name)?.cluster) {
          throw new SluiceError('not_supported', `view "${stmt.name}" runs across cluster ${this.state.cluster!.config.name}, and ALTER of a cluster view is not supported yet`, {
            position: stmt.pos,
            hint: 'Drop the view and create it again (both go to every member through the catalog topic); the new view starts over from the source.',
          });
        }
        if (stmt.kind === 'show_variable') return showSessionVariable(stmt.name, principal) ?? (await this.dispatch(stmt, sql, replaying, zone, signal));
        return await this.dispatch(stmt, sql, replaying, zone, signal);
      } catch (e) {
        throw toSluiceError(e);
      }
    });
  }

  private async dispatch(stmt: Statement, sql: string, replaying: boolean, zone: TimeZone, signal?: AbortSignal): Promise<StatementResult> {
    switch (stmt.kind) {
      case 'create_source':
        return this.ddl.createSource(stmt);
      case 'create_table':
        return this.ddl.createTable(stmt, replaying);
      case 'create_view':
        return this.ddl.createView(stmt, sql, zone);
      case 'create_sink':
        return this.ddl.createSink(stmt, sql, replaying);
      case 'create_model':
        return this.ddl.createModel(stmt, sql);
      case 'create_function':
        return createFunction(this.state, stmt, replaying);
      case 'drop_function':
        return dropFunction(this.state, stmt, async (name) => {
          await this.ddl.drop({ kind: 'drop', objectKind: this.catalog.get(name)?.kind ?? 'view', name, ifExists: true, cascade: true, pos: stmt.pos });
        });
      case 'insert':
      case 'update':
      case 'delete':
        return executeDml(this.state, this.epochs, stmt, zone);
      case 'drop':
        return this.ddl.drop(stmt);
      case 'show_objects':
        return showObjects(this.catalog, stmt);
      case 'show_variable':
        if (stmt.name.toLowerCase() === 'checkpoints') return showCheckpoints(this.state);
        return showVariable(this.state.settings, stmt.name);
      case 'show_create': {
        const e = this.catalog.get(stmt.name);
        if (!e || e.kind !== stmt.objectKind) throw new SluiceError('undefined_table', `${KIND_LABEL[stmt.objectKind]} "${stmt.name}" does not exist`, { position: stmt.pos });
        return { kind: 'rows', tag: 'SHOW 1', columns: [{ name: 'name', type: 'varchar' }, { name: 'create_sql', type: 'varchar' }], rows: [[e.name, redactStatement(e.sql)]] };
      }
      case 'create_user':
      case 'alter_user':
      case 'drop_user':
      case 'grant':
      case 'revoke':
        return executeUserStatement(this.state, stmt);
      case 'set':
        return setVariable(this.state.settings, stmt.name, stmt.value, () => this.restartTimer());
      case 'describe':
        return describe(this.catalog, stmt);
      case 'explain':
        return explain(this.state, this.lookup, stmt.statement, sql, zone);
      case 'flush':
        // Until no source has input left that was available (bounded epochs take a backlog in several).
        while ((await this.epochs.run(Date.now())) && !this.state.closed);
        return { kind: 'command', tag: 'FLUSH' };
      case 'replay':
        return replayEpoch(this.state, this.lookup, stmt.epoch);
      case 'select':
        return this.adHoc.select(stmt, SUPERUSER, zone, signal);
      case 'subscribe':
        return subscription(this.state, stmt);
      case 'transaction':
        // Not reached: execute gives a script with BEGIN/COMMIT a session (inSession).
        return { kind: 'command', tag: stmt.tag };
      case 'alter_set':
        return this.ddl.alterSet(stmt);
      case 'alter_rename':
        return this.ddl.rename(stmt);
      case 'comment':
        return this.ddl.comment(stmt);
      case 'create_index':
        return this.ddl.createIndex(stmt);
      case 'drop_index':
        return this.ddl.dropIndex(stmt);
      case 'copy_to':
      case 'copy_from':
      case 'declare':
      case 'fetch':
      case 'close_cursor':
        // The pg-wire session answers these itself (see server/client-statements.ts).
        throw new SluiceError('not_supported', `${CLIENT_STATEMENT[stmt.kind]} needs a PostgreSQL client session`, {
          hint: 'Run it through psql or a driver connected to `sluice serve`; here, use SELECT and SUBSCRIBE.',
        });
      default:
        return assertNever(stmt);
    }
  }
}

/** SHOW of what depends on who asks: is_superuser, session_authorization, current_user. */
function showSessionVariable(name: string, principal: Principal): StatementResult | null {
  const n = name.toLowerCase();
  if (n !== 'is_superuser' && n !== 'session_authorization' && n !== 'current_user') return null;
  const value = n === 'is_superuser' ? (principal.superuser ? 'on' : 'off') : principal.name;
  return { kind: 'rows', tag: 'SHOW', columns: [{ name: n, type: 'varchar' }], rows: [[value]] };
}

const CLIENT_STATEMENT = { copy_to: 'COPY … TO STDOUT', copy_from: 'COPY … FROM STDIN', declare: 'DECLARE … CURSOR', fetch: 'FETCH', close_cursor: 'CLOSE' } as const;

/** How many ad-hoc reads are worked on at once (as many as run in DuckDB at once). */
const READS_IN_PROGRESS = 2;

/** Scripts kept parsed, and the longest text kept. */
const PARSE_CACHE_ENTRIES = 256;
const PARSE_CACHE_MAX_TEXT = 4096;

/** Whether a script starts with a query (SELECT, WITH, VALUES, TABLE): the statements the read gate admits. */
function isRead(sql: string): boolean {
  const m = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*\(*\s*([A-Za-z]+)/.exec(sql);
  const word = m?.[1]?.toLowerCase();
  return word === 'select' || word === 'with' || word === 'values' || word === 'table';
}

/** Opens an engine: its DuckDB, its persisted catalog (replayed), and, unless autoStart is false, its epoch timer. */
/**
 * Every engine not yet closed, held strongly: an open engine is a process resource, as a server
 * is. Its caller may hold it only in an async frame that itself waits on the engine (a script's
 * `await engine.flush()`); nothing else would keep that chain from the garbage collector, which
 * took it away in the middle of a wait for the shard worker threads, and the wait never ended.
 */
const OPEN_ENGINES = new Set<Engine>();

export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  return Engine.create(opts);
}

export { formatInterval };

/**
 * What stops one statement: the caller's cancel, or statement_timeout (0: none). The reason is
 * the 57014 error the statement fails with.
 */
function statementSignal(cancel: AbortSignal | undefined, timeoutMs: number): AbortSignal | undefined {
  if (timeoutMs <= 0) return cancel;
  const timer = new AbortController();
  const t = setTimeout(() => timer.abort(new SluiceError('query_canceled', 'canceling statement due to statement timeout', {
    hint: `statement_timeout is ${timeoutMs} ms; SET statement_timeout = 0 lifts it.`,
  })), timeoutMs);
  t.unref();
  return cancel ? AbortSignal.any([cancel, timer.signal]) : timer.signal;
}
