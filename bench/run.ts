/**
 * Engine benchmarks (`npm run bench [-- NAME…]`). A full run (no names) also runs the receiver
 * ingest benchmark, bench/receivers.ts (MQTT at QoS 0/1/2 through the Mosquitto on
 * 127.0.0.1:1883, socket with the WAL on and off; its own bench/results/receivers.json), in a
 * child process after the engine cases; `npm run bench -- receivers` runs only that, and
 * SLUICE_BENCH_RECEIVERS=0 leaves it out. The file ingest benchmarks, bench/files.ts (word count
 * over text files, Nexmark q1 over JSON bids; bench/results/files.json), run the same way:
 * `npm run bench -- files` runs only them, SLUICE_BENCH_FILES=0 leaves them out. Each engine case runs a datagen source through a view,
 * epoch after epoch (FLUSH in a loop, no timer), measures events per CPU-second of this process
 * (user+sys, as Flink's and RisingWave's per-core figures are computed) and per wall second,
 * checks the view's answer, and writes JSON to bench/results/.
 *
 * The ml_* cases (bench/ml.ts) measure streaming-model training in points per CPU-second.
 *
 * `-- --http` runs each case with the HTTP server up and a client polling what the web UI and a
 * Prometheus scraper read (/api/overview, /api/epochs, /metrics) every 200 ms from another
 * process: the cost of the UI and metrics to the engine, compared with a run without.
 *
 * Warm runs (bench/warm.ts): each case runs once to warm up, then three times; the median run
 * is reported, with each run's figure and the warm-up's. SLUICE_BENCH_COLD=1: one cold run.
 *
 * SLUICE_BENCH_PROFILE=DIR writes a V8 CPU profile of each engine case's measured phase to
 * DIR/NAME.cpuprofile (the profiler's own overhead lowers the figures of that run); see
 * bench/profile.ts for the perf and heap-profile variants.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { startHttpServer } from '../src/server/http-server.js';
import type { Value } from '../src/common/types.js';
import { mlBenchmarks } from './ml.js';
import { startProfile } from './profile.js';
import { CHILD_NODE_FLAGS, warmRuns } from './warm.js';
import { shardPool } from '../src/exec/parallel/pool.js';
import { shardDiagnostics, shardThreadsDefault } from '../src/exec/parallel/remote.js';
import { parseDiagnostics } from '../src/parser/guarded-parse.js';

// `kill -USR2 <pid>` of a bench that seems stuck prints what its pipelines wait for from their worker threads.
const diagnose = () => process.stderr.write(`\n${[...shardDiagnostics(), parseDiagnostics(), `active: ${process.getActiveResourcesInfo().join(', ')}`].join('\n')}\n`);
process.on('SIGUSR2', diagnose);
process.on('exit', (code) => {
  if (code !== 0) diagnose();
});

interface Result {
  readonly name: string;
  readonly events: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsPerCpuSecond: number;
  readonly eventsPerWallSecond: number;
  readonly epochs: number;
  readonly check: string;
  readonly target?: number;
  /** With checkpoints (a data dir): how long a restart took until the view answered, and the checkpoint's size. */
  readonly recovery?: { readonly restartToServingSeconds: number; readonly restartToServingCpuSeconds: number; readonly lastCheckpointBytes: number; readonly checkpointDirBytes: number; readonly checkpoints: number };
}

interface Case {
  readonly name: string;
  readonly events: number;
  readonly target?: number;
  readonly view: string;
  /** Statements run before the view is created (settings). */
  readonly setup?: string;
  /** Rows per second of generated event time (ts advances 1/rate per row). */
  readonly rate?: number;
  /** The source whose rows count as the benchmark's events (default bids). */
  readonly driver?: string;
  /** Sources whose rows also count as events. */
  readonly alsoCount?: readonly string[];
  readonly check: (rows: Value[][], events: number) => string;
  /** Run over a data dir: a checkpoint every epoch, then a restart timed. */
  readonly checkpointed?: boolean;
  /** The view's parallelism (issue 16; default 1): its keyed operators in that many worker threads. */
  readonly parallelism?: number;
}

const EVENTS = Number(process.env.SLUICE_BENCH_EVENTS ?? 10_000_000);
const BATCH = 1_000_000;

function fail(msg: string): never {
  throw new Error(`benchmark answer is wrong: ${msg}`);
}

