/**
 * The end of an epoch: its consistent cut made durable (checkpoint.ts does the files and the
 * DuckDB transaction), then the sinks' outbox delivery. Without a data dir the cut only writes
 * the epoch's dead letters and late rows and queues the sinks' deltas in memory.
 *
 * Also the checkpoint a DDL statement takes (so a created view, source or sink is recovered
 * from its state rather than recomputed), and the pieces recovery restores from a manifest.
 */
import type { Batch } from '../../common/column.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import type { CommitAppend } from '../checkpoint/checkpointer.js';
import { uniformWeights } from '../checkpoint/checkpointer.js';
import { chainOf, type Manifest, type SourceCkpt, type ViewCkpt, type WatermarkCkpt } from '../checkpoint/manifest.js';
import { fitsPipeline, readViewState, savedParallelism, writeViewState } from '../checkpoint/view-state.js';
import { readBlobFile } from '../checkpoint/files.js';
import { Pipeline } from '../pipeline.js';
import { rescaleState } from '../rescale.js';
import { deliver } from './outbox.js';
import { pipelines, type CkptChain, type EngineState, type SinkRt, type ViewRt, type WatermarkRt } from './state.js';

/** What an epoch hands to its commit. */
export interface EpochCut {
  readonly epoch: number;
  readonly appends: readonly CommitAppend[];
  /** Each sink's delta of the epoch. */
  readonly sinkDeltas: ReadonlyMap<string, readonly Batch[]>;
}

/**
 * Makes epoch `cut.epoch` durable and queues its sink deltas; then delivers what sinks can take.
 * `full` forces the operator state to be written (DDL); otherwise checkpoint_interval decides,
 * and an epoch in between commits without it (recovery replays it from the offsets log).
 */
export async function commitEpoch(state: EngineState, cut: EpochCut, full = false): Promise<number> {
  const cp = state.checkpointer;
  const startedAt = performance.now();
  let bytes = 0;
  let stateWriteMs = 0;
  for (const [name, batches] of cut.sinkDeltas) {
    const s = state.sinks.get(name);
    if (!s || batches.every((b) => b.length === 0)) continue;
    const entry = { epoch: cut.epoch, batches: uniformWeights(batches.filter((b) => b.length > 0)) };
    if (cp) cp.writeOutbox(name, cut.epoch, s.schema, entry.batches);
    s.outbox.push(entry);
  }
  if (!cp) {
    for (const a of cut.appends) {
      if (a.rows?.length) await state.duck.appendRows(a.table, a.schema, a.rows);
      if (a.batches?.length) await state.duck.appendBatch(a.table, a.schema, a.batches);
    }
  } else {
    const id = cp.pendingId;
    const withState = full || stateDue(state, cp.last);
    const views: Record<string, ViewCkpt> = {};
    let viewsWritten = 0;
    const writeStarted = performance.now();
    if (withState) {
      for (const v of pipelines(state)) {
        // A view whose state did not change keeps its files; one whose state did writes the
        // changed keys as a delta of its chain, or its state whole (see deltaDue).
        if (v.dirty || v.ckptFile === null) {
          const file = cp.viewFile(v.entry.name, id);
          const chain = v.ckptFile === null ? null : v.ckptChain;
          const incremental = chain !== null && deltaDue(state, v, chain);
          await v.pipeline.fetchState(incremental);
          const w = writeViewState(cp.path(file), v.entry.name, v.pipeline, v.store, incremental);
          bytes += w.bytes;
          if (w.full || chain === null) {
            v.ckptFile = file;
            v.ckptChain = { deltas: [], fullBytes: w.bytes, deltaBytes: 0, pipeline: v.pipeline, store: v.store };
          } else v.ckptChain = { ...chain, deltas: [...chain.deltas, file], deltaBytes: chain.deltaBytes + w.bytes };
          v.dirty = false;
          viewsWritten++;
        }
        const deltas = v.ckptChain?.deltas ?? [];
        views[v.entry.name] = { file: v.ckptFile!, ...(deltas.length ? { deltas } : {}), sql: v.entry.sql, wm: v.wm?.toString() ?? null, lateRows: v.lateRows, rowErrors: v.rowErrors, failed: v.failed?.message ?? null, ...(v.cluster ? { cluster: v.cluster.position() } : {}) };
      }
    }
    if (withState) {
      stateWriteMs = performance.now() - writeStarted;
      state.lastStateWrite = { atMs: Date.now(), ms: stateWriteMs, workSinceMs: 0 };
    }
    await cp.commit(manifestOf(state, id, views, withState), cut.appends, { bytes, viewsWritten, startedAt });
    // Receivers may now prune their write-ahead logs below what recovery could still re-read.
    for (const [name, s] of state.sources) {
      if (!s.connector.commit) continue;
      try {
        await s.connector.commit(cut.epoch, cp.retainFrom(name));
      } catch (e) {
        state.log(`source ${name}: ${toSluiceError(e).message}`);
      }
    }
  }
  for (const s of state.sinks.values()) await deliver(state, s);
  return stateWriteMs;
}

