/**
 * Streaming-model benchmarks (issue 13), run by `npm run bench` (bench/run.ts) or alone with
 * `npx tsx bench/ml.ts`: training throughput in points per CPU-second of this process (one
 * core: the engine is single-threaded), at 10 K points per batch, for
 *
 *   ml_kmeans_k10_d10          k-means, k = 10, d = 10, through the engine: a datagen source of
 *                              10 random doubles, CREATE MODEL over it, FLUSH in a loop
 *   ml_linear_d20_50it         linear regression, d = 20, 50 iterations (convergence_tol = 0, so
 *                              every batch runs all 50), label computed in the training query
 *   …_kernel                   the same training arithmetic alone (exec/ml/algorithms.ts) over
 *                              packed batches: the ceiling the engine's overhead is measured from
 *
 * Each checks its answer: every point trained once (sluice.models batches and points), k-means
 * weights adding up to the points (decay 1: a split keeps the sum), regression loss falling.
 * Each case runs warm (bench/warm.ts): a warm-up, then SLUICE_BENCH_RUNS runs (default 3), the
 * median reported with every run's figure.
 */
import { createEngine } from '../src/exec/runtime/engine.js';
import { kmeansStep, sgdStep } from '../src/exec/ml/algorithms.js';
import { warmRuns } from './warm.js';

export interface MlResult {
  readonly name: string;
  readonly events: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsPerCpuSecond: number;
  readonly eventsPerWallSecond: number;
  readonly epochs: number;
  readonly check: string;
}

const POINTS = Number(process.env.SLUICE_BENCH_ML_POINTS ?? 1_000_000);
const BATCH = 10_000;

function fail(msg: string): never {
  throw new Error(`benchmark answer is wrong: ${msg}`);
}

/** Per-point cost figures from a run. */
function result(name: string, events: number, epochs: number, cpu: NodeJS.CpuUsage, wallMs: number, check: string): MlResult {
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = wallMs / 1000;
  return { name, events, cpuSeconds, wallSeconds, eventsPerCpuSecond: Math.round(events / cpuSeconds), eventsPerWallSecond: Math.round(events / wallSeconds), epochs, check };
}

async function engineCase(name: string, d: number, model: (cols: string[]) => string, check: (m: { batches: number; points: number; lastLoss: number; firstLoss: number; weights: number[] }) => string): Promise<MlResult> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  try {
    const cols = Array.from({ length: d }, (_, i) => `x${i}`);
    await engine.execute(`CREATE SOURCE pts (${cols.map((c) => `${c} DOUBLE`).join(', ')}) WITH (
      connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = ${BATCH}, max_rows = ${POINTS}, seed = 7,
      ${cols.map((c) => `fields.${c}.kind = 'random'`).join(', ')})`);
    await engine.execute(model(cols));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let produced = 0;
    let epochs = 0;
    let firstLoss = NaN;
    while (produced < POINTS) {
      await engine.flush();
      const n = engine.metrics().at(-1)!.rowsIn.pts ?? 0;
      if (n === 0) throw new Error('datagen produced no rows; check its options');
      produced += n;
      epochs++;
      if (epochs === 1) {
        const [r] = await engine.execute('SELECT last_loss FROM sluice.models');
        firstLoss = r?.kind === 'rows' ? Number(r.rows[0]![0]) : NaN;
      }
      process.stderr.write(`\r${name}: ${produced.toLocaleString()} / ${POINTS.toLocaleString()} points`);
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    process.stderr.write('\n');
    const [m] = await engine.execute('SELECT batches, points, last_loss, error FROM sluice.models');
    const [w] = await engine.execute('SELECT weight FROM m');
    if (m?.kind !== 'rows' || w?.kind !== 'rows') fail('no model rows');
    const row = m.rows[0]!;
    if (row[3] !== null) fail(`the model stopped: ${String(row[3])}`);
    const stats = { batches: Number(row[0]), points: Number(row[1]), lastLoss: Number(row[2]), firstLoss, weights: w.rows.map((r) => Number(r[0])) };
    if (stats.batches !== epochs) fail(`${stats.batches} batches trained, ${epochs} epochs ran`);
    if (stats.points !== produced) fail(`${stats.points} points trained, ${produced} produced`);
    return result(name, produced, epochs, cpu, wall, check(stats));
  } finally {
    await engine.close();
  }
}

