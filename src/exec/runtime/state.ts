/**
 * The engine's shared runtime state: one typed object that every part of the engine (statement
 * handlers, epoch runner, table refresh, lookup service) receives, so the parts share data
 * without reaching into each other. Everything here is read and changed under `mutex`.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Batch } from '../../common/column.js';
import type { SluiceError } from '../../common/errors.js';
import type { Field, Schema, Value } from '../../common/types.js';
import type { Checkpointer } from '../checkpoint/checkpointer.js';
import type { ClusterPosition, Recovery } from '../checkpoint/manifest.js';
import type { ProgressTracker } from './progress.js';
import type { Catalog, ModelEntry, SinkEntry, SourceEntry, TableEntry, ViewEntry } from '../../catalog/index.js';
import type { ModelState } from '../ml/model.js';
import { uniqueKey, type PlannedQuery } from '../../planner/index.js';
import type { DeadLetter, SinkConnector, SourceConnector, TableLoader } from '../../connectors/api.js';
import type { Pipeline } from '../pipeline.js';
import type { Kernel } from '../eval.js';
import { createViewStore, type Retention, type ViewStore } from '../view-store.js';
import type { Duck } from '../duck.js';
import type { Mutex } from './lock.js';
import type { MetricsRing } from './metrics.js';
import type { PathPolicy } from './path-policy.js';
import type { PidRateEstimator } from './rate-controller.js';
import type { ClusterConfig, ClusterRuntime } from '../../cluster/cluster.js';

/** Options of `createEngine`. */
export interface EngineOptions {
  /** Where the catalog and tables persist; null (default) keeps everything in memory. */
  readonly dataDir?: string | null;
  /** Longest a statement may run before it is cancelled with 57014 (default 0: no limit). */
  readonly statementTimeoutMs?: number;
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
  /**
   * The clock an epoch's batch time T_n is read from, in ms (default Date.now). A test hook:
   * tests of temporal filters run epochs at batch times they choose. T_n still only grows.
   */
  readonly clock?: () => number;
  /** The parallelism of views created without one (default 1; SET parallelism changes it). */
  readonly parallelism?: number;
  /** Cluster mode (`sluice serve --cluster`): views over Kafka sources run across the cluster's members. */
  readonly cluster?: ClusterConfig;
}

/** A WARNING a statement reports beside its result (PostgreSQL sends it as a NoticeResponse). */
export interface Warning {
  readonly code: string;
  readonly message: string;
}

/** What a statement returns: rows, a command tag, or a subscription. */
export type StatementResult =
  | { readonly kind: 'rows'; readonly tag: string; readonly columns: readonly Field[]; readonly rows: Value[][] }
  | { readonly kind: 'command'; readonly tag: string; readonly notice?: string; readonly warning?: Warning }
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
export interface WatermarkRt {
  readonly kernel: Kernel;
  readonly column: number;
  /** The relation's columns the watermark reads (its column and its expression's). */
  readonly reads: readonly number[];
  value: bigint | null;
  lastDataAt: number;
  lateRows: number;
}

/** A running source: its connector, retained recent epochs (for ad-hoc SELECT) and counters. */
export interface SourceRt {
  /** Replaced by ALTER SOURCE … SET (the stored statement changes with it). */
  entry: SourceEntry;
  /** Replaced when a rename moves the source's write-ahead log (rename.ts). */
  connector: SourceConnector;
  retained: { epoch: number; batches: readonly Batch[]; bytes: number }[];
  /** Dead letters waiting for the epoch to write them, and how many there were in all. */
  readonly dead: { pending: DeadLetter[]; count: number };
  rowsTotal: number;
  readonly wm: WatermarkRt | null;
  /** Bumped whenever the retained epochs change. */
  version: number;
  /** The connector's position after its last poll (what a checkpoint records), null if not resumable. */
  position: unknown;
  /** The source's `max_rate` (rows/s), or null. */
  maxRate: number | null;
  /** Its backpressure estimator, and the rate it set for the next epoch (rows/s; null: none yet). */
  readonly pid: PidRateEstimator;
  rate: number | null;
  /** The row limit of its last poll (Infinity: none). */
  lastLimit: number;
}

