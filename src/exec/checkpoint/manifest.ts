/**
 * What a checkpoint records besides operator state: the engine's counters, every source's
 * position and watermark, every view's watermark and counters and the file holding its state,
 * and the sinks' undelivered epochs. The manifest is the commit record: it is written in the
 * same DuckDB transaction as the epoch's dead letters and late rows, so an epoch is committed
 * exactly when its manifest row exists.
 */

/** A watermark's durable part (see WatermarkRt). */
export interface WatermarkCkpt {
  readonly value: string | null;
  readonly lastDataAt: number;
  readonly lateRows: number;
}

export interface SourceCkpt {
  /** The connector's position after the checkpoint's epoch (null: not resumable). */
  readonly position: unknown;
  readonly wm: WatermarkCkpt | null;
  readonly rowsTotal: number;
  readonly deadLetters: number;
}

export interface ViewCkpt {
  /** The state file (relative to the checkpoint dir) holding the view's operators and store whole. */
  readonly file: string;
  /** Delta files to apply after it, oldest first (incremental checkpoints; absent: none). */
  readonly deltas?: readonly string[];
  /** The view's SQL when the state was taken (a changed definition does not restore). */
  readonly sql: string;
  readonly wm: string | null;
  readonly lateRows: number;
  readonly rowErrors: number;
  readonly failed: string | null;
  /** Set by recovery when the view was renamed after this checkpoint: its name in the state file. */
  readonly renamedFrom?: string;
  /**
   * A cluster view (cluster mode): the incarnation its store belongs to, and the offsets of the
   * cluster's changes topic it holds everything below, by partition. Recovery restores the
   * store and reads the changes topic on from them.
   */
  readonly cluster?: ClusterPosition;
}

/** Where a member's copy of a cluster view stands in the view's changes topic. */
export interface ClusterPosition {
  readonly incarnation: number;
  readonly offsets: Readonly<Record<string, number>>;
}

export interface Manifest {
  /** Checkpoint number, increasing by one per checkpoint (DDL takes one too). */
  readonly id: number;
  /**
   * Whether it holds operator state (`views`). Between state checkpoints (checkpoint_interval)
   * an epoch commits a manifest without it; recovery replays such epochs from the offsets log.
   */
  readonly full: boolean;
  /** The last epoch whose effects the checkpoint holds. */
  readonly epoch: number;
  /** T of that epoch, µs, as a decimal string. */
  readonly lastT: string;
  /** The last table change (DML, reload) the views have consumed. */
  readonly tableSeq: number;
  readonly sources: Record<string, SourceCkpt>;
  readonly tables: Record<string, { readonly wm: WatermarkCkpt | null }>;
  readonly views: Record<string, ViewCkpt>;
  readonly createdAtMs: number;
}

/** Every state file of a view's checkpoint: its full file, then its deltas. */
export function chainOf(v: ViewCkpt): string[] {
  return [v.file, ...(v.deltas ?? [])];
}

/** What recovery starts from. */
export interface Recovery {
  /** The newest full checkpoint whose files verify. */
  readonly manifest: Manifest;
  /** The last committed epoch (≥ manifest.epoch): its effects are out (sinks, dead letters). */
  readonly committedEpoch: number;
  /**
   * Where each source starts: its position after the last epoch recovery replays (the offsets
   * log's), else the manifest's. Set by the engine before the catalog is replayed, so a source
   * starts once, past the replay, and replay re-reads the logged ranges on their own.
   */
  resumeAt?: Readonly<Record<string, unknown>>;
}
