/**
 * Fairness of DML among readers: one writer's INSERT throughput alone, then among N readers
 * (default 500) each looping `SELECT n FROM <view>` as fast as the server answers. The readers
 * run in a worker thread — other clients, as on a real server — and the server and the writer
 * here. Prints JSON: writes/s alone and among readers, their ratio, and the readers' reads/s.
 *
 *   npx tsx bench/fairness.ts            SLUICE_READERS=500 SLUICE_BENCH_SECONDS=5
 */
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createEngine } from '../src/exec/runtime/engine.js';
import { startPgServer } from '../src/server/pg-server.js';

const readers = Number(process.env.SLUICE_READERS ?? 500);
const seconds = Number(process.env.SLUICE_BENCH_SECONDS ?? 5);

const engine = await createEngine({ autoStart: false, log: () => undefined });
const server = await startPgServer(engine, { port: 0, log: () => undefined, maxConnections: readers + 10 });
await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT count(*) AS n FROM t; INSERT INTO t VALUES (1); FLUSH');

const writer = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'bench', database: 'bench' });
await writer.connect();
const writes = async (ms: number) => {
  let n = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await writer.query('INSERT INTO t VALUES (1)');
    n++;
  }
  return n;
};

const alone = await writes(seconds * 1000);

// The readers: their own thread and event loop, reporting their count when told to stop.
const worker = new Worker(
  `
  const { parentPort, workerData } = require('node:worker_threads');
  const pg = require('pg');
  let stop = false;
  let reads = 0;
  parentPort.on('message', () => { stop = true; });
  (async () => {
    const clients = [];
    for (let i = 0; i < workerData.readers; i++) {
      const c = new pg.Client({ host: '127.0.0.1', port: workerData.port, user: 'reader', database: 'bench' });
      await c.connect();
      clients.push(c);
    }
    parentPort.postMessage({ ready: true });
    await Promise.all(clients.map(async (c) => {
      while (!stop) { await c.query('SELECT n FROM s'); reads++; }
    }));
    await Promise.all(clients.map((c) => c.end()));
    parentPort.postMessage({ reads });
  })();
  `,
  { eval: true, workerData: { readers, port: server.port } },
);
const messages: { ready?: boolean; reads?: number }[] = [];
const next = () => new Promise<{ ready?: boolean; reads?: number }>((resolve) => {
  const m = messages.shift();
  if (m) resolve(m);
  else worker.once('message', resolve);
});
await next();
// Readers at full speed before the writer is measured.
await new Promise((r) => setTimeout(r, 500));
const t0 = Date.now();
const crowded = await writes(seconds * 1000);
const elapsed = (Date.now() - t0) / 1000;
worker.postMessage('stop');
const { reads } = await next();
await writer.end();
await server.close();
await engine.close();
process.stdout.write(`${JSON.stringify({
  readers,
  seconds,
  writesPerSecondAlone: Math.round(alone / seconds),
  writesPerSecondAmongReaders: Math.round(crowded / elapsed),
  ratio: Number((crowded / alone).toFixed(2)),
  readsPerSecond: Math.round((reads ?? 0) / (elapsed + 0.5)),
})}\n`);