const cases: Case[] = [
  {
    name: 'filter_project',
    events: EVENTS,
    target: 2_000_000,
    view: 'SELECT id, price * 2 AS double_price, auction FROM bids WHERE price % 10 < 3',
    check: (rows, n) => {
      // price = id % 1000 (sequence), so exactly 3 of every 10 ids pass.
      const want = Math.floor(n / 10) * 3 + Math.min(n % 10, 3);
      if (rows.length !== want) fail(`expected ${want} rows, got ${rows.length}`);
      return `${rows.length} rows pass the filter`;
    },
  },
  ...[1_000, 1_000_000].flatMap((keys) => [false, true].map((checkpointed) => ({
    name: `count_sum_${keys === 1000 ? '1k' : '1m'}_keys${checkpointed ? '_checkpointed' : ''}`,
    checkpointed,
    events: keys === 1000 ? EVENTS : Math.max(EVENTS, 2 * keys),
    target: keys === 1000 ? 1_000_000 : 2_000_000,
    view: `SELECT id % ${keys} AS k, count(*) AS n, sum(price) AS s FROM bids GROUP BY id % ${keys}`,
    check: (rows: Value[][], n: number) => {
      if (rows.length !== Math.min(keys, n)) fail(`expected ${keys} groups, got ${rows.length}`);
      let count = 0n;
      let sum = 0n;
      for (const r of rows) {
        count += r[1] as bigint;
        sum += BigInt(r[2] as string | bigint);
      }
      // price = id % 1000 over ids 0…n-1.
      const full = BigInt(Math.floor(n / 1000));
      const rest = BigInt(n % 1000);
      const want = full * 499_500n + (rest * (rest - 1n)) / 2n;
      if (count !== BigInt(n)) fail(`count ${count} != ${n}`);
      if (sum !== want) fail(`sum ${sum} != ${want}`);
      return `${rows.length} groups, count ${count}, sum ${sum}`;
    },
  }))),
  {
    // Exact NUMERIC: a numeric product per row, and its sum and average per group.
    name: 'numeric_sum_avg_1k_keys',
    events: EVENTS,
    view: 'SELECT id % 1000 AS k, sum(price * 0.01) AS s, avg(price * 0.01) AS a FROM bids GROUP BY id % 1000',
    check: (rows, n) => {
      if (rows.length !== Math.min(1000, n)) fail(`expected 1000 groups, got ${rows.length}`);
      let cents = 0n;
      for (const r of rows) {
        const t = String(r[1]);
        if (!/^\d+\.\d\d$/.test(t)) fail(`sum ${t} is not exact to the cent`);
        cents += BigInt(t.replace('.', ''));
      }
      const full = BigInt(Math.floor(n / 1000));
      const rest = BigInt(n % 1000);
      const want = full * 499_500n + (rest * (rest - 1n)) / 2n;
      if (cents !== want) fail(`sum ${cents} cents != ${want}`);
      return `${rows.length} groups, sum ${cents} cents exactly`;
    },
  },
  {
    // W4, the Nexmark q8 shape: persons and auctions joined per 10 s tumbling window on seller.
    name: 'w4_window_join_person_auction',
    events: Math.min(EVENTS, 2_000_000),
    target: 1_000_000,
    rate: 200_000,
    driver: 'auctions',
    alsoCount: ['persons'],
    setup: ['persons', 'auctions'].map((name) => `CREATE SOURCE ${name} (id BIGINT, ${name === 'auctions' ? 'seller BIGINT, ' : ''}ts TIMESTAMP,
        WATERMARK FOR ts AS ts - INTERVAL '1 second') WITH (
      connector = 'datagen', rows_per_second = 200000, max_batch_rows = ${BATCH}, max_rows = ${Math.min(EVENTS, 2_000_000) / 2},
      fields.id.kind = 'sequence', fields.id.start = 0, ${name === 'auctions' ? "fields.seller.kind = 'sequence', fields.seller.start = 0," : ''}
      fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00')`).join(';\n'),
    view: `SELECT p.id AS person, a.id AS auction, p.window_start FROM TUMBLE(persons, ts, INTERVAL '10 seconds') p
      JOIN TUMBLE(auctions, ts, INTERVAL '10 seconds') a ON p.window_start = a.window_start AND p.id = a.seller`,
    check: (rows: Value[][], n: number) => {
      // Auction i is sold by person i, created at the same event time: every auction matches once.
      if (rows.length !== n / 2) fail(`expected ${n / 2} matches, got ${rows.length}`);
      if (rows.some((r) => r[0] !== r[1])) fail('an auction joined the wrong person');
      return `${rows.length} person–auction matches`;
    },
  },
  ...(['hash', 'duckdb'] as const).map((strategy) => ({
    name: `w5_lookup_join_10k_rows_${strategy === 'hash' ? 'js_hash' : 'duckdb'}`,
    events: Math.min(EVENTS, 2_000_000),
    target: strategy === 'hash' ? 1_000_000 : 250_000,
    setup: `SET lookup_join_strategy = '${strategy}';
      CREATE TABLE dim (id BIGINT PRIMARY KEY, name VARCHAR);
      INSERT INTO dim VALUES ${Array.from({ length: 10_000 }, (_, i) => `(${i}, 'item-${i}')`).join(', ')}`,
    view: `SELECT b.auction, b.price, d.name FROM bids b JOIN dim FOR SYSTEM_TIME AS OF PROCTIME() d ON b.auction = d.id`,
    check: (rows: Value[][], n: number) => {
      if (rows.length !== n) fail(`expected every one of ${n} bids enriched, got ${rows.length}`);
      const bad = rows.find((r) => r[2] !== `item-${String(r[0])}`);
      if (bad) fail(`auction ${String(bad[0])} enriched with ${String(bad[2])}`);
      return `${rows.length} bids enriched, names checked`;
    },
  })),
  ...[true, false].map((panes) => ({
    name: `hop_10s_2s_count_10k_keys_${panes ? 'panes' : 'naive_copy'}`,
    events: Math.min(EVENTS, 4_000_000),
    target: panes ? 300_000 : undefined,
    rate: 400_000,
    setup: `SET enable_window_panes = ${panes}`,
    view: `SELECT auction % 10000 AS k, window_start, count(*) AS n FROM HOP(bids, ts, INTERVAL '2 seconds', INTERVAL '10 seconds') GROUP BY auction % 10000, window_start`,
    check: (rows: Value[][], n: number) => {
      // Every event lies in exactly size/slide = 5 windows.
      let total = 0n;
      for (const r of rows) total += r[2] as bigint;
      if (total !== BigInt(n) * 5n) fail(`window counts add up to ${total}, expected ${BigInt(n) * 5n}`);
      return `${rows.length} (key, window) rows, counts add up to 5 × ${n}`;
    },
  })),
];

