/**
 * Progress of long work (issue 12, item 6): a view's backfill over a large table runs in parts
 * with rows done of the total, a connector table's load counts its rows, `sluice run` counts its
 * statements; the tracker feeds pg-wire NOTICEs and /api/progress (read while the backfill
 * holds the engine lock). The chunked backfill must give the same view as one run over all rows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { ProgressTracker, progressText, throttledPrinter, type ProgressInfo } from '../src/exec/runtime/progress.js';
import { startPgServer } from '../src/server/pg-server.js';
import { startHttpServer } from '../src/server/http-server.js';
import { canonicalRows, tempDirEach } from './helpers.js';

const dir = tempDirEach('sluice-progress-');
let engine: Engine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

async function rowsOf(e: Engine, sql: string) {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error(`${sql}: no rows`);
  return r.rows;
}

describe('the progress tracker', () => {
  it('reports done of total, the rate, and keeps finished work for a minute', () => {
    let now = 1000;
    const t = new ProgressTracker(() => now);
    const seen: string[] = [];
    t.listen((ev, p) => seen.push(`${ev} ${p.done}/${p.total}`));
    const h = t.start('backfill', 'v', 'rows', 200);
    now += 1000;
    h.update(50);
    expect(t.list()[0]).toMatchObject({ kind: 'backfill', name: 'v', done: 50, total: 200, percent: 25, rate: 50, running: true });
    now += 1000;
    h.finish();
    expect(t.list()[0]).toMatchObject({ done: 200, percent: 100, running: false, elapsedMs: 2000 });
    h.update(10); // after finish: ignored
    expect(seen).toEqual(['start 0/200', 'advance 50/200', 'finish 200/200']);
    now += 61_000;
    expect(t.list()).toEqual([]);
  });

  it('marks failed work and keeps its count', () => {
    const t = new ProgressTracker(() => 0);
    const h = t.start('table_load', 't', 'rows');
    h.update(7);
    h.finish('file vanished');
    expect(t.list()[0]).toMatchObject({ done: 7, total: null, percent: null, running: false, error: 'file vanished' });
    expect(progressText(t.list()[0]!)).toContain('failed: file vanished');
  });

  it('prints a running task at most every interval, only after the first delay, and its end', () => {
    let now = 0;
    const lines: string[] = [];
    const t = new ProgressTracker(() => now);
    t.listen(throttledPrinter((l) => lines.push(l), 1000, 1000, () => now));
    const quick = t.start('script', 'a.sql', 'statements', 3);
    quick.update(3);
    quick.finish();
    expect(lines).toEqual([]); // quick work prints nothing
    const h = t.start('backfill', 'v', 'rows', 4_000_000);
    for (let i = 1; i <= 40; i++) {
      now += 100;
      h.update(i * 100_000);
    }
    // 4 s of updates every 100 ms: the first line at 1 s, then one a second.
    expect(lines.length).toBe(4);
    expect(lines[0]).toBe('backfill of view v: 1.0 M / 4.0 M rows (25 %), 1.0 M rows/s');
    h.finish();
    expect(lines.length).toBe(5);
    expect(lines[4]).toMatch(/^backfill of view v: 4\.0 M \/ 4\.0 M rows \(100 %\) in 4\.0 s$/);
  });
});

describe('a backfill in parts', () => {
  it('advances by parts to the table size and gives the view one run over all rows would', async () => {
    engine = await createEngine({ log: () => undefined });
    const e = engine;
    await e.execute(`CREATE TABLE t (k int, x bigint, s varchar)`);
    await e.execute(`CREATE TABLE d (k int PRIMARY KEY, name varchar)`);
    await e.execute(`INSERT INTO t SELECT (i % 97)::int, i, 'w' || (i % 13)::varchar FROM generate_series(1, 200000) g(i)`);
    await e.execute(`INSERT INTO d SELECT i, 'n' || i::varchar FROM generate_series(0, 96) g(i)`);
    const events: ProgressInfo[] = [];
    e.progress.listen((ev, p) => {
      if (p.kind === 'backfill' && p.name === 'agg') events.push(p);
    });
    // An aggregate over a join of the large table with a small one, and a top-N per key: each
    // part of the large table meets the whole small one, and the top-N keeps the best rows.
    await e.execute(`CREATE MATERIALIZED VIEW agg AS
      SELECT d.name, count(*) AS n, sum(t.x) AS total, max(t.s) AS top FROM t JOIN d ON t.k = d.k GROUP BY d.name`);
    await e.execute(`CREATE MATERIALIZED VIEW best AS
      SELECT k, x FROM (SELECT k, x, row_number() OVER (PARTITION BY k ORDER BY x DESC) AS rn FROM t) WHERE rn <= 2`);
    const done = events.filter((p) => p.running).map((p) => p.done);
    expect(done.length).toBeGreaterThanOrEqual(4); // 200 000 rows in parts of 65 536, then the small table
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ running: false, done: 200_097, total: 200_097, error: null });
    // The view equals the same query run over the tables in DuckDB.
    const expectAgg = await rowsOf(e, `SELECT d.name, count(*), sum(t.x), max(t.s) FROM t JOIN d ON t.k = d.k GROUP BY d.name`);
    expect(canonicalRows(await rowsOf(e, 'SELECT * FROM agg'))).toEqual(canonicalRows(expectAgg));
    const expectBest = await rowsOf(e, `SELECT k, x FROM (SELECT k, x, row_number() OVER (PARTITION BY k ORDER BY x DESC) AS rn FROM t) q WHERE rn <= 2`);
    expect(canonicalRows(await rowsOf(e, 'SELECT * FROM best'))).toEqual(canonicalRows(expectBest));
    // Later changes flow on as usual.
    await e.execute(`DELETE FROM t WHERE k = 5`);
    await e.execute('FLUSH');
    expect(await rowsOf(e, `SELECT count(*) FROM agg WHERE name = 'n5'`)).toEqual([[0n]]);
  });

  it('counts a file table load by its rows', async () => {
    const file = join(dir(), 'big.csv');
    const lines = ['id,v'];
    for (let i = 0; i < 50_000; i++) lines.push(`${i},${i * 2}`);
    writeFileSync(file, lines.join('\n') + '\n');
    engine = await createEngine({ dataDir: join(dir(), 'data'), allowPaths: [dir()], log: () => undefined });
    await engine.execute(`CREATE TABLE big (id int, v int) WITH (connector = 'file', path = '${file}', format = 'csv')`);
    const loads = engine.progress.list().filter((p) => p.kind === 'table_load' && p.name === 'big');
    expect(loads.at(-1)).toMatchObject({ running: false, done: 50_000, error: null });
  });
});

describe('progress where people look', () => {
  it('sends NOTICEs to a pg client during a backfill and answers /api/progress while it runs', async () => {
    engine = await createEngine({ log: () => undefined });
    const e = engine;
    await e.execute(`CREATE TABLE t (k int, x bigint)`);
    await e.execute(`INSERT INTO t SELECT (i % 1000)::int, i FROM generate_series(1, 400000) g(i)`);
    const server = await startPgServer(e, { port: 0, log: () => undefined, progressNoticeMs: 0 });
    const http = await startHttpServer(e, { host: '127.0.0.1', port: 0, loopbackOnly: true });
    const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'sluice', database: 'sluice' });
    await client.connect();
    try {
      const notices: string[] = [];
      client.on('notice', (n) => notices.push(n.message ?? ''));
      const seenRunning: ProgressInfo[] = [];
      let creating = true;
      const poll = (async () => {
        while (creating) {
          const r = await fetch(`http://127.0.0.1:${http.port}/api/progress`);
          expect(r.status).toBe(200);
          for (const p of (await r.json()) as ProgressInfo[]) if (p.kind === 'backfill' && p.running) seenRunning.push(p);
          await new Promise((res) => setTimeout(res, 5));
        }
      })();
      await client.query('CREATE MATERIALIZED VIEW per_key AS SELECT k, count(*) AS n FROM t GROUP BY k');
      creating = false;
      await poll;
      // The API answered while the backfill held the lock, and saw it part way.
      expect(seenRunning.some((p) => p.name === 'per_key' && p.done > 0 && p.done < 400_000)).toBe(true);
      // Each part was reported to the client as it went, and the end.
      const lines = notices.filter((m) => m.startsWith('backfill of view per_key'));
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines.at(-1)).toMatch(/400 K \/ 400 K rows \(100 %\) in /);
      const done = await fetch(`http://127.0.0.1:${http.port}/api/progress`).then((r) => r.json()) as ProgressInfo[];
      expect(done.find((p) => p.name === 'per_key')).toMatchObject({ running: false, done: 400_000, total: 400_000 });
    } finally {
      await client.end();
      await http.close();
      await server.close();
    }
  });
});
