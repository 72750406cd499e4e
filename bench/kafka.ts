/**
 * W2 and issue 15's word counts, Kafka end to end (`npx tsx bench/kafka.ts`): a 2-partition topic preloaded with JSON bids
 * is consumed from earliest by a Kafka source into the q1 projection
 * (`SELECT auction, bidder, price * 0.908 AS price_eur, ts FROM bids`), FLUSH after FLUSH until
 * every bid is in the view. Two cases: one bid per message, and 100 newline-separated bids per
 * message (`many_per_message`). Each case runs in its own child process, so its peak RSS is its
 * own (over its warm-up and measured runs: bench/warm.ts, the median of three warm runs is
 * reported). Reports events per CPU-second of that process (user+sys, the engine and its Kafka
 * client together), per wall second and its peak RSS, checks the answer, prints JSON and writes
 * bench/results/kafka.json (kafka-partial.json when SLUICE_BENCH_KAFKA_CASES picks cases).
 *
 * The broker is SLUICE_KAFKA_BROKERS, or one started with scripts/kafka.sh and stopped at the
 * end. A topic that already holds the expected messages is reused (preloading 6 M messages
 * through kafkajs takes a minute or two; it runs in two worker threads, one per partition).
 *
 * Environment: SLUICE_BENCH_KAFKA_EVENTS (default 6 000 000, issue 15's 6 M words), SLUICE_BENCH_KAFKA_CASES
 * (comma-separated case names), SLUICE_BENCH_KAFKA_OPTIONS (extra WITH options for the source,
 * such as "fetch.max_partition_bytes = '4194304'"), SLUICE_BENCH_KAFKA_PARALLELISM (the views' parallelism, default 1), SLUICE_BENCH_PROFILE (a directory: writes a
 * V8 CPU profile of each case's measured phase only, for Chrome DevTools or speedscope).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { broker } from './broker.js';
import { Kafka, logLevel } from 'kafkajs';
import { createEngine } from '../src/exec/runtime/engine.js';
import { startProfile } from './profile.js';
import { CHILD_NODE_FLAGS, warmRuns } from './warm.js';
import { shardPool } from '../src/exec/parallel/pool.js';
import { shardThreadsDefault } from '../src/exec/parallel/remote.js';

const EVENTS = Number(process.env.SLUICE_BENCH_KAFKA_EVENTS ?? 6_000_000);
/** The views' parallelism (issue 16): SLUICE_BENCH_KAFKA_PARALLELISM, default 1; above 1 the case names end in _pN. */
const PARALLELISM = Number(process.env.SLUICE_BENCH_KAFKA_PARALLELISM ?? 1);
const PARTITIONS = 2;

interface Case {
  readonly name: string;
  /** bids: JSON bids into the q1 projection; words: text words into a grouped word count. */
  readonly kind: 'bids' | 'words';
  readonly perMessage: number;
  readonly target: number;
}

interface Result {
  readonly name: string;
  readonly events: number;
  readonly messages: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsPerCpuSecond: number;
  readonly eventsPerWallSecond: number;
  readonly epochs: number;
  /** Peak resident set of the case's process (setup, preload check and the measured phase). */
  readonly peakRssMb: number;
  readonly check: string;
  readonly target: number;
  readonly sourceOptions: string;
}

const CASES: Case[] = [
  { name: 'w2_json_one_per_message', kind: 'bids', perMessage: 1, target: 150_000 },
  { name: 'w2_json_100_per_message', kind: 'bids', perMessage: 100, target: 600_000 },
  // Issue 15's word counts: 1 000 distinct words, one or 100 (newline-separated) per message.
  { name: 'wordcount_one_per_message', kind: 'words', perMessage: 1, target: 2_000_000 },
  { name: 'wordcount_100_per_message', kind: 'words', perMessage: 100, target: 8_000_000 },
];

/** Word i of the word-count topics: 1 000 distinct words, each i mod 1 000 once per 1 000 (7919 is prime to 1 000). */
const WORDS = 1000;

function progress(msg: string): void {
  process.stderr.write(`bench/kafka: ${msg}\n`);
}

