/**
 * Receiver ingest (`npx tsx bench/receivers.ts`): MQTT at QoS 0, 1 and 2 through the Mosquitto on
 * 127.0.0.1:1883 (SLUICE_MQTT_URL), and the socket source with its write-ahead log (a data dir)
 * and without (in memory). Each case: an engine with a 100 ms batch interval, a source, and
 * `SELECT count(*) FROM src` as the view; the timer starts when the first record is sent and
 * stops when the view has counted every record (QoS 0: when the count stops growing — the broker
 * may drop QoS 0 messages for a subscriber that falls behind; the dropped ones are reported). Reports rows per wall second, prints JSON and
 * writes bench/results/receivers.json. One run each: numbers are for this shared 2-core machine.
 *
 * Environment: SLUICE_BENCH_MQTT_MESSAGES (default 20 000), SLUICE_BENCH_SOCKET_LINES (default 1 000 000).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';

const BROKER = process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const MESSAGES = Number(process.env.SLUICE_BENCH_MQTT_MESSAGES ?? 20_000);
const LINES = Number(process.env.SLUICE_BENCH_SOCKET_LINES ?? 1_000_000);

async function count(e: Engine, view: string): Promise<number> {
  const rows = await e.viewRows(view);
  return Number(rows[0]?.[0] ?? 0);
}

async function waitFor(e: Engine, view: string, n: number, timeoutMs = 40_000): Promise<void> {
  const t = Date.now();
  while ((await count(e, view)) < n) {
    if (Date.now() - t > timeoutMs) throw new Error(`${view}: only ${await count(e, view)} of ${n} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function mqttCase(qos: 0 | 1 | 2): Promise<Record<string, unknown>> {
  const data = mkdtempSync(join(tmpdir(), 'sluice-bench-mqtt-'));
  const topic = `sluice-bench/${randomUUID()}`;
  const id = `sluice-bench-${randomUUID()}`;
  const e = await createEngine({ dataDir: data, batchIntervalMs: 100, log: () => undefined });
  const pub = await mqtt.connectAsync(BROKER, { clientId: `pub-${randomUUID()}` });
  try {
    await e.execute(`SET backpressure = off;
      CREATE SOURCE src (n BIGINT) WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic}', qos = '${qos}', client_id = '${id}');
      CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM src;`);
    const t0 = performance.now();
    // In windows of 500 publishes, each after the view has caught up to within 500 of what was
    // sent: Mosquitto drops messages for a subscriber more than max_queued_messages (default
    // 1 000) behind, so this measures sustained ingest rather than the broker's queue.
    for (let i = 0; i < MESSAGES; i += 500) {
      if (qos > 0) await waitFor(e, 'c', i - 500);
      await Promise.all(Array.from({ length: Math.min(500, MESSAGES - i) }, (_, j) => pub.publishAsync(topic, `{"n":${i + j}}`, { qos })));
    }
    let got: number;
    if (qos > 0) {
      await waitFor(e, 'c', MESSAGES);
      got = MESSAGES;
    } else {
      // The broker may drop QoS 0 messages for a busy subscriber: wait until the count settles.
      let last = -1;
      let settledAt = performance.now();
      for (;;) {
        got = await count(e, 'c');
        if (got !== last) [last, settledAt] = [got, performance.now()];
        if (got >= MESSAGES || performance.now() - settledAt > 2000) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const s = (qos > 0 || got >= MESSAGES ? performance.now() - t0 : performance.now() - t0 - 2000) / 1000;
    return { case: `mqtt qos ${qos}, WAL`, sent: MESSAGES, rows: got, seconds: +s.toFixed(2), rowsPerSecond: Math.round(got / s) };
  } finally {
    await pub.endAsync();
    await e.close();
    const c = await mqtt.connectAsync(BROKER, { clientId: id, clean: true });
    await c.endAsync();
    rmSync(data, { recursive: true, force: true });
  }
}

async function socketCase(wal: boolean): Promise<Record<string, unknown>> {
  const data = wal ? mkdtempSync(join(tmpdir(), 'sluice-bench-socket-')) : null;
  let conn: Socket | null = null;
  const server = createServer((c) => (conn = c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const e = await createEngine({ dataDir: data, batchIntervalMs: 100, log: () => undefined });
  try {
    await e.execute(`SET backpressure = off;
      CREATE SOURCE src (line VARCHAR) WITH (connector = 'socket', host = '127.0.0.1', port = ${port});
      CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM src;`);
    while (conn === null) await new Promise((r) => setTimeout(r, 10));
    const c = conn as Socket;
    const chunk = Array.from({ length: 10_000 }, (_, i) => `line number ${i} of the benchmark`).join('\n') + '\n';
    const t0 = performance.now();
    for (let i = 0; i < LINES; i += 10_000) {
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
    }
    await waitFor(e, 'c', LINES);
    const s = (performance.now() - t0) / 1000;
    return { case: `socket, ${wal ? 'WAL (data dir)' : 'no WAL (in memory)'}`, rows: LINES, seconds: +s.toFixed(2), rowsPerSecond: Math.round(LINES / s) };
  } finally {
    await e.close();
    (conn as Socket | null)?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    if (data) rmSync(data, { recursive: true, force: true });
  }
}

const results = [];
for (const qos of (process.env.SLUICE_BENCH_QOS ?? "0,1,2").split(",").map((q) => Number(q) as 0 | 1 | 2)) results.push(await mqttCase(qos));
for (const wal of [true, false]) results.push(await socketCase(wal));
for (const r of results) console.log(JSON.stringify(r));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/receivers.json', JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + '\n');
