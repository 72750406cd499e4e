/**
 * Receiver ingest (`npm run bench:receivers`; a full `npm run bench` runs it too): MQTT at QoS 0,
 * 1 and 2 through the Mosquitto on 127.0.0.1:1883 (SLUICE_MQTT_URL), and the socket source with
 * its write-ahead log (a data dir) and without (in memory), in one run. Each case: an engine with
 * a 100 ms batch interval, backpressure off, a source and one aggregate view over it; the timer
 * starts at the first record sent and stops when the view has counted every record. Reports rows
 * per wall second, checks each view's answer against what was sent, prints JSON and writes
 * bench/results/receivers.json. Numbers are for this shared 2-core machine (publisher, broker
 * and engine share it).
 *
 * MQTT: numbered JSON messages `{"n": i}`; the view is count(*), count(DISTINCT n), sum(n),
 * min(n), max(n). QoS 2 must hold every number exactly once, QoS 1 every number (duplicates are
 * reported), QoS 0 no number twice and none outside the range (the broker may drop QoS 0
 * messages for a busy subscriber; the count received is reported and the timer stops when the
 * count stops growing, minus the 2 s of waiting). The publisher speaks MQTT 5 and keeps at most
 * 20 publishes unacknowledged (publishAll): Mosquitto drops QoS 2 publishes beyond its in-flight
 * window, and MQTT 5 makes that an error instead of a silent loss. It publishes in chunks of 500,
 * each once the view is within 500 of what was sent: Mosquitto drops messages for a subscriber
 * more than max_queued_messages (default 1 000) behind, so this measures sustained ingest.
 *
 * Socket: lines holding the numbers 0..LINES-1; the view is count(*) and sum(line::BIGINT).
 *
 * Environment: SLUICE_BENCH_MQTT_MESSAGES (default 20 000), SLUICE_BENCH_SOCKET_LINES (default
 * 1 000 000), SLUICE_BENCH_QOS (default '0,1,2').
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { publishAll } from '../src/connectors/mqtt/publish.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';

const BROKER = process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const MESSAGES = Number(process.env.SLUICE_BENCH_MQTT_MESSAGES ?? 20_000);
const LINES = Number(process.env.SLUICE_BENCH_SOCKET_LINES ?? 1_000_000);
const CHUNK = 500;

interface Result {
  readonly name: string;
  readonly sent: number;
  readonly rows: number;
  readonly wallSeconds: number;
  readonly rowsPerWallSecond: number;
  readonly check: string;
}

function fail(msg: string): never {
  throw new Error(`benchmark answer is wrong: ${msg}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The view's single row as numbers (0 for NULL). */
async function row(e: Engine, view: string): Promise<number[]> {
  const rows = await e.viewRows(view);
  return (rows[0] ?? []).map((v) => Number(v ?? 0));
}

