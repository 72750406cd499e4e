/**
 * Cluster mode, 1 against 3 processes (`npm run bench:cluster`, issue 16): a 6-partition topic
 * preloaded with JSON events `{k, v}` (1 000 keys) feeds `SELECT k, count(*), sum(v) … GROUP BY k`
 * run by `sluice serve --cluster` members on this machine. Each case starts its members, sends
 * the DDL to one of them, and waits until that member's copy of the view counts every event.
 * Reports wall seconds from the CREATE to the full answer, the members' CPU-seconds (user+sys of
 * every member process over the same span, read from /proc) and events per CPU-second; checks
 * every key's count and sum; prints JSON and writes bench/results/cluster.json.
 *
 * The broker is SLUICE_KAFKA_BROKERS, or one started with scripts/kafka.sh and stopped at the
 * end. SLUICE_BENCH_CLUSTER_EVENTS (default 3 000 000). A topic that already holds the events is
 * reused. SLUICE_BENCH_CLUSTER_LOG=1 shows the members' logs (assignments, takeovers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { broker } from './broker.js';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';

const EVENTS = Number(process.env.SLUICE_BENCH_CLUSTER_EVENTS ?? 3_000_000);
const PARTITIONS = 6;
const KEYS = 1000;
const BIN = new URL('../bin/sluice', import.meta.url).pathname;
const TICKS = 100; // clock ticks per second (getconf CLK_TCK on Linux)

interface Result {
  readonly name: string;
  readonly members: number;
  readonly events: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly eventsPerCpuSecond: number;
  readonly eventsPerWallSecond: number;
  readonly check: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The topic of EVENTS events, made and filled unless it already holds them. */
async function preload(kafka: Kafka): Promise<string> {
  const topic = `sluice_bench_cluster_${EVENTS}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      const held = (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high) - Number(p.low), 0);
      if (held === EVENTS) return topic;
      await admin.deleteTopics({ topics: [topic] });
      await sleep(2000);
    }
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = Date.now();
  for (let i = 0; i < EVENTS; ) {
    const messages = [];
    for (let j = 0; j < 5000 && i < EVENTS; j++, i++) messages.push({ partition: i % PARTITIONS, value: `{"k":"k${i % KEYS}","v":${i % 100}}` });
    await producer.send({ topic, messages });
    if (i % 100_000 === 0) process.stderr.write(`bench cluster: preloaded ${i} of ${EVENTS} events (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  await producer.disconnect();
  return topic;
}

/** A member process and its pg port. */
function startMember(dir: string, args: readonly string[]): Promise<{ child: ChildProcess; port: number }> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(BIN, ['serve', '--port', '0', '--no-http', '--data-dir', dir, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLUICE_NODE: process.execPath } });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
    // SLUICE_BENCH_CLUSTER_LOG=1: the members' logs (assignments, takeovers) with their times.
    if (process.env.SLUICE_BENCH_CLUSTER_LOG === '1') process.stderr.write(s.replace(/^sluice: /gm, `${new Date().toISOString().slice(11, 23)} ${dir.split('/').pop()}: `));
  });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on postgres:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) done({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => fail(new Error(`member exited (${code}) before listening: ${err}`)));
  });
}

/** CPU-seconds (user + sys) a process has used so far. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function run(members: number, brokers: readonly string[], topic: string): Promise<Result> {
  const root = mkdtempSync(join(tmpdir(), 'sluice-bench-cluster-'));
  const cluster = `bench${process.pid}m${members}t${Date.now()}`;
  const procs: { child: ChildProcess; port: number }[] = [];
  try {
    for (let m = 0; m < members; m++) {
      procs.push(await startMember(join(root, `m${m}`), ['--batch-interval', '200', '--cluster', cluster, '--kafka', brokers.join(','), '--cluster-state', join(root, 'state'), '--member', `m${m}`]));
    }
    const c = new pg.Client({ host: '127.0.0.1', port: procs[0]!.port, user: 'sluice', database: 'sluice' });
    await c.connect();
    try {
      await c.query(`CREATE SOURCE ev (k VARCHAR, v BIGINT) WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers.join(',')}', format = 'json', scan_startup_mode = 'earliest')`);
      const cpu0 = procs.reduce((a, p) => a + cpuOf(p.child.pid!), 0);
      const t0 = performance.now();
      await c.query('CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(v) AS total FROM ev GROUP BY k');
      let seen = 0;
      let last = Date.now();
      while (seen < EVENTS) {
        await sleep(100);
        seen = Number((await c.query('SELECT coalesce(sum(n), 0) AS s FROM agg')).rows[0].s);
        if (Date.now() - last > 10_000) {
          process.stderr.write(`bench cluster: ${members} member(s): ${seen} of ${EVENTS} events in the view\n`);
          last = Date.now();
        }
      }
      const wall = (performance.now() - t0) / 1000;
      const cpu = procs.reduce((a, p) => a + cpuOf(p.child.pid!), 0) - cpu0;
      // The answer: every key's count and sum.
      const rows = (await c.query('SELECT k, n, total FROM agg')).rows as { k: string; n: string; total: string }[];
      if (rows.length !== KEYS) throw new Error(`expected ${KEYS} keys, got ${rows.length}`);
      for (const r of rows) {
        const key = Number(r.k.slice(1));
        let n = 0;
        let total = 0;
        for (let i = key; i < EVENTS; i += KEYS) {
          n++;
          total += i % 100;
        }
        if (Number(r.n) !== n || Number(r.total) !== total) throw new Error(`key ${r.k}: ${r.n}/${r.total}, expected ${n}/${total}`);
      }
      return {
        name: `cluster_group_by_${members}_member${members > 1 ? 's' : ''}`, members, events: EVENTS, wallSeconds: wall, cpuSeconds: cpu,
        eventsPerCpuSecond: Math.round(EVENTS / cpu), eventsPerWallSecond: Math.round(EVENTS / wall), check: `${KEYS} keys, every count and sum right`,
      };
    } finally {
      await c.end();
    }
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { brokers, stop } = await broker('bench-cluster');
  try {
    const kafka = new Kafka({ brokers: [...brokers], clientId: 'sluice-bench-cluster', logLevel: logLevel.NOTHING });
    const topic = await preload(kafka);
    const results: Result[] = [];
    for (const members of [1, 3]) {
      const r = await run(members, brokers, topic);
      process.stderr.write(`bench cluster: ${JSON.stringify(r)}\n`);
      results.push(r);
    }
    const out = { machine: `${process.platform} ${process.arch}, node ${process.version}`, at: new Date().toISOString(), results };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    mkdirSync(new URL('results', import.meta.url).pathname, { recursive: true });
    writeFileSync(new URL('results/cluster.json', import.meta.url).pathname, JSON.stringify(out, null, 2) + '\n');
  } finally {
    stop();
  }
}

await main();
