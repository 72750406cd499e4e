/**
 * The monitor: one read of the engine's runtime figures — epochs, sources, views with their
 * operators, sinks, checkpoints, memory — in plain JSON-ready objects. The HTTP API, the
 * Prometheus collector and the `sluice.*` system tables all read this one shape, so they agree.
 *
 *   EngineState ─► Monitor.snapshot() ─┬─► /api/… (JSON)
 *                                      ├─► /metrics (prom-client gauges)
 *                                      └─► sluice.epochs, sluice.views, … (system-tables.ts)
 *
 * Callers hold the engine mutex, so a snapshot is a committed epoch boundary.
 */
import type { ClusterMemberRow } from '../../cluster/cluster.js';
import { formatInterval } from '../../common/interval.js';
import { typeDisplayName, type SqlType, type Value } from '../../common/types.js';
import type { EpochMetrics } from './metrics.js';
import { pipelines, type EngineState, type ViewRt } from './state.js';
import { shardPool } from '../parallel/pool.js';

/** One epoch as the monitor shows it. */
export interface EpochInfo {
  readonly epoch: number;
  /** T_n as an ISO timestamp, and in ms since 1970. */
  readonly batchTime: string;
  readonly batchTimeMs: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly processingMs: number;
  readonly schedulingDelayMs: number;
  readonly deadLetters: number;
  readonly rowErrors: number;
  /** Rows read per source or table, and rows out per view. */
  readonly rowsInBy: Readonly<Record<string, number>>;
  readonly rowsOutBy: Readonly<Record<string, number>>;
  /** The input range each source recorded (Kafka partition offsets, file names, …). */
  readonly ranges: Readonly<Record<string, unknown>>;
}

/** Records left beyond the read range in one partition of a source (Kafka). */
export interface PartitionLag {
  readonly partition: number;
  readonly lag: number;
}

export interface SourceInfo {
  readonly name: string;
  readonly connector: string;
  readonly rows: number;
  /** Rows per second over the recent epochs (up to the last 10). */
  readonly rate: number;
  readonly deadLetters: number;
  /** The dead-letter table to SELECT from. */
  readonly errorsTable: string;
  readonly lateRows: number;
  readonly watermark: string | null;
  /** Per-partition lag after the last epoch (empty for sources without partitions). */
  readonly lag: readonly PartitionLag[];
  /** The most rows per second the source may take (Kafka: max_rate_per_partition × partitions), null: no limit. */
  readonly rateLimit: number | null;
  /** The input range of the last epoch. */
  readonly lastRange: unknown;
}

/** A shard worker thread as sluice.workers shows it. */
export interface WorkerInfo {
  readonly worker: number;
  readonly status: 'starting' | 'running' | 'stopped';
  /** Share of its time since it started that its event loop was busy (0…1). */
  readonly busy: number;
  /** Views (and query sinks) of this engine with an instance in it. */
  readonly views: readonly string[];
  /** Pipelines of any engine in the process with an instance in it. */
  readonly pipelines: number;
}

