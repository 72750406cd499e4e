/**
 * A statement node-sql-parser would backtrack on for minutes costs only its sender: it is
 * answered with 54001 within about the 1 s parse deadline, while every other client goes on
 * being served without delay, and the server serves everyone afterwards.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { warmParser } from '../../src/parser/index.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;
const clients: pg.Client[] = [];

const connect = async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await c.connect();
  clients.push(c);
  return c;
};

/** Without the guard this takes minutes to parse, then V8 aborts the process. */
const pathological = 'SELECT ' + '('.repeat(20) + '1 +' + ')'.repeat(20);

async function codeOf(p: Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await p;
  } catch (e) {
    return e as pg.DatabaseError;
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  engine = await createEngine({ autoStart: true, batchIntervalMs: 50, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  await engine.execute('CREATE TABLE t (v INT)');
});

// Each test starts with warm parse workers: starting one (~0.5 s) is not what is measured.
beforeEach(() => warmParser());

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
  await server?.close();
  await engine?.close();
});

describe('pg server: parse guard', () => {
  it('answers a concurrent SELECT 1 at once while a pathological statement is parsed', async () => {
    const slowClient = await connect();
    const client = await connect();
    await client.query('SELECT 1');
    const t0 = Date.now();
    let slowMs = 0;
    const slow = codeOf(slowClient.query(pathological)).finally(() => {
      slowMs = Date.now() - t0;
    });
    const latencies: number[] = [];
    while (slowMs === 0) {
      const t = Date.now();
      const r = await client.query('SELECT 1 AS one');
      latencies.push(Date.now() - t);
      expect(r.rows).toEqual([{ one: 1 }]);
    }
    const e = await slow;
    expect([e.code, e.message]).toEqual(['54001', 'statement is too complex: parsing took longer than 1 s']);
    expect(slowMs).toBeLessThan(1500);
    expect(latencies.length).toBeGreaterThan(5);
    expect(Math.max(...latencies)).toBeLessThan(400);
    // The server still serves both clients.
    expect((await slowClient.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    expect((await client.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: '0' }]);
  });

  it('refuses unbalanced parentheses with 42601 at the unmatched one, at once', async () => {
    const c = await connect();
    const t0 = Date.now();
    const e = await codeOf(c.query('SELECT ' + '('.repeat(30) + '1'));
    expect(Date.now() - t0).toBeLessThan(200);
    expect([e.code, e.message, e.position, e.hint]).toEqual(['42601', 'syntax error at or near "("', '37', 'Add the ")" that closes this "(", or remove it.']);
  });

  it('guards the extended protocol and multi-statement queries too', async () => {
    const c = await connect();
    let t0 = Date.now();
    const e = await codeOf(c.query(pathological.replace('1 +', '$1::int +'), [1]));
    expect(e.code).toBe('54001');
    expect(Date.now() - t0).toBeLessThan(1500);
    await warmParser();
    // The whole string is parsed before any of it runs: the INSERT does not happen.
    t0 = Date.now();
    const e2 = await codeOf(c.query(`INSERT INTO t VALUES (1); ${pathological}`));
    expect(e2.code).toBe('54001');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await c.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: '0' }]);
  });

  it('still runs deep statements that are valid', async () => {
    const c = await connect();
    const r = await c.query('SELECT ' + '('.repeat(30) + '1' + ')'.repeat(30) + ' AS x');
    expect(r.rows).toEqual([{ x: 1 }]);
  });
});
