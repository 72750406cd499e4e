/**
 * Fairness of DML among readers: one writer's INSERT throughput alone and among N readers
 * (default 500) each looping `SELECT n FROM <view>` as fast as the server answers, in
 * alternating one-second windows. The readers run in a worker thread — other clients, as on a
 * real server — and the server and the writer here. Prints JSON: writes/s alone and among
 * readers, their ratio, and the readers' reads/s (roughly).
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

// The readers: their own thread and event loop; they pause, resume and stop when told, and
// report their count at the end.
const worker = new Worker(
  `
  const { parentPort, workerData } = require('node:worker_threads');
  const pg = require('pg');
  let state = 'run';
  const wake = [];
  let reads = 0;
  parentPort.on('message', (m) => {
    state = m;
    if (state !== 'pause') for (const w of wake.splice(0)) w();
  });
  (async () => {
    const clients = [];
    for (let i = 0; i < workerData.readers; i++) {
      const c = new pg.Client({ host: '127.0.0.1', port: workerData.port, user: 'reader', database: 'bench' });
      await c.connect();
      clients.push(c);
    }
    parentPort.postMessage({ ready: true });
    await Promise.all(clients.map(async (c) => {
      while (state !== 'stop') {
        if (state === 'pause') { await new Promise((r) => wake.push(r)); continue; }
        await c.query('SELECT n FROM s');
        if (state === 'run') reads++;
      }
    }));
    await Promise.all(clients.map((c) => c.end()));
    parentPort.postMessage({ reads });
  })();
  `,
  { eval: true, workerData: { readers, port: server.port } },
);
const next = () => new Promise<{ ready?: boolean; reads?: number }>((resolve) => worker.once('message', resolve));
await next();
// Alone and among the readers in alternating one-second windows, so a change in the machine's
// load weighs on both alike.
let alone = 0;
let crowded = 0;
for (let i = 0; i < seconds; i++) {
  worker.postMessage('pause');
  await new Promise((r) => setTimeout(r, 100));
  alone += await writes(1000);
  worker.postMessage('run');
  await new Promise((r) => setTimeout(r, 100));
  crowded += await writes(1000);
}
worker.postMessage('stop');
const { reads } = await next();
await writer.end();
await server.close();
await engine.close();
process.stdout.write(`${JSON.stringify({
  readers,
  seconds,
  writesPerSecondAlone: Math.round(alone / seconds),
  writesPerSecondAmongReaders: Math.round(crowded / seconds),
  ratio: Number((crowded / alone).toFixed(2)),
  readsPerSecond: Math.round((reads ?? 0) / (seconds * 1.1)),
})}\n`);
