/**
 * The epoch runner: one epoch of the engine, run by its caller under the engine mutex.
 *
 *   T_n := max(T_{n-1} + 1µs, wall clock)
 *   1. read:  each source's poll(T_n) gives its input range for epoch n (watermarks advance,
 *             dead letters go to `<source>_errors`); the DML changelogs queued on tables are taken
 *   2. views: run in creation order (a topological order): each view's pipeline gets the deltas
 *             of the relations it reads; its output delta updates its store, goes to its
 *             subscribers and becomes the delta later views and sinks read
 *   3. commit: the consistent cut made durable (commit.ts: state files, sink outbox, dead
 *             letters and late rows, the manifest), then sinks take their outbox epochs
 *   4. the epoch's metrics
 */
import { batchRows, ColumnBuilder, constantColumn, getValue, type Batch, type Column } from '../../common/column.js';
import { applyTypmod, decOf, formatDec } from '../../common/decimal.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import type { Schema, Value } from '../../common/types.js';
import type { OperatorContext } from '../operator.js';
import type { LookupService } from './lookup-service.js';
import { batchTime, emptyViewStore, pipelines, type Change, type EngineState, type SourceRt, type ViewRt } from './state.js';
import { advanceWatermark, lateInputSchema, viewWatermark } from './watermark.js';
import type { CommitAppend, OffsetsRecord } from '../checkpoint/checkpointer.js';
import { commitEpoch } from './commit.js';
import { epochLimit, sourceRate } from './rate-controller.js';
import { viewZone } from './settings.js';
import { fetchKept, keptBytes, release } from '../parallel/parked.js';

/** What the read step of an epoch gathered: the deltas by relation and the input counters. */
interface EpochInput {
  readonly deltas: Map<string, Batch[]>;
  readonly rowsIn: Record<string, number>;
  readonly ranges: Record<string, unknown>;
  deadLetters: number;
  /** Whether a source left available input for later epochs (SourceRead.more). */
  more: boolean;
  /** The sources' time spent finding input (SourceRead.listingMs), ms. */
  listingMs: number;
  /** Rows the commit appends to DuckDB tables (dead letters, late rows). */
  readonly appends: CommitAppend[];
}

/** Most bytes of a source's recent epochs kept for ad-hoc SELECTs (beyond its newest epoch). */
const RETAIN_BYTES = 64 << 20;

/** The columns of a source's `<source>_errors` dead-letter table. */
const ERRORS_SCHEMA: Schema = [
  { name: 'position', type: 'varchar' }, { name: 'raw', type: 'varchar' }, { name: 'error', type: 'varchar' }, { name: 'received_at', type: 'timestamp' },
];

/**
 * A source's non-empty batches as its views read them (live epochs, recovery's replay, REPLAY):
 * NUMERIC(p, s) columns rounded. Rows a worker keeps (parked.ts) are fetched for the rounding,
 * and dropped there for a batch left out or rewritten here; the columns a watermark reads are
 * fetched.
 */
export async function sourceBatchesOf(state: EngineState, name: string, s: SourceRt, read: readonly Batch[]): Promise<Batch[]> {
  const schema = s.entry.schema;
  if (schema.some((f) => f.typmod)) await fetchKept(read.filter((b) => b.length > 0));
  const batches = read.filter((b) => b.length > 0).map((b) => applyTypmods(b, schema, (m) => state.log(`source ${name}: ${m}`)));
  release([read.filter((b) => !batches.includes(b))]);
  if (s.wm) await fetchKept(batches, s.wm.reads);
  return batches;
}

/** Runs epochs over an engine's state. */
export class EpochRunner {
  constructor(
    private readonly state: EngineState,
    private readonly lookup: LookupService,
  ) {}

