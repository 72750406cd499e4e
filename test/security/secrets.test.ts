/**
 * Connector secrets never reach a client: a PostgreSQL table loaded with a password (in its url
 * or as its own option) works, yet SHOW CREATE prints '[REDACTED]', catalog probes (pg_catalog,
 * information_schema, DuckDB's own catalog functions) never show it, and an error about an
 * option holding one has it redacted. The catalog file keeps the statement as written (a
 * restart must reconnect) but is readable by the server's user only.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { redactStatement, scrub, secretsIn } from '../../src/exec/runtime/secrets.js';

const URL_SECRET = 'url-secret-9f2';
const OPTION_SECRET = 'option-secret-7c1';
const ORIGIN_TABLE = 'sluice_secrets_origin';

let dir: string;
let engine: Engine;
let server: PgServer;
let client: pg.Client;
const logged: string[] = [];

/** Everything a query answers, as one string to search. */
async function answer(sql: string): Promise<string> {
  const r = await client.query(sql);
  return JSON.stringify(r.rows);
}

beforeAll(async () => {
  const origin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await origin.connect();
  await origin.query(`DROP TABLE IF EXISTS ${ORIGIN_TABLE}; CREATE TABLE ${ORIGIN_TABLE} (id INT, name TEXT); INSERT INTO ${ORIGIN_TABLE} VALUES (1, 'ann')`);
  await origin.end();
  dir = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
  engine = await createEngine({ dataDir: dir, autoStart: false, log: (m) => logged.push(m) });
  server = await startPgServer(engine, { port: 0, log: (m) => logged.push(m) });
  client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'sluice', database: 'sluice' });
  await client.connect();
  // The local PostgreSQL trusts loopback, so any password gets in: the point is where it shows.
  await client.query(`CREATE TABLE by_url (id INT, name VARCHAR) WITH (connector = 'postgres', url = 'postgres://postgres:${URL_SECRET}@127.0.0.1:5432/test', table = '${ORIGIN_TABLE}')`);
  await client.query(`CREATE TABLE by_option (id INT, name VARCHAR) WITH (connector = 'postgres', hostname = '127.0.0.1', port = '5432', username = 'postgres', password = '${OPTION_SECRET}', database = 'test', table = '${ORIGIN_TABLE}')`);
  await client.query(`CREATE MATERIALIZED VIEW names AS SELECT name FROM by_url`);
});

