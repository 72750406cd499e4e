/**
 * The flow-control experiment at full length (issue 11): 20 M rows/s offered at a 500 ms batch
 * interval, a minute per run: backpressure with its cost cap (backpressure_target 0.8, the
 * default), backpressure with Spark's estimator alone (backpressure_target 0), then backpressure
 * off. `npx tsx scripts/flow-control.ts [seconds] [rounds]`; rounds alternate the two
 * backpressure runs (the machine's load changes over minutes), and the off run comes last.
 * Prints one JSON line per run with the epochs past 1.5 × the interval among the last 20.
 */
import { flowControlRun } from '../src/exec/runtime/flow-control.js';

const seconds = Number(process.argv[2] ?? 60);
const rounds = Number(process.argv[3] ?? 1);
const runs: { name: string; on: boolean; target?: number }[] = [];
for (let i = 0; i < rounds; i++) runs.push({ name: 'backpressure, cost cap 0.8', on: true, target: 0.8 }, { name: "backpressure, Spark's estimator alone", on: true, target: 0 });
runs.push({ name: 'backpressure off', on: false });
for (const run of runs) {
  const r = await flowControlRun(run.on, seconds, 20_000_000, 500, run.target);
  const over = r.processingMs.filter((p) => p > 750).length;
  console.log(JSON.stringify({ run: run.name, over750: over, maxProcessingMs: Math.max(...r.processingMs), ...r }));
}