  /**
   * One epoch: read inputs, run views, write sinks, record metrics. Caller holds the mutex.
   * `pollSources` false only drains the tables' queued changes (before a view's backfill).
   * Returns whether a source left input that was available for the next epoch.
   */
  async run(scheduledAtMs: number, pollSources = true): Promise<boolean> {
    const started = performance.now();
    const startedWall = Date.now();
    const epoch = ++this.state.epochNo;
    let t = BigInt(Math.floor(this.state.clock())) * 1000n;
    if (t <= this.state.lastT) t = this.state.lastT + 1n;
    this.state.lastT = t;
    const nowMs = Number(t / 1000n);
    const input: EpochInput = { deltas: new Map(), rowsIn: {}, ranges: {}, deadLetters: 0, more: false, listingMs: 0, appends: [] };
    if (pollSources) await this.readSources(epoch, t, input);
    this.drainTables(nowMs, input, this.state.tableSeq);
    this.state.checkpointer?.logEpoch({
      epoch, t: t.toString(), ranges: input.ranges, tableSeq: this.state.consumedSeq,
      positions: Object.fromEntries([...this.state.sources].map(([n, s]) => [n, s.position])),
    });
    const { rowsOut, rowErrors } = await this.runViews(epoch, nowMs, input.deltas);
    this.collectLateRows(input.appends);
    // Every pipeline's per-epoch scratch is empty and the mutex is held: the consistent cut.
    const stateWriteMs = await commitEpoch(this.state, { epoch, appends: input.appends, sinkDeltas: await this.sinkDeltas(input.deltas) });
    const processingTimeMs = performance.now() - started;
    const schedulingDelayMs = Math.max(0, startedWall - scheduledAtMs);
    // The rate controller sees the epoch without its operator-state write: that write comes
    // every so many epochs (checkpoint_interval), costs the same whatever the input, and is
    // paid for by the auto interval, not by reading less.
    // Nor the sources' time spent listing (SourceRead.listingMs), which does not grow with the rows.
    if (pollSources) this.updateRates(Date.now(), input.rowsIn, processingTimeMs - stateWriteMs - input.listingMs, schedulingDelayMs);
    if (stateWriteMs === 0 && this.state.lastStateWrite) this.state.lastStateWrite.workSinceMs += processingTimeMs;
    this.state.metrics.push({
      epoch,
      batchTimeMs: nowMs,
      scheduledAtMs,
      schedulingDelayMs,
      processingTimeMs,
      rowsIn: input.rowsIn,
      ranges: input.ranges,
      rowsOut,
      deadLetters: input.deadLetters,
      rowErrors,
    });
    return input.more;
  }

  /**
   * Recovery: runs a logged, committed epoch again exactly (its T_n, its sources' recorded
   * ranges re-read, its table changes), so the views reach the state they had after it. Its
   * effects outside the views (dead letters, late rows, sink outbox) were committed with it,
   * so nothing is written; subscribers do not exist yet.
   */
  async replay(record: OffsetsRecord): Promise<void> {
    const { state } = this;
    state.epochNo = record.epoch;
    const t = BigInt(record.t);
    state.lastT = t;
    const nowMs = Number(t / 1000n);
    const input: EpochInput = { deltas: new Map(), rowsIn: {}, ranges: {}, deadLetters: 0, more: false, listingMs: 0, appends: [] };
    for (const [name, s] of state.sources) {
      const range = record.ranges[name];
      if (range === undefined) continue;
      if (!s.connector.reread) {
        state.log(`RECOVERY: source ${name} cannot re-read epoch ${record.epoch}'s input (${JSON.stringify(range)}); that input is lost to the views`);
        continue;
      }
      let read: readonly Batch[];
      try {
        read = await s.connector.reread(range, t);
      } catch (e) {
        throw new SluiceError('internal', `recovery cannot re-read epoch ${record.epoch} of source ${name} (range ${JSON.stringify(range)}): ${toSluiceError(e).message}`, {
          hint: 'The input of a committed epoch is gone (Kafka retention, a deleted file?). Restore it, or move the data dir aside to start over.',
        });
      }
      // As the live epoch read them (readSources).
      const batches = await this.sourceBatches(name, s, read);
      if (s.wm) advanceWatermark(s.wm, batches, nowMs, state.log);
      input.deltas.set(name, batches);
      s.position = record.positions[name] ?? s.position;
      s.rowsTotal += batches.reduce((a, b) => a + b.length, 0);
    }
    this.drainTables(nowMs, input, record.tableSeq);
    try {
      await this.runViews(record.epoch, nowMs, input.deltas);
    } finally {
      // Nothing retains a replayed epoch's rows: the workers that keep them drop them (parked.ts).
      release(input.deltas.values());
    }
    for (const v of pipelines(state)) v.pendingLate.length = 0;
  }

