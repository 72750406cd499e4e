/**
 * Security: a client of the pg-wire server cannot read or write the server's files, reach the
 * network, load extensions or reopen DuckDB's configuration, wherever it hides the call; file
 * connectors stay under the allowed roots; remote clients need a password; and the number of
 * sessions is bounded. Every refusal has its SQLSTATE.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;
let client: pg.Client;
let root: string;
let outside: string;

const connect = async (host = '127.0.0.1', port = server.port) => {
  const c = new pg.Client({ host, port, user: 'test', database: 'test' });
  await c.connect();
  return c;
};

/** The SQLSTATE a statement fails with, or 'ok'. */
async function sqlstate(sql: string, c: pg.Client = client): Promise<string> {
  try {
    await c.query(sql);
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-sec-root-'));
  outside = mkdtempSync(join(tmpdir(), 'sluice-sec-outside-'));
  writeFileSync(join(root, 'ok.csv'), 'id,name\n1,ann\n');
  writeFileSync(join(outside, 'secret.csv'), 'id,name\n1,secret\n');
  symlinkSync(outside, join(root, 'link-out'));
  engine = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [root] });
  server = await startPgServer(engine, { port: 0, log: () => undefined, maxConnections: 5 });
  client = await connect();
  await client.query('CREATE TABLE t (id INT, name VARCHAR)');
  await client.query("INSERT INTO t VALUES (1, 'a')");
});

