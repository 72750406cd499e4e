/**
 * Tables loaded from PostgreSQL (connector = 'postgres') against the real server on
 * 127.0.0.1:5432 (database `test`, trust auth): values of every type, refreshes that views
 * follow, an outage (a proxy the test stops) that keeps the last snapshot, and clear errors.
 */
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushUntil, onCleanup, queryRows, recordChanges, testEngine, until, viewRows } from './harness.js';
import { TcpProxy } from './tcp-proxy.js';
import { parseInterval } from '../../src/common/interval.js';

const HOST = '127.0.0.1';
const PORT = 5432;
const DATABASE = 'test';

let admin: pg.Client;
let user = '';

beforeAll(async () => {
  // The server trusts local users; which role exists depends on the machine.
  for (const candidate of [process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => !!u)) {
    const c = new pg.Client({ host: HOST, port: PORT, user: candidate, database: DATABASE });
    try {
      await c.connect();
      admin = c;
      user = candidate;
      return;
    } catch {
      await c.end().catch(() => undefined);
    }
  }
  throw new Error(`cannot connect to PostgreSQL at ${HOST}:${PORT}/${DATABASE} as postgres or root; start the server`);
});

afterAll(async () => {
  await admin?.end();
});

let serial = 0;

/** A uniquely named PostgreSQL table made by `columns`, dropped after the test. */
async function pgTable(columns: string, rows = ''): Promise<string> {
  const name = `sluice_t_${process.pid}_${Date.now()}_${++serial}`;
  await admin.query(`CREATE TABLE ${name} (${columns})`);
  onCleanup(() => admin.query(`DROP TABLE IF EXISTS ${name}`));
  if (rows) await admin.query(`INSERT INTO ${name} VALUES ${rows}`);
  return name;
}