  /**
   * Runs a new view over the current contents of what it reads, into its store: `chunks` yields
   * them a part at a time (so a large table is never in memory whole and progress can be shown).
   * Every part runs in the same epoch with the watermark held; it moves once, after the last
   * part, so the result is that of one run over all of them.
   */
  async backfill(v: ViewRt, chunks: AsyncIterable<ReadonlyMap<string, readonly Batch[]>>, onOutput?: (b: Batch) => void): Promise<void> {
    const wmAfter = viewWatermark(this.state, v, Number(batchTime(this.state) / 1000n));
    const held = this.operatorContext(v, { before: null, after: null });
    v.store.expire?.(batchTime(this.state), null);
    // A model trains once per run: its backfill is one batch, however many parts it came in.
    if (v.model) chunks = oneChunk(chunks);
    for await (const chunk of chunks) {
      await v.pipeline.runEpoch(chunk, held);
      for (const b of v.outputs.splice(0)) {
        v.store.apply(b);
        onOutput?.(b);
      }
    }
    await v.pipeline.runEpoch(new Map(), this.operatorContext(v, { before: null, after: wmAfter }));
    v.wm = wmAfter;
    v.store.expire?.(batchTime(this.state), wmAfter);
    for (const b of v.outputs.splice(0)) {
      v.store.apply(b);
      onOutput?.(b);
    }
  }

  /** Backpressure: each source's PID estimator takes the epoch and sets the source's next rate. */
  private updateRates(endMs: number, rowsIn: Record<string, number>, processingMs: number, schedulingDelayMs: number): void {
    const on = this.state.settings.backpressure;
    for (const [name, s] of this.state.sources) {
      if (!on) {
        s.rate = null;
        continue;
      }
      const r = s.pid.compute(endMs, rowsIn[name] ?? 0, processingMs, schedulingDelayMs, s.lastLimit !== Infinity && (rowsIn[name] ?? 0) >= s.lastLimit);
      if (r !== null) s.rate = r;
    }
  }

  /** Polls every source for epoch n; a failing poll is logged and the source sits this epoch out. */
  private async readSources(epoch: number, t: bigint, input: EpochInput): Promise<void> {
    const { state } = this;
    const nowMs = Number(t / 1000n);
    for (const [name, s] of state.sources) {
      // In cluster mode the cluster's members read Kafka sources, each its own partitions; the
      // records this member found malformed still go to the source's dead-letter table.
      if (state.cluster && s.entry.options.connector === 'kafka') {
        this.takeDeadLetters(name, s, t, input);
        continue;
      }
      let read;
      try {
        const limit = epochLimit(sourceRate(s.maxRate, s.rate, state.settings), null, state.settings.batchIntervalMs);
        s.lastLimit = limit;
        read = await s.connector.poll(t, limit);
      } catch (e) {
        state.log(`source ${name}: ${toSluiceError(e).message}`);
        continue;
      }
      const batches = await this.sourceBatches(name, s, read.batches);
      if (s.wm) advanceWatermark(s.wm, batches, nowMs, state.log);
      input.deltas.set(name, batches);
      input.ranges[name] = read.range;
      if (read.more === true) input.more = true;
      input.listingMs += read.listingMs ?? 0;
      s.position = read.position;
      const n = batches.reduce((a, b) => a + b.length, 0);
      input.rowsIn[name] = n;
      s.rowsTotal += n;
      if (batches.length) {
        s.retained.push({ epoch, batches, bytes: batches.reduce((a, b) => a + keptBytes(b), 0) });
        // The last retainEpochs epochs, but no more than RETAIN_BYTES of them past the newest:
        // big epochs (a file backlog) would otherwise keep gigabytes for ad-hoc SELECTs. Rows a
        // worker keeps for an epoch let go of are dropped there (parked.ts).
        let kept = s.retained.reduce((a, r) => a + r.bytes, 0);
        while (s.retained.length > 1 && (s.retained.length > state.retainEpochs || kept > RETAIN_BYTES)) {
          const gone = s.retained.shift()!;
          kept -= gone.bytes;
          release([gone.batches]);
        }
        s.version++;
      }
      this.takeDeadLetters(name, s, t, input);
    }
  }

