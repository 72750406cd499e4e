/**
 * File ingest benchmarks (`npx tsx bench/files.ts [NAME…]`, and part of `npm run bench`): a file
 * source over generated files, FLUSH after FLUSH until every event is in, answers checked.
 *
 *   - files_word_count: 6 M words (1 000 distinct, 100 per line) in 20 text files, counted per
 *     word (`unnest(string_to_array(lower(line), ' '))`, as sql-examples/word_count.sql);
 *   - files_nexmark_q1_json: 5 M Nexmark bids as JSON lines (auction, bidder, price, channel,
 *     url, date_time, extra) in 10 files through q1's projection
 *     (`auction, bidder, 0.908 * price, date_time, extra`), checked by a one-row aggregate over
 *     q1 (count, sums, latest date_time), so the 5 M rows of q1 are not kept in a view.
 *
 * Each case runs in its own child process, so its peak RSS (`maxRSS`) is its own (over its
 * warm-up and measured runs, bench/warm.ts: the median of three warm runs is reported); the parse
 * workers are started before the measured phase (a once-per-process cost, as in a warm server). Reports
 * events per CPU-second of that process (user+sys) and per wall second, the epochs taken and
 * the peak RSS; writes bench/results/files.json. The files are generated once into
 * $TMPDIR/sluice-bench-files/ and reused. SLUICE_BENCH_PROFILE=DIR writes a V8 CPU profile of
 * each case's measured phase.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createEngine } from '../src/exec/runtime/engine.js';
import { startProfile } from './profile.js';
import { CHILD_NODE_FLAGS, warmRuns } from './warm.js';
import { warmParser } from '../src/parser/index.js';
import { shardPool } from '../src/exec/parallel/pool.js';
import type { Value } from '../src/common/types.js';

const ROOT = join(tmpdir(), 'sluice-bench-files');
const WORDS = 6_000_000;
const WORDS_PER_LINE = 100;
const DISTINCT = 1000;
const BIDS = 5_000_000;

interface Case {
  readonly name: string;
  readonly events: number;
  readonly target: number;
  readonly dir: string;
  generate(dir: string): Promise<void>;
  readonly setup: string;
  /** The engine's parallelism (default 1). */
  readonly parallelism?: number;
  check(rows: Value[][]): string;
}

function fail(msg: string): never {
  throw new Error(`benchmark answer is wrong: ${msg}`);
}

/** Writes `lines(i)` for i in [from, to) to a file, through a stream. */
async function writeLines(path: string, from: number, to: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path + '.part');
  let chunk = '';
  for (let i = from; i < to; i++) {
    chunk += line(i) + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  renameSync(path + '.part', path);
}

/** Word i of the stream: each of the DISTINCT words occurs exactly WORDS / DISTINCT times. */
const word = (i: number) => `w${(i * 7919) % DISTINCT}`;

const CHANNELS = ['apple', 'google', 'facebook', 'baidu'];
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function dateTime(i: number): string {
  const d = new Date(T0 + i);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}
function bid(i: number): string {
  const auction = 1000 + (i % 10_007);
  const bidder = 2000 + ((i * 31) % 100_003);
  const price = 100 + (i % 9_973);
  const channel = CHANNELS[i % 4]!;
  return `{"auction":${auction},"bidder":${bidder},"price":${price},"channel":"${channel}","url":"https://www.nexmark.com/${channel}/item.htm?query=1&channel_id=${i % 997}","date_time":"${dateTime(i)}","extra":"${'x'.repeat(i % 13)}"}`;
}