/** A table's runtime: the changelog queued for the next epoch and, if loaded, its loader. */
export interface TableRt {
  /** Replaced by ALTER TABLE … RENAME TO. */
  entry: TableEntry;
  /** Changes queued for the next epoch, each with its number in the table change sequence. */
  pending: { readonly seq: number; readonly batch: Batch }[];
  readonly wm: WatermarkRt | null;
  /** Set for tables loaded by a connector (file, postgres). */
  readonly loader: TableLoader | null;
  refreshTimer: NodeJS.Timeout | null;
  lastLoadError: string | null;
}

/**
 * A running materialized view: its plan, pipeline, store, subscribers and counters. A model runs
 * as one too (`model` set): its pipeline is its training query under its trainer, its store
 * its rows, so epochs, checkpoints, recovery, SELECT and views over it treat it as a view.
 */
export interface ViewRt {
  entry: ViewEntry | ModelEntry;
  readonly model: ModelState | null;
  /** Replaced, with the pipeline, when a rename rewrites the view's statement (rename.ts). */
  planned: PlannedQuery;
  pipeline: Pipeline;
  /** Replaced when ALTER … SET (retention) changes how it keeps rows. */
  store: ViewStore;
  /** WITH (retention = …) of an append-only view (retention.ts), or null. */
  retention: Retention | null;
  readonly outputs: Batch[];
  readonly subscribers: Set<(changes: Change[]) => void>;
  readonly onDrop: Set<(reason: string) => void>;
  rowErrors: number;
  failed: SluiceError | null;
  /** The view's watermark (min over its watermarked inputs), never decreasing. */
  wm: bigint | null;
  lateRows: number;
  keepLate: boolean;
  pendingLate: Batch[];
  readonly createdAtMs: number;
  /** Bumped whenever the view's contents change (ad-hoc query copies are keyed by it). */
  version: number;
  /** The state file of the last checkpoint that wrote this view whole (null: none yet). */
  ckptFile: string | null;
  /** The deltas written after it (incremental checkpoints), null before the first file. */
  ckptChain: CkptChain | null;
  /** Its state may have changed since that file was written. */
  dirty: boolean;
  /** A view the cluster runs (cluster.ts): its changes come from the cluster, not its pipeline. */
  cluster?: { take(): Batch[]; applied(): void; restart(): void; position(): ClusterPosition } | null;
}

/** A view's chain of state files after its full one (incremental checkpoints, view-state.ts). */
export interface CkptChain {
  /** Delta files after the full file, oldest first. */
  readonly deltas: readonly string[];
  readonly fullBytes: number;
  readonly deltaBytes: number;
  /** The pipeline and store the chain describes: replaced ones (a new retention) start a new chain. */
  readonly pipeline: Pipeline;
  readonly store: ViewStore;
}

/** A running sink. */
export interface SinkRt {
  /** Replaced by a rename (of the sink or of what it reads). */
  entry: SinkEntry;
  readonly connector: SinkConnector;
  readonly schema: Schema;
  /**
   * The sink's own query (CREATE SINK … AS SELECT): run like a view, after the views, with a
   * store that keeps no rows; its state is checkpointed under the sink's name. Null for FROM.
   */
  readonly query: ViewRt | null;
  /** Committed epochs not yet delivered, oldest first (mirrored in the data dir's outbox). */
  readonly outbox: { readonly epoch: number; readonly batches: readonly Batch[] }[];
  /** The last epoch the destination holds (undefined until the connector is opened). */
  delivered: number | null | undefined;
  delivering: boolean;
  /** The last delivery error (null when the sink is caught up or progressing). */
  error: string | null;
  /** Rows handed to the destination since the engine started (changes: a retraction counts). */
  rowsWritten: number;
  retryMs: number;
  retryTimer: NodeJS.Timeout | null;
  closed: boolean;
}

/** Answers SHOW for a parameter the engine does not own; undefined when it does not know it either. */
export type ParameterSource = (name: string) => string | undefined;

