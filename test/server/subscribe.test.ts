/** SUBSCRIBE over pg-wire: snapshot, then every change with its epoch and weight, until cancel. */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { columnsOf, fe, fieldsOf, WireClient } from './wire-client.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(queueRows?: number): Promise<{ engine: Engine; server: PgServer }> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  const server = await startPgServer(engine, { port: 0, log: () => undefined, subscribeQueueRows: queueRows });
  cleanups.push(async () => {
    await server.close();
    await engine.close();
  });
  return { engine, server };
}

async function connect(port: number): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 't', database: 't' });
  await c.connect();
  cleanups.push(() => c.end().catch(() => undefined));
  return c;
}

function streamRows(client: pg.Client, sql: string): { rows: unknown[][]; done: Promise<Error | null> } {
  const rows: unknown[][] = [];
  const q = new pg.Query({ text: sql, rowMode: 'array' } as pg.QueryConfig);
  const done = new Promise<Error | null>((resolve) => {
    q.on('row', (r: unknown[]) => rows.push(r));
    q.on('error', (e: Error) => resolve(e));
    q.on('end', () => resolve(null));
  });
  void client.query(q);
  return { rows, done };
}

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  if (!f()) throw new Error('timed out waiting');
}

describe('SUBSCRIBE', () => {
  it('streams the snapshot and then each change with epoch and weight, until cancelled', async () => {
    const { engine, server } = await setup();
    await engine.execute("CREATE TABLE t (k VARCHAR, v INT); CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k; INSERT INTO t VALUES ('a', 1); FLUSH;");
    const sub = await connect(server.port);
    const { rows, done } = streamRows(sub, 'SUBSCRIBE s');
    await until(() => rows.length === 1);
    expect(rows[0]!.slice(1).map(String)).toEqual(['1', 'a', '1']);
    const other = await connect(server.port);
    await other.query("INSERT INTO t VALUES ('a', 2), ('b', 5)");
    await other.query('FLUSH');
    await until(() => rows.length === 4);
    const changes = rows.slice(1).map((r) => r.slice(1).join(' ')).sort();
    expect(changes).toEqual(['-1 a 1', '1 a 3', '1 b 5']);
    expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(1);
    expect(Number(rows[1]![0])).toBeGreaterThan(Number(rows[0]![0]));
    // Cancel through the protocol's CancelRequest, as psql's Ctrl-C does.
    const conn = sub as unknown as { processID: number; secretKey: number };
    const net = await import('node:net');
    await new Promise<void>((resolve) => {
      const s = net.connect(server.port, '127.0.0.1', () => {
        const b = Buffer.alloc(16);
        b.writeInt32BE(16, 0);
        b.writeInt32BE(80877102, 4);
        b.writeInt32BE(conn.processID, 8);
        b.writeInt32BE(conn.secretKey, 12);
        s.end(b, () => resolve());
      });
    });
    const err = await done;
    expect(err && (err as Error & { code?: string }).code).toBe('57014');
    // The session goes on, and the engine too.
    expect((await sub.query('SELECT count(*) AS n FROM s')).rows[0].n).toBe('2');
  });

  it('drops a subscription whose client falls too far behind, without stalling the engine', async () => {
    const { engine, server } = await setup(5);
    await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT v FROM t;');
    const sub = await connect(server.port);
    const { done } = streamRows(sub, 'SUBSCRIBE s WITH (snapshot = false)');
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await engine.execute(`INSERT INTO t VALUES ${Array.from({ length: 50 }, (_, i) => `(${i})`).join(', ')}`);
    await engine.flush();
    expect(Date.now() - started).toBeLessThan(5_000);
    const err = await done;
    expect(err && (err as Error & { code?: string }).code).toBe('53400');
  });

  it('ends a subscription with an error that says so when its view is dropped, after the changes before the drop', async () => {
    const { engine, server } = await setup();
    await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT v FROM t; INSERT INTO t VALUES (1); FLUSH;');
    const sub = await connect(server.port);
    const { rows, done } = streamRows(sub, 'SUBSCRIBE s');
    await until(() => rows.length === 1);
    await engine.execute('INSERT INTO t VALUES (2); FLUSH; DROP MATERIALIZED VIEW s');
    const err = (await done) as (Error & { code?: string }) | null;
    expect(err?.code).toBe('42P01');
    expect(err?.message).toBe('subscription ended: materialized view "s" was dropped');
    expect(rows.map((r) => r.slice(1).join(' '))).toEqual(['1 1', '1 2']);
    // The session goes on.
    expect((await sub.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('streams over the extended protocol: a RowDescription, the snapshot, then changes (the pg driver with queryMode extended)', async () => {
    const { engine, server } = await setup();
    await engine.execute("CREATE TABLE t (k VARCHAR, v INT); CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k; INSERT INTO t VALUES ('a', 1); FLUSH;");
    const sub = await connect(server.port);
    const rows: unknown[][] = [];
    let fields: string[] = [];
    const q = new pg.Query({ text: 'SUBSCRIBE s', rowMode: 'array', queryMode: 'extended' } as pg.QueryConfig);
    const done = new Promise<Error | null>((resolve) => {
      q.on('row', (r: unknown[], res?: { fields: { name: string }[] }) => {
        rows.push(r);
        if (res) fields = res.fields.map((f) => f.name);
      });
      q.on('error', (e: Error) => resolve(e));
      q.on('end', () => resolve(null));
    });
    void sub.query(q);
    await until(() => rows.length === 1);
    expect(rows[0]!.slice(1)).toEqual([1, 'a', '1']);
    await engine.execute("INSERT INTO t VALUES ('b', 4); FLUSH;");
    await until(() => rows.length === 2);
    expect(rows[1]!.slice(1)).toEqual([1, 'b', '4']);
    await engine.execute('DROP MATERIALIZED VIEW s');
    expect(((await done) as Error & { code?: string }).code).toBe('42P01');
    // A prepared statement with parameters still works on the same connection.
    expect((await sub.query({ text: 'SELECT $1::int AS x', values: [7] })).rows).toEqual([{ x: 7 }]);
    expect(fields.length === 0 || fields.join(',') === 'epoch,weight,k,total').toBe(true);
  });

  it('pages a SUBSCRIBE portal with Execute row limits (PortalSuspended) and stops it when the portal goes', async () => {
    const { engine, server } = await setup();
    await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT v FROM t; INSERT INTO t VALUES (1), (2), (3); FLUSH;');
    const { client: w } = await WireClient.connect(server.port);
    try {
      w.send(Buffer.concat([fe.parse('', 'SUBSCRIBE s'), fe.bind('', '', []), fe.describe('P', ''), fe.execute('', 2), fe.execute('', 1), fe.sync()]));
      const msgs = await w.until('Z');
      expect(msgs.map((m) => m.type).join('')).toBe('12TDDsDsZ');
      expect(columnsOf(msgs[2]!).map((c) => c.name)).toEqual(['epoch', 'weight', 'v']);
      const values = [msgs[3]!, msgs[4]!, msgs[6]!].map((m) => fieldsOf(m).slice(1).map(String));
      expect(values.map((v) => v.join(' ')).sort()).toEqual(['1 1', '1 2', '1 3']);
      // An Execute waits for changes when the snapshot is used up.
      w.send(Buffer.concat([fe.parse('p', 'SUBSCRIBE s WITH (snapshot = false)'), fe.bind('q', 'p', []), fe.execute('q', 1), fe.flush()]));
      expect((await w.until('2')).map((m) => m.type).join('')).toBe('12');
      await engine.execute('INSERT INTO t VALUES (4); FLUSH;');
      const change = await w.until('s');
      expect(fieldsOf(change[0]!).slice(1).map(String)).toEqual(['1', '4']);
      w.send(fe.sync());
      await w.until('Z');
    } finally {
      w.end();
    }
  });

  it('adds a progressed column and a progress row per epoch with progress = true', async () => {
    const { engine, server } = await setup();
    await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT v FROM t; INSERT INTO t VALUES (1); FLUSH;');
    const sub = await connect(server.port);
    const { rows } = streamRows(sub, 'SUBSCRIBE s WITH (snapshot = false, progress = true)');
    await until(() => rows.length === 1);
    const start = Number(rows[0]![0]);
    expect(rows[0]!.slice(1)).toEqual([true, null, null]);
    await engine.execute('INSERT INTO t VALUES (2); FLUSH; FLUSH;');
    await until(() => rows.length === 4);
    expect(rows.slice(1).map((r) => [Number(r[0]) - start, ...r.slice(1)])).toEqual([
      [1, false, 1, 2],
      [1, true, null, null],
      [2, true, null, null],
    ]);
  });
});
