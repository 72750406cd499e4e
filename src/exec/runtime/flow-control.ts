/**
 * The flow-control experiment of issue 11, shared by its test (short) and
 * `scripts/flow-control.ts` (a full minute): a datagen source offering `offered` rows/s into a
 * view that processes far less, batch interval 500 ms, run with backpressure on or off; reports
 * the median scheduling delay and the processing times of the last 20 epochs and the heap.
 */
import { createEngine } from './engine.js';

export interface FlowRun {
  readonly backpressure: boolean;
  readonly epochs: number;
  /** Median scheduling delay over the last 20 epochs (ms). */
  readonly medianDelayMs: number;
  /** Scheduling delay of the last epoch (ms). */
  readonly lastDelayMs: number;
  /** Processing times of the last 20 epochs (ms). */
  readonly processingMs: readonly number[];
  /**
   * Heap used in the run's second quarter and in its last quarter (MB): the smallest of the samples
   * taken every 250 ms in each, which is close to the live heap after a collection, not a moment's
   * garbage.
   */
  readonly heapMb: { readonly early: number; readonly end: number };
  /** The source's rate at the end (rows/s; null: unlimited). */
  readonly rate: number | null;
  readonly rowsPerEpoch: readonly number[];
}

/** Runs the experiment for `seconds`; `target` sets backpressure_target (the cost cap; 0: off). */
export async function flowControlRun(backpressure: boolean, seconds: number, offered = 20_000_000, intervalMs = 500, target?: number): Promise<FlowRun> {
  const e = await createEngine({ dataDir: null, batchIntervalMs: intervalMs, log: () => undefined });
  let early = Infinity;
  let late = Infinity;
  try {
    if (target !== undefined) await e.execute(`SET backpressure_target = ${target}`);
    await e.execute(`SET backpressure = ${backpressure ? 'on' : 'off'};
      CREATE SOURCE g (id BIGINT, v BIGINT) WITH (connector = 'datagen', rows_per_second = ${offered}, max_batch_rows = 100000000,
        fields.id.kind = 'sequence', fields.id.start = 0, fields.v.kind = 'random', fields.v.start = 0, fields.v.end = 1000000);
      CREATE MATERIALIZED VIEW heavy AS SELECT v % 200000 AS k, count(*) AS n, sum(id) AS s FROM g GROUP BY v % 200000;`);
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 250));
      const at = (Date.now() - t0) / (seconds * 1000);
      const heap = process.memoryUsage().heapUsed;
      if (at >= 0.25 && at < 0.5) early = Math.min(early, heap);
      if (at >= 0.75) late = Math.min(late, heap);
    }
    const m = e.metrics().slice(-20);
    const delays = m.map((x) => x.schedulingDelayMs).sort((a, b) => a - b);
    return {
      backpressure,
      epochs: e.metrics().length,
      medianDelayMs: delays[Math.floor(delays.length / 2)] ?? 0,
      lastDelayMs: m.at(-1)?.schedulingDelayMs ?? 0,
      processingMs: m.map((x) => Math.round(x.processingTimeMs)),
      heapMb: { early: Math.round(early / 2 ** 20), end: Math.round(Math.min(late, process.memoryUsage().heapUsed) / 2 ** 20) },
      rate: e.stats().sources.g?.rate ?? null,
      rowsPerEpoch: m.map((x) => x.rowsIn.g ?? 0),
    };
  } finally {
    await e.close();
  }
}