/**
 * The preload worker (plain JS, run with eval): produces the messages of one partition. Bid i is
 * deterministic, so a reused topic holds the same data. Message m holds bids
 * m·perMessage … m·perMessage + perMessage − 1 and goes to partition m mod PARTITIONS.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Kafka, logLevel } = require(workerData.kafkajs);
const { brokers, topic, partition, partitions, perMessage, messages, kind } = workerData;
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
function bid(i) {
  return JSON.stringify({
    auction: 1000 + ((i * 7919) % 10000), bidder: 2000 + ((i * 104729) % 50000), price: 100 + ((i * 31) % 9900),
    channel: CHANNELS[i % 4], url: 'https://www.nexmark.com/item.htm?query=1&channel_id=' + (i % 1000),
    ts: 1700000000000 + i, extra: '',
  });
}
function word(i) {
  return 'w' + ((i * 7919) % 1000);
}
const item = kind === 'words' ? word : bid;
const itemBytes = kind === 'words' ? 6 : 190;
(async () => {
  const producer = new Kafka({ brokers, clientId: 'sluice-bench-preload', logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  // Requests stay well under the broker's 1 MB record-batch limit.
  const perSend = Math.max(1, Math.floor(600000 / ((itemBytes + 70) * perMessage)));
  let chunk = [];
  let sent = 0;
  const inflight = [];
  for (let m = partition; m < messages; m += partitions) {
    const lines = [];
    for (let k = 0; k < perMessage; k++) lines.push(item(m * perMessage + k));
    chunk.push({ partition, value: lines.join('\\n') });
    if (chunk.length === perSend || m + partitions >= messages) {
      inflight.push(producer.send({ topic, acks: -1, messages: chunk }));
      sent += chunk.length;
      chunk = [];
      if (inflight.length >= 3) await inflight.shift();
      parentPort.postMessage(sent);
    }
  }
  await Promise.all(inflight);
  await producer.disconnect();
  parentPort.postMessage(-1);
})().catch((e) => { throw e; });
`;

async function preload(brokers: string[], topic: string, kind: Case['kind'], perMessage: number, messages: number): Promise<void> {
  const kafkajs = createRequire(import.meta.url).resolve('kafkajs');
  const sent = new Array<number>(PARTITIONS).fill(0);
  const started = Date.now();
  let last = 0;
  await Promise.all(
    Array.from({ length: PARTITIONS }, (_, partition) => new Promise<void>((done, fail) => {
      const w = new Worker(WORKER, { eval: true, workerData: { kafkajs, brokers, topic, partition, partitions: PARTITIONS, perMessage, messages, kind } });
      w.on('message', (n: number) => {
        if (n < 0) return done();
        sent[partition] = n;
        const total = sent.reduce((a, b) => a + b, 0);
        if (total - last >= messages / 20) {
          last = total;
          const s = (Date.now() - started) / 1000;
          progress(`preload ${topic}: ${total} / ${messages} messages (${Math.round((total * perMessage) / s)} events/s)`);
        }
      });
      w.on('error', fail);
      w.on('exit', (code) => (code === 0 ? done() : fail(new Error(`preload worker exited with ${code}`))));
    })),
  );
}

/** Makes sure `topic` holds exactly `messages` messages of this benchmark, preloading it if not. */
async function ensureTopic(brokers: string[], topic: string, kind: Case['kind'], perMessage: number, messages: number): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'sluice-bench', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const held = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      if (offsets.length === PARTITIONS && held === messages) {
        progress(`reusing ${topic} (${messages} messages)`);
        return;
      }
      await admin.deleteTopics({ topics: [topic] });
    }
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
  await preload(brokers, topic, kind, perMessage, messages);
}

function topicOf(c: Case, messages: number): string {
  return `sluice-bench-${c.kind}-${c.perMessage}x${messages}`;
}

