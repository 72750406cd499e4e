/** Tables loaded by connectors: CSV, Parquet and JSON files through DuckDB, and a PostgreSQL table (the real server). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { canonicalRows } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engine(): Promise<Engine> {
  const e = await createEngine({ autoStart: false, log: () => undefined });
  cleanups.push(() => e.close());
  return e;
}

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-tables-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function until(f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('file tables', () => {
  it('loads CSV, Parquet and JSON, feeds views, and reloads a changed file', async () => {
    const d = dir();
    writeFileSync(join(d, 'users.csv'), 'id,name,country\n1,ann,NO\n2,bob,SE\n3,cyd,NO\n');
    writeFileSync(join(d, 'users.json'), '{"id": 1, "name": "ann", "country": "NO"}\n{"id": 2, "name": "bob", "country": "SE"}\n');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT 7::BIGINT AS id, 'dan' AS name, 'DK' AS country) TO '${join(d, 'users.parquet')}' (FORMAT parquet)`);
    conn.closeSync();
    db.closeSync();
    const e = await engine();
    await e.execute(`CREATE TABLE users (id BIGINT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${join(d, 'users.csv')}', format = 'csv', refresh_interval = '100 milliseconds');
      CREATE TABLE pusers (id BIGINT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${join(d, 'users.parquet')}', format = 'parquet');
      CREATE TABLE jusers (id BIGINT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${join(d, 'users.json')}', format = 'json');
      CREATE MATERIALIZED VIEW per_country AS SELECT country, count(*) AS n FROM users GROUP BY country;
      FLUSH;`);
    expect(canonicalRows(await e.viewRows('per_country'))).toEqual(['"NO" | 2', '"SE" | 1']);
    const [p] = await e.execute('SELECT * FROM pusers');
    expect(p!.kind === 'rows' && p!.rows).toEqual([[7n, 'dan', 'DK']]);
    const [j] = await e.execute('SELECT count(*) FROM jusers');
    expect(j!.kind === 'rows' && j!.rows[0]![0]).toBe(2n);
    writeFileSync(join(d, 'users.csv'), 'id,name,country\n1,ann,DK\n2,bob,SE\n');
    await until(async () => {
      await e.execute('FLUSH');
      return JSON.stringify(canonicalRows(await e.viewRows('per_country'))) === JSON.stringify(['"DK" | 1', '"SE" | 1']);
    });
    await expect(e.execute("INSERT INTO users VALUES (9, 'x', 'y')")).rejects.toThrow(/loaded by connector 'file'/);
  });

  it('fails clearly for a missing file, a missing column and unknown options', async () => {
    const d = dir();
    writeFileSync(join(d, 'a.csv'), 'id\n1\n');
    const e = await engine();
    await expect(e.execute(`CREATE TABLE t (id INT) WITH (connector = 'file', path = '${join(d, 'nope.csv')}')`)).rejects.toThrow(/does not exist/);
    await expect(e.execute(`CREATE TABLE t (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(d, 'a.csv')}')`)).rejects.toThrow(/must have the columns id, name|name/);
    await expect(e.execute(`CREATE TABLE t (id INT) WITH (connector = 'file', paht = 'x')`)).rejects.toMatchObject({ sqlstate: '22023' });
  });
});

describe('postgres tables', () => {
  it('loads a PostgreSQL table, refreshes it, and keeps the last snapshot while the server is unreachable', async () => {
    const name = `sluice_t_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), user: 'postgres', database: 'test' });
    await admin.connect();
    cleanups.push(async () => {
      await admin.query(`DROP TABLE IF EXISTS ${name}`);
      await admin.end();
    });
    await admin.query(`CREATE TABLE ${name} (id bigint, name text, seen timestamp)`);
    await admin.query(`INSERT INTO ${name} VALUES (1, 'ann', '2024-01-01 10:00:00'), (2, 'bob', NULL)`);
    // A proxy in front of the server lets the test take the server "away" and back.
    const sockets = new Set<Socket>();
    let proxy: Server | null = null;
    const startProxy = (port: number) =>
      new Promise<number>((resolve) => {
        proxy = createServer((c) => {
          const up = connect(Number(process.env.PGPORT ?? 5432), process.env.PGHOST ?? '127.0.0.1');
          sockets.add(c).add(up);
          c.pipe(up).pipe(c);
          c.on('error', () => up.destroy());
          up.on('error', () => c.destroy());
        });
        proxy.listen(port, '127.0.0.1', () => resolve((proxy!.address() as { port: number }).port));
      });
    const stopProxy = () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        proxy!.close(() => resolve());
      });
    const port = await startProxy(0);
    cleanups.push(() => (proxy?.listening ? stopProxy() : undefined));
    const e = await engine();
    await e.execute(`CREATE TABLE people (id BIGINT, name VARCHAR, seen TIMESTAMP) WITH (connector = 'postgres',
        url = 'postgres://postgres@127.0.0.1:${port}/test', table = '${name}', refresh_interval = '150 milliseconds');
      CREATE MATERIALIZED VIEW names AS SELECT name, seen FROM people; FLUSH;`);
    expect(canonicalRows(await e.viewRows('names'))).toEqual(['"ann" | 1704103200000000', '"bob" | NULL']);
    await admin.query(`INSERT INTO ${name} VALUES (3, 'cyd', NULL)`);
    await admin.query(`DELETE FROM ${name} WHERE id = 1`);
    await until(async () => {
      await e.execute('FLUSH');
      return (await e.viewRows('names')).length === 2 && canonicalRows(await e.viewRows('names'))[1] === '"cyd" | NULL';
    });
    await stopProxy();
    await admin.query(`INSERT INTO ${name} VALUES (4, 'dan', NULL)`);
    await until(async () => e.stats().tables.people!.loadError !== null);
    expect(e.stats().tables.people!.loadError).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1/);
    await e.execute('FLUSH');
    expect(canonicalRows(await e.viewRows('names'))).toEqual(['"bob" | NULL', '"cyd" | NULL']);
    await startProxy(port);
    await until(async () => {
      await e.execute('FLUSH');
      return (await e.viewRows('names')).length === 3;
    });
    expect(e.stats().tables.people!.loadError).toBeNull();
  });

  it('fails CREATE TABLE with a connection error when the server cannot be reached', async () => {
    const e = await engine();
    await expect(e.execute("CREATE TABLE x (id INT) WITH (connector = 'postgres', url = 'postgres://postgres@127.0.0.1:1/test', table = 'x', connect_timeout = '1 second')")).rejects.toMatchObject({ sqlstate: '08000' });
  });
});
