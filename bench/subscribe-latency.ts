/**
 * SUBSCRIBE delivery latency: time from an epoch's commit (its start + processing time, from the
 * engine's metrics) to the change arriving at a `pg` client over the wire, on one machine/clock.
 * Prints JSON with p50/p99/max over the epochs observed.
 */
import pg from 'pg';
import { createEngine } from '../src/exec/runtime/engine.js';
import { startPgServer } from '../src/server/pg-server.js';

const engine = await createEngine({ batchIntervalMs: 100, log: () => undefined });
const server = await startPgServer(engine, { port: 0, log: () => undefined });
await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM t;');
const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'bench', database: 'bench' });
await client.connect();
const arrivals = new Map<number, number>();
const q = new pg.Query({ text: 'SUBSCRIBE c WITH (snapshot = false)', rowMode: 'array' } as pg.QueryConfig);
q.on('row', (r: unknown[]) => {
  const epoch = Number(r[0]);
  if (!arrivals.has(epoch)) arrivals.set(epoch, performance.timeOrigin + performance.now());
});
q.on('error', () => undefined);
void client.query(q);
const writer = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'bench', database: 'bench' });
await writer.connect();
const until = Date.now() + Number(process.env.SLUICE_BENCH_SECONDS ?? 10) * 1000;
while (Date.now() < until) {
  await writer.query('INSERT INTO t VALUES (1)');
  await new Promise((r) => setTimeout(r, 20));
}
await new Promise((r) => setTimeout(r, 300));
const latencies: number[] = [];
for (const m of engine.metrics()) {
  const got = arrivals.get(m.epoch);
  if (got === undefined) continue;
  // Epoch start (wall) + processing = commit; metrics keep the start as batchTimeMs.
  latencies.push(got - (m.batchTimeMs + m.processingTimeMs));
}
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
if (latencies.length < 10) throw new Error(`only ${latencies.length} epochs observed`);
process.stdout.write(JSON.stringify({ name: 'subscribe_delivery_latency_ms', epochs: latencies.length, p50: +pct(0.5).toFixed(3), p99: +pct(0.99).toFixed(3), max: +latencies.at(-1)!.toFixed(3) }, null, 2) + '\n');
await writer.end();
await client.end().catch(() => undefined);
await server.close();
await engine.close();
process.exit(0);