/** Batches of uniform random points, packed row-major (and a label per point). */
function packedBatches(d: number, count: number, label: ((x: Float64Array, i: number) => number) | null): { x: Float64Array; y: Float64Array }[] {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: count }, () => {
    const x = new Float64Array(BATCH * d);
    for (let i = 0; i < x.length; i++) x[i] = rnd();
    const y = new Float64Array(BATCH);
    if (label) for (let i = 0; i < BATCH; i++) y[i] = label(x, i);
    return { x, y };
  });
}

const TRUTH = Array.from({ length: 20 }, (_, j) => (j % 3) - 1 + j / 10);

function kernelCase(name: string, d: number, train: (b: { x: Float64Array; y: Float64Array }) => number, label: ((x: Float64Array, i: number) => number) | null, check: (losses: number[]) => string): MlResult {
  const distinct = packedBatches(d, 10, label);
  const batches = Math.ceil(POINTS / BATCH);
  const losses: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) losses.push(train(distinct[b % distinct.length]!));
  const wall = performance.now() - t0;
  return result(name, batches * BATCH, batches, process.cpuUsage(cpu0), wall, check(losses));
}

export async function mlBenchmarks(only: readonly string[] = []): Promise<(MlResult & { runs?: number[] })[]> {
  const want = (n: string) => only.length === 0 || only.includes(n);
  const out: (MlResult & { runs?: number[] })[] = [];
  const sumCheck = (ws: number[], points: number) => {
    const sum = ws.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - points) > 1e-6 * points) fail(`k-means weights add up to ${sum}, not ${points}`);
    return `${points} points in ${ws.length} clusters, weights add up`;
  };
  // Warm runs, as the other benchmarks (bench/warm.ts): a warm-up, then the median of three.
  if (want('ml_kmeans_k10_d10')) {
    const init = JSON.stringify(Array.from({ length: 10 }, (_, c) => Array.from({ length: 10 }, (_, j) => ((c * 7 + j * 3) % 10) / 10)));
    out.push(await warmRuns(() => engineCase('ml_kmeans_k10_d10', 10, (cols) => `CREATE MODEL m WITH (type = 'kmeans', k = 10, decay_factor = 1, initial_centers = '${init}') AS SELECT ${cols.join(', ')} FROM pts`,
      (m) => sumCheck(m.weights, m.points))));
  }
  if (want('ml_linear_d20_50it')) {
    out.push(await warmRuns(() => engineCase('ml_linear_d20_50it', 20, (cols) => `CREATE MODEL m WITH (type = 'linear_regression', label = 'y', num_iterations = 50, convergence_tol = 0, step_size = 0.5)
      AS SELECT ${cols.join(', ')}, ${cols.map((c, j) => `${TRUTH[j]} * ${c}`).join(' + ')} AS y FROM pts`, (m) => {
      if (!(m.lastLoss < m.firstLoss)) fail(`loss did not fall: first batch ${m.firstLoss}, last ${m.lastLoss}`);
      return `${m.batches} batches × 50 iterations, loss ${m.firstLoss.toPrecision(3)} → ${m.lastLoss.toPrecision(3)}`;
    })));
  }
  // Each run trains a model of its own from the same start, so each checks its own answer.
  if (want('ml_kmeans_k10_d10_kernel')) {
    out.push(await warmRuns(async () => {
      const centers = new Float64Array(100).map((_, i) => (i % 7) / 7);
      const weights = new Float64Array(10);
      return kernelCase('ml_kmeans_k10_d10_kernel', 10, (b) => kmeansStep({ k: 10, d: 10, centers, weights }, b.x, BATCH, 1, 'batches'), null, () => sumCheck([...weights], Math.ceil(POINTS / BATCH) * BATCH));
    }));
  }
  if (want('ml_linear_d20_50it_kernel')) {
    out.push(await warmRuns(async () => {
      const w = new Float64Array(20);
      const s = { logistic: false, intercept: false, stepSize: 0.5, numIterations: 50, convergenceTol: 0, regParam: 0 };
      return kernelCase('ml_linear_d20_50it_kernel', 20, (b) => sgdStep(w, b.x, b.y, BATCH, 20, s), (x, i) => TRUTH.reduce((a, t, j) => a + t * x[i * 20 + j]!, 0), (losses) => {
        if (!(losses.at(-1)! < losses[0]!)) fail(`loss did not fall: ${losses[0]} → ${losses.at(-1)}`);
        return `loss ${losses[0]!.toPrecision(3)} → ${losses.at(-1)!.toPrecision(3)}`;
      });
    }));
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await mlBenchmarks(process.argv.slice(2));
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
}