const cases: Case[] = [
  {
    name: 'files_word_count',
    events: WORDS,
    target: 8_000_000,
    dir: join(ROOT, 'words'),
    async generate(dir) {
      const lines = WORDS / WORDS_PER_LINE;
      const files = 20;
      for (let f = 0; f < files; f++) {
        await writeLines(join(dir, `words-${pad(f)}.txt`), (f * lines) / files, ((f + 1) * lines) / files, (l) => {
          let s = word(l * WORDS_PER_LINE);
          for (let k = 1; k < WORDS_PER_LINE; k++) s += ' ' + word(l * WORDS_PER_LINE + k);
          return s;
        });
      }
    },
    setup: `CREATE SOURCE lines (line VARCHAR) WITH (connector = 'file', path = '%DIR%', format = 'text');
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n
        FROM lines CROSS JOIN LATERAL unnest(string_to_array(lower(line), ' ')) AS word WHERE word <> '' GROUP BY word`,
    check(rows) {
      if (rows.length !== DISTINCT) fail(`expected ${DISTINCT} words, got ${rows.length}`);
      const bad = rows.find((r) => r[1] !== BigInt(WORDS / DISTINCT));
      if (bad) fail(`word ${String(bad[0])} counted ${String(bad[1])} times, expected ${WORDS / DISTINCT}`);
      return `${rows.length} words, each counted ${WORDS / DISTINCT} times`;
    },
  },
  {
    name: 'files_nexmark_q1_json',
    events: BIDS,
    target: 1_200_000,
    dir: join(ROOT, 'bids'),
    async generate(dir) {
      const files = 10;
      for (let f = 0; f < files; f++) await writeLines(join(dir, `bids-${pad(f)}.json`), (f * BIDS) / files, ((f + 1) * BIDS) / files, bid);
    },
    setup: `CREATE SOURCE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, date_time TIMESTAMP, extra VARCHAR)
        WITH (connector = 'file', path = '%DIR%', format = 'json');
      CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n, sum(auction) AS auctions, sum(bidder) AS bidders, sum(price) AS prices,
          max(date_time) AS latest, sum(length(extra)) AS extra_chars
        FROM (SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bids) AS q1`,
    check(rows) {
      let auctions = 0;
      let bidders = 0;
      let prices = 0;
      let extra = 0;
      for (let i = 0; i < BIDS; i++) {
        auctions += 1000 + (i % 10_007);
        bidders += 2000 + ((i * 31) % 100_003);
        prices += 100 + (i % 9_973);
        extra += i % 13;
      }
      const [n, a, b, p, latest, x] = rows[0] ?? [];
      if (n !== BigInt(BIDS)) fail(`count ${String(n)} != ${BIDS}`);
      // sum(bigint) is NUMERIC (as in PostgreSQL), which the engine hands back as its text.
      if (String(a) !== String(auctions) || String(b) !== String(bidders)) fail(`auction/bidder sums ${String(a)}/${String(b)} != ${auctions}/${bidders}`);
      if (Math.abs(Number(p) - 0.908 * prices) > 1e-6 * prices) fail(`price sum ${String(p)} != ${0.908 * prices}`);
      if (latest !== BigInt(T0 + BIDS - 1) * 1000n) fail(`latest date_time ${String(latest)} != ${(T0 + BIDS - 1) * 1000}`);
      if (x !== BigInt(extra)) fail(`extra length sum ${String(x)} != ${extra}`);
      return `${BIDS} bids through q1; sums of auction, bidder, 0.908 × price, extra length and the latest date_time match`;
    },
  },
];

/**
 * Issue 16: both cases again at parallelism 2 (`_p2`): the word count's keyed aggregate runs in
 * two instances (q1's one-row aggregate stays single); with SLUICE_PARALLEL_DECODE=1 the file
 * source also decodes pieces of lines in the two shard worker threads.
 */
cases.push(...cases.map((c) => ({ ...c, name: `${c.name}_p2`, parallelism: 2 })));
// The child process inherits this: SLUICE_PARALLEL_DECODE=1 has the _p2 cases decode in the workers.

