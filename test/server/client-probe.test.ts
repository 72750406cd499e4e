/** What GUI clients and psql ask when they connect: version(), SHOW parameters, pg_catalog, \l, \dn. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/exec/runtime/engine.js';
import { startPgServer } from '../../src/server/pg-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<number> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  const server = await startPgServer(engine, { port: 0, log: () => undefined });
  cleanups.push(async () => {
    await server.close();
    await engine.close();
  });
  await engine.execute('CREATE TABLE t (a INT); CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n FROM t;');
  return server.port;
}

describe('client connection probes', () => {
  it('answers version(), SHOW of common parameters and pg_catalog / information_schema queries', async () => {
    const port = await setup();
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'gui', database: 'sluice' });
    await c.connect();
    cleanups.push(() => c.end());
    expect(String((await c.query('SELECT version()')).rows[0].version ?? Object.values((await c.query('SELECT version()')).rows[0])[0])).toMatch(/^PostgreSQL 15\.0 \(sluice/);
    for (const p of ['server_version', 'server_encoding', 'client_encoding', 'DateStyle', 'TimeZone', 'search_path', 'standard_conforming_strings', 'transaction_isolation']) {
      const r = await c.query(`SHOW ${p}`);
      expect(r.rows.length, p).toBe(1);
    }
    expect((await c.query("SELECT typname FROM pg_catalog.pg_type WHERE typname = 'int8'")).rows).toEqual([{ typname: 'int8' }]);
    expect((await c.query('SELECT count(*) AS n FROM pg_catalog.pg_namespace')).rows[0].n).not.toBe('0');
    expect((await c.query("SELECT table_name FROM information_schema.tables WHERE table_name = 't'")).rows).toEqual([{ table_name: 't' }]);
  });

  it('psql \\l and \\dn list the database and the schema', async () => {
    const port = await setup();
    // Async: the server runs in this process and must keep answering while psql waits.
    const psql = async (cmd: string) => (await promisify(execFile)('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'p', '-d', 'sluice', '-X', '-A', '-t', '-c', cmd], { encoding: 'utf8', env: { ...process.env, PGCONNECT_TIMEOUT: '5' } })).stdout;
    expect(await psql('\\l')).toMatch(/^sluice\|sluice\|UTF8/m);
    expect(await psql('\\dn')).toMatch(/^public\|sluice$/m);
  });
});
