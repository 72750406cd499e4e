/**
 * A running ad-hoc query is stopped for real: a cancel or statement_timeout interrupts it inside
 * DuckDB, so the engine is free at once — another client's DML, FLUSH and view read go through
 * right after, instead of waiting for the query to end on its own (it would run for hours).
 */
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
// A cross product of 9·10^12 rows: hours of work for DuckDB.
const ENDLESS = 'SELECT count(*) FROM range(0, 3000000) a, range(0, 3000000) b WHERE a.range + b.range = -1';

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT count(*) AS n FROM t');
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

/** Another client's write and read through the engine, timed. */
async function otherClientMs(): Promise<number> {
  const c = await connect();
  const t0 = Date.now();
  await c.query('INSERT INTO t VALUES (1); FLUSH');
  await c.query('SELECT n FROM s');
  const ms = Date.now() - t0;
  await c.end();
  return ms;
}

describe('pg server: stopping a running query', () => {
  it('statement_timeout cancels the query with 57014 and frees the engine', async () => {
    const c = await connect();
    await c.query("SET statement_timeout = '300ms'");
    expect((await c.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '300ms' }]);
    const t0 = Date.now();
    const err = await c.query(ENDLESS).then(() => null, (e: pg.DatabaseError) => e);
    expect(err?.code).toBe('57014');
    expect(err?.message).toBe('canceling statement due to statement timeout');
    expect(Date.now() - t0).toBeLessThan(1500);
    await c.query('SET statement_timeout = 0');
    expect((await c.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    await c.end();
  });

  it('a cancel request interrupts the query inside DuckDB: other clients go on within a second', async () => {
    const c = await connect();
    const query = new pg.Query(ENDLESS);
    const outcome = new Promise<unknown>((resolve) => {
      query.on('error', resolve);
      query.on('end', () => resolve('finished'));
    });
    void c.query(query);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    (new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u' }) as unknown as { cancel(target: pg.Client, q: pg.Query): void }).cancel(c, query);
    const e = (await outcome) as pg.DatabaseError;
    expect(e.code).toBe('57014');
    // The engine is free again: DML, an epoch and a view read from someone else.
    expect(await otherClientMs()).toBeLessThan(1000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await c.query('SELECT 2 AS x')).rows).toEqual([{ x: 2 }]);
    await c.end();
  });
});
