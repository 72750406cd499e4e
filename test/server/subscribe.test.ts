/** SUBSCRIBE over pg-wire: snapshot, then every change with its epoch and weight, until cancel. */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

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

  it('ends a subscription when its view is dropped', async () => {
    const { engine, server } = await setup();
    await engine.execute('CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW s AS SELECT v FROM t;');
    const sub = await connect(server.port);
    const { done } = streamRows(sub, 'SUBSCRIBE s');
    await new Promise((r) => setTimeout(r, 50));
    await engine.execute('DROP MATERIALIZED VIEW s');
    expect(await done).toBeNull();
  });
});