const url = (port = PORT, database = DATABASE) => `postgres://${user}@${HOST}:${port}/${database}`;

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST, () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('postgres tables', () => {
  it('loads every type, converted to the declared column types', async () => {
    const t = await pgTable(
      'id bigint, n integer, name text, ts timestamptz, lts timestamp, d date, ok boolean, price numeric(10, 2), ratio double precision, wait interval, doc jsonb, uid uuid, code text',
      `(1, 7, 'ann', '2024-01-01 10:00:00+02', '2024-01-01 10:00:00.25', '2024-02-29', true, 12.50, 0.1, '1 day 02:00:00', '{"a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '42'),
       (2, NULL, NULL, NULL, NULL, NULL, false, NULL, 'NaN', '-00:00:01.5', NULL, NULL, NULL)`,
    );
    const e = await testEngine();
    await e.execute(`CREATE TABLE t (id BIGINT, n INT, name VARCHAR, ts TIMESTAMP, lts TIMESTAMP, d DATE, ok BOOLEAN, price NUMERIC, ratio DOUBLE, wait INTERVAL, doc VARCHAR, uid VARCHAR, code INT)
      WITH (connector = 'postgres', url = '${url()}', table = '${t}')`);
    const [r] = await e.execute('SELECT * FROM t ORDER BY id');
    expect(r!.kind === 'rows' && r!.rows).toEqual([
      [1n, 7, 'ann', 1704096000000000n, 1704103200250000n, 19782, true, '12.50', 0.1, parseInterval('1 day 02:00:00'), '{"a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 42],
      [2n, null, null, null, null, null, false, null, NaN, parseInterval('-00:00:01.5'), null, null, null],
    ]);
  });

  it('refreshes, keeps the last snapshot while the server is unreachable, and resumes', async () => {
    const t = await pgTable('id bigint PRIMARY KEY, name text, country text', "(1, 'ann', 'NO'), (2, 'bob', 'SE'), (3, 'cyd', 'NO')");
    const proxy = new TcpProxy(HOST, PORT);
    await proxy.start();
    onCleanup(() => proxy.stop());
    const e = await testEngine();
    await e.execute(`CREATE TABLE users (id BIGINT, name VARCHAR, country VARCHAR)
        WITH (connector = 'postgres', url = '${url(proxy.port)}', table = '${t}', refresh_interval = '100 milliseconds');
      CREATE MATERIALIZED VIEW v AS SELECT country, count(*) AS n FROM users GROUP BY country;
      FLUSH;`);
    expect(await viewRows(e, 'v')).toEqual(['"NO" | 2', '"SE" | 1']);
    const changes = recordChanges(e, 'v');

    await admin.query(`UPDATE ${t} SET country = 'DK' WHERE id = 3`);
    await admin.query(`DELETE FROM ${t} WHERE id = 2`);
    await admin.query(`INSERT INTO ${t} VALUES (4, 'dan', 'DK')`);
    await flushUntil(e, 'v', ['"DK" | 2', '"NO" | 1']);
    expect(changes).toEqual(expect.arrayContaining(['-"NO" | 2', '+"NO" | 1', '-"SE" | 1', '+"DK" | 2']));

    // The server goes away: refreshes fail, the table and the view keep the last snapshot.
    await proxy.stop();
    await admin.query(`INSERT INTO ${t} VALUES (5, 'eve', 'FI')`);
    await until('a refresh fails', () => e.stats().tables.users!.loadError !== null);
    expect(e.stats().tables.users!.loadError).toBe(`cannot reach PostgreSQL at ${HOST}:${proxy.port}/${DATABASE} to load table "users": connect ECONNREFUSED ${HOST}:${proxy.port}`);
    await new Promise((r) => setTimeout(r, 300));
    await e.execute('FLUSH');
    expect(await viewRows(e, 'v')).toEqual(['"DK" | 2', '"NO" | 1']);
    expect(await queryRows(e, 'SELECT id FROM users')).toEqual(['1', '3', '4']);
    expect(e.stats().tables.users!.loadError).not.toBeNull();

    // It comes back on the same port: the next refresh catches up.
    await proxy.start();
    await flushUntil(e, 'v', ['"DK" | 2', '"FI" | 1', '"NO" | 1']);
    expect(e.stats().tables.users!.loadError).toBeNull();
  });

  it('spaces out refreshes against a server that went silent, and recovers', async () => {
    const t = await pgTable('id int', '(1)');
    const proxy = new TcpProxy(HOST, PORT);
    await proxy.start();
    onCleanup(() => proxy.stop());
    const e = await testEngine();
    await e.execute(`CREATE TABLE s (id INT) WITH (connector = 'postgres', url = '${url(proxy.port)}', table = '${t}',
        refresh_interval = '20 milliseconds', connect_timeout = '200 milliseconds');
      CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n FROM s; FLUSH;`);
    proxy.silent = true;
    await admin.query(`INSERT INTO ${t} VALUES (2)`);
    await until('a refresh times out', () => e.stats().tables.s!.loadError !== null);
    expect(e.stats().tables.s!.loadError).toBe(`cannot reach PostgreSQL at ${HOST}:${proxy.port}/${DATABASE} to load table "s": no answer within connect_timeout (200 ms)`);
    const before = proxy.silentConnections;
    await new Promise((r) => setTimeout(r, 1_600));
    // Each attempt waits 200 ms and the next comes no sooner than 200 ms later: about 4, not 8
    // back to back (nor one per 20 ms tick).
    expect(proxy.silentConnections - before).toBeLessThanOrEqual(5);
    await e.execute('FLUSH');
    expect(await viewRows(e, 'v')).toEqual(['1']);
    proxy.silent = false;
    await flushUntil(e, 'v', ['2']);
    expect(e.stats().tables.s!.loadError).toBeNull();
  });

  it('connects with hostname/port/username/database, or PGHOST/PGPORT when no url is given', async () => {
    const t = await pgTable('id int', '(1), (2)');
    const e = await testEngine();
    await e.execute(`CREATE TABLE a (id INT) WITH (connector = 'postgres', hostname = '${HOST}', port = '${PORT}', username = '${user}', database = '${DATABASE}', table = '${t}')`);
    expect(await queryRows(e, 'SELECT * FROM a')).toEqual(['1', '2']);

    const saved = { PGHOST: process.env.PGHOST, PGPORT: process.env.PGPORT };
    onCleanup(() => {
      for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    });
    const dead = await deadPort();
    process.env.PGHOST = HOST;
    process.env.PGPORT = String(PORT);
    await e.execute(`CREATE TABLE b (id INT) WITH (connector = 'postgres', username = '${user}', database = '${DATABASE}', table = '${t}')`);
    expect(await queryRows(e, 'SELECT * FROM b')).toEqual(['1', '2']);
    process.env.PGPORT = String(dead);
    await expect(e.execute(`CREATE TABLE c (id INT) WITH (connector = 'postgres', username = '${user}', database = '${DATABASE}', table = '${t}')`))
      .rejects.toMatchObject({ sqlstate: '08000', message: expect.stringContaining(`${HOST}:${dead}/${DATABASE}`) });
    // A url says where the server is: PGPORT does not apply.
    await e.execute(`CREATE TABLE d (id INT) WITH (connector = 'postgres', url = 'postgres://${user}@${HOST}/${DATABASE}', table = '${t}')`);
    expect(await queryRows(e, 'SELECT * FROM d')).toEqual(['1', '2']);
  });

  it('loads a schema-qualified table whose name has capitals', async () => {
    const schema = `sluice_s_${process.pid}_${Date.now()}`;
    await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}."Orders" (id int, "Amount" double precision); INSERT INTO ${schema}."Orders" VALUES (1, 9.5)`);
    onCleanup(() => admin.query(`DROP SCHEMA ${schema} CASCADE`));
    const e = await testEngine();
    await e.execute(`CREATE TABLE o (id INT, "Amount" DOUBLE) WITH (connector = 'postgres', url = '${url()}', table = '${schema}.Orders')`);
    expect(await queryRows(e, 'SELECT * FROM o')).toEqual(['1 | 9.5']);
  });

  it('fails CREATE TABLE clearly: unreachable server, missing database, table or column, bad values', async () => {
    const t = await pgTable('id int, name text', "(1, 'ann')");
    const e = await testEngine();
    const dead = await deadPort();
    const create = (cols: string, opts: string) => e.execute(`CREATE TABLE x (${cols}) WITH (connector = 'postgres', ${opts})`);
    await expect(create('id INT', `url = '${url(dead)}', table = '${t}'`)).rejects.toMatchObject({
      sqlstate: '08000',
      message: `cannot reach PostgreSQL at ${HOST}:${dead}/${DATABASE} to load table "x": connect ECONNREFUSED ${HOST}:${dead}`,
      hint: 'Check the url (or hostname and port), that the server runs, and that it accepts connections from here.',
    });
    await expect(create('id INT', `url = '${url(PORT, 'sluice_no_such_db')}', table = '${t}'`)).rejects.toMatchObject({
      sqlstate: '08000', message: expect.stringMatching(/refused the connection to load table "x": database "sluice_no_such_db" does not exist/), hint: expect.stringMatching(/database name/),
    });
    await expect(create('id INT', `url = '${url()}', table = 'sluice_no_such_table'`)).rejects.toMatchObject({
      sqlstate: '42P01', message: `cannot load table "x": relation "sluice_no_such_table" does not exist at ${HOST}:${PORT}/${DATABASE}`,
    });
    await expect(create('id INT, nme VARCHAR', `url = '${url()}', table = '${t}'`)).rejects.toMatchObject({
      sqlstate: '42703', message: `cannot load table "x": PostgreSQL table ${t} at ${HOST}:${PORT}/${DATABASE} has no column "nme" (its columns: id, name)`,
    });
    await expect(create('id INT, name INT', `url = '${url()}', table = '${t}'`)).rejects.toMatchObject({
      sqlstate: '22P02', message: expect.stringMatching(/invalid input syntax for type integer: "ann"/),
    });
    await expect(create('id INT, name DATE', `url = '${url()}', table = '${t}'`)).rejects.toMatchObject({ sqlstate: '22P02' });
    await expect(create('id INT', `url = 'http://x', table = '${t}'`)).rejects.toMatchObject({ sqlstate: '22023' });
    // Nothing was created.
    await expect(e.execute('SELECT * FROM x')).rejects.toMatchObject({ sqlstate: '42P01' });
  });

  it('gives up on a server that does not answer, or a query that takes too long', async () => {
    // A server that accepts connections, reads what it is sent and never says a word.
    const accepted = new Set<Socket>();
    const silent = createServer((s) => void accepted.add(s.resume()));
    await new Promise<void>((r) => silent.listen(0, HOST, () => r()));
    onCleanup(() => {
      for (const s of accepted) s.destroy();
      return new Promise((r) => silent.close(r));
    });
    const { port } = silent.address() as { port: number };
    const e = await testEngine();
    const started = Date.now();
    await expect(e.execute(`CREATE TABLE s (id INT) WITH (connector = 'postgres', url = '${url(port)}', table = 't', connect_timeout = '300 milliseconds')`)).rejects.toMatchObject({
      sqlstate: '08000', message: `cannot reach PostgreSQL at ${HOST}:${port}/${DATABASE} to load table "s": no answer within connect_timeout (300 ms)`,
    });
    expect(Date.now() - started).toBeLessThan(5_000);

    const view = `sluice_slow_${process.pid}_${Date.now()}`;
    await admin.query(`CREATE VIEW ${view} AS SELECT 1 AS id FROM pg_sleep(5)`);
    onCleanup(() => admin.query(`DROP VIEW IF EXISTS ${view}`));
    await expect(e.execute(`CREATE TABLE q (id INT) WITH (connector = 'postgres', url = '${url()}', table = '${view}', query_timeout = '300 milliseconds')`)).rejects.toMatchObject({
      sqlstate: '08000', message: expect.stringMatching(/the query did not finish within query_timeout/), hint: expect.stringMatching(/^Raise query_timeout/),
    });
  });

  it('refuses DML on a loaded table', async () => {
    const t = await pgTable('id int', '(1)');
    const e = await testEngine();
    await e.execute(`CREATE TABLE p (id INT) WITH (connector = 'postgres', url = '${url()}', table = '${t}')`);
    await expect(e.execute('INSERT INTO p VALUES (2)')).rejects.toMatchObject({ sqlstate: '0A000', message: expect.stringMatching(/loaded by connector 'postgres'/) });
    await expect(e.execute('DELETE FROM p')).rejects.toMatchObject({ sqlstate: '0A000' });
  });
});