  private sourceBatches(name: string, s: SourceRt, read: readonly Batch[]): Promise<Batch[]> {
    return sourceBatchesOf(this.state, name, s, read);
  }

  /** A source's dead letters since the last epoch, for its `<source>_errors` table at the commit. */
  private takeDeadLetters(name: string, s: SourceRt, t: bigint, input: EpochInput): void {
    if (!s.dead.pending.length) return;
    const rows = s.dead.pending.splice(0).map((d) => [d.position, d.raw, d.error, t] as Value[]);
    input.deadLetters += rows.length;
    input.appends.push({ table: `${name}_errors`, schema: ERRORS_SCHEMA, rows });
  }

  /** Takes the changelogs queued on tables (DML, refreshes) as this epoch's table deltas. */
  private drainTables(nowMs: number, input: EpochInput, upToSeq: number): void {
    this.state.consumedSeq = upToSeq;
    for (const [name, tb] of this.state.tables) {
      let n = 0;
      while (n < tb.pending.length && tb.pending[n]!.seq <= upToSeq) n++;
      const batches = tb.pending.splice(0, n).map((p) => p.batch);
      if (tb.wm) advanceWatermark(tb.wm, batches, nowMs, this.state.log);
      input.deltas.set(name, batches);
      input.rowsIn[name] = batches.reduce((a, b) => a + b.length, 0);
    }
  }

  /** Runs every live view in creation order; a view that throws stops, the others go on. */
  private async runViews(epoch: number, nowMs: number, deltas: Map<string, Batch[]>): Promise<{ rowsOut: Record<string, number>; rowErrors: number }> {
    const rowsOut: Record<string, number> = {};
    let rowErrors = 0;
    // Predictions of this epoch use every model as trained through the previous one.
    for (const v of this.state.views.values()) v.model?.beginEpoch();
    // Views in creation order, then the sinks' own queries (they read views; nothing reads them).
    for (const v of pipelines(this.state)) {
      if (v.failed) continue;
      const before = v.rowErrors;
      const wmAfter = viewWatermark(this.state, v, nowMs);
      // State may change with input or a moving watermark; output is checked below.
      if (wmAfter !== v.wm || v.entry.dependsOn.some((rel) => deltas.get(rel)?.some((b) => b.length > 0))) v.dirty = true;
      try {
        if (v.cluster) v.outputs.push(...v.cluster.take());
        else await v.pipeline.runEpoch(deltas, this.operatorContext(v, { before: v.wm, after: wmAfter }));
        v.wm = wmAfter;
      } catch (e) {
        v.failed = toSluiceError(e);
        v.outputs.length = 0;
        v.dirty = true;
        this.state.log(`view ${v.entry.name} stopped: ${v.failed.message}`);
        continue;
      }
      rowErrors += v.rowErrors - before;
      // Retention: rows past it leave the store (stamped rows of this epoch get T_n). Not a
      // retraction: subscribers and sinks are not told.
      if (v.store.expire && v.store.expire(this.state.lastT, v.wm) > 0) {
        v.version++;
        v.dirty = true;
      }
      const out = v.outputs.splice(0);
      if (v.cluster) {
        // A cluster view's copy: the changes count as in the store (for its checkpoints) only once
        // applied. A copy out of step with the changes topic (a retraction of a row it does not
        // hold) is built again from the topic's start rather than kept half-applied.
        if (out.length) v.dirty = true;
        try {
          rowsOut[v.entry.name] = this.applyOutput(v, epoch, out);
          v.cluster.applied();
        } catch (e) {
          this.state.log(`cluster view ${v.entry.name}: this member's copy is out of step with the view's changes topic (${toSluiceError(e).message}); it is read again from the topic's start`);
          v.store = emptyViewStore(v.entry, v.planned, v.retention);
          v.ckptFile = null;
          v.ckptChain = null;
          v.version++;
          v.cluster.restart();
          rowsOut[v.entry.name] = 0;
          deltas.set(v.entry.name, []);
          continue;
        }
      } else rowsOut[v.entry.name] = this.applyOutput(v, epoch, out);
      if (rowsOut[v.entry.name]) v.dirty = true;
      deltas.set(v.entry.name, out);
    }
    return { rowsOut, rowErrors };
  }

