/**
 * One-shot queries answer as PostgreSQL (127.0.0.1:5432, the oracle) does: result column names,
 * the session functions (current_user, current_database(), …), now(), integer division, and
 * division by zero and integer overflow raised with PostgreSQL's SQLSTATE and message. In views,
 * the same errors make the value NULL and are counted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;
let mine: pg.Client;
let oracle: pg.Client;
const table = `names_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  // The same user and database as the oracle's connection: the session functions must agree.
  mine = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'test' });
  oracle = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await mine.connect();
  await oracle.connect();
  for (const c of [mine, oracle]) {
    await c.query(`CREATE TABLE ${table} (k VARCHAR, v INT, b BIGINT, ts TIMESTAMP)`);
    await c.query(`INSERT INTO ${table} VALUES ('a', 1, 10, TIMESTAMP '2024-01-02 03:04:05'), ('b', 2, 20, NULL), ('c', 0, NULL, NULL)`);
  }
});

afterAll(async () => {
  await oracle?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await oracle?.end();
  await mine?.end();
  await server?.close();
  await engine?.close();
});

async function both(sql: string): Promise<[pg.QueryResult | Error, pg.QueryResult | Error]> {
  const run = (c: pg.Client) => c.query({ text: sql, rowMode: 'array' }).catch((e: Error) => e);
  return [await run(mine), await run(oracle)];
}

describe('one-shot queries as PostgreSQL answers them', () => {
  const named = [
    'SELECT count(*), sum(v), 1 + 1, version() FROM $T',
    'SELECT k, v AS x, upper(k), k || \'!\', v::text, \'1\'::int, true, NULL, \'s\', CASE WHEN v > 0 THEN 1 END, coalesce(v, 0), nullif(v, 1) FROM $T ORDER BY k',
    'SELECT max(v), min(k), avg(v), count(DISTINCT k), count(v) AS n FROM $T',
    'SELECT $T.k, t2.v FROM $T JOIN $T AS t2 ON $T.k = t2.k ORDER BY 1',
    'SELECT *, v + 1 FROM $T ORDER BY k',
    'SELECT v + 1, * FROM $T ORDER BY k',
    'SELECT k FROM $T UNION ALL SELECT upper(k) FROM $T ORDER BY 1',
    'SELECT extract(year FROM ts), date_trunc(\'day\', ts), now() IS NOT NULL, current_timestamp IS NOT NULL FROM $T ORDER BY k',
    'SELECT current_user, session_user, user, current_role, current_database(), current_schema(), current_schema, current_catalog',
    'SELECT 1/2, 7/2, -7/2, 7 % 3, -7 % 3, 10 / 4 * 4',
    'SELECT v / 2 AS half, b / v FROM $T WHERE v > 0 ORDER BY k',
    'SELECT k FROM $T WHERE v / 2 = 1',
    "SELECT '1/0' AS s, 3 - -1",
    'SELECT row_number() OVER (ORDER BY k), lower(k) FROM $T ORDER BY 1',
  ];
  for (const q of named) {
    it(`names and values: ${q}`, async () => {
      const sql = q.replaceAll('$T', table);
      const [a, b] = await both(sql);
      if (b instanceof Error) throw b;
      if (a instanceof Error) throw a;
      expect(a.fields.map((f) => f.name)).toEqual(b.fields.map((f) => f.name));
      if (/version\(\)/.test(q)) return;
      // Values in their text form; numbers as numbers (avg is PostgreSQL's numeric, 1.0000…).
      const norm = (r: pg.QueryResult) => r.rows.map((row: unknown[]) => row.map((x) => (x === null ? null : typeof x === 'object' ? String(x) : /^-?\d+(\.\d+)?$/.test(String(x)) ? Number(x) : String(x))));
      expect(norm(a)).toEqual(norm(b));
    });
  }

  const errors = [
    'SELECT 1/0',
    'SELECT 5 % 0',
    'SELECT 1.0 / 0',
    'SELECT v / (v - 1) FROM $T',
    'SELECT k FROM $T WHERE 10 / v > 1',
    'SELECT 2147483647 + 1',
    'SELECT -2147483647 - 2',
    'SELECT 65536 * 65536',
    'SELECT b * 922337203685477580 FROM $T',
  ];
  for (const q of errors) {
    it(`errors: ${q}`, async () => {
      const [a, b] = await both(q.replaceAll('$T', table));
      expect(b).toBeInstanceOf(Error);
      expect(a).toBeInstanceOf(Error);
      const [ea, eb] = [a as Error & { code: string }, b as Error & { code: string }];
      expect({ code: ea.code, message: ea.message }).toEqual({ code: eb.code, message: eb.message });
    });
  }

  it('now() and current_timestamp are the current time', async () => {
    const before = Date.now();
    const r = await mine.query('SELECT now(), current_timestamp');
    expect(r.fields.map((f) => f.name)).toEqual(['now', 'current_timestamp']);
    const t = (r.rows[0].now as Date).getTime();
    expect(Math.abs(t - before)).toBeLessThan(60_000);
  });

  it('current_user is the connected user, current_database() the database it asked for', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'alice', database: 'shop' });
    await c.connect();
    try {
      const r = await c.query({ text: 'SELECT current_user, current_database(), current_schema()', rowMode: 'array' });
      expect(r.rows).toEqual([['alice', 'shop', 'public']]);
    } finally {
      await c.end();
    }
    const [r] = await engine.execute('SELECT current_user, current_database()');
    expect(r).toMatchObject({ rows: [['sluice', 'sluice']] });
  });

  it('psql prints PostgreSQL\'s headings', async () => {
    const out = await new Promise<string>((resolve) => {
      execFile('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'test', '-d', 'test', '-X', '-c', `SELECT count(*), sum(v), 1 + 1 FROM ${table}`], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: '' } }, (_e, stdout, stderr) => resolve(stdout + stderr));
    });
    expect(out).toContain(' count | sum | ?column? \n-------+-----+----------\n     3 |   3 |        2\n');
  });
});

describe('row-level errors in views stay NULL and counted', () => {
  it('a division by zero and a bigint product out of range make NULL and count a row error; sum(bigint) is exact NUMERIC', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute("CREATE TABLE t (k VARCHAR, v BIGINT); CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total, sum(v * 2) AS dbl, count(*) AS n FROM t GROUP BY k; CREATE MATERIALIZED VIEW d AS SELECT k, 10 / (v - 5) AS q FROM t;");
      const big = 4611686018427387904n;
      await e.execute(`INSERT INTO t VALUES ('a', ${big}), ('a', ${big}), ('b', 5), ('c', 7); FLUSH;`);
      let [s] = await e.execute('SELECT k, total, dbl, n FROM s ORDER BY k');
      // sum(bigint) is NUMERIC as in PostgreSQL: 2 × 2^62 = 2^63 is exact. 2^62 * 2 is out of
      // bigint's range (PostgreSQL: "bigint out of range"): NULL for those rows, each counted.
      expect((s as { rows: unknown[][] }).rows).toEqual([['a', '9223372036854775808', null, 2n], ['b', '5', '10', 1n], ['c', '7', '14', 1n]]);
      const [d] = await e.execute('SELECT k, q FROM d ORDER BY k, q');
      expect((d as { rows: unknown[][] }).rows).toEqual([['a', 0n], ['a', 0n], ['b', null], ['c', 5n]]);
      expect(e.stats().views.s!.rowErrors).toBe(2);
      expect(e.stats().views.d!.rowErrors).toBe(1);
      expect(e.stats().views.s!.failed).toBeNull();
      // -2^62 * 2 = -2^63 is in range: the sum over the rows that have a value.
      await e.execute(`INSERT INTO t VALUES ('a', ${-big}); FLUSH;`);
      [s] = await e.execute("SELECT total, dbl, n FROM s WHERE k = 'a'");
      expect((s as { rows: unknown[][] }).rows).toEqual([[String(big), String(-2n * big), 3n]]);
    } finally {
      await e.close();
    }
  });
});
