/**
 * The flow-control experiment at full length (issue 11): a minute with backpressure on, then a
 * minute with it off, 20 M rows/s offered at a 500 ms batch interval. `npx tsx scripts/flow-control.ts [seconds]`.
 */
import { flowControlRun } from '../src/exec/runtime/flow-control.js';

const seconds = Number(process.argv[2] ?? 60);
for (const on of [true, false]) {
  const r = await flowControlRun(on, seconds);
  console.log(JSON.stringify(r));
}