/**
 * A checkpoint outside an epoch (after DDL): every view's current state, no appends.
 * `sinkDeltas` (a new query sink's first result) go to the outbox as the current epoch's, with it.
 */
export async function checkpointNow(state: EngineState, sinkDeltas: ReadonlyMap<string, readonly Batch[]> = new Map()): Promise<void> {
  if (state.recovering || (!state.checkpointer && sinkDeltas.size === 0)) return;
  await commitEpoch(state, { epoch: state.epochNo, appends: [], sinkDeltas }, true);
}

/**
 * `auto` writes operator state once the wall time since the last write is AUTO_WALL_FACTOR times
 * what that write took (a pipeline with slack: writing costs under ~10 % of the time), or once
 * the epochs since have processed for AUTO_REPLAY_FACTOR times it (a saturated pipeline: writing
 * costs at most a third, and recovery replays at most twice the write's time of work). Small
 * state is written every epoch either way.
 */
export const AUTO_WALL_FACTOR = 10;
export const AUTO_REPLAY_FACTOR = 2;

/**
 * Whether a view's state may be written as a delta of its chain: the chain describes the view's
 * current pipeline and store, is shorter than checkpoint_full_interval, and its deltas weigh
 * less than its full file (past that, a full file is cheaper to recover from).
 */
function deltaDue(state: EngineState, v: ViewRt, chain: CkptChain): boolean {
  return chain.pipeline === v.pipeline && chain.store === v.store && chain.deltas.length + 1 < state.settings.checkpointFullEvery && chain.deltaBytes < chain.fullBytes;
}

/** Whether checkpoint_interval calls for operator state at this commit. */
function stateDue(state: EngineState, last: Manifest | null): boolean {
  if (!last) return true;
  const every = state.settings.checkpointEvery;
  if ('auto' in every) {
    const w = state.lastStateWrite;
    return w === null || Date.now() - w.atMs >= AUTO_WALL_FACTOR * w.ms || w.workSinceMs >= AUTO_REPLAY_FACTOR * w.ms;
  }
  return 'epochs' in every ? state.epochNo - last.epoch >= every.epochs : Date.now() - last.createdAtMs >= every.ms;
}

function manifestOf(state: EngineState, id: number, views: Record<string, ViewCkpt>, full: boolean): Manifest {
  const sources: Record<string, SourceCkpt> = {};
  for (const [n, s] of state.sources) sources[n] = { position: s.position, wm: wmCkpt(s.wm), rowsTotal: s.rowsTotal, deadLetters: s.dead.count };
  const tables: Record<string, { wm: WatermarkCkpt | null }> = {};
  for (const [n, t] of state.tables) tables[n] = { wm: wmCkpt(t.wm) };
  return { id, full, epoch: state.epochNo, lastT: state.lastT.toString(), tableSeq: state.consumedSeq, sources, tables, views, createdAtMs: Date.now() };
}