async function run(c: Case, brokers: string[], profile = true): Promise<Result> {
  const messages = Math.ceil(EVENTS / c.perMessage);
  const events = messages * c.perMessage;
  const topic = topicOf(c, messages);
  await ensureTopic(brokers, topic, c.kind, c.perMessage, messages);
  const extra = process.env.SLUICE_BENCH_KAFKA_OPTIONS ?? '';
  const engine = await createEngine({ autoStart: false, log: (m) => progress(m), parallelism: PARALLELISM });
  // Shard worker threads load before the measured phase (a server starts them at its start).
  if (PARALLELISM > 1 && shardThreadsDefault()) await shardPool().warm(PARALLELISM);
  const view = c.kind === 'words' ? 'counts' : 'q1';
  try {
    const options = `connector = 'kafka', topic = '${topic}', brokers = '${brokers.join(',')}', many_per_message = '${c.perMessage > 1}'${extra ? `, ${extra}` : ''}`;
    await engine.execute(c.kind === 'words'
      ? `CREATE SOURCE bids (word VARCHAR) WITH (${options}, format = 'text');
         CREATE MATERIALIZED VIEW counts AS SELECT word, count(*) AS n FROM bids GROUP BY word;`
      : `CREATE SOURCE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, ts TIMESTAMP, extra VARCHAR) WITH (${options});
         CREATE MATERIALIZED VIEW q1 AS SELECT auction, bidder, price * 0.908 AS price_eur, ts FROM bids;`);
    const profiler = !profile ? null : await startProfile((file) => progress(`CPU profile of the measured phase: ${file}`));
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    let epochs = 0;
    let stalled = 0;
    for (;;) {
      const before = engine.stats().sources.bids!.rows;
      await engine.flush();
      epochs++;
      const now = engine.stats().sources.bids!.rows;
      if (now >= events) break;
      stalled = now === before ? stalled + 1 : 0;
      if (stalled >= 20) throw new Error(`benchmark answer is wrong: the source stopped at ${now} of ${events} events`);
    }
    const cpu = process.cpuUsage(cpu0);
    const wallSeconds = (performance.now() - wall0) / 1000;
    await profiler?.(c.name);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const stats = engine.stats();
    const rows = stats.views[view]!.rows;
    let check: string;
    if (c.kind === 'words') {
      // Every word counted: events / 1 000 times each when events is a multiple of 1 000.
      const counts = await engine.viewRows('counts');
      const per = new Map(counts.map(([w, n]) => [String(w), Number(n)]));
      let total = 0;
      for (let w = 0; w < WORDS; w++) {
        const want = Math.floor(events / WORDS) + (w < events % WORDS ? 1 : 0);
        total += per.get(`w${w}`) ?? 0;
        if (events % WORDS === 0 && per.get(`w${w}`) !== want) throw new Error(`benchmark answer is wrong: w${w} counted ${per.get(`w${w}`)} times, expected ${want}`);
      }
      if (total !== events || counts.length !== Math.min(WORDS, events) || stats.sources.bids!.deadLetters !== 0) {
        throw new Error(`benchmark answer is wrong: ${events} words produced, ${total} counted over ${counts.length} distinct words, ${stats.sources.bids!.deadLetters} dead letters`);
      }
      check = `${counts.length} distinct words, counts sum to ${total} = ${events} words produced, each word ${events / WORDS} times, 0 dead letters`;
    } else {
      if (rows !== events || stats.sources.bids!.rows !== events || stats.sources.bids!.deadLetters !== 0) {
        throw new Error(`benchmark answer is wrong: ${events} events produced, ${stats.sources.bids!.rows} read, ${rows} rows in q1, ${stats.sources.bids!.deadLetters} dead letters`);
      }
      check = `${rows} rows in q1 = ${events} events produced, 0 dead letters`;
    }
    return {
      name: PARALLELISM > 1 ? `${c.name}_p${PARALLELISM}` : c.name,
      events,
      messages,
      cpuSeconds: round(cpuSeconds),
      wallSeconds: round(wallSeconds),
      eventsPerCpuSecond: Math.round(events / cpuSeconds),
      eventsPerWallSecond: Math.round(events / wallSeconds),
      epochs,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      check,
      target: c.target,
      sourceOptions: extra,
    };
  } finally {
    await engine.close();
  }
}

/** Starts the CPU profiler when SLUICE_BENCH_PROFILE is set; the returned function writes the profile. */

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--case');
  if (child >= 0) {
    // The child's side: one case against the broker the parent named.
    const c = CASES.find((x) => x.name === process.argv[child + 1])!;
    const brokers = process.env.SLUICE_KAFKA_BROKERS!.split(',');
    process.stdout.write(JSON.stringify(await warmRuns((_warmUp, profile) => run(c, brokers, profile))) + '\n');
    return;
  }
  const only = process.env.SLUICE_BENCH_KAFKA_CASES?.split(',').map((s) => s.trim());
  const cases = CASES.filter((c) => !only || only.includes(c.name));
  const { brokers, stop } = await broker('bench');
  const results: Result[] = [];
  try {
    for (const c of cases) {
      progress(`running ${c.name}`);
      // The topic is made (and preloaded) here, so the child measures only the reading.
      const messages = Math.ceil(EVENTS / c.perMessage);
      await ensureTopic(brokers, topicOf(c, messages), c.kind, c.perMessage, messages);
      const r = spawnSync(process.execPath, [...CHILD_NODE_FLAGS, '--import', 'tsx', import.meta.filename, '--case', c.name], {
        stdio: ['ignore', 'pipe', 'inherit'],
        encoding: 'utf8',
        env: { ...process.env, SLUICE_KAFKA_BROKERS: brokers.join(',') },
      });
      if (r.status !== 0) throw new Error(`bench/kafka: case ${c.name} failed (exit ${r.status})`);
      const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Result;
      progress(`${c.name}: ${result.eventsPerCpuSecond} events/CPU-s, ${result.eventsPerWallSecond} events/s wall, peak RSS ${result.peakRssMb} MB (target ${c.target}/CPU-s)`);
      results.push(result);
    }
  } finally {
    stop();
  }
  const out = { benchmark: 'W2 kafka', node: process.version, date: new Date().toISOString(), results };
  mkdirSync(new URL('./results', import.meta.url), { recursive: true });
  writeFileSync(new URL(only ? './results/kafka-partial.json' : './results/kafka.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