const HTTP_POLL_MS = 200;

/**
 * Starts the HTTP server and a client polling it like the UI and a scraper, in a child process
 * (a browser is not in the engine's process either, and its CPU must not count); returns the stop.
 */
async function pollHttp(engine: Engine): Promise<() => Promise<number>> {
  const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, loopbackOnly: true });
  const client = `let polls = 0;
    process.on('SIGTERM', () => { process.stdout.write(String(polls)); process.exit(0); });
    (async () => { for (;;) {
      for (const p of ['/api/overview', '/api/epochs?limit=300', '/metrics']) await (await fetch('http://127.0.0.1:${http.port}' + p)).text();
      polls++;
      await new Promise((r) => setTimeout(r, ${HTTP_POLL_MS}));
    } })();`;
  const child = spawn(process.execPath, ['-e', client], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  // Until the client has started polling, so the measured run has it going.
  await new Promise((r) => setTimeout(r, 500));
  return async () => {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
    await http.close();
    return Number(out);
  };
}

/**
 * Issue 16: the keyed cases again at parallelism 2 (two instances of each keyed operator, in two
 * shard worker threads unless SLUICE_SHARD_THREADS=0), named with `_p2`, to compare wall time and
 * events per CPU-second with the single-instance runs.
 */
cases.push(...cases.filter((c) => ['count_sum_1k_keys', 'count_sum_1m_keys', 'w4_window_join_person_auction'].includes(c.name)).map((c) => ({ ...c, name: `${c.name}_p2`, parallelism: 2 })));


