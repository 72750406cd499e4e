/**
 * Ad-hoc SELECTs do not hold the engine: while one client's query runs for as long as it takes,
 * another client's INSERT + FLUSH + SELECT on a view completes in under a second; a query reads
 * the committed snapshot it started on (DML committed meanwhile is not in its answer); cancel
 * stops the long query within a second; and a writer among many readers keeps most of the
 * throughput it has alone (bench/fairness.ts measures the 500-reader acceptance, ≥ 50 %).
 */
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;
const connect = async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u', database: 'sluice' });
  await c.connect();
  return c;
};
// A cross product of 9·10^12 rows: hours of work for DuckDB, unless cancelled.
const ENDLESS = 'SELECT count(*) FROM range(0, 3000000) a, range(0, 3000000) b WHERE a.range + b.range = -1';

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined, maxConnections: 200 });
  await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT count(*) AS n FROM t');
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

/** Starts a query on its own client; resolves with its error or 'finished'. */
function startQuery(c: pg.Client, sql: string): { query: pg.Query; outcome: Promise<unknown>; rows: unknown[]; endedAt: () => number } {
  const query = new pg.Query(sql);
  const rows: unknown[] = [];
  let ended = 0;
  const outcome = new Promise<unknown>((resolve) => {
    query.on('row', (r) => rows.push(r));
    query.on('error', (e) => {
      ended = Date.now();
      resolve(e);
    });
    query.on('end', () => {
      ended = Date.now();
      resolve('finished');
    });
  });
  void c.query(query);
  return { query, outcome, rows, endedAt: () => ended };
}

function cancel(target: pg.Client, q: pg.Query): void {
  (new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u' }) as unknown as { cancel(target: pg.Client, q: pg.Query): void }).cancel(target, q);
}

describe('ad-hoc queries and the engine lock', () => {
  it('a long query does not hold up another client\'s INSERT + FLUSH + SELECT on a view; cancel stops it', async () => {
    const long = await connect();
    const running = startQuery(long, ENDLESS);
    // Let it get going inside DuckDB.
    await new Promise((r) => setTimeout(r, 500));
    const other = await connect();
    const times: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const t0 = Date.now();
      await other.query('INSERT INTO t VALUES (1)');
      await other.query('FLUSH');
      const r = await other.query('SELECT n FROM s');
      times.push(Date.now() - t0);
      expect(r.rows).toEqual([{ n: String(i) }]);
    }
    expect(Math.max(...times)).toBeLessThan(1000);
    // Still running: it was not finished or dropped to let the others through.
    expect(await Promise.race([running.outcome, new Promise((r) => setTimeout(() => r('running'), 50))])).toBe('running');
    const t0 = Date.now();
    cancel(long, running.query);
    expect(await running.outcome).toMatchObject({ code: '57014' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await long.query('SELECT n FROM s')).rows).toEqual([{ n: '3' }]);
    await other.end();
    await long.end();
  });

  it('a query reads the snapshot it started on, whatever is committed while it runs', async () => {
    const reader = await connect();
    const writer = await connect();
    const before = Number((await reader.query('SELECT count(*) AS n FROM t')).rows[0].n);
    // Reads t once per row of a long range: seconds of work over the snapshot of t.
    const slow = startQuery(reader, 'SELECT count(*) AS n, count(DISTINCT t.v) AS d FROM range(0, 100000000) r, t WHERE r.range % 2 = 0');
    await new Promise((r) => setTimeout(r, 150));
    await writer.query('INSERT INTO t VALUES (7), (8); FLUSH');
    const afterInsert = Date.now();
    expect(await slow.outcome).toBe('finished');
    // The insert was committed while the query ran (it did not wait for it).
    expect(slow.endedAt()).toBeGreaterThan(afterInsert);
    expect(slow.rows).toEqual([{ n: String(before * 50000000), d: '1' }]);
    expect((await reader.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: String(before + 2) }]);
    await reader.end();
    await writer.end();
  });

  it('a writer among 100 readers keeps most of its throughput alone', async () => {
    const writer = await connect();
    const writes = async (ms: number) => {
      let n = 0;
      const end = Date.now() + ms;
      while (Date.now() < end) {
        await writer.query('INSERT INTO t VALUES (1)');
        n++;
      }
      return n;
    };
    // The readers are other clients: their own thread, as other processes would be.
    const readers = new Worker(READERS, { eval: true, workerData: { readers: 100, port: server.port } });
    const next = () => new Promise<{ reads?: number }>((resolve) => readers.once('message', resolve));
    await next();
    // Alone and among readers in alternating windows, so a change in the machine's load
    // (other test files, other processes) weighs on both alike.
    let alone = 0;
    let crowded = 0;
    for (let i = 0; i < 5; i++) {
      readers.postMessage('pause');
      await new Promise((r) => setTimeout(r, 50));
      alone += await writes(300);
      readers.postMessage('resume');
      await new Promise((r) => setTimeout(r, 50));
      crowded += await writes(300);
    }
    readers.postMessage('stop');
    const { reads } = await next();
    await writer.end();
    console.log(`writer alone: ${alone} INSERTs in 1.5 s; among 100 readers: ${crowded} (the readers: ${reads} SELECTs)`);
    expect(reads).toBeGreaterThan(100);
    // The acceptance (≥ 50 % among 500 readers) is measured by bench/fairness.ts on a quiet
    // machine. Here, beside the rest of the suite on a loaded one, the ratio measured 0.49–0.72;
    // without the read/write gate it was 0.08–0.3. The bound tells the two apart.
    expect(crowded).toBeGreaterThanOrEqual(alone * 0.35);
  });
});

/** 100 clients looping SELECT on the view while not paused, until stopped; they report their count. */
const READERS = `
  const { parentPort, workerData } = require('node:worker_threads');
  const pg = require('pg');
  let state = 'run';
  let wake = [];
  let reads = 0;
  parentPort.on('message', (m) => {
    state = m === 'pause' ? 'pause' : m === 'stop' ? 'stop' : 'run';
    if (state !== 'pause') for (const w of wake.splice(0)) w();
  });
  (async () => {
    const clients = [];
    for (let i = 0; i < workerData.readers; i++) {
      const c = new pg.Client({ host: '127.0.0.1', port: workerData.port, user: 'reader', database: 'sluice' });
      await c.connect();
      clients.push(c);
    }
    parentPort.postMessage({ ready: true });
    await Promise.all(clients.map(async (c) => {
      while (state !== 'stop') {
        if (state === 'pause') { await new Promise((r) => wake.push(r)); continue; }
        await c.query('SELECT n FROM s');
        reads++;
      }
    }));
    await Promise.all(clients.map((c) => c.end()));
    parentPort.postMessage({ reads });
  })();
`;
