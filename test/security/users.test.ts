/**
 * Users and privileges through the real pg driver and psql: the superuser (the server's
 * --password user) creates users and grants them SELECT; a user authenticates with its own
 * password (SCRAM), reads what it was granted — in any position of a query — and is refused
 * everything else with 42501 naming the object; users and grants persist in the data dir as
 * SCRAM verifiers, never passwords.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

const SUPER_PW = 'super-pw-1';
let dir: string;
let engine: Engine;
let server: PgServer;
let admin: pg.Client;

const connect = async (user: string, password: string) => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user, password, database: 'sluice' });
  await c.connect();
  return c;
};

/** The SQLSTATE and message a statement fails with, or 'ok'. */
async function failure(c: pg.Client, sql: string): Promise<{ code: string; message: string } | 'ok'> {
  try {
    await c.query(sql);
    return 'ok';
  } catch (e) {
    const d = e as pg.DatabaseError;
    return { code: d.code ?? String(e), message: d.message };
  }
}

async function startServer(): Promise<void> {
  engine = await createEngine({ dataDir: dir, autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, password: SUPER_PW, log: () => undefined });
}

async function stopServer(): Promise<void> {
  await server.close();
  await engine.close();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-users-'));
  await startServer();
  admin = await connect('sluice', SUPER_PW);
  await admin.query(`CREATE TABLE t (id INT, name VARCHAR)`);
  await admin.query(`CREATE TABLE secret (id INT, pin VARCHAR)`);
  await admin.query(`CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n FROM t`);
  await admin.query(`CREATE MATERIALIZED VIEW hidden AS SELECT count(*) AS n FROM secret`);
  await admin.query(`INSERT INTO t VALUES (1, 'a'); INSERT INTO secret VALUES (1, '0000'); FLUSH`);
  await admin.query(`CREATE USER reader WITH PASSWORD 'reader-pw'`);
  await admin.query(`GRANT SELECT ON t, v TO reader`);
});

afterAll(async () => {
  await admin?.end();
  await stopServer();
  rmSync(dir, { recursive: true, force: true });
});