async function runCase(c: Case, withHttp: boolean, warmUp = false, profile = !warmUp): Promise<Result> {
  const dataDir = c.checkpointed ? mkdtempSync(join(tmpdir(), 'sluice-bench-')) : null;
  let engine = await createEngine({ autoStart: false, log: () => undefined, dataDir, parallelism: c.parallelism ?? 1 });
  // The worker threads load before the measured phase (a server starts them at its start).
  if ((c.parallelism ?? 1) > 1 && shardThreadsDefault()) await shardPool().warm(c.parallelism!);
  try {
    await engine.execute(`CREATE SOURCE bids (id BIGINT, auction BIGINT, price BIGINT, ts TIMESTAMP) WITH (
      connector = 'datagen', rows_per_second = ${c.rate ?? 1_000_000_000}, max_batch_rows = ${BATCH}, max_rows = ${c.events},
      fields.id.kind = 'sequence', fields.id.start = 0,
      fields.auction.kind = 'random', fields.auction.start = 0, fields.auction.end = 9999,
      fields.price.kind = 'sequence', fields.price.start = 0, fields.price.end = 999,
      fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00', seed = 1)`);
    if (c.setup) await engine.execute(c.setup);
    await engine.execute(`CREATE MATERIALIZED VIEW v AS ${c.view}`);
    const stopHttp = withHttp ? await pollHttp(engine) : null;
    const stopProfile = profile ? await startProfile() : null;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let produced = 0;
    let epochs = 0;
    let shownAt = -Infinity;
    const counted = [c.driver ?? 'bids', ...(c.alsoCount ?? [])];
    while (produced < c.events) {
      await engine.flush();
      // Let I/O in between epochs, as the epoch timer of a server does (the HTTP poller of --http).
      await new Promise((r) => setImmediate(r));
      const m = engine.lastMetrics()!;
      const n = counted.reduce((a, src) => a + (m.rowsIn[src] ?? 0), 0);
      produced += n;
      epochs++;
      if (n === 0 && !c.rate) throw new Error('datagen produced no rows; check its options');
      if (n === 0) await new Promise((r) => setTimeout(r, 10));
      // Progress at most every 200 ms: a write per epoch (W4 runs ~1 200) was 2 % of the process's CPU.
      const at = performance.now();
      if (at - shownAt >= 200 || produced >= c.events) {
        shownAt = at;
        process.stderr.write(`\r${c.name}${warmUp ? ' (warm-up)' : ''}: ${produced.toLocaleString()} / ${c.events.toLocaleString()} events`);
      }
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (stopProfile) await stopProfile(c.name);
    const polls = stopHttp ? await stopHttp() : null;
    process.stderr.write(polls === null ? '\n' : ` (HTTP polled ${polls} times)\n`);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    let recovery: Result['recovery'];
    if (dataDir) {
      const [shown] = await engine.execute('SHOW CHECKPOINTS');
      const last = shown?.kind === 'rows' ? Number(shown.rows[0]![3]) : 0;
      await engine.close();
      const r0 = performance.now();
      const rc0 = process.cpuUsage();
      engine = await createEngine({ autoStart: false, log: () => undefined, dataDir, parallelism: c.parallelism ?? 1 });
      await engine.execute('SELECT count(*) FROM v');
      const seconds = (performance.now() - r0) / 1000;
      // Wall time counts whatever else the machine runs; CPU time is this process's own work.
      const rc = process.cpuUsage(rc0);
      const dirBytes = readdirSync(join(dataDir, 'checkpoints', 'views')).reduce((a, f) => a + statSync(join(dataDir, 'checkpoints', 'views', f)).size, 0);
      recovery = { restartToServingSeconds: seconds, restartToServingCpuSeconds: (rc.user + rc.system) / 1e6, lastCheckpointBytes: last, checkpointDirBytes: dirBytes, checkpoints: epochs };
    }
    const rows = await engine.viewRows('v');
    const check = c.check(rows, produced);
    return {
      recovery,
      name: c.name,
      events: produced,
      cpuSeconds,
      wallSeconds: wall,
      eventsPerCpuSecond: Math.round(produced / cpuSeconds),
      eventsPerWallSecond: Math.round(produced / wall),
      epochs,
      check,
      target: c.target,
    };
  } finally {
    await engine.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs bench/<script> in a child process (its output goes to this one's). */
function runChild(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CHILD_NODE_FLAGS, '--import', 'tsx', join(import.meta.dirname, script)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/${script} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const withHttp = process.argv.includes('--http');
  const names = process.argv.slice(2).filter((a) => a !== '--http');
  const only = names.filter((a) => a !== 'receivers' && a !== 'files');
  const receivers = names.length === 0 ? process.env.SLUICE_BENCH_RECEIVERS !== '0' : names.includes('receivers');
  const files = names.length === 0 ? process.env.SLUICE_BENCH_FILES !== '0' : names.includes('files');
  if (names.length && !only.length) {
    if (receivers) await runChild('receivers.ts');
    if (files) await runChild('files.ts');
    return;
  }
  const selected = only.length ? cases.filter((c) => only.includes(c.name)) : cases;
  const results: Result[] = [];
  for (const c of selected) {
    const r = await warmRuns((warmUp, profile) => runCase(c, withHttp, warmUp, profile));
    results.push({ ...r, ...(withHttp ? { withHttp } : {}) });
  }
  // Streaming-model training throughput (bench/ml.ts), unless only engine cases were named.
  if (!withHttp && (!only.length || only.some((n) => n.startsWith('ml_')))) results.push(...(await mlBenchmarks(only)));
  const out = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, at: new Date().toISOString(), results };
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  // A run of selected cases does not replace the full run's file.
  writeFileSync(join(import.meta.dirname, 'results', only.length ? 'engine-partial.json' : 'engine.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  if (receivers) await runChild('receivers.ts');
  if (files) await runChild('files.ts');
}

await main();
