/**
 * The real psql binary against the server: -c and -f scripts, aligned and unaligned output,
 * errors with their LINE/caret, SCRAM with PGPASSWORD. Skipped where psql is not installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

const hasPsql = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let engine: Engine;
let server: PgServer;
let secured: PgServer;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs psql asynchronously (a synchronous run would block this process's server). */
function psql(port: number, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'test', '-d', 'test', '-X', ...args],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '5', PGPASSWORD: '', PGSSLMODE: 'prefer', ...env }, encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  if (!hasPsql) return;
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  secured = await startPgServer(engine, { port: 0, password: 'pw', log: () => undefined });
  dir = mkdtempSync(join(tmpdir(), 'sluice-psql-'));
});

afterAll(async () => {
  await server?.close();
  await secured?.close();
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPsql)('psql', () => {
  it('runs CREATE, INSERT, FLUSH and SELECT with -c', async () => {
    let r = await psql(server.port, ['-A', '-t', '-c', `CREATE TABLE t (k VARCHAR, v INT)`]);
    expect(r).toMatchObject({ code: 0, stdout: 'CREATE TABLE\n' });
    r = await psql(server.port, ['-c', `INSERT INTO t VALUES ('a', 1), ('b', 2), ('a', 3)`, '-c', `CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k`, '-c', 'FLUSH']);
    expect(r).toMatchObject({ code: 0, stdout: 'INSERT 0 3\nCREATE MATERIALIZED VIEW\nFLUSH\n' });
    r = await psql(server.port, ['-A', '-t', '-c', `SELECT k, total FROM s ORDER BY k`]);
    expect(r).toMatchObject({ code: 0, stdout: 'a|4\nb|2\n' });
  });

  it('prints aligned tables with headers and row counts', async () => {
    const r = await psql(server.port, ['-c', `SELECT k, total FROM s ORDER BY k`]);
    expect(r.stdout).toBe(' k | total \n---+-------\n a |     4\n b |     2\n(2 rows)\n\n');
  });

  it('runs a script file with -f, stopping at errors only with ON_ERROR_STOP', async () => {
    const file = join(dir, 'script.sql');
    writeFileSync(file, `INSERT INTO t VALUES ('c', 5);\nFLUSH;\nSELECT nope FROM t;\nSELECT k, total FROM s WHERE k = 'c';\n`);
    let r = await psql(server.port, ['-A', '-t', '-f', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('INSERT 0 1\nFLUSH\nc|5\n');
    // psql sends a file statement by statement: the error is on line 3 of the file, line 1 of its statement.
    expect(r.stderr).toMatch(/script\.sql:3: ERROR:  column "nope" does not exist\nLINE 1: SELECT nope FROM t;\n {15}\^/);
    r = await psql(server.port, ['-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT * FROM missing`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ERROR:\s+relation "missing" does not exist\nLINE 1: SELECT \* FROM missing\n\s+\^/);
  });

  it('shows notices and typed values as PostgreSQL prints them', async () => {
    const r = await psql(server.port, ['-A', '-t', '-c', `DROP TABLE IF EXISTS nothing_here`, '-c', `SELECT TRUE, DATE '2024-01-02', TIMESTAMP '2024-01-01 10:00:00.5', INTERVAL '1 day 2 hours', NULL`]);
    expect(r.stdout).toBe('DROP TABLE\nt|2024-01-02|2024-01-01 10:00:00.5|1 day 02:00:00|\n');
    expect(r.stderr).toContain('NOTICE:  table "nothing_here" does not exist, skipping');
  });

  it('authenticates with SCRAM-SHA-256 via PGPASSWORD', async () => {
    let r = await psql(secured.port, ['-A', '-t', '-c', `SELECT count(*) FROM t`], { PGPASSWORD: 'pw' });
    expect(r).toMatchObject({ code: 0, stdout: '4\n' });
    r = await psql(secured.port, ['-A', '-t', '-c', `SELECT 1`], { PGPASSWORD: 'nope' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('password authentication failed for user "test"');
  });

  it('lists and describes relations with \\d, \\dt, \\dm and \\d NAME', async () => {
    let r = await psql(server.port, ['-c', '\\d']);
    expect(r.stdout).toContain(' public | s    | materialized view | sluice\n public | t    | table             | sluice\n(2 rows)');
    r = await psql(server.port, ['-A', '-t', '-c', '\\dt']);
    expect(r.stdout).toBe('public|t|table|sluice\n');
    r = await psql(server.port, ['-A', '-t', '-c', '\\dm']);
    expect(r.stdout).toBe('public|s|materialized view|sluice\n');
    r = await psql(server.port, ['-c', '\\d s']);
    expect(r.stdout).toContain('Materialized view "public.s"');
    expect(r.stdout).toMatch(/ k\s+\| character varying \|/);
    expect(r.stdout).toMatch(/ total\s+\| bigint\s+\|/);
    r = await psql(server.port, ['-c', '\\d+ s']);
    expect(r.stdout).toContain('View definition:\nSELECT k, sum(v) AS total FROM t GROUP BY k;');
    r = await psql(server.port, ['-c', '\\d nope']);
    expect(r.stderr + r.stdout).toContain('Did not find any relation named "nope".');
  });
});
