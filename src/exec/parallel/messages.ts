/**
 * Messages between the engine's thread (the coordinator) and a shard worker thread, which runs
 * instance s of the keyed nodes of pipelines with several instances (pipeline.ts), and source
 * tasks (rows of a datagen range). Batches are plain typed arrays; those made for the message
 * (exchange pieces, spread parts, generated rows) move in its transfer list, others are copied.
 * Each port is FIFO, which the protocol leans on: a node's outputs reach the coordinator before
 * the reply saying the node ended its epoch.
 */
import type { Batch } from '../../common/column.js';
import type { ErrorCategory } from '../../common/errors.js';
import type { PhysicalPlan } from '../../planner/physical.js';
import type { StateDelta } from '../state/state-table.js';
import type { Schema } from '../../common/types.js';
import type { DeadLetter } from '../../connectors/api.js';
import type { FormatSpec } from '../../connectors/formats/options.js';
import type { DecodeSettings } from '../../connectors/kafka/message-decoder.js';
import type { AbortedTransaction } from '../../connectors/kafka/record-batches.js';

/** A piece of a spread part's output, already split by key for the keyed node it goes to. */
export interface SpreadPiece {
  readonly to: number;
  readonly node: number;
  readonly input: number;
  readonly batch: Batch;
  /** Made by the split (not a batch the worker keeps): its buffers may move instead of being copied. */
  readonly own: boolean;
  /** A partial aggregate of the part (rows of the aggregate's `groups` table), to merge, not to process. */
  readonly partial?: boolean;
  /** A partial for a node of the engine's thread (a global aggregate): the part's rows it stands for. */
  readonly rows?: number;
}

/** A SluiceError as it crosses threads. */
export interface ErrorShape {
  readonly category: ErrorCategory;
  readonly message: string;
  readonly position?: number;
  readonly hint?: string;
}

/** The parts of an operator context a worker needs (the rest are callbacks, answered in replies). */
export interface EpochShape {
  readonly epoch: number;
  readonly now: bigint;
  readonly zone: string | null;
  readonly watermark: { readonly before: bigint | null; readonly after: bigint | null } | null;
}

/** One state table of a worker instance, as a checkpoint asks for it. */
export interface TableShape {
  readonly rows: number;
  readonly bytes: number;
  readonly pending: number;
  readonly snapshot: Batch[] | null;
  readonly delta: StateDelta | null;
}

/**
 * Work a shard worker does for a source, outside any pipeline: rows [from, from + n) of a datagen
 * source (`options` and `schema` as declared; the same range always gives the same rows), or a
 * piece of complete lines of a file to decode (`bytes`, in shared memory; its first line is
 * line `firstLine` of file `file`, which dead letters name), or a copy of columns `columns` of
 * the rows the worker keeps under task `id` (parked.ts).
 */
export type SourceTask =
  | {
      readonly kind: 'datagen';
      readonly schema: Schema;
      readonly options: Readonly<Record<string, string>>;
      readonly startMicros: bigint;
      readonly from: number;
      readonly n: number;
      readonly nowMicros: bigint;
    }
  | {
      readonly kind: 'decode';
      readonly schema: Schema;
      readonly format: FormatSpec;
      readonly bytes: Uint8Array;
      readonly firstLine: number;
      readonly file: string;
    }
  | { readonly kind: 'parked'; readonly id: number; readonly columns: readonly number[] }
  /**
   * A Kafka partition's record set (its bytes copied out of a fetch response, transferred) to
   * decode from offset `from` up to `to`, as range-reader.ts decodes one on the engine's thread.
   */
  | {
      readonly kind: 'kafka';
      readonly schema: Schema;
      readonly settings: DecodeSettings;
      readonly topic: string;
      readonly partition: number;
      readonly bytes: Uint8Array;
      readonly from: number;
      readonly to: number;
      readonly aborted: readonly AbortedTransaction[];
    };

/**
 * What a source task made: its rows (transferred), and for a decode its dead letters and line
 * count. A datagen or Kafka task's rows stay in the worker (parked.ts): `batch` is null, and
 * `parked` says under which ids it keeps how many rows, and their size (a datagen part under the
 * task's id; a Kafka record set's batches under ids the worker picks, below 0). A `parked` task's batch holds
 * the columns asked for, in the order asked.
 */