export interface StateTableInfo {
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface OperatorView {
  readonly view: string;
  readonly id: string;
  readonly name: string;
  /** The operator its output goes to; null: the view's output. */
  readonly parent: string | null;
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** Rows in and out in the last epoch that ran the view. */
  readonly epochRowsIn: number;
  readonly epochRowsOut: number;
  readonly stateRows: number;
  readonly stateBytes: number;
  readonly stateTables: readonly StateTableInfo[];
}

export interface ViewInfo {
  readonly name: string;
  /** A model runs as a view (its trainer at the root of its pipeline). */
  readonly kind: 'view' | 'model';
  readonly sql: string;
  readonly appendOnly: boolean;
  readonly dependsOn: readonly string[];
  readonly rows: number;
  readonly stateRows: number;
  readonly stateBytes: number;
  readonly lateRows: number;
  readonly rowErrors: number;
  readonly watermark: string | null;
  readonly failed: string | null;
  /** Instances of each keyed operator (ALTER MATERIALIZED VIEW … SET PARALLELISM changes it). */
  readonly parallelism: number;
  readonly operators: readonly OperatorView[];
}

export interface ModelInfo {
  readonly name: string;
  readonly type: string;
  readonly features: readonly string[];
  readonly label: string | null;
  /** Training batches (epochs with usable rows) and the points they held. */
  readonly batches: number;
  readonly points: number;
  /** Rows left out (a NULL feature or label, a logistic label other than 0/1). */
  readonly skippedRows: number;
  readonly lastLoss: number | null;
  /** Why the model stopped (a non-finite parameter), null while it trains. */
  readonly error: string | null;
  readonly sql: string;
}

export interface SinkInfo {
  readonly name: string;
  /** The relation it reads; null for a sink with a query of its own (CREATE SINK … AS). */
  readonly from: string | null;
  /** Its query's operator state (rows and operators; none for a FROM sink): no result rows are kept. */
  readonly stateRows: number;
  readonly operators: readonly OperatorView[];
  readonly connector: string;
  readonly rowsWritten: number;
  readonly pendingEpochs: number;
  readonly deliveredEpoch: number | null;
  readonly error: string | null;
}

export interface CheckpointInfo {
  readonly id: number;
  readonly epoch: number;
  readonly createdAt: string;
  readonly bytes: number;
  readonly viewsWritten: number;
  readonly viewsAsDelta: number;
  readonly durationMs: number;
}

export interface MemoryInfo {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Operator state bytes per view. */
  readonly stateBytes: Readonly<Record<string, number>>;
}

/** Everything at once (what `/api/overview` answers). */
export interface Overview {
  readonly epoch: number;
  readonly batchIntervalMs: number;
  /** Processing time ≤ batch interval over the last few epochs. */
  readonly stable: boolean;
  readonly sources: readonly SourceInfo[];
  readonly views: readonly ViewInfo[];
  readonly sinks: readonly SinkInfo[];
  readonly memory: MemoryInfo;
}

/** How many recent epochs decide the stable badge and a source's rate. */
const RECENT = 10;

/** A state figure of one view, and when and at what cost it was taken. */
interface StateFigures {
  readonly tables: Map<string, readonly StateTableInfo[]>;
  readonly atMs: number;
  readonly costMs: number;
}

/**
 * Reads the engine's figures. State bytes are costly for large state (a state table's bytes are
 * measured by encoding its rows), so each view's figures are re-taken only when at least 20× the
 * time the last measurement took has passed: the monitor spends at most ~5 % of the time on them.
 */
/** A SQL function as the `sluice.functions` system table shows it. */
export interface FunctionInfo {
  readonly name: string;
  /** PostgreSQL's "Argument data types": `name type, …`. */
  readonly arguments: string;
  readonly returns: string;
  readonly volatility: string;
  readonly strict: boolean;
  readonly body: string;
  readonly sql: string;
}

/** A function's parameters as PostgreSQL lists them (`p integer, text`: unnamed ones by type only). */
export function functionArguments(params: readonly { readonly name: string; readonly type: SqlType }[]): string {
  return params.map((p) => (/^\$\d+$/.test(p.name) ? typeDisplayName(p.type) : `${p.name} ${typeDisplayName(p.type)}`)).join(', ');
}

export class Monitor {
  private readonly stateCache = new Map<string, StateFigures>();

  constructor(private readonly state: EngineState) {}

  /**
   * The process's shard worker threads (parallel views' keyed instances), with the views of
   * this engine that run an instance in each.
   */
  clusterMembers(): ClusterMemberRow[] {
    return this.state.cluster?.lastMembers ?? [];
  }

  /** Cluster mode: the cluster's name, this member's, and the members of its views; null otherwise. */
  cluster(): { name: string; member: string; brokers: readonly string[]; members: ClusterMemberRow[] } | null {
    const c = this.state.cluster;
    return c ? { name: c.config.name, member: c.member, brokers: c.config.brokers, members: c.lastMembers } : null;
  }

  workers(): WorkerInfo[] {
    const views = [...pipelines(this.state)].filter((v) => v.pipeline.threaded);
    return shardPool().describe().map((w) => {
      const here = views.filter((v) => v.pipeline.parallelism > w.worker).map((v) => v.entry.name);
      return { ...w, views: here };
    });
  }

  epochs(limit = 1000): EpochInfo[] {
    return this.state.metrics.list().slice(-limit).map(epochInfo);
  }

  epoch(n: number): EpochInfo | null {
    const m = this.state.metrics.list().find((e) => e.epoch === n);
    return m ? epochInfo(m) : null;
  }