afterAll(async () => {
  await client?.end();
  await server?.close();
  await engine?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('ad-hoc SELECT cannot reach files or the network', () => {
  const file = "'/etc/passwd'";
  const escapes: [string, string][] = [
    ['FROM', `SELECT * FROM read_csv(${file})`],
    ['FROM, quoted name', `SELECT * FROM "read_csv"(${file})`],
    ['FROM, schema-qualified', `SELECT * FROM main.read_csv_auto(${file})`],
    ['FROM, upper case', `SELECT * FROM READ_TEXT(${file})`],
    ['CTE', `WITH x AS (SELECT * FROM glob('/etc/*')) SELECT * FROM x`],
    ['subquery in FROM', `SELECT * FROM (SELECT * FROM read_text(${file})) s`],
    ['JOIN', `SELECT * FROM t JOIN read_csv(${file}) r ON true`],
    ['LATERAL', `SELECT * FROM t, LATERAL read_blob(${file})`],
    ['UNION branch', `SELECT name FROM t UNION ALL SELECT content FROM read_text(${file})`],
    ['IN subquery', `SELECT * FROM t WHERE name IN (SELECT content FROM read_text(${file}))`],
    ['parquet', `SELECT * FROM read_parquet('/tmp/x.parquet')`],
    ['parquet metadata', `SELECT * FROM parquet_metadata('/tmp/x.parquet')`],
    ['json', `SELECT * FROM read_json_auto(${file})`],
    ['sniff', `SELECT * FROM sniff_csv(${file})`],
    ['SQL from text', `SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')`],
    ['query_table', `SELECT * FROM query_table(${file})`],
    ['http path', `SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')`],
    ['s3 path', `SELECT * FROM read_parquet('s3://bucket/x.parquet')`],
    ['a file under the allowed roots', `SELECT * FROM read_csv('${'ROOT'}/ok.csv')`],
    ['INSERT … SELECT', `INSERT INTO t SELECT 1, content FROM read_text(${file})`],
    ['UPDATE … FROM', `UPDATE t SET name = r.content FROM read_text(${file}) r`],
    ['a view definition', `CREATE MATERIALIZED VIEW v AS SELECT * FROM read_csv(${file})`],
  ];
  for (const [where, sql] of escapes) {
    it(`refuses a file function in ${where} with 42501`, async () => {
      const text = sql.replace('ROOT', root);
      expect(await sqlstate(text)).toBe('42501');
      const err = await client.query(text).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/^permission denied for function /);
    });
  }

  it('does not read a file named as a relation', async () => {
    for (const rel of ["'/etc/passwd'", "'s3://bucket/x.parquet'", `'${join(root, 'ok.csv')}'`]) {
      expect(await sqlstate(`SELECT * FROM ${rel}`)).toBe('42P01');
    }
  });

  it('refuses INSTALL, LOAD, ATTACH, PRAGMA and COPY to or from a file with 42501', async () => {
    for (const sql of ['INSTALL httpfs', "LOAD 'httpfs'", "ATTACH '/tmp/x.duckdb' AS x", 'PRAGMA version', "COPY t TO '/tmp/sluice-sec.csv'", "COPY t FROM '/etc/passwd'", "COPY (SELECT 1) TO '/tmp/y.csv'", "EXPORT DATABASE '/tmp/db'"]) {
      expect([sql, await sqlstate(sql)]).toEqual([sql, '42501']);
    }
  });

  it('refuses to SET DuckDB settings that reopen access, and they stay off', async () => {
    for (const sql of ['SET enable_external_access = true', "SET allowed_directories = '/'", 'SET autoinstall_known_extensions TO true', 'SET lock_configuration = false']) {
      expect([sql, await sqlstate(sql)]).toEqual([sql, '42501']);
    }
    const r = await client.query("SELECT current_setting('enable_external_access') AS a, current_setting('lock_configuration') AS l, current_setting('autoload_known_extensions') AS x");
    expect(r.rows).toEqual([{ a: false, l: true, x: false }]);
  });

  it('still answers ordinary queries, table functions that compute rows, and catalog probes', async () => {
    expect((await client.query('SELECT count(*)::int AS n FROM generate_series(1, 10)')).rows).toEqual([{ n: 10 }]);
    expect((await client.query('SELECT * FROM t')).rows).toEqual([{ id: 1, name: 'a' }]);
    expect((await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 't'")).rows).toEqual([{ n: 1 }]);
  });

  it('never reaches a file whatever DuckDB function names are mixed into generated queries', async () => {
    // Generated SELECTs over a table, with DuckDB's file and network functions placed anywhere a
    // call can stand, reading files outside the roots and inside them (which DuckDB itself would
    // allow, for file tables). None may return rows from a file: each is refused or fails.
    const fns = ['read_csv', 'read_csv_auto', 'read_text', 'read_blob', 'glob', 'read_json', 'read_json_objects', 'read_parquet', 'parquet_scan', 'sniff_csv', 'query', 'query_table', 'read_ndjson'];
    const secret = join(outside, 'secret.csv');
    const call = fc.tuple(fc.constantFrom(...fns), fc.constantFrom(secret, join(root, 'link-out', 'secret.csv'), '/etc/passwd', join(root, 'ok.csv'))).map(([f, p]) => (f === 'query' ? `query('SELECT * FROM read_csv(''${p}'')')` : `${f}('${p}')`));
    const wrap = fc.constantFrom(
      (c: string) => `SELECT * FROM ${c}`,
      (c: string) => `SELECT * FROM t, ${c} x`,
      (c: string) => `SELECT * FROM t LEFT JOIN ${c} x ON true`,
      (c: string) => `WITH w AS (SELECT * FROM ${c}) SELECT * FROM w`,
      (c: string) => `SELECT * FROM (SELECT * FROM (SELECT * FROM ${c}) a) b`,
      (c: string) => `SELECT id FROM t UNION SELECT 1 FROM ${c}`,
      (c: string) => `SELECT * FROM t WHERE EXISTS (SELECT 1 FROM ${c})`,
    );
    await fc.assert(
      fc.asyncProperty(call, wrap, async (c, w) => {
        const r = await client.query(w(c)).then((x) => JSON.stringify(x.rows), (e: { code?: string }) => `error ${e.code}`);
        expect(r).not.toContain('secret');
        expect(r).not.toContain('ann');
        expect(r).not.toContain('root:');
        expect(r.startsWith('error')).toBe(true);
        expect(r).not.toBe('error XX000');
      }),
      { numRuns: 150 },
    );
  });
});

describe('file connectors stay under the allowed roots', () => {
  it('accepts a file table under a root', async () => {
    await client.query(`CREATE TABLE ok (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(root, 'ok.csv')}')`);
    expect((await client.query('SELECT * FROM ok')).rows).toEqual([{ id: 1, name: 'ann' }]);
  });

  it('refuses paths outside the roots, through .. and through symlinks, with 42501', async () => {
    const bad = [
      `CREATE TABLE s1 (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(outside, 'secret.csv')}')`,
      `CREATE TABLE s2 (id INT, name VARCHAR) WITH (connector = 'file', path = '${root}/../${outside.split('/').pop()}/secret.csv')`,
      `CREATE TABLE s3 (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(root, 'link-out', 'secret.csv')}')`,
      `CREATE TABLE s4 (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(root, 'link-out')}/*.csv')`,
      `CREATE TABLE s5 (id INT, name VARCHAR) WITH (connector = 'file', path = 'https://127.0.0.1:9/x.csv')`,
      `CREATE SOURCE s6 (line VARCHAR) WITH (connector = 'file', path = '/etc', format = 'text')`,
      `CREATE SOURCE s7 (line VARCHAR) WITH (connector = 'file', path = '${join(root, 'link-out')}', format = 'text')`,
      `CREATE SINK s8 FROM t WITH (connector = 'file', path = '${join(outside, 'out')}')`,
      `CREATE SINK s9 FROM t WITH (connector = 'file', path = '${join(root, 'new-dir', '..', '..', 'escape')}')`,
    ];
    for (const sql of bad) expect([sql, await sqlstate(sql)]).toEqual([sql, '42501']);
    const err = await client.query(bad[0]!).catch((e: { message: string; hint?: string }) => e);
    expect((err as { message: string }).message).toMatch(/outside the allowed paths/);
    expect((err as { hint?: string }).hint).toMatch(/--allow-path/);
  });

  it('accepts a sink directory under a root that does not exist yet', async () => {
    mkdirSync(join(root, 'sinks'));
    expect(await sqlstate(`CREATE SINK out1 FROM t WITH (connector = 'file', path = '${join(root, 'sinks', 'out1')}')`)).toBe('ok');
  });
});

describe('connections', () => {
  it('refuses a remote client when no password is set', async () => {
    const address = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    // Without a non-loopback interface there is no remote address to try from this machine.
    if (!address) return;
    const e2 = await createEngine({ autoStart: false, log: () => undefined });
    const s2 = await startPgServer(e2, { host: '0.0.0.0', port: 0, log: () => undefined });
    try {
      const err = await connect(address, s2.port).then(() => null, (e: { code?: string; message: string }) => e);
      expect(err?.code).toBe('28000');
      expect(err?.message).toMatch(/need a password/);
      const local = await connect('127.0.0.1', s2.port);
      expect((await local.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      await local.end();
    } finally {
      await s2.close();
      await e2.close();
    }
  });

  it('admits max_connections sessions and refuses the next with 53300', async () => {
    const extra: pg.Client[] = [];
    try {
      // `client` holds one of the five places.
      for (let i = 0; i < 4; i++) extra.push(await connect());
      const err = await connect().then(() => null, (e: { code?: string }) => e);
      expect(err?.code).toBe('53300');
      await extra.pop()!.end();
      await new Promise((r) => setTimeout(r, 50));
      extra.push(await connect());
      expect((await extra.at(-1)!.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    } finally {
      for (const c of extra) await c.end();
    }
  });
});