export interface TaskResult {
  readonly batch: Batch | null;
  readonly parked?: readonly { readonly id: number; readonly rows: number; readonly bytes: number }[];
  readonly deadLetters: readonly DeadLetter[];
  readonly lines: number;
}

export type ToWorker =
  | { readonly t: 'task'; readonly pid: 0; readonly id: number; readonly task: SourceTask }
  | { readonly t: 'build'; readonly pid: number; readonly view: string; readonly plan: PhysicalPlan; readonly parallelism: number; readonly shard: number; readonly terminal: boolean }
  | { readonly t: 'drop'; readonly pid: number }
  | { readonly t: 'begin'; readonly pid: number; readonly ctx: EpochShape }
  | { readonly t: 'batch'; readonly pid: number; readonly node: number; readonly input: number; readonly batch: Batch; readonly partial?: boolean }
  /**
   * Part `seq` of the epoch's input to a spread scan (node `node`), its columns already chosen (the
   * scan's output): the worker runs it through the stateless chain above the scan and answers
   * with the pieces for the keyed node above ('spread'), split by key.
   */
  | { readonly t: 'spread'; readonly pid: number; readonly node: number; readonly seq: number; readonly batch: Batch; readonly parked?: undefined }
  /** The same, for rows this worker made and kept (parked.ts): columns `columns` of the rows kept under task `parked`. */
  | { readonly t: 'spread'; readonly pid: number; readonly node: number; readonly seq: number; readonly batch?: undefined; readonly parked: number; readonly columns: readonly number[] }
  /** The rows kept under these task ids are read (parked.ts). */
  | { readonly t: 'unpark'; readonly pid: 0; readonly ids: readonly number[] }
  /**
   * Ends nodes `nodes` in this order (a node after its children): each one's input from other
   * threads has arrived, and what flows from one to the next stays in this worker.
   */
  | { readonly t: 'end'; readonly pid: number; readonly nodes: readonly number[]; readonly seq: number }
  | { readonly t: 'fetch'; readonly pid: number; readonly seq: number; readonly incremental: boolean | 'always' }
  | { readonly t: 'figures'; readonly pid: number; readonly seq: number }
  | { readonly t: 'restore'; readonly pid: number; readonly node: number; readonly table: number; readonly batches: readonly Batch[] }
  | { readonly t: 'apply'; readonly pid: number; readonly node: number; readonly table: number; readonly delta: StateDelta }
  | { readonly t: 'clear'; readonly pid: number; readonly node: number; readonly table: number };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'taskDone'; readonly id: number; readonly result: TaskResult | null; readonly failure: ErrorShape | null }
  /** A request for a pipeline this worker does not host (it was started after that pipeline was built). */
  | { readonly t: 'unknown'; readonly pid: number; readonly shard: number }
  /** A batch for node `node`'s input `input` (node -1: the pipeline's output) from instance `from`. */
  | { readonly t: 'out'; readonly pid: number; readonly node: number; readonly input: number; readonly from: number; readonly batch: Batch }
  /** What part `seq` of a spread scan's input became: pieces for instance `to` of node `node`'s input `input`. */
  | { readonly t: 'spread'; readonly pid: number; readonly seq: number; readonly pieces: readonly SpreadPiece[] }
  | {
      readonly t: 'ended';
      readonly pid: number;
      readonly seq: number;
      readonly shard: number;
      /** Rows in and out of each node of the worker since the last reply, by node index. */
      readonly counts: readonly (readonly [number, number, number])[];
      readonly errors: readonly ErrorShape[];
      readonly late: readonly { readonly batch: Batch; readonly reason: string }[];
      readonly lateCount: number;
      /** Each ended node's instance's stateRows() (rows the watermark cleans), by node index. */
      readonly stateRows: readonly (readonly [number, number])[];
      /** A failure of the instance (it throws at the coordinator). */
      readonly failure: ErrorShape | null;
    }
  /** Each table's rows and bytes (node, table, rows, bytes), for the monitor. */
  | { readonly t: 'figured'; readonly pid: number; readonly seq: number; readonly shard: number; readonly figures: readonly (readonly [number, number, number, number])[]; readonly failure: ErrorShape | null }
  | { readonly t: 'fetched'; readonly pid: number; readonly seq: number; readonly shard: number; readonly tables: readonly (readonly [number, number, TableShape])[]; readonly failure: ErrorShape | null };