/** Waits until the view's count reaches n; with `settle`, returns early once it stopped growing for that long. */
async function waitCount(e: Engine, view: string, n: number, settle: number | null, timeoutMs = 60_000): Promise<void> {
  const t = performance.now();
  let last = -1;
  let since = t;
  for (;;) {
    const c = (await row(e, view))[0] ?? 0;
    if (c >= n) return;
    if (c !== last) [last, since] = [c, performance.now()];
    if (settle !== null && performance.now() - since > settle) return;
    if (performance.now() - t > timeoutMs) throw new Error(`${view}: only ${c} of ${n} rows after ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function mqttCase(qos: 0 | 1 | 2): Promise<Result> {
  const data = mkdtempSync(join(tmpdir(), 'sluice-bench-mqtt-'));
  const topic = `sluice-bench/${randomUUID()}`;
  const id = `sluice-bench-${randomUUID()}`;
  const e = await createEngine({ dataDir: data, batchIntervalMs: 100, log: () => undefined });
  const pub = await mqtt.connectAsync(BROKER, { clientId: `sluice-bench-pub-${randomUUID()}`, protocolVersion: 5 });
  try {
    await e.execute(`SET backpressure = off;
      CREATE SOURCE src (n BIGINT) WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic}', qos = '${qos}', client_id = '${id}');
      CREATE MATERIALIZED VIEW c AS SELECT count(*) AS c, count(DISTINCT n) AS d, sum(n) AS s, min(n) AS lo, max(n) AS hi FROM src;`);
    const settle = qos === 0 ? 2000 : null;
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i += CHUNK) {
      await waitCount(e, 'c', i - CHUNK, settle);
      const msgs = Array.from({ length: Math.min(CHUNK, MESSAGES - i) }, (_, j) => ({ topic, payload: `{"n":${i + j}}` }));
      await publishAll(pub, msgs, { qos });
    }
    await waitCount(e, 'c', MESSAGES, settle);
    const [count = 0, distinct = 0, sum = 0, lo = 0, hi = 0] = await row(e, 'c');
    const settled = count < MESSAGES;
    const s = (performance.now() - t0 - (settled ? 2000 : 0)) / 1000;
    const want = (MESSAGES * (MESSAGES - 1)) / 2;
    let check: string;
    if (qos === 2) {
      if (count !== MESSAGES || distinct !== MESSAGES || sum !== want) fail(`QoS 2: ${count} rows, ${distinct} distinct, sum ${sum}; want ${MESSAGES}, ${MESSAGES}, ${want}`);
      check = `${MESSAGES} messages exactly once (sum ${sum})`;
    } else if (qos === 1) {
      if (distinct !== MESSAGES || lo !== 0 || hi !== MESSAGES - 1) fail(`QoS 1: ${distinct} distinct of ${MESSAGES} (min ${lo}, max ${hi})`);
      check = `${MESSAGES} messages at least once, ${count - MESSAGES} duplicates`;
    } else {
      if (distinct !== count || (count > 0 && (lo < 0 || hi > MESSAGES - 1))) fail(`QoS 0: ${count} rows but ${distinct} distinct (min ${lo}, max ${hi})`);
      check = `${count} of ${MESSAGES} received (${MESSAGES - count} dropped by the broker), none twice`;
    }
    return { name: `mqtt_qos${qos}_wal`, sent: MESSAGES, rows: count, wallSeconds: +s.toFixed(2), rowsPerWallSecond: Math.round(count / s), check };
  } finally {
    await pub.endAsync();
    await e.close();
    const c = await mqtt.connectAsync(BROKER, { clientId: id, clean: true });
    await c.endAsync();
    rmSync(data, { recursive: true, force: true });
  }
}

async function socketCase(wal: boolean): Promise<Result> {
  const data = wal ? mkdtempSync(join(tmpdir(), 'sluice-bench-socket-')) : null;
  let conn: Socket | null = null;
  const server = createServer((c) => (conn = c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const e = await createEngine({ dataDir: data, batchIntervalMs: 100, log: () => undefined });
  try {
    await e.execute(`SET backpressure = off;
      CREATE SOURCE src (line VARCHAR) WITH (connector = 'socket', host = '127.0.0.1', port = ${port});
      CREATE MATERIALIZED VIEW c AS SELECT count(*) AS c, sum(CAST(line AS BIGINT)) AS s FROM src;`);
    while (conn === null) await sleep(10);
    const c = conn as Socket;
    const per = 10_000;
    const t0 = performance.now();
    for (let i = 0; i < LINES; i += per) {
      let chunk = '';
      for (let j = i; j < Math.min(i + per, LINES); j++) chunk += `${j}\n`;
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
    }
    await waitCount(e, 'c', LINES, null, 120_000);
    const s = (performance.now() - t0) / 1000;
    const [count = 0, sum = 0] = await row(e, 'c');
    const want = (LINES * (LINES - 1)) / 2;
    if (count !== LINES || sum !== want) fail(`socket: ${count} lines, sum ${sum}; want ${LINES}, ${want}`);
    return { name: `socket_${wal ? 'wal' : 'no_wal'}`, sent: LINES, rows: count, wallSeconds: +s.toFixed(2), rowsPerWallSecond: Math.round(LINES / s), check: `${LINES} lines exactly once (sum ${sum})` };
  } finally {
    await e.close();
    (conn as Socket | null)?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    if (data) rmSync(data, { recursive: true, force: true });
  }
}

const results: Result[] = [];
for (const qos of (process.env.SLUICE_BENCH_QOS ?? '0,1,2').split(',').map((q) => Number(q) as 0 | 1 | 2)) results.push(await mqttCase(qos));
for (const wal of [true, false]) results.push(await socketCase(wal));
const out = { benchmark: 'receivers', node: process.version, date: new Date().toISOString(), broker: BROKER, results };
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'receivers.json'), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
