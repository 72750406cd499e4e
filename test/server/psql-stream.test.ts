/**
 * SUBSCRIBE where psql users are: COPY (SUBSCRIBE v) TO STDOUT printed change by change while
 * psql runs, cursors over SUBSCRIBE with FETCH … WITH (timeout), and COPY … TO STDOUT in text
 * and CSV byte for byte as PostgreSQL (the server at 127.0.0.1:5432) writes it.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

const has = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const hasPsql = has('psql', ['--version']);
// psql writes COPY data with stdio: on a terminal that is line-buffered, as stdbuf -oL makes a pipe.
const hasStdbuf = has('stdbuf', ['--version']);

let engine: Engine;
let server: PgServer;

const ENV = { ...process.env, PGCONNECT_TIMEOUT: '5', PGPASSWORD: '', PGSSLMODE: 'disable' };

function psql(port: number, args: string[], input?: string, user = 'test', db = 'test'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', db, '-X', ...args],
      { env: ENV, encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function until(f: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  if (!f()) throw new Error('timed out waiting');
}

beforeAll(async () => {
  if (!hasPsql) return;
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  await engine.execute("CREATE TABLE t (k VARCHAR, v INT); CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k; INSERT INTO t VALUES ('a', 1), ('b', 2); FLUSH;");
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

describe.skipIf(!hasPsql || !hasStdbuf)('COPY (SUBSCRIBE …) TO STDOUT in psql', () => {
  it('prints the snapshot and then each change while psql runs; Ctrl-C (a CancelRequest) ends it', async () => {
    const child = spawn('stdbuf', ['-oL', 'psql', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'test', '-d', 'test', '-X', '-c', 'COPY (SUBSCRIBE s) TO STDOUT'], { env: ENV });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      const lines = () => out.split('\n').filter((l) => l !== '');
      await until(() => lines().length === 2);
      const epoch0 = engine.currentEpoch;
      // Text format: epoch, weight, then the view's columns, tab-separated.
      expect(lines().sort()).toEqual([`${epoch0}\t1\ta\t1`, `${epoch0}\t1\tb\t2`]);
      await engine.execute("INSERT INTO t VALUES ('a', 4); FLUSH;");
      await until(() => lines().length === 4);
      // psql is still running: the change was printed as it came, not at the end.
      expect(child.exitCode).toBeNull();
      expect(lines().slice(2).sort()).toEqual([`${epoch0 + 1}\t-1\ta\t1`, `${epoch0 + 1}\t1\ta\t5`]);
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      expect(err).toContain('ERROR:  canceling statement due to user request');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('takes WITH (snapshot = false, progress = true) and CSV output; a dropped view ends it with an error', async () => {
    await engine.execute('CREATE MATERIALIZED VIEW s2 AS SELECT k, v FROM t');
    const child = spawn('stdbuf', ['-oL', 'psql', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'test', '-d', 'test', '-X', '-c',
      'COPY (SUBSCRIBE s2 WITH (snapshot = false, progress = true)) TO STDOUT WITH (FORMAT csv, HEADER)'], { env: ENV });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      const e0 = engine.currentEpoch;
      await until(() => out.split('\n').length >= 3);
      expect(out).toBe(`epoch,progressed,weight,k,v\n${e0},t,,,\n`);
      await engine.execute("INSERT INTO t VALUES ('x, \"y\"', 7); FLUSH;");
      await until(() => out.split('\n').length >= 5);
      expect(out.split('\n').slice(2, 4)).toEqual([`${e0 + 1},f,1,"x, ""y""",7`, `${e0 + 1},t,,,`]);
      await engine.execute('DROP MATERIALIZED VIEW s2');
      expect(await exited).toBe(1);
      expect(err).toContain('ERROR:  subscription ended: materialized view "s2" was dropped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe.skipIf(!hasPsql)('cursors over SUBSCRIBE in psql', () => {
  it('DECLARE … CURSOR FOR SUBSCRIBE, FETCH ALL, FETCH n WITH (timeout), CLOSE, inside BEGIN … COMMIT', async () => {
    const e0 = engine.currentEpoch;
    const [now] = await engine.execute('SELECT k, total FROM s');
    const snapshot = (now as { rows: unknown[][] }).rows.map((r) => `${e0}|1|${r[0]}|${r[1]}`).sort();
    const oldB = (now as { rows: unknown[][] }).rows.find((r) => r[0] === 'b')![1] as bigint;
    const script = [
      'BEGIN;',
      'DECLARE c CURSOR FOR SUBSCRIBE s;',
      'FETCH ALL c;',
      "FETCH 1 c WITH (timeout = '0s');",
      "FETCH 5 FROM c WITH (timeout = '20s');",
      'CLOSE c;',
      'COMMIT;',
    ].join('\n');
    const run = psql(server.port, ['-A', '-v', 'ON_ERROR_STOP=1'], script);
    // The third FETCH waits for a change: make one.
    await new Promise((r) => setTimeout(r, 1500));
    await engine.execute("INSERT INTO t VALUES ('b', 10); FLUSH;");
    const r = await run;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    let at = 0;
    const take = (n: number) => lines.slice(at, (at += n));
    expect(take(2)).toEqual(['BEGIN', 'DECLARE CURSOR']);
    // FETCH ALL: the snapshot.
    expect(take(1)).toEqual(['epoch|weight|k|total']);
    expect(take(snapshot.length).sort()).toEqual(snapshot);
    expect(take(1)).toEqual([`(${snapshot.length} rows)`]);
    // FETCH with a zero timeout and nothing new: no rows, at once.
    expect(take(2)).toEqual(['epoch|weight|k|total', '(0 rows)']);
    // FETCH 5 waited for the change: b retracted and inserted again.
    expect(take(1)).toEqual(['epoch|weight|k|total']);
    expect(take(2).sort()).toEqual([`${e0 + 1}|-1|b|${oldB}`, `${e0 + 1}|1|b|${Number(oldB) + 10}`]);
    expect(lines.slice(at)).toEqual(['(2 rows)', 'CLOSE CURSOR', 'COMMIT', '']);
  });

  it('refuses DECLARE outside a transaction block and FETCH of an unknown cursor, as PostgreSQL does', async () => {
    let r = await psql(server.port, ['-c', 'DECLARE c CURSOR FOR SUBSCRIBE s']);
    expect(r.stderr).toContain('ERROR:  DECLARE CURSOR can only be used in transaction blocks');
    r = await psql(server.port, ['-c', 'FETCH 1 nope']);
    expect(r.stderr).toContain('ERROR:  cursor "nope" does not exist');
    // The transaction's end closed the cursor.
    r = await psql(server.port, ['-v', 'ON_ERROR_STOP=1'], 'BEGIN;\nDECLARE q CURSOR FOR SELECT k FROM t ORDER BY k, v;\nFETCH 2 q;\nCOMMIT;\nFETCH q;\n');
    expect(r.stdout).toContain(' k \n---\n a\n a\n(2 rows)');
    expect(r.stderr).toContain('ERROR:  cursor "q" does not exist');
  });
});

describe.skipIf(!hasPsql)('COPY … TO STDOUT against PostgreSQL', () => {
  const oracle = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
  const name = `copy_${randomBytes(4).toString('hex')}`;
  const rows = [
    "('plain', 1, true, DATE '2024-01-02')",
    "('tab\there', 2, false, NULL)",
    "(E'new\\nline and \\\\ backslash', NULL, NULL, DATE '1999-12-31')",
    "('comma, \"quoted\"', -3, true, NULL)",
    "('', 0, false, NULL)",
    "(NULL, 5, NULL, NULL)",
    "('\\N', 6, true, NULL)",
    "('x|y', 7, false, NULL)",
  ];
  let pgOk = false;

  beforeAll(async () => {
    if (!hasPsql) return;
    const c = new pg.Client(oracle);
    try {
      await c.connect();
      await c.query(`CREATE TABLE ${name} (s VARCHAR, n INT, b BOOLEAN, d DATE)`);
      await c.query(`INSERT INTO ${name} VALUES ${rows.join(', ')}`);
      pgOk = true;
    } finally {
      await c.end().catch(() => undefined);
    }
    await engine.execute(`CREATE TABLE ${name} (s VARCHAR, n INT, b BOOLEAN, d DATE); INSERT INTO ${name} VALUES ${rows.join(', ')}; CREATE MATERIALIZED VIEW ${name}_v AS SELECT * FROM ${name};  FLUSH;`);
  });

  afterAll(async () => {
    if (!pgOk) return;
    const c = new pg.Client(oracle);
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${name}`);
    await c.end();
  });

  const variants = [
    '',
    'WITH (FORMAT csv)',
    'WITH (FORMAT csv, HEADER)',
    "WITH (FORMAT csv, HEADER true, DELIMITER '|', NULL 'NULL')",
    "WITH (FORMAT csv, QUOTE '''', ESCAPE '\\')",
    "WITH (DELIMITER '|', NULL '')",
    'WITH (FORMAT text, HEADER)',
    'CSV HEADER',
    "DELIMITER ',' NULL 'nil'",
  ];
  for (const v of variants) {
    it(`COPY (SELECT …) TO STDOUT ${v || '(text)'} is byte for byte PostgreSQL's`, async () => {
      expect(pgOk).toBe(true);
      const sql = `COPY (SELECT * FROM ${name} ORDER BY n NULLS LAST, s) TO STDOUT ${v}`;
      const mine = await psql(server.port, ['-c', sql]);
      const theirs = await psql(5432, ['-c', sql], undefined, 'postgres', 'test');
      expect(theirs.stderr).toBe('');
      expect(mine.stderr).toBe('');
      expect(mine.stdout).toBe(theirs.stdout);
    });
  }

  it('COPY relation [(columns)] TO STDOUT: a table as PostgreSQL writes it, a view too', async () => {
    const mine = await psql(server.port, ['-c', `COPY ${name} (n, s) TO STDOUT WITH (FORMAT csv)`]);
    const theirs = await psql(5432, ['-c', `COPY ${name} (n, s) TO STDOUT WITH (FORMAT csv)`], undefined, 'postgres', 'test');
    expect(mine.stdout.split('\n').sort()).toEqual(theirs.stdout.split('\n').sort());
    const view = await psql(server.port, ['-c', `COPY ${name}_v TO STDOUT`]);
    const table = await psql(5432, ['-c', `COPY ${name} TO STDOUT`], undefined, 'postgres', 'test');
    expect(view.stdout.split('\n').sort()).toEqual(table.stdout.split('\n').sort());
    const count = await psql(server.port, ['-c', `\\copy (SELECT n FROM ${name}) TO STDOUT`]);
    expect(count.stdout.split('\n').filter(Boolean)).toHaveLength(rows.length);
  });

  // (Text with NULL '' is not here: it writes '' and NULL alike, so PostgreSQL cannot tell them apart either.)
  const loads = ['', 'WITH (FORMAT csv, HEADER)', "WITH (FORMAT csv, DELIMITER '|', NULL 'NULL')", "WITH (DELIMITER ',', NULL 'nil')", "WITH (FORMAT csv, QUOTE '''', ESCAPE '\\')"];
  for (const [k, opts] of loads.entries()) {
    it(`COPY FROM STDIN ${opts || '(text)'} loads what PostgreSQL's COPY TO wrote, to the same rows`, async () => {
      expect(pgOk).toBe(true);
      const target = `${name}_in${k}`;
      await engine.execute(`CREATE TABLE ${target} (s VARCHAR, n INT, b BOOLEAN, d DATE)`);
      const dump = await psql(5432, ['-c', `COPY ${name} TO STDOUT ${opts}`], undefined, 'postgres', 'test');
      expect(dump.stderr).toBe('');
      const load = await psql(server.port, ['-c', `COPY ${target} FROM STDIN ${opts}`], dump.stdout);
      expect(load.stderr).toBe('');
      expect(load.stdout).toBe(`COPY ${rows.length}\n`);
      const order = 'ORDER BY n NULLS LAST, s';
      const mine = await psql(server.port, ['-c', `COPY (SELECT * FROM ${target} ${order}) TO STDOUT`]);
      const theirs = await psql(5432, ['-c', `COPY (SELECT * FROM ${name} ${order}) TO STDOUT`], undefined, 'postgres', 'test');
      expect(mine.stdout).toBe(theirs.stdout);
    });
  }

  it('COPY FROM STDIN: a column list, the end marker, bad data refused as a whole, views refused', async () => {
    await engine.execute('CREATE TABLE copy_cols (a INT, b VARCHAR, c INT)');
    let r = await psql(server.port, ['-c', 'COPY copy_cols (c, a) FROM STDIN'], '1\t2\n3\t4\n\\.\nignored\n');
    expect(r.stdout).toBe('COPY 2\n');
    const [got] = await engine.execute('SELECT a, b, c FROM copy_cols ORDER BY a');
    expect((got as { rows: unknown[][] }).rows).toEqual([[2, null, 1], [4, null, 3]]);
    r = await psql(server.port, ['-c', 'COPY copy_cols FROM STDIN'], '5\tx\t6\nnot a number\ty\t7\n');
    expect(r.stderr).toContain('ERROR:');
    const [after] = await engine.execute('SELECT count(*) AS n FROM copy_cols');
    expect((after as { rows: unknown[][] }).rows).toEqual([[2n]]);
    r = await psql(server.port, ['-c', 'COPY copy_cols FROM STDIN'], '1\t2\n');
    expect(r.stderr).toContain('missing data for column "c"');
    r = await psql(server.port, ['-c', `COPY ${name}_v FROM STDIN`], '');
    expect(r.stderr).toContain(`ERROR:  cannot copy to materialized view "${name}_v"`);
    // The session goes on after each.
    r = await psql(server.port, ['-c', 'SELECT 1 AS one']);
    expect(r.stdout).toContain(' one \n-----\n   1\n');
  });

  it('errors: a missing relation points at its name; bad options and server files as PostgreSQL refuses them', async () => {
    let r = await psql(server.port, ['-c', 'COPY nope TO STDOUT']);
    expect(r.stderr).toMatch(/ERROR:  relation "nope" does not exist\nLINE 1: COPY nope TO STDOUT\n {13}\^/);
    r = await psql(server.port, ['-c', `COPY (SELECT nope FROM ${name}) TO STDOUT`]);
    expect(r.stderr).toMatch(/ERROR:  column "nope" does not exist\nLINE 1: COPY \(SELECT nope/);
    expect(r.stderr).toMatch(/\n {21}\^/);
    for (const [sql, message] of [
      [`COPY ${name} TO STDOUT WITH (DELIMITER 'ab')`, 'COPY delimiter must be a single one-byte character'],
      [`COPY ${name} TO STDOUT WITH (FORMAT xml)`, 'COPY format "xml" not recognized'],
      [`COPY ${name} TO STDOUT WITH (FORMAT csv, DELIMITER '"')`, 'COPY delimiter and quote must be different'],
    ]) {
      const mine = await psql(server.port, ['-c', sql!]);
      const theirs = await psql(5432, ['-c', sql!], undefined, 'postgres', 'test');
      expect(theirs.stderr).toContain(`ERROR:  ${message}`);
      expect(mine.stderr).toContain(`ERROR:  ${message}`);
    }
    r = await psql(server.port, ['-c', `COPY ${name} TO '/tmp/x.csv'`]);
    expect(r.stderr).toContain('permission denied: COPY to or from a file on the server');
  });
});