describe('authentication', () => {
  it('authenticates a user with its own password over SCRAM, and refuses a wrong one with 28P01', async () => {
    const c = await connect('reader', 'reader-pw');
    expect((await c.query('SELECT name FROM t')).rows).toEqual([{ name: 'a' }]);
    await c.end();
    const wrong = await connect('reader', SUPER_PW).catch((e: pg.DatabaseError) => e);
    expect(wrong).toMatchObject({ code: '28P01', message: 'password authentication failed for user "reader"' });
    const wrongSuper = await connect('sluice', 'reader-pw').catch((e: pg.DatabaseError) => e);
    expect(wrongSuper).toMatchObject({ code: '28P01' });
  });

  it('tells the client whether it is the superuser', async () => {
    const superuser = async (user: string, password: string) => {
      const c = new pg.Client({ host: '127.0.0.1', port: server.port, user, password, database: 'sluice' });
      const seen = new Map<string, string>();
      (c as unknown as { connection: { on(ev: string, f: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection.on('parameterStatus', (m) => seen.set(m.parameterName, m.parameterValue));
      await c.connect();
      await c.end();
      return seen.get('is_superuser');
    };
    expect(await superuser('reader', 'reader-pw')).toBe('off');
    expect(await superuser('sluice', SUPER_PW)).toBe('on');
    const c = await connect('reader', 'reader-pw');
    expect((await c.query('SHOW is_superuser')).rows).toEqual([{ is_superuser: 'off' }]);
    expect((await c.query('SHOW session_authorization')).rows).toEqual([{ session_authorization: 'reader' }]);
    expect((await admin.query('SHOW is_superuser')).rows).toEqual([{ is_superuser: 'on' }]);
    await c.end();
  });
});

describe('a user reads what it was granted, and nothing else', () => {
  let reader: pg.Client;
  beforeAll(async () => {
    reader = await connect('reader', 'reader-pw');
  });
  afterAll(async () => {
    await reader?.end();
  });

  it('reads granted tables and views', async () => {
    expect((await reader.query('SELECT id, name FROM t')).rows).toEqual([{ id: 1, name: 'a' }]);
    expect((await reader.query('SELECT n FROM v')).rows).toEqual([{ n: '1' }]);
    expect((await reader.query('SELECT t.name, v.n FROM t, v')).rows).toEqual([{ name: 'a', n: '1' }]);
  });

  it.each([
    ['FROM', 'SELECT * FROM secret', 15],
    ['a view', 'SELECT * FROM hidden', 15],
    ['schema-qualified', 'SELECT * FROM main.secret', 15],
    ['other case', 'SELECT * FROM SECRET', 15],
    ['JOIN', 'SELECT * FROM t JOIN secret s ON s.id = t.id', 22],
    ['CTE', 'WITH x AS (SELECT * FROM secret) SELECT * FROM x', 26],
    ['UNION branch', 'SELECT name FROM t UNION ALL SELECT pin FROM secret', 46],
    ['a CTE named like the relation', 'WITH secret AS (SELECT 1 AS a) SELECT * FROM secret', undefined],
  ])('refuses a relation it was not granted: %s → 42501', async (_what, sql, position) => {
    const r = await reader.query(sql).then(() => null, (e: pg.DatabaseError) => e);
    expect(r?.code).toBe('42501');
    expect(r?.message).toMatch(/^permission denied for (table secret|materialized view hidden)$/);
    if (position !== undefined) expect(Number(r?.position)).toBe(position);
  });

  // sluice's parser refuses subqueries in expressions (for every client, 0A000) before the
  // privilege check; DuckDB's parse tree, which the check walks, would name the relation too.
  it.each([
    ['scalar subquery in the select list', 'SELECT (SELECT max(pin) FROM secret) AS p'],
    ['IN subquery', 'SELECT * FROM t WHERE id IN (SELECT id FROM secret)'],
    ['EXISTS', "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM secret WHERE pin = '0000')"],
  ])('never answers a relation hidden in an expression: %s', async (_what, sql) => {
    const r = await failure(reader, sql);
    expect(r).not.toBe('ok');
    expect(['42501', '0A000']).toContain((r as { code: string }).code);
    expect((await failure(admin, sql) as { code?: string }).code ?? 'ok').toBe((r as { code: string }).code === '42501' ? 'ok' : (r as { code: string }).code);
  });

  it('subscribes to a granted view, not to another', async () => {
    const ok = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'reader', password: 'reader-pw', database: 'sluice' });
    await ok.connect();
    const q = new pg.Query('SUBSCRIBE v');
    const first = new Promise<unknown>((resolve) => {
      q.on('row', (row) => resolve(row));
      q.on('error', (e) => resolve(e));
    });
    void ok.query(q);
    expect(await first).toMatchObject({ n: '1', weight: 1 });
    await ok.end().catch(() => undefined);
    expect(await failure(reader, 'SUBSCRIBE hidden')).toEqual({ code: '42501', message: 'permission denied for materialized view hidden' });
  });

  it.each([
    ['INSERT', "INSERT INTO t VALUES (2, 'b')", 'permission denied for table t'],
    ['UPDATE', "UPDATE t SET name = 'x'", 'permission denied for table t'],
    ['DELETE', 'DELETE FROM t', 'permission denied for table t'],
    ['CREATE TABLE', 'CREATE TABLE mine (a INT)', 'permission denied to create table "mine"'],
    ['CREATE MATERIALIZED VIEW', 'CREATE MATERIALIZED VIEW mv AS SELECT * FROM t', 'permission denied to create materialized view "mv"'],
    ['CREATE SINK', "CREATE SINK s FROM t WITH (connector = 'print')", 'permission denied to create sink "s"'],
    ['DROP', 'DROP TABLE t', 'permission denied to drop table "t"'],
    ['FLUSH', 'FLUSH', 'permission denied to run FLUSH: only the superuser runs epochs'],
    ['SET of an engine setting', "SET batch_interval = '5s'", 'permission denied to set parameter "batch_interval"'],
    ['SET statement_timeout', 'SET statement_timeout = 0', 'permission denied to set parameter "statement_timeout"'],
    ['CREATE USER', "CREATE USER other PASSWORD 'x'", 'permission denied to create role "other"'],
    ['ALTER USER of another', "ALTER USER sluice PASSWORD 'x'", 'permission denied to alter role "sluice"'],
    ['DROP USER', 'DROP USER reader', 'permission denied to drop role "reader"'],
    ['GRANT', 'GRANT SELECT ON secret TO reader', 'permission denied to grant privileges on secret'],
    ['REVOKE', 'REVOKE SELECT ON t FROM reader', 'permission denied to revoke privileges on t'],
  ])('refuses %s with 42501', async (_what, sql, message) => {
    expect(await failure(reader, sql)).toEqual({ code: '42501', message });
  });

  it('sets its own session parameters, and shows what exists', async () => {
    await reader.query("SET application_name = 'reporting'");
    await reader.query('SET extra_float_digits = 3');
    expect((await reader.query('SHOW TABLES')).rows.map((r: { Name: string }) => r.Name).sort()).toEqual(['secret', 't']);
    expect((await reader.query('DESCRIBE t')).rows).toHaveLength(2);
  });

  it('probes pg_catalog and information_schema as clients do on connect', async () => {
    const tables = await reader.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`);
    expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toContain('t');
    expect((await reader.query('SELECT count(*) AS n FROM pg_catalog.pg_namespace')).rows[0].n).not.toBe('0');
    expect((await reader.query('SELECT version() AS v')).rows[0].v).toMatch(/PostgreSQL/);
  });

  it('loses a relation when it is revoked, and gets one when granted', async () => {
    await admin.query('REVOKE SELECT ON t FROM reader');
    expect(await failure(reader, 'SELECT * FROM t')).toEqual({ code: '42501', message: 'permission denied for table t' });
    await admin.query('GRANT SELECT ON TABLE t TO reader');
    await admin.query('GRANT SELECT ON MATERIALIZED VIEW hidden TO reader');
    expect((await reader.query('SELECT n FROM hidden')).rows).toEqual([{ n: '1' }]);
    await admin.query('REVOKE SELECT ON hidden FROM reader');
  });

  it('changes its own password', async () => {
    await reader.query(`ALTER USER reader WITH PASSWORD 'reader-pw2'`);
    expect(await connect('reader', 'reader-pw').catch((e: pg.DatabaseError) => e.code)).toBe('28P01');
    const c = await connect('reader', 'reader-pw2');
    await c.end();
    await admin.query(`ALTER USER reader PASSWORD 'reader-pw'`);
  });
});

describe('managing users', () => {
  it.each([
    ['an existing user', "CREATE USER reader PASSWORD 'x'", '42710', 'role "reader" already exists'],
    ['the superuser', "CREATE USER sluice PASSWORD 'x'", '42710', 'role "sluice" already exists'],
    ['GRANT to nobody', 'GRANT SELECT ON t TO nobody', '42704', 'role "nobody" does not exist'],
    ['GRANT on nothing', 'GRANT SELECT ON nothing TO reader', '42P01', 'relation "nothing" does not exist'],
    ['GRANT INSERT', 'GRANT INSERT ON t TO reader', '0A000', 'only SELECT can be granted, not INSERT'],
    ['GRANT ALL', 'GRANT ALL ON t TO reader', '0A000', 'only SELECT can be granted, not ALL'],
    ['DROP USER nobody', 'DROP USER nobody', '42704', 'role "nobody" does not exist'],
    ['no password', 'CREATE USER x', '22023', "CREATE USER needs PASSWORD '…'"],
  ])('refuses %s', async (_what, sql, code, message) => {
    expect(await failure(admin, sql)).toEqual({ code, message });
  });

  it('never echoes a password in an error', async () => {
    const r = await failure(admin, 'CREATE USER x PASSWORD not_quoted_pw');
    expect(r).toMatchObject({ code: '42601' });
    expect(JSON.stringify(r)).not.toContain('not_quoted_pw');
  });

  it('keeps users and grants in the data dir as SCRAM verifiers, readable by the server only', async () => {
    const file = join(dir, 'catalog.json');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('reader-pw');
    const roles = (JSON.parse(text) as { roles: { name: string; verifier: string; select: string[] }[] }).roles;
    expect(roles).toEqual([{ name: 'reader', verifier: expect.stringMatching(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/), select: ['t', 'v'] }]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('restores users and grants after a restart; a dropped relation takes its grants', async () => {
    await admin.end();
    await stopServer();
    await startServer();
    admin = await connect('sluice', SUPER_PW);
    const reader = await connect('reader', 'reader-pw');
    expect((await reader.query('SELECT n FROM v')).rows).toEqual([{ n: '1' }]);
    expect(await failure(reader, 'SELECT * FROM secret')).toMatchObject({ code: '42501' });
    await admin.query('DROP MATERIALIZED VIEW v');
    await admin.query('CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n FROM secret');
    expect(await failure(reader, 'SELECT * FROM v')).toEqual({ code: '42501', message: 'permission denied for materialized view v' });
    await reader.end();
  });

  it('drops a user: its password no longer opens a session', async () => {
    await admin.query('CREATE USER temp_user PASSWORD \'temp-pw\'');
    await (await connect('temp_user', 'temp-pw')).end();
    await admin.query('DROP USER temp_user');
    expect(await connect('temp_user', 'temp-pw').catch((e: pg.DatabaseError) => e.code)).toBe('28P01');
    expect(await failure(admin, 'DROP USER IF EXISTS temp_user')).toBe('ok');
  });
});

let hasPsql = true;
try {
  execFileSync('psql', ['--version'], { stdio: 'ignore' });
} catch {
  hasPsql = false;
}

describe.skipIf(!hasPsql)('psql as a user', () => {
  const psql = (user: string, password: string, sql: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', user, '-d', 'sluice', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-c', sql], {
        env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5', PGSSLMODE: 'prefer' }, encoding: 'utf8', timeout: 20_000,
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });

  it('reads with SELECT and is refused a write with 42501', async () => {
    expect(await psql('reader', 'reader-pw', 'SELECT name FROM t')).toMatchObject({ code: 0, stdout: 'a\n' });
    const w = await psql('reader', 'reader-pw', "INSERT INTO t VALUES (9, 'z')");
    expect(w.code).not.toBe(0);
    expect(w.stderr).toContain('ERROR:  42501: permission denied for table t');
    const bad = await psql('reader', 'wrong', 'SELECT 1');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('password authentication failed for user "reader"');
  });
});