function wmCkpt(wm: WatermarkRt | null): WatermarkCkpt | null {
  return wm ? { value: wm.value?.toString() ?? null, lastDataAt: wm.lastDataAt, lateRows: wm.lateRows } : null;
}

/** Puts a checkpointed watermark back. */
export function restoreWatermark(wm: WatermarkRt | null, c: WatermarkCkpt | null | undefined): void {
  if (!wm || !c) return;
  wm.value = c.value === null ? null : BigInt(c.value);
  wm.lastDataAt = c.lastDataAt;
  wm.lateRows = c.lateRows;
}

/**
 * Restores a view being recreated at recovery from the manifest's state file; false when the
 * manifest has no state for it (created after the checkpoint) or its definition changed.
 */
export function restoreView(state: EngineState, v: ViewRt): boolean {
  const m = state.recovering?.manifest;
  const c = m?.views[v.entry.name];
  if (!m || !c || !state.checkpointer) return false;
  // A rename the checkpoint predates changed the statement the way recovery expects.
  if (c.sql !== v.entry.sql && !state.catalog.renames().some((r) => r.oldSql[v.entry.name] === c.sql)) {
    state.log(`RECOVERY: view ${v.entry.name} changed its definition since checkpoint ${m.id}; it is recomputed from its inputs`);
    return false;
  }
  const cp = state.checkpointer;
  const files = chainOf(c).map((f) => ({ path: cp.path(f), read: cp.takeVerified(f) }));
  const first = files[0]!.read ?? readBlobFile(files[0]!.path);
  files[0] = { ...files[0]!, read: first };
  const saved = savedParallelism(first);
  // Written at another parallelism (ALTER … SET PARALLELISM, then a crash before the next
  // checkpoint): restored at that one, then moved by key group (rescale.ts).
  const rescaled = saved !== v.pipeline.parallelism && !fitsPipeline(first, v.pipeline, v.store, v.entry.name, c.renamedFrom) && v.model === null;
  if (rescaled) {
    const old = new Pipeline(v.entry.name, v.planned.physical, () => undefined, undefined, { parallelism: saved, threads: false });
    try {
      readViewState(files, v.entry.name, old, v.store, c.renamedFrom);
      rescaleState(v.entry.name, old.instancesByNode(), v.pipeline.instancesByNode());
    } finally {
      old.dispose();
    }
    state.log(`RECOVERY: view ${v.entry.name} was checkpointed at parallelism ${saved}; its state moved to parallelism ${v.pipeline.parallelism} by key group`);
  } else readViewState(files, v.entry.name, v.pipeline, v.store, c.renamedFrom);
  // A file written under the view's old name, or at another parallelism, is written again.
  v.ckptFile = c.renamedFrom === undefined && !rescaled ? c.file : null;
  const [full, ...deltas] = files.map((f) => f.read?.bytes ?? 0);
  v.ckptChain = { deltas: c.deltas ?? [], fullBytes: full!, deltaBytes: deltas.reduce((a, b) => a + b, 0), pipeline: v.pipeline, store: v.store };
  v.dirty = c.renamedFrom !== undefined || rescaled;
  v.wm = c.wm === null ? null : BigInt(c.wm);
  v.lateRows = c.lateRows;
  v.rowErrors = c.rowErrors;
  // A view that had stopped on an error stays stopped, with the same error.
  if (c.failed !== null) v.failed = new SluiceError('internal', c.failed);
  return true;
}

/** Loads a sink's committed, undelivered outbox epochs at recovery. */
export function restoreOutbox(state: EngineState, s: SinkRt): void {
  const r = state.recovering;
  if (!r || !state.checkpointer) return;
  s.outbox.push(...state.checkpointer.readOutbox(s.entry.name, s.schema, r.committedEpoch));
}