/** The values SET changes (see settings.ts for their names and validation). */
export interface RuntimeSettings {
  batchIntervalMs: number;
  implicitFlush: boolean;
  idleTimeoutMs: number;
  windowPanes: boolean;
  /** Longest a statement may run before it is cancelled (57014); 0: no limit. */
  statementTimeoutMs: number;
  /** How often an epoch writes operator state (between, epochs commit without it). */
  /**
   * When operator state is written with a commit: every N epochs, every so long, or `auto`
   * (default; commit.ts stateDue): every epoch for small state, spaced out for large state.
   */
  checkpointEvery: { readonly epochs: number } | { readonly ms: number } | { readonly auto: true };
  /** checkpoint_full_interval: a view's state is written whole at most this many checkpoints apart. */
  checkpointFullEvery: number;
  /**
   * parallelism: instances of each hash-distributed operator of a view created from now on (a
   * view keeps its own, until ALTER MATERIALIZED VIEW … SET PARALLELISM changes it).
   */
  parallelism: number;
  /** The PID rate controller sets each source's rate (SET backpressure = off disables it). */
  backpressure: boolean;
  /** The rate (rows/s) a source reads at before backpressure has an estimate (0: unlimited). */
  backpressureInitialRate: number;
  /** The share of the interval backpressure's cost cap aims epochs at (0: no cap; rate-controller.ts). */
  backpressureTarget: number;
  /** Any other SET parameter, by lower-cased name (lookup_join_strategy, client parameters …). */
  readonly custom: Map<string, string>;
  /** Read-only parameters installed by a front end (the pg-wire server's client parameters). */
  parameters: ParameterSource | null;
}

/** The shared runtime state of one engine. */
export interface EngineState {
  readonly catalog: Catalog;
  readonly duck: Duck;
  readonly mutex: Mutex;
  readonly paths: PathPolicy;
  readonly dataDir: string | null;
  readonly retainEpochs: number;
  readonly log: (m: string) => void;
  readonly sources: Map<string, SourceRt>;
  readonly tables: Map<string, TableRt>;
  readonly views: Map<string, ViewRt>;
  readonly sinks: Map<string, SinkRt>;
  readonly metrics: MetricsRing;
  /** Long work in progress (backfills, table loads, scripts), read without the lock. */
  readonly progress: ProgressTracker;
  readonly settings: RuntimeSettings;
  /** Where T_n comes from (ms): EngineOptions.clock, or the wall clock. */
  readonly clock: () => number;
  /** The last epoch run, and its batch time T_n in µs (0n before the first). */
  epochNo: number;
  lastT: bigint;
  closed: boolean;
  /** The creation order handed to the next catalog entry. */
  order: number;
  /** The connection ad-hoc SELECTs and DuckDB lookups run on, opened on first use. */
  queryConn: DuckDBConnection | null;
  /** Checkpoints and the table change log (null without a data dir). */
  checkpointer: Checkpointer | null;
  /** The number of the last table change (DML, reload) queued for the views. */
  tableSeq: number;
  /** The number of the last table change an epoch has handed to the views (what a checkpoint holds). */
  consumedSeq: number;
  /** While the catalog is replayed at start: the checkpoint being recovered, if any. */
  recovering: Recovery | null;
  /** While a restart replays a view's CREATE: the parallelism the catalog recorded for it. */
  replayParallelism: number | null;
  /**
   * The last commit that wrote operator state: when (wall ms), how long the write took, and the
   * epochs' processing time since (what recovery would replay).
   */
  lastStateWrite: { atMs: number; ms: number; workSinceMs: number } | null;
  /** The cluster runtime in cluster mode, else null. */
  readonly cluster: ClusterRuntime | null;
}

/** The connection for ad-hoc queries and lookups (statements are serialised by the mutex). */
export async function queryConnection(state: EngineState): Promise<DuckDBConnection> {
  state.queryConn ??= await state.duck.instance.connect();
  return state.queryConn;
}

/** The batch time to evaluate with: T_n of the last epoch, or the wall clock before the first (µs). */
export function batchTime(state: EngineState): bigint {
  return state.lastT === 0n ? BigInt(Math.floor(state.clock())) * 1000n : state.lastT;
}

/** Every running pipeline: the views' (and models') in creation order, then the sinks' own queries. */
export function* pipelines(state: EngineState): Generator<ViewRt> {
  yield* state.views.values();
  for (const s of state.sinks.values()) if (s.query) yield s.query;
}

/** An empty store for a view's rows: keyed by its plan's unique key, dropping rows past `retention`. */
export function emptyViewStore(entry: ViewEntry | ModelEntry, planned: PlannedQuery, retention: Retention | null): ViewStore {
  return createViewStore(entry.schema, entry.appendOnly, uniqueKey(planned.optimized), retention);
}