  /** Whether the pipeline keeps up: processing time within the batch interval over the recent epochs. */
  stable(): boolean {
    const recent = this.state.metrics.list().slice(-RECENT);
    const interval = this.state.settings.batchIntervalMs;
    return recent.every((m) => m.processingTimeMs <= interval);
  }

  sources(): SourceInfo[] {
    const recent = this.state.metrics.list().slice(-(RECENT + 1));
    const spanS = recent.length > 1 ? (recent[recent.length - 1]!.batchTimeMs - recent[0]!.batchTimeMs) / 1000 : 0;
    const last = recent[recent.length - 1];
    return [...this.state.sources.values()].map((s) => {
      const name = s.entry.name;
      const rowsRecent = recent.slice(1).reduce((n, m) => n + (m.rowsIn[name] ?? 0), 0);
      const lastRange = last?.ranges[name] ?? null;
      const lag = partitionLag(lastRange);
      return {
        name,
        connector: s.entry.options.connector ?? '',
        rows: s.rowsTotal,
        rate: spanS > 0 ? rowsRecent / spanS : 0,
        deadLetters: s.dead.count,
        errorsTable: `${name}_errors`,
        lateRows: s.wm?.lateRows ?? 0,
        watermark: isoMicros(s.wm?.value ?? null),
        lag,
        rateLimit: rateLimit(s.entry.options, lag.length),
        lastRange,
      };
    });
  }

  views(): ViewInfo[] {
    return [...this.state.views.values()].map((v) => this.view(v));
  }

  /** Every model: its type, features, training counters and error (sluice.models). */
  /** The SQL functions (CREATE FUNCTION), oldest first. */
  functions(): FunctionInfo[] {
    return this.state.catalog.listFunctions().map((f) => ({
      name: f.name, arguments: functionArguments(f.params), returns: typeDisplayName(f.returns), volatility: f.volatility, strict: f.strict, body: f.bodyText, sql: f.sql,
    }));
  }

  models(): ModelInfo[] {
    const out: ModelInfo[] = [];
    for (const v of this.state.views.values()) {
      const m = v.model;
      if (!m) continue;
      out.push({
        name: m.name, type: m.type, features: m.spec.features, label: m.spec.type === 'kmeans' ? null : m.spec.label,
        batches: m.batches, points: m.points, skippedRows: m.skipped, lastLoss: m.lastLoss, error: v.failed?.message ?? null, sql: v.entry.sql,
      });
    }
    return out;
  }

  viewByName(name: string): ViewInfo | null {
    const v = this.state.views.get(name);
    return v ? this.view(v) : null;
  }

  sinks(): SinkInfo[] {
    return [...this.state.sinks.values()].map((s) => {
      const q = s.query ? this.view(s.query) : null;
      return {
        name: s.entry.name,
        from: s.entry.from,
        stateRows: q?.stateRows ?? 0,
        operators: q?.operators ?? [],
        connector: s.entry.options.connector ?? '',
        rowsWritten: s.rowsWritten,
        pendingEpochs: s.outbox.length,
        deliveredEpoch: s.delivered ?? null,
        // A query that stopped on an error stops the sink's changes too.
        error: s.error ?? (q?.failed ? `query stopped: ${q.failed}` : null),
      };
    });
  }

  checkpoints(): CheckpointInfo[] {
    return (this.state.checkpointer?.list() ?? []).map((c) => ({
      id: c.id, epoch: c.epoch, createdAt: new Date(c.createdAtMs).toISOString(), bytes: c.bytesWritten, viewsWritten: c.viewsWritten, viewsAsDelta: c.viewsAsDelta, durationMs: c.durationMs,
    }));
  }

  memory(views: readonly ViewInfo[] = this.views()): MemoryInfo {
    const m = process.memoryUsage();
    return {
      rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
      stateBytes: Object.fromEntries(views.map((v) => [v.name, v.stateBytes])),
    };
  }

  overview(): Overview {
    const views = this.views();
    return {
      epoch: this.state.epochNo,
      batchIntervalMs: this.state.settings.batchIntervalMs,
      stable: this.stable(),
      sources: this.sources(),
      views,
      sinks: this.sinks(),
      memory: this.memory(views),
    };
  }

  /** Up to `limit` current rows of a view (a live sample), with its column names. */
  sample(name: string, limit: number): { columns: string[]; rows: Value[][] } | null {
    const v = this.state.views.get(name);
    if (!v) return null;
    // An interval's value form is internal (common/interval.ts): the sample shows its text.
    const schema = v.entry.schema;
    const rows = v.store.sample(limit).map((r) => r.map((x, j) => (schema[j]?.type === 'interval' && x !== null ? formatInterval(x as string) : x)));
    return { columns: schema.map((f) => f.name), rows };
  }

