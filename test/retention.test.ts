/**
 * WITH (retention = …) on append-only views: rows whose event time (the view's watermarked
 * column) falls below the view's watermark − retention, or whose batch time falls below T_n −
 * retention when the view has no such column, leave the view store each epoch. Ad-hoc SELECT
 * is checked against PostgreSQL over the same rows (event time) or against the rows of the
 * epochs still inside the retention (batch time); SUBSCRIBE sees no retraction for a dropped
 * row; a closed and reopened engine on the same data dir keeps the same rows and stamps.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import type { Subscription } from '../src/exec/runtime/state.js';
import { startPgServer } from '../src/server/pg-server.js';
import { tempDirEach } from './helpers.js';

const dir = tempDirEach('sluice-retention-');
const SCHEMA = `retention_${process.pid}`;
const MIN = 60_000;
/** 2030-01-01T00:00:00Z: batch times and event times near it. */
const BASE = Date.UTC(2030, 0, 1);
let oracle: pg.Client;

beforeAll(async () => {
  oracle = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await oracle.connect();
  await oracle.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}; SET search_path TO ${SCHEMA}`);
});
afterAll(async () => {
  await oracle.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await oracle.end();
});

async function rows(e: Engine, sql: string): Promise<string[]> {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error(`${sql} returned no rows`);
  return r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))).join('|'));
}

async function oracleIds(sql: string): Promise<string[]> {
  return ((await oracle.query({ text: sql, rowMode: 'array' })).rows as unknown[][]).map((r) => String(r[0]));
}

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** A small deterministic generator (no seeds from the clock). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('retention by event time', () => {
  it('drops rows below watermark − retention each epoch, as PostgreSQL computes it, and keeps them so across a restart', async () => {
    await oracle.query('DROP TABLE IF EXISTS ev; CREATE TABLE ev (id INT, ts TIMESTAMP)');
    const data = dir();
    let clock = BASE;
    let e = await createEngine({ dataDir: data, autoStart: false, clock: () => clock, log: () => undefined });
    await e.execute(`CREATE TABLE ev (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5 minutes') APPEND ONLY;
      CREATE MATERIALIZED VIEW recent WITH (retention = '1 hour') AS SELECT id, ts AS happened FROM ev WHERE id % 7 <> 0;
      CREATE MATERIALIZED VIEW everything AS SELECT id, ts FROM ev;`);
    expect((await rows(e, `EXPLAIN CREATE MATERIALIZED VIEW x WITH (retention = '1 hour') AS SELECT id, ts FROM ev`))[0]).toBe(
      'MaterializeExec: x [append-only: rows kept as batches; retention 01:00:00 by event time ts against the watermark]',
    );
    const sub = (await e.execute('SUBSCRIBE recent'))[0] as Subscription;
    const weights: number[] = [];
    const stop = sub.listen((changes) => weights.push(...changes.map((r) => Number(r[1]))), () => undefined);
    const rnd = lcg(7);
    let id = 0;
    // Expected: the view's rows whose time is at or above max(ts) − 5 minutes − 1 hour.
    const expected = `SELECT id FROM ev WHERE id % 7 <> 0 AND ts >= (SELECT max(ts) FROM ev) - INTERVAL '5 minutes' - INTERVAL '1 hour' ORDER BY id`;
    let dropped = false;
    for (let epoch = 0; epoch < 12; epoch++) {
      if (epoch === 6) {
        // Restart on the same data dir: the view's kept rows come back as they were.
        const before = await rows(e, 'SELECT id FROM recent ORDER BY id');
        stop();
        await e.close();
        e = await createEngine({ dataDir: data, autoStart: false, clock: () => clock, log: () => undefined });
        expect(await rows(e, 'SELECT id FROM recent ORDER BY id')).toEqual(before);
      }
      const batch = Array.from({ length: 15 }, () => ({ id: id++, t: BASE + epoch * 20 * MIN + Math.floor((rnd() - 0.7) * 90) * MIN }));
      const values = batch.map((r) => `(${r.id}, '${iso(r.t)}')`).join(', ');
      await e.execute(`INSERT INTO ev VALUES ${values}; FLUSH`);
      await oracle.query(`INSERT INTO ev VALUES ${values}`);
      clock += MIN;
      const got = await rows(e, 'SELECT id FROM recent ORDER BY id');
      expect(got).toEqual(await oracleIds(expected));
      const passing = Array.from({ length: id }, (_, i) => i).filter((i) => i % 7 !== 0).length;
      if (got.length < passing) dropped = true;
    }
    // Some rows did leave (the test would be vacuous otherwise), none as a retraction.
    expect(dropped).toBe(true);
    expect(Number((await rows(e, 'SELECT count(*) FROM everything'))[0])).toBe(id);
    expect(weights.every((w) => w === 1)).toBe(true);
    await e.close();
  });
});

describe('retention of a windowed aggregate', () => {
  it('ages closed windows by window_end against the watermark', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute(`CREATE TABLE ev (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts) APPEND ONLY;
        CREATE MATERIALIZED VIEW w WITH (retention = '30 minutes') AS SELECT window_start, window_end, count(*) AS n
          FROM TUMBLE(ev, ts, INTERVAL '10 minutes') GROUP BY window_start, window_end EMIT ON WINDOW CLOSE;`);
      expect((await rows(e, `EXPLAIN CREATE MATERIALIZED VIEW x WITH (retention = '30 minutes') AS SELECT window_start, window_end, count(*) AS n
          FROM TUMBLE(ev, ts, INTERVAL '10 minutes') GROUP BY window_start, window_end EMIT ON WINDOW CLOSE`))[0]).toMatch(/retention 00:30:00 by event time window_end against the watermark/);
      for (let m = 0; m <= 90; m += 5) await e.execute(`INSERT INTO ev VALUES (${m}, '${iso(BASE + m * MIN)}'); FLUSH`);
      // Watermark 01:30: windows closed up to 01:30, those ending before 01:00 gone.
      const us = (m: number) => String(BigInt(BASE + m * MIN) * 1000n);
      expect(await rows(e, 'SELECT window_end, n FROM w ORDER BY window_end')).toEqual([`${us(60)}|2`, `${us(70)}|2`, `${us(80)}|2`, `${us(90)}|2`]);
    } finally {
      await e.close();
    }
  });
});

describe('retention by batch time', () => {
  it('drops the rows of epochs older than T_n − retention, keeping their batch times across a restart', async () => {
    const data = dir();
    let clock = BASE;
    let e = await createEngine({ dataDir: data, autoStart: false, clock: () => clock, log: () => undefined });
    await e.execute(`CREATE TABLE t (id INT) APPEND ONLY;
      CREATE MATERIALIZED VIEW v WITH (retention = '1 hour') AS SELECT id FROM t;`);
    expect((await rows(e, `EXPLAIN CREATE MATERIALIZED VIEW x WITH (retention = '30 minutes') AS SELECT id FROM t`))[0]).toBe(
      'MaterializeExec: x [append-only: rows kept as batches; retention 00:30:00 by batch time]',
    );
    // Epoch k at BASE + 20k minutes inserts ids 10k … 10k+9.
    const insertAt = async (k: number) => {
      clock = BASE + k * 20 * MIN;
      await e.execute(`INSERT INTO t SELECT * FROM (VALUES ${Array.from({ length: 10 }, (_, i) => `(${10 * k + i})`).join(', ')}) AS x(id); FLUSH`);
    };
    /** The ids of the epochs whose batch time is within the hour before `now`. */
    const within = (upTo: number, now: number) => Array.from({ length: (upTo + 1) * 10 }, (_, i) => i).filter((i) => BASE + Math.floor(i / 10) * 20 * MIN >= now - 60 * MIN);
    for (let k = 0; k <= 3; k++) await insertAt(k);
    // At BASE + 60 min: epoch 0 (BASE) is exactly one hour old and stays.
    expect((await rows(e, 'SELECT id FROM v ORDER BY id')).map(Number)).toEqual(within(3, clock));
    await insertAt(4);
    expect((await rows(e, 'SELECT id FROM v ORDER BY id')).map(Number)).toEqual(within(4, clock));
    expect(within(4, clock)[0]).toBe(10);
    await e.close();
    e = await createEngine({ dataDir: data, autoStart: false, clock: () => clock, log: () => undefined });
    expect((await rows(e, 'SELECT id FROM v ORDER BY id')).map(Number)).toEqual(within(4, clock));
    clock += 30 * MIN;
    await e.execute('FLUSH');
    // Now BASE + 110 min: epochs 0–2 (≤ BASE + 40 min) are gone, 3 and 4 stay.
    expect((await rows(e, 'SELECT id FROM v ORDER BY id')).map(Number)).toEqual(within(4, clock));
    expect(within(4, clock)).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));
    await e.close();
  });

  it('ALTER … SET (retention) applies at once and survives a restart; RESET keeps every row again; bad settings are refused', async () => {
    const data = dir();
    let clock = BASE;
    let e = await createEngine({ dataDir: data, autoStart: false, clock: () => clock, log: () => undefined });
    await e.execute(`CREATE TABLE t (id INT) APPEND ONLY;
      CREATE MATERIALIZED VIEW v AS SELECT id FROM t;
      INSERT INTO t VALUES (1), (2); FLUSH;`);
    clock += 10 * MIN;
    await e.execute(`INSERT INTO t VALUES (3); FLUSH`);
    // Rows held before the ALTER count from it (their batch times were not kept).
    await e.execute(`ALTER MATERIALIZED VIEW v SET (retention = '15 minutes')`);
    expect(await rows(e, 'SHOW CREATE MATERIALIZED VIEW v')).toEqual(["v|CREATE MATERIALIZED VIEW v WITH (retention = '15 minutes') AS SELECT id FROM t"]);
    clock += 10 * MIN;
    await e.execute(`INSERT INTO t VALUES (4); FLUSH`);
    expect(await rows(e, 'SELECT id FROM v ORDER BY id')).toEqual(['1', '2', '3', '4']);
    await e.close();
    e = await createEngine({ dataDir: data, autoStart: false, clock: () => clock, log: () => undefined });
    clock += 10 * MIN;
    await e.execute('FLUSH');
    expect(await rows(e, 'SELECT id FROM v ORDER BY id')).toEqual(['4']);
    await e.execute(`ALTER MATERIALIZED VIEW v RESET (retention)`);
    clock += 60 * MIN;
    await e.execute(`INSERT INTO t VALUES (5); FLUSH`);
    expect(await rows(e, 'SELECT id FROM v ORDER BY id')).toEqual(['4', '5']);
    expect(await rows(e, 'SHOW CREATE MATERIALIZED VIEW v')).toEqual(['v|CREATE MATERIALIZED VIEW v AS SELECT id FROM t']);
    const err = async (sql: string) => e.execute(sql).then(() => null, (x: { sqlstate: string; message: string }) => x);
    expect(await err(`CREATE MATERIALIZED VIEW c WITH (retention = '1 hour') AS SELECT count(*) FROM t`)).toMatchObject({ sqlstate: '22023', message: expect.stringMatching(/append-only/) });
    expect(await err(`CREATE MATERIALIZED VIEW c WITH (retention = 'soon') AS SELECT id FROM t`)).toMatchObject({ sqlstate: '22023', message: expect.stringMatching(/invalid retention/) });
    expect(await err(`CREATE MATERIALIZED VIEW c WITH (retention = '-1 hour') AS SELECT id FROM t`)).toMatchObject({ sqlstate: '22023' });
    await e.close();
  });
});

describe('retention over pg-wire', () => {
  it('EXPLAIN says an append-only view over a source is unbounded, and a view with retention keeps the recent rows', async () => {
    let clock = BASE;
    const e = await createEngine({ autoStart: false, clock: () => clock, log: () => undefined });
    const server = await startPgServer(e, { port: 0, log: () => undefined });
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
    await c.connect();
    try {
      await c.query(`CREATE SOURCE g (id BIGINT) WITH (connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 10, fields.id.kind = 'sequence', fields.id.start = 1)`);
      const plan = await c.query('EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT id FROM g');
      expect(plan.rows[0]['QUERY PLAN']).toMatch(/unbounded: grows with every input row of its sources — set WITH \(retention = …\)/);
      await c.query(`CREATE TABLE t (id INT) APPEND ONLY; CREATE MATERIALIZED VIEW v WITH (retention = '5 minutes') AS SELECT id FROM t`);
      await c.query('INSERT INTO t VALUES (1); FLUSH');
      clock += 3 * MIN;
      await c.query('INSERT INTO t VALUES (2); FLUSH');
      clock += 3 * MIN;
      await c.query('FLUSH');
      expect((await c.query('SELECT id FROM v ORDER BY id')).rows.map((r) => r.id)).toEqual([2]);
      expect((await c.query(`SELECT rows FROM sluice.views WHERE name = 'v'`)).rows[0].rows).toBe('1');
    } finally {
      await c.end();
      await server.close();
      await e.close();
    }
  });
});
