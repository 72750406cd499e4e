/**
 * The seam between the engine and connectors. A source hands the engine, at each epoch's
 * planning step, everything that arrived since the last epoch as Arrow-layout batches, plus a
 * description of the range it covers (recorded with the epoch). A sink receives each epoch's
 * changes of its view.
 */
import type { Batch } from '../common/column.js';
import type { Schema, Value } from '../common/types.js';
import type { Options } from '../parser/ast.js';

export interface DeadLetter {
  /** Where the bad record was: file:line, topic/partition/offset, peer:line… */
  readonly position: string;
  readonly raw: string;
  readonly error: string;
}

export interface SourceContext {
  readonly name: string;
  readonly schema: Schema;
  readonly options: Options;
  /** The data dir of the engine, or null when running in memory. */
  readonly dataDir: string | null;
  /**
   * How many parts a source may read an epoch's input in, at once, in the shard worker threads
   * (the engine's parallelism setting; absent: 1): datagen makes its parts there, Kafka decodes
   * its partitions there (the workers keep the rows, exec/parallel/parked.ts).
   */
  parallelism?(): number;
  deadLetter(d: DeadLetter): void;
  log(message: string): void;
}

/** What one poll took: the batches, the range they cover, and where the source stands after them. */
export interface SourceRead<P = unknown> {
  readonly batches: readonly Batch[];
  /** The input range of this epoch, as the connector describes it (JSON-serialisable). */
  readonly range: unknown;
  /**
   * The source's position after this poll (JSON-serialisable): started from it, a fresh
   * connector continues exactly after what this poll returned. Null when the medium cannot be
   * resumed (a socket: what was sent while nobody listened is gone).
   */
  readonly position: P | null;
  /**
   * True when input that was available at this poll was left for later epochs (the source's own
   * per-epoch bound, such as the file source's max_bytes_per_epoch): FLUSH polls again until no
   * source says so. Absent: false.
   */
  readonly more?: boolean;
  /**
   * Milliseconds of this poll spent finding input rather than reading it (the file source's
   * directory listing). The rate controller leaves them out of the epoch's processing time: they
   * do not grow with the rows read, and counted as their cost they throttled a backlog to a few
   * rows per epoch. Absent: 0.
   */
  readonly listingMs?: number;
}

/**
 * A source. `start(resumeFrom)` connects and, given a position an earlier poll returned,
 * continues right after it (null: begin as its options say); `poll(now)` takes what is
 * available up to the rate limit; `commit(epoch, retainFrom)` (optional) tells it epoch n is
 * committed and that recovery may still re-read from `retainFrom` on (the position of the oldest
 * kept checkpoint), so a receiver can prune its write-ahead log below it; `stop()` disconnects;
 * `discard()` (optional) removes what the source keeps in the data dir once it is dropped.
 */
export interface SourceConnector<P = unknown> {
  start(resumeFrom: P | null): Promise<void>;
  /**
   * Takes everything available now, up to the connector's rate limit and `maxRows` (the engine's
   * limit for this epoch: `max_rate` and backpressure; absent or Infinity: none). A source whose
   * unit holds many rows (a file, a message) may overshoot by one unit. `nowMicros` is T_n.
   */
  poll(nowMicros: bigint, maxRows?: number): Promise<SourceRead<P>>;
  /**
   * Epoch `epoch` is committed; nothing before `retainFrom` (a position an earlier poll returned;
   * null: unknown, keep everything) will be re-read. Called after each commit with a data dir.
   */
  commit?(epoch: number, retainFrom: P | null): Promise<void>;
  /**
   * Reads a range an earlier poll recorded (its `range`) again, exactly, without moving the
   * position: recovery replays logged epochs with it. `nowMicros` is that epoch's T_n. Dead
   * letters of the range are not reported again. Absent when the medium cannot re-read.
   */
  reread?(range: unknown, nowMicros: bigint): Promise<readonly Batch[]>;
  /**
   * Where the source stands now, between polls (after start: where its options put it, such
   * as Kafka's 'latest' offsets), so a checkpoint taken before the first poll resumes there.
   */
  currentPosition?(): P | null;
  stop(): Promise<void>;
  /** The source was dropped: removes its files in the data dir (after stop). */
  discard?(): Promise<void>;
}

export interface SinkContext {
  readonly name: string;
  readonly schema: Schema;
  /** Columns that identify a row of the input (a view's group keys, a table's PRIMARY KEY), if known. */
  readonly primaryKey?: readonly string[];
  readonly options: Options;
  readonly appendOnly: boolean;
  log(message: string): void;
}

/**
 * A sink: delivers each epoch's changes of its input exactly once where the medium allows
 * (PostgreSQL, Kafka transactions, files; not stdout). The engine keeps each epoch's delta
 * until the sink holds it, so a sink needs no queue of its own: it must be atomic and
 * idempotent per epoch.
 */
export interface SinkConnector {
  /**
   * Connects (creating the destination if needed) and returns the highest epoch the destination
   * durably holds from this sink (null: none yet). Called once, before any write; may throw
   * (unreachable) — the engine retries it with backoff.
   */
  open(): Promise<number | null>;
  /**
   * Delivers epoch n's changes (weights +1/−1; null weights = all +1) atomically together with the
   * record that this sink now holds epoch n. Epochs come in increasing order; after a crash or a
   * failed write the engine may hand an epoch again: an epoch ≤ the last one delivered is a no-op.
   * A write that throws leaves the destination without that epoch, so retrying it is safe.
   * An epoch without changes may leave no record at all (handing it again changes nothing), so
   * `open()` can return an epoch older than the last one handed to `write`.
   */
  write(epoch: number, batches: readonly Batch[]): Promise<void>;
  close(): Promise<void>;
}

export type SourceFactory = (ctx: SourceContext) => SourceConnector;
export type SinkFactory = (ctx: SinkContext) => SinkConnector;

export interface TableLoaderContext {
  readonly name: string;
  readonly schema: Schema;
  readonly options: Options;
  readonly dataDir: string | null;
  /** Runs SQL on the engine's embedded DuckDB; rows are converted to `schema`'s types. */
  query(sql: string): Promise<Value[][]>;
  log(message: string): void;
}

/**
 * Loads a table's contents from outside (a file, a PostgreSQL table). The engine takes a
 * snapshot at CREATE TABLE and then every `refreshMs`, diffs it with what the table holds and
 * feeds the difference to views as a changelog. A failed snapshot keeps the last good one.
 * Not a SourceConnector: a snapshot has no position, and the diff needs the table's rows,
 * which the engine holds (docs/decisions.md, "Registries").
 */
export interface TableLoader {
  /** The full current contents, one array of values per row in schema order. */
  snapshot(): Promise<Value[][]>;
  /** How often to reload, or null to load once. */
  readonly refreshMs: number | null;
  close(): Promise<void>;
}

export type TableLoaderFactory = (ctx: TableLoaderContext) => TableLoader;