  private view(v: ViewRt): ViewInfo {
    const tables = this.stateFigures(v);
    const operators = v.pipeline.operatorInfo().map(({ id, op, parent, counters }): OperatorView => {
      const st = tables.get(id) ?? [];
      return {
        view: v.entry.name, id, name: op.name, parent,
        rowsIn: counters.rowsIn, rowsOut: counters.rowsOut, epochRowsIn: counters.epochRowsIn, epochRowsOut: counters.epochRowsOut,
        stateRows: st.reduce((n, t) => n + t.rows, 0), stateBytes: st.reduce((n, t) => n + t.bytes, 0), stateTables: st,
      };
    });
    return {
      name: v.entry.name,
      kind: v.model ? 'model' : 'view',
      sql: v.entry.sql,
      appendOnly: v.entry.appendOnly,
      dependsOn: v.entry.dependsOn,
      rows: v.store.rowCount,
      stateRows: operators.reduce((n, o) => n + o.stateRows, 0),
      stateBytes: operators.reduce((n, o) => n + o.stateBytes, 0),
      lateRows: v.lateRows,
      rowErrors: v.rowErrors,
      watermark: isoMicros(v.wm),
      failed: v.failed?.message ?? null,
      parallelism: v.pipeline.parallelism,
      operators,
    };
  }

  /** Each operator's state tables with rows and bytes, re-measured when cheap enough (see the class note). */
  private stateFigures(v: ViewRt): Map<string, readonly StateTableInfo[]> {
    const now = performance.now();
    const cached = this.stateCache.get(v.entry.name);
    if (cached && now - cached.atMs < 20 * cached.costMs) return cached.tables;
    const tables = new Map<string, readonly StateTableInfo[]>();
    for (const [id, ts] of v.pipeline.stateTables()) {
      // A node with several instances has each table once per instance: one entry, summed.
      const byName = new Map<string, { name: string; rows: number; bytes: number }>();
      for (const t of ts) {
        const e = byName.get(t.spec.name) ?? { name: t.spec.name, rows: 0, bytes: 0 };
        e.rows += t.rows();
        e.bytes += t.bytes();
        byName.set(t.spec.name, e);
      }
      tables.set(id, [...byName.values()]);
    }
    this.stateCache.set(v.entry.name, { tables, atMs: now, costMs: performance.now() - now });
    return tables;
  }
}

function epochInfo(m: EpochMetrics): EpochInfo {
  const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    epoch: m.epoch,
    batchTime: new Date(m.batchTimeMs).toISOString(),
    batchTimeMs: m.batchTimeMs,
    rowsIn: sum(m.rowsIn),
    rowsOut: sum(m.rowsOut),
    processingMs: m.processingTimeMs,
    schedulingDelayMs: m.schedulingDelayMs,
    deadLetters: m.deadLetters,
    rowErrors: m.rowErrors,
    rowsInBy: m.rowsIn,
    rowsOutBy: m.rowsOut,
    ranges: m.ranges,
  };
}

/** A watermark in µs as an ISO timestamp. */
function isoMicros(us: bigint | null): string | null {
  return us === null ? null : new Date(Number(us / 1000n)).toISOString();
}

/** The per-partition lag a range records (Kafka: `{partitions: [{partition, lag}]}`). */
function partitionLag(range: unknown): PartitionLag[] {
  if (typeof range !== 'object' || range === null || !('partitions' in range) || !Array.isArray(range.partitions)) return [];
  const out: PartitionLag[] = [];
  for (const p of range.partitions as unknown[]) {
    if (typeof p !== 'object' || p === null) continue;
    const { partition, lag } = p as { partition?: unknown; lag?: unknown };
    if (typeof partition === 'number' && typeof lag === 'number') out.push({ partition, lag });
  }
  return out;
}

/** The static rate limit of a source's options, in rows per second (null: none). */
function rateLimit(options: Readonly<Record<string, string>>, partitions: number): number | null {
  const perPartition = options.max_rate_per_partition;
  if (perPartition === undefined) return null;
  const n = Number(perPartition);
  return Number.isFinite(n) ? n * Math.max(1, partitions) : null;
}