  /** Applies a view's output delta to its store and hands it to its subscribers; returns its row count. */
  private applyOutput(v: ViewRt, epoch: number, out: readonly Batch[]): number {
    let n = 0;
    for (const b of out) {
      v.store.apply(b);
      n += b.length;
    }
    if (n) v.version++;
    if (v.subscribers.size && out.length) {
      const changes: Change[] = [];
      for (const b of out) batchRows(b).forEach((row, i) => changes.push({ row, weight: b.weights ? b.weights[i]! : 1, epoch }));
      for (const s of v.subscribers) {
        try {
          s(changes);
        } catch (e) {
          this.state.log(`subscriber of ${v.entry.name} failed: ${toSluiceError(e).message}`);
        }
      }
    }
    return n;
  }

  /** The late rows views keep (late_rows = 'keep'), for their `<view>_late` tables at the commit. */
  private collectLateRows(appends: CommitAppend[]): void {
    for (const v of this.state.views.values()) {
      if (!v.pendingLate.length) continue;
      const lateSchema = lateInputSchema(v.planned)!;
      appends.push({ table: `${v.entry.name}_late`, schema: [...lateSchema, { name: 'reason', type: 'varchar' }], batches: v.pendingLate.splice(0) });
    }
  }

  /** Each sink's delta of the epoch: the delta of the relation it reads, or of its own query (under its name). */
  private async sinkDeltas(deltas: ReadonlyMap<string, readonly Batch[]>): Promise<Map<string, readonly Batch[]>> {
    const out = new Map<string, readonly Batch[]>();
    for (const s of this.state.sinks.values()) {
      const bs = deltas.get(s.entry.from ?? s.entry.name) ?? [];
      // A sink FROM a source writes its rows: those a worker keeps are fetched (parked.ts).
      await fetchKept(bs);
      out.set(s.entry.name, bs);
    }
    return out;
  }

  /** The explicit context a view's operators get for one epoch. */
  private operatorContext(v: ViewRt, watermark: { before: bigint | null; after: bigint | null }): OperatorContext {
    const { state } = this;
    return {
      epoch: state.epochNo,
      now: batchTime(state),
      zone: viewZone(v.entry),
      watermark,
      countLate: (n) => {
        v.lateRows += n;
      },
      onRowError: (e) => {
        if (v.rowErrors++ < 5) state.log(`view ${v.entry.name}: row error (the value becomes NULL): ${e.message}`);
      },
      lookupInDuck: (req) => this.lookup.lookupInDuck(req),
      onLate: (rows, reason) => {
        v.lateRows += rows.length;
        if (v.keepLate) v.pendingLate.push({ ...rows, columns: [...rows.columns, constantColumn('varchar', reason, rows.length)], weights: null });
      },
    };
  }
}

/** All of `chunks` as one: each relation's batches, in order. */
async function* oneChunk(chunks: AsyncIterable<ReadonlyMap<string, readonly Batch[]>>): AsyncGenerator<ReadonlyMap<string, readonly Batch[]>> {
  const all = new Map<string, Batch[]>();
  for await (const chunk of chunks) {
    for (const [rel, batches] of chunk) {
      const list = all.get(rel) ?? [];
      list.push(...batches);
      all.set(rel, list);
    }
  }
  yield all;
}

/**
 * A source batch with its NUMERIC(p, s) columns rounded to s; a value past p digits becomes NULL
 * and is logged (PostgreSQL would refuse the row: 22003).
 */
function applyTypmods(b: Batch, schema: Schema, log: (m: string) => void): Batch {
  if (!schema.some((f) => f.typmod)) return b;
  const columns = b.columns.map((c, j) => {
    const tm = schema[j]?.typmod;
    if (!tm) return c;
    const out = new ColumnBuilder('numeric', b.length);
    for (let i = 0; i < b.length; i++) {
      const v = getValue(c, i);
      if (v === null) {
        out.appendNull();
        continue;
      }
      try {
        out.appendString(formatDec(applyTypmod(decOf(v as string), tm.precision, tm.scale)));
      } catch (e) {
        log(`column ${schema[j]!.name}: ${toSluiceError(e).message}; the value is NULL`);
        out.appendNull();
      }
    }
    return out.finish();
  });
  return { ...b, columns };
}
