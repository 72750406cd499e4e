/**
 * SCRAM-SHA-256 authentication and CancelRequest, driven by the `pg` driver and raw messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgEngine, type PgServer } from '../../src/server/pg-server.js';
import { errorOf, fe, textRows, WireClient } from './wire-client.js';

let engine: Engine;
let secured: PgServer;
let open: PgServer;
let slowRunning = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  await engine.execute(`CREATE TABLE t (v INT); INSERT INTO t VALUES (1)`);
  secured = await startPgServer(engine, { port: 0, password: 's3cret pässword', log: () => undefined });
  // Statements mentioning 'slow_marker' take 3 s: long enough to cancel.
  const slow: PgEngine = {
    catalog: engine.catalog,
    async execute(sql) {
      if (sql.includes('slow_marker')) {
        slowRunning++;
        await sleep(3000);
        slowRunning--;
      }
      return engine.execute(sql);
    },
  };
  open = await startPgServer(slow, { port: 0, log: () => undefined });
});

afterAll(async () => {
  await secured?.close();
  await open?.close();
  await engine?.close();
});

const client = (server: PgServer, extra: Partial<pg.ClientConfig> = {}) =>
  new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test', ...extra });

describe('pg server: SCRAM-SHA-256', () => {
  it('accepts the right password', async () => {
    const c = client(secured, { password: 's3cret pässword' });
    await c.connect();
    expect((await c.query(`SELECT v FROM t`)).rows).toEqual([{ v: 1 }]);
    await c.end();
  });

  it('refuses a wrong password with 28P01', async () => {
    const c = client(secured, { password: 'wrong' });
    const e = (await c.connect().catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.code).toBe('28P01');
    expect(e.message).toBe('password authentication failed for user "test"');
  });

  it('asks for SASL with SCRAM-SHA-256 only, and never trusts', async () => {
    const c = await WireClient.open(secured.port);
    c.send(fe.startup({ user: 'test' }));
    const m = (await c.next())!;
    expect(m.type).toBe('R');
    expect(m.body.readInt32BE(0)).toBe(10);
    expect(m.body.toString('utf8', 4)).toBe('SCRAM-SHA-256\0\0');
    // A query instead of the SASL response is a protocol violation.
    c.send(fe.query('SELECT 1'));
    expect(errorOf((await c.next())!)).toMatchObject({ S: 'FATAL', C: '08P01' });
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('pg server: cancel', () => {
  it('cancels a running statement through pg’s cancel (57014) and the session goes on', async () => {
    const c = client(open);
    await c.connect();
    const query = new pg.Query(`SELECT 'slow_marker' AS m`);
    const outcome = new Promise<unknown>((resolve) => {
      query.on('error', resolve);
      query.on('end', () => resolve('finished'));
    });
    const t0 = Date.now();
    void c.query(query);
    while (slowRunning === 0) await sleep(5);
    (client(open) as unknown as { cancel(target: pg.Client, q: pg.Query): void }).cancel(c, query);
    const e = (await outcome) as pg.DatabaseError;
    expect(e.code).toBe('57014');
    expect(e.message).toBe('canceling statement due to user request');
    expect(Date.now() - t0).toBeLessThan(2500);
    expect((await c.query(`SELECT v FROM t`)).rows).toEqual([{ v: 1 }]);
    await c.end();
  });

  it('cancels with a raw CancelRequest only when pid and secret match', async () => {
    const { client: c, startup } = await WireClient.connect(open.port);
    const key = startup.find((m) => m.type === 'K')!;
    const pid = key.body.readInt32BE(0);
    const secret = key.body.readInt32BE(4);
    const before = slowRunning;
    c.send(fe.query(`SELECT 'slow_marker' AS m; SELECT 2`));
    while (slowRunning === before) await sleep(5);
    // A wrong secret is ignored; the cancel connection is closed without an answer.
    const wrong = await WireClient.open(open.port);
    wrong.send(fe.cancel(pid, secret ^ 1));
    expect(await wrong.waitClosed()).toBe(true);
    expect(await c.next(300)).toBeNull();
    const right = await WireClient.open(open.port);
    right.send(fe.cancel(pid, secret));
    expect(await right.waitClosed()).toBe(true);
    const ms = await c.until('Z', 2000);
    expect(ms.map((m) => m.type).join('')).toBe('EZ');
    expect(errorOf(ms[0]!)).toMatchObject({ S: 'ERROR', C: '57014' });
    c.send(fe.query(`SELECT v FROM t`));
    expect(textRows(await c.until('Z'))).toEqual([['1']]);
    c.end();
  });
});
