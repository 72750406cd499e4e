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
}

/**
 * A source. `start(resumeFrom)` connects and, given a position an earlier poll returned,
 * continues right after it (null: begin as its options say); `poll(now)` takes what is
 * available up to the rate limit; `commit(epoch)` (optional) acknowledges what the epoch read
 * once it is durable; `stop()` disconnects.
 */
export interface SourceConnector<P = unknown> {
  start(resumeFrom: P | null): Promise<void>;
  /** Takes everything available now, up to the connector's rate limit. `nowMicros` is T_n. */
  poll(nowMicros: bigint): Promise<SourceRead<P>>;
  commit?(epoch: number): Promise<void>;
  stop(): Promise<void>;
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
 * A sink. `write(epoch, batches)` writes epoch n's changes (weights: +1 insert, −1 delete),
 * idempotently per epoch where the medium allows; `commit(epoch)` (optional) makes a written
 * epoch visible once the engine's checkpoint of it is durable (the second phase); `close()`.
 */
export interface SinkConnector {
  write(epoch: number, batches: readonly Batch[]): Promise<void>;
  commit?(epoch: number): Promise<void>;
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
