/**
 * REPLAY EPOCH n (and `sluice replay`): re-runs a committed epoch for people, without touching
 * the live state. Fresh pipelines are built from every view's plan and restored from the newest
 * kept checkpoint before n; the logged epochs after it run silently, then epoch n, whose input
 * ranges and each view's changes are the answer. Sources re-read their logged ranges (nothing
 * moves), table changes come from the change log. Lookup joins answered by DuckDB see the
 * tables as they are now, not as of epoch n.
 */
import { batchRows, type Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import type { OffsetsRecord } from '../checkpoint/checkpointer.js';
import { chainOf } from '../checkpoint/manifest.js';
import { readViewState } from '../checkpoint/view-state.js';
import { Pipeline } from '../pipeline.js';
import { ModelState, ModelTrainOp } from '../ml/model.js';
import { createDiscardStore, createViewStore } from '../view-store.js';
import { uniqueKey } from '../../planner/index.js';
import type { LookupService } from './lookup-service.js';
import { pipelines, type EngineState, type StatementResult, type ViewRt, type WatermarkRt } from './state.js';
import { advanceWatermark, viewWatermark } from './watermark.js';
import { viewZone } from './settings.js';
import { release } from '../parallel/parked.js';
import { sourceBatchesOf } from './epoch-runner.js';

interface Replica {
  readonly live: ViewRt;
  readonly pipeline: Pipeline;
  readonly out: Batch[];
  wm: bigint | null;
}

/** Runs REPLAY EPOCH n. */
export async function replayEpoch(state: EngineState, lookup: LookupService, n: number): Promise<StatementResult> {
  const cp = state.checkpointer;
  if (!cp) throw new SluiceError('not_supported', 'REPLAY needs a data dir: without one no epoch is logged', { hint: 'Start the server with --data-dir DIR.' });
  const { base, records } = cp.replayFrom(n, state.epochNo);
  // Watermarks of the inputs as of the base checkpoint, advanced by the replayed epochs.
  const wms = new Map<string, WatermarkRt>();
  for (const [name, s] of state.sources) if (s.wm) wms.set(name, { ...s.wm, ...restored(base.sources[name]?.wm) });
  for (const [name, t] of state.tables) if (t.wm) wms.set(name, { ...t.wm, ...restored(base.tables[name]?.wm) });
  const shadow = { sources: new Map([...wms].filter(([k]) => state.sources.has(k)).map(([k, wm]) => [k, { wm }])), tables: new Map([...wms].filter(([k]) => state.tables.has(k)).map(([k, wm]) => [k, { wm }])), settings: state.settings } as unknown as EngineState;
  const replicas: Replica[] = [];
  // Views, then the sinks' own queries (their changes are what the sink was handed).
  for (const v of pipelines(state)) {
    const saved = base.views[v.entry.name];
    if (!saved || saved.sql !== v.entry.sql) continue;
    const out: Batch[] = [];
    const model = v.model;
    // A model's replica trains a model of its own from the checkpoint's parameters.
    const pipeline = new Pipeline(v.entry.name, v.planned.physical, (b) => out.push(b), model ? (id) => new ModelTrainOp(id, new ModelState(model.name, model.spec)) : undefined, { parallelism: v.pipeline.parallelism, threads: false });
    const store = state.views.has(v.entry.name) ? createViewStore(v.entry.schema, v.entry.appendOnly, model ? [0] : uniqueKey(v.planned.optimized), v.retention) : createDiscardStore(v.entry.schema);
    readViewState(chainOf(saved).map((f) => ({ path: cp.path(f) })), v.entry.name, pipeline, store);
    replicas.push({ live: v, pipeline, out, wm: saved.wm === null ? null : BigInt(saved.wm) });
  }
  const changes = await cp.tableChangesAfter(base.tableSeq, (name) => state.tables.get(name)?.entry.schema);
  let answer: Value[][] = [];
  for (const rec of records) {
    const deltas = await inputOf(state, rec, changes, wms);
    // Rows a worker keeps for a re-read range are dropped there once the epoch has run (parked.ts).
    const kept = [...deltas.values()];
    try {
      const rows: Value[][] = Object.entries(rec.ranges).map(([src, range]) => [`(input ${src})`, null, JSON.stringify(range)]);
      const nowMs = Number(BigInt(rec.t) / 1000n);
      for (const r of replicas) {
        const after = viewWatermark(shadow, { ...r.live, wm: r.wm } as ViewRt, nowMs);
        await r.pipeline.runEpoch(deltas, {
          epoch: rec.epoch, now: BigInt(rec.t), zone: viewZone(r.live.entry), watermark: { before: r.wm, after },
          countLate: () => undefined, onRowError: () => undefined, onLate: () => undefined,
          lookupInDuck: (req) => lookup.lookupInDuck(req),
        });
        r.wm = after;
        const out = r.out.splice(0);
        deltas.set(r.live.entry.name, out);
        for (const b of out) batchRows(b).forEach((row, i) => rows.push([r.live.entry.name, b.weights ? b.weights[i]! : 1, JSON.stringify(row, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))]));
      }
      answer = rows;
    } finally {
      release(kept);
    }
  }
  return { kind: 'rows', tag: `REPLAY ${answer.length}`, columns: [{ name: 'view', type: 'varchar' }, { name: 'weight', type: 'int' }, { name: 'row', type: 'varchar' }], rows: answer };
}

function restored(c: { value: string | null; lastDataAt: number; lateRows: number } | null | undefined): Partial<WatermarkRt> {
  return c ? { value: c.value === null ? null : BigInt(c.value), lastDataAt: c.lastDataAt, lateRows: c.lateRows } : {};
}

/** One logged epoch's input: the sources' ranges re-read, the table changes it consumed. */
async function inputOf(state: EngineState, rec: OffsetsRecord, changes: { seq: number; table: string; batch: Batch[] }[], wms: Map<string, WatermarkRt>): Promise<Map<string, Batch[]>> {
  const deltas = new Map<string, Batch[]>();
  const t = BigInt(rec.t);
  const nowMs = Number(t / 1000n);
  for (const [name, range] of Object.entries(rec.ranges)) {
    const s = state.sources.get(name);
    if (!s?.connector.reread) continue;
    // As the live epoch read them: NUMERIC(p, s) rounded, a watermark's columns fetched.
    deltas.set(name, await sourceBatchesOf(state, name, s, await s.connector.reread(range, t)));
  }
  // The changes are in sequence order; this epoch takes those up to its recorded number.
  while (changes.length && changes[0]!.seq <= rec.tableSeq) {
    const c = changes.shift()!;
    const list = deltas.get(c.table) ?? [];
    list.push(...c.batch);
    deltas.set(c.table, list);
  }
  for (const [name, wm] of wms) advanceWatermark(wm, deltas.get(name) ?? [], nowMs, () => undefined);
  return deltas;
}