interface Result {
  readonly name: string;
  readonly events: number;
  readonly inputBytes: number;
  readonly cpuSeconds: number;
  /** user and system CPU of the measured phase; fresh memory shows as system time and minor page faults. */
  readonly userSeconds: number;
  readonly systemSeconds: number;
  readonly minorPageFaults: number;
  readonly wallSeconds: number;
  readonly eventsPerCpuSecond: number;
  readonly eventsPerWallSecond: number;
  readonly epochs: number;
  readonly peakRssMb: number;
  readonly check: string;
  readonly target: number;
}

async function prepare(c: Case): Promise<void> {
  const done = join(c.dir, '.complete');
  if (existsSync(done)) return;
  rmSync(c.dir, { recursive: true, force: true });
  mkdirSync(c.dir, { recursive: true });
  process.stderr.write(`bench/files: generating ${c.dir}\n`);
  await c.generate(c.dir);
  writeFileSync(done, '');
}

/** Runs one case in this process (the child's side). */
async function runCase(c: Case, profile = true): Promise<Result> {
  const parallelism = c.parallelism ?? 1;
  const engine = await createEngine({ autoStart: false, log: (m) => process.stderr.write(`sluice: ${m}\n`), allowPaths: [ROOT], parallelism });
  try {
    await engine.execute('SET backpressure = false');
    // The worker threads load before the measured phase (a server starts them at its start).
    if (parallelism > 1) await shardPool().warm(parallelism);
    // Warm runs: the parse workers load the SQL parser once per process (~0.5 CPU-s), not per workload.
    await warmParser();
    const stopProfile = profile ? await startProfile() : null;
    const faults0 = process.resourceUsage().minorPageFault;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // The source reads the files on the FLUSH after the view exists (FLUSH takes every ready file, in bounded epochs).
    await engine.execute(c.setup.replaceAll('%DIR%', c.dir));
    await engine.execute('FLUSH');
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (stopProfile) await stopProfile(c.name);
    const metrics = engine.metrics();
    const events = c.name.startsWith('files_word_count') ? WORDS : metrics.reduce((a, m) => a + (m.rowsIn.bids ?? 0), 0);
    const inputBytes = readdirSync(c.dir).filter((f) => !f.startsWith('.')).reduce((a, f) => a + statSync(join(c.dir, f)).size, 0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const check = c.check(await engine.viewRows('v'));
    return {
      name: c.name,
      events,
      inputBytes,
      cpuSeconds,
      userSeconds: cpu.user / 1e6,
      systemSeconds: cpu.system / 1e6,
      minorPageFaults: process.resourceUsage().minorPageFault - faults0,
      wallSeconds: wall,
      eventsPerCpuSecond: Math.round(events / cpuSeconds),
      eventsPerWallSecond: Math.round(events / wall),
      epochs: metrics.filter((m) => Object.values(m.rowsIn).some((n) => n > 0)).length,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      check,
      target: c.target,
    };
  } finally {
    await engine.close();
  }
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--case');
  if (child >= 0) {
    const c = cases.find((x) => x.name === process.argv[child + 1])!;
    process.stdout.write(JSON.stringify(await warmRuns((_warmUp, profile) => runCase(c, profile))) + '\n');
    return;
  }
  const names = process.argv.slice(2);
  const selected = names.length ? cases.filter((c) => names.includes(c.name)) : cases;
  const results: Result[] = [];
  for (const c of selected) {
    await prepare(c);
    const r = spawnSync(process.execPath, [...CHILD_NODE_FLAGS, '--import', 'tsx', import.meta.filename, '--case', c.name], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench/files: case ${c.name} failed (exit ${r.status})`);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Result;
    process.stderr.write(`bench/files: ${c.name}: ${result.eventsPerCpuSecond.toLocaleString()} events/CPU-s, peak RSS ${result.peakRssMb} MB, ${result.epochs} epochs\n`);
    results.push(result);
  }
  const out = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, at: new Date().toISOString(), results };
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', names.length ? 'files-partial.json' : 'files.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