afterAll(async () => {
  await client?.end();
  await server?.close();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('connector secrets', () => {
  it('loads the tables (the secrets work where they are needed)', async () => {
    await client.query('FLUSH');
    expect((await client.query('SELECT name FROM by_option')).rows).toEqual([{ name: 'ann' }]);
    expect((await client.query('SELECT name FROM names')).rows).toEqual([{ name: 'ann' }]);
  });

  it('SHOW CREATE prints them as [REDACTED]', async () => {
    const byUrl = await client.query('SHOW CREATE TABLE by_url');
    expect(byUrl.rows).toEqual([{ name: 'by_url', create_sql: `CREATE TABLE by_url (id INT, name VARCHAR) WITH (connector = 'postgres', url = 'postgres://postgres:[REDACTED]@127.0.0.1:5432/test', table = '${ORIGIN_TABLE}')` }]);
    const byOption = await client.query('SHOW CREATE TABLE by_option');
    expect(byOption.rows[0].create_sql).toContain("password = '[REDACTED]'");
    expect(byOption.rows[0].create_sql).not.toContain(OPTION_SECRET);
    expect((await client.query('SHOW CREATE MATERIALIZED VIEW names')).rows).toEqual([{ name: 'names', create_sql: 'CREATE MATERIALIZED VIEW names AS SELECT name FROM by_url' }]);
    const missing = await client.query('SHOW CREATE SOURCE by_url').catch((e: pg.DatabaseError) => e);
    expect(missing).toMatchObject({ code: '42P01', message: 'source "by_url" does not exist' });
  });

  it.each([
    'SELECT * FROM information_schema.tables',
    'SELECT * FROM information_schema.columns',
    'SELECT * FROM duckdb_tables()',
    'SELECT * FROM duckdb_views()',
    'SELECT * FROM duckdb_columns()',
    'SELECT relname FROM pg_catalog.pg_class',
  ])('catalog probes never show them: %s', async (sql) => {
    const text = await answer(sql);
    expect(text).not.toContain(URL_SECRET);
    expect(text).not.toContain(OPTION_SECRET);
  });

  it('psql-style catalog queries never show them', async () => {
    const oid = (await client.query(`SELECT c.oid,\n  n.nspname,\n  c.relname\nFROM pg_catalog.pg_class c\n     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\nWHERE c.relname OPERATOR(pg_catalog.~) '^(by_url)$' COLLATE pg_catalog.default\nORDER BY 2, 3;`)).rows;
    expect(JSON.stringify(oid)).not.toContain(URL_SECRET);
  });

  it('errors about an option holding a secret have it redacted', async () => {
    const e = await client.query(`CREATE TABLE bad (id INT) WITH (connector = 'postgres', url = 'postgres://u:leak-me-42@127.0.0.1:5432/test?sslmode=bogus', table = 'x')`).catch((x: pg.DatabaseError) => x);
    expect(e).toMatchObject({ code: '22023' });
    expect((e as pg.DatabaseError).message).toContain('[REDACTED]');
    expect(JSON.stringify(e)).not.toContain('leak-me-42');
    // A secret the catalog holds is redacted from any later error quoting it.
    const q = await client.query(`SELECT '${OPTION_SECRET}'::INT`).catch((x: pg.DatabaseError) => x);
    expect(q).toMatchObject({ code: '22P02' });
    expect(JSON.stringify(q)).not.toContain(OPTION_SECRET);
  });

  it('a user password never shows in an error either', async () => {
    const e = await client.query(`CREATE USER u1 PASSWORD 'user-pw-123' LOGIN bogus`).catch((x: pg.DatabaseError) => x);
    expect((e as pg.DatabaseError).code).toBe('0A000');
    expect(JSON.stringify(e)).not.toContain('user-pw-123');
  });

  it('nothing logged holds them', () => {
    for (const line of logged) {
      expect(line).not.toContain(URL_SECRET);
      expect(line).not.toContain(OPTION_SECRET);
    }
  });

  it('the catalog file keeps them for the restart, readable by the server only', () => {
    const file = join(dir, 'catalog.json');
    expect(readFileSync(file, 'utf8')).toContain(OPTION_SECRET);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('secret recognition', () => {
  it('finds option values, dotted option names, URL passwords and user passwords', () => {
    const sql = `CREATE SOURCE k (a INT) WITH (connector = 'kafka', properties.sasl.password = 'kp1', "api_key" = 'ak2', url = 'redis://u:up3@h:1/0', token = 'tk4', key = 'id') ; CREATE USER x PASSWORD 'pw5'`;
    expect(secretsIn(sql).sort()).toEqual(['ak2', 'kp1', 'pw5', 'tk4', 'up3']);
    expect(redactStatement(sql)).toBe(`CREATE SOURCE k (a INT) WITH (connector = 'kafka', properties.sasl.password = '[REDACTED]', "api_key" = '[REDACTED]', url = 'redis://u:[REDACTED]@h:1/0', token = '[REDACTED]', key = 'id') ; CREATE USER x PASSWORD '[REDACTED]'`);
  });

  it('scrubs secrets and their URL-encoded form, longest first, leaving short ones', () => {
    expect(scrub('a p@ss/word, p%40ss%2Fword and p@ss', ['p@ss/word', 'p@ss'])).toBe('a [REDACTED], [REDACTED] and [REDACTED]');
    expect(scrub('role "x" already exists', ['x'])).toBe('role "x" already exists');
  });
});
