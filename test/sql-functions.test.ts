/**
 * SQL functions (CREATE FUNCTION … LANGUAGE SQL) end to end: against the real PostgreSQL with
 * the same functions created there (random rows and DML in random epochs; a view and the same
 * SELECT ad hoc must both equal PostgreSQL's answer), PostgreSQL's errors for what cannot be
 * created, called or dropped, psql's \df, and functions kept across a restart.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import type { SqlType, Value } from '../src/common/types.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { startPgServer } from '../src/server/pg-server.js';
import { closeOracle, connectOracle, oracleRows, textRow } from './pg-oracle.js';

const SCHEMA = `t_funcs_sql_${process.pid}`;
const TABLE = 'CREATE TABLE g (id INT, x INT, p DOUBLE PRECISION, s VARCHAR, ts TIMESTAMP)';
const RUNS = Number(process.env.SLUICE_FC_RUNS ?? 200);

/** Functions created in both systems, in this order (later ones call earlier ones). */
const FUNCTIONS = [
  'CREATE FUNCTION add_tax(p double precision) RETURNS double precision LANGUAGE SQL IMMUTABLE AS $$ SELECT p * 1.25 $$',
  "CREATE FUNCTION half(int) RETURNS int AS 'SELECT $1 / 2' LANGUAGE sql",
  "CREATE FUNCTION tag(label text, n int) RETURNS text STRICT RETURN lpad(label, n, '*') || '#' || to_char(n, 'FM00')",
  'CREATE FUNCTION twice_half(v int) RETURNS bigint LANGUAGE sql RETURN half(v) + half(v)',
  "CREATE FUNCTION day_of(t timestamp) RETURNS text LANGUAGE sql STABLE AS $$ SELECT to_char(t, 'FMDay DD Mon') $$",
  "CREATE OR REPLACE FUNCTION is_word(w varchar) RETURNS boolean AS $f$ SELECT w ~ '^[a-z]+$' $f$ LANGUAGE SQL",
];

const CALLS = ['add_tax(p)', 'add_tax(x)', 'half(x)', 'half(-7)', 'tag(s, x)', "tag('k', 3)", 'twice_half(x)', 'day_of(ts)', 'is_word(s)', 'half(x) + twice_half(x + 1)', "tag(coalesce(s, 'nil'), half(x) + 2)"];

let client: pg.Client;
let engine: Engine;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
  for (const f of FUNCTIONS) await client.query(f);
  engine = await createEngine({ autoStart: false, log: () => undefined });
  for (const f of FUNCTIONS) await engine.execute(f);
});

afterAll(async () => {
  await engine?.close();
  await client?.query('RESET search_path');
  await closeOracle(client, SCHEMA);
});

const lit = (v: string | number | null) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 6 });
const id = fc.integer({ min: 0, max: 5 });
const row: fc.Arbitrary<(string | number | null)[]> = fc.tuple(
  id,
  opt(fc.integer({ min: -20, max: 20 })),
  opt(fc.constantFrom(0, 1.5, -2.25, 10.1, 99.99)),
  opt(fc.constantFrom('ab', 'Word', 'x y', '', 'zz')),
  opt(fc.constantFrom('2026-01-31 10:00:00', '2024-02-29 23:59:59', '1999-12-31 00:00:00')),
);
const op = fc.oneof(
  { weight: 5, arbitrary: row.map((r) => `INSERT INTO g VALUES (${r.map(lit).join(', ')})`) },
  { weight: 2, arbitrary: fc.tuple(id, opt(fc.integer({ min: -9, max: 9 }))).map(([i, v]) => `UPDATE g SET x = ${lit(v)} WHERE id = ${i}`) },
  { weight: 2, arbitrary: id.map((i) => `DELETE FROM g WHERE id = ${i}`) },
  { weight: 2, arbitrary: fc.constant('FLUSH') },
);

const rowsText = (rows: readonly (readonly Value[])[], types: readonly SqlType[]) => rows.map((r) => textRow(r, types)).sort();

async function errorOf(sql: string): Promise<{ code: string; message: string }> {
  try {
    await engine.execute(sql);
  } catch (e) {
    const err = toSluiceError(e);
    return { code: err.sqlstate, message: err.message };
  }
  throw new Error(`expected failure: ${sql}`);
}

describe('SQL functions', () => {
  it(`inlined in views and called ad hoc, equal to PostgreSQL over random DML (${RUNS} cases)`, async () => {
    const scenario = fc.record({ before: fc.array(op, { maxLength: 5 }), after: fc.array(op, { maxLength: 10 }), calls: fc.uniqueArray(fc.constantFrom(...CALLS), { minLength: 1, maxLength: 4 }) });
    await fc.assert(fc.asyncProperty(scenario, async (sc) => {
      await client.query(`DROP TABLE IF EXISTS g; ${TABLE}`);
      await engine.execute(`DROP TABLE IF EXISTS g CASCADE; ${TABLE}`);
      try {
        const apply = async (stmt: string) => {
          await engine.execute(stmt);
          if (stmt !== 'FLUSH') await client.query(stmt);
        };
        for (const stmt of sc.before) await apply(stmt);
        const q = `SELECT id, ${sc.calls.map((c, i) => `${c} AS c${i}`).join(', ')} FROM g`;
        await engine.execute(`CREATE MATERIALIZED VIEW fv AS ${q}`);
        for (const stmt of sc.after) await apply(stmt);
        await engine.execute('FLUSH');
        const want = await oracleRows(client, q);
        const schema = engine.catalog.relation('fv').schema;
        expect(rowsText(await engine.viewRows('fv'), schema.map((c) => c.type)), `view: ${q}`).toEqual(want);
        const [r] = await engine.execute(q);
        if (r?.kind !== 'rows') throw new Error('expected rows');
        expect(rowsText(r.rows, r.columns.map((c) => c.type)), `ad hoc: ${q}`).toEqual(want);
      } finally {
        await engine.execute('DROP TABLE IF EXISTS g CASCADE');
      }
    }), { numRuns: RUNS });
  }, 600_000);

  it('refuses what PostgreSQL refuses, with its SQLSTATEs', async () => {
    expect(await errorOf("CREATE FUNCTION half(int) RETURNS int AS 'SELECT $1' LANGUAGE sql")).toMatchObject({ code: '42723', message: 'function half(integer) already exists with same argument types' });
    expect((await errorOf("CREATE OR REPLACE FUNCTION half(int) RETURNS bigint AS 'SELECT $1' LANGUAGE sql")).code).toBe('42P13');
    expect(await errorOf("CREATE FUNCTION f1(int) RETURNS int AS 'SELECT $1 || ''x''' LANGUAGE sql")).toMatchObject({ code: '42P13', message: 'return type mismatch in function declared to return integer' });
    expect(await errorOf("CREATE FUNCTION f2(a int) RETURNS int AS 'SELECT b' LANGUAGE sql")).toMatchObject({ code: '42703', message: 'column "b" does not exist' });
    expect((await errorOf("CREATE FUNCTION f3(a int) RETURNS int AS 'SELECT $2' LANGUAGE sql")).code).toBe('42P02');
    expect((await errorOf("CREATE FUNCTION f4(a int) RETURNS int AS 'SELECT nope(a)' LANGUAGE sql")).code).toBe('42883');
    expect((await errorOf("CREATE FUNCTION f5(a int) RETURNS int AS 'SELECT a FROM g' LANGUAGE sql")).code).toBe('0A000');
    expect((await errorOf("CREATE FUNCTION f6(a int) RETURNS int LANGUAGE plpgsql AS 'begin return a; end'")).code).toBe('0A000');
    expect((await errorOf("CREATE FUNCTION f7(a int) RETURNS SETOF int AS 'SELECT a' LANGUAGE sql")).code).toBe('0A000');
    expect((await errorOf("CREATE FUNCTION upper(a int) RETURNS int AS 'SELECT a' LANGUAGE sql")).code).toBe('42723');
    expect(await errorOf("SELECT half('a', 2)")).toMatchObject({ code: '42883' });
    expect((await errorOf("CREATE MATERIALIZED VIEW bad AS SELECT half(now()) AS h")).code).toBe('42883');
    expect((await errorOf('SELECT no_such_function(1)')).code).toBe('42883');
    expect((await errorOf('DROP FUNCTION no_such_function')).code).toBe('42883');
    expect((await errorOf('DROP FUNCTION half(bigint)')).code).toBe('42883');
    const [skip] = await engine.execute('DROP FUNCTION IF EXISTS no_such_function');
    expect(skip).toMatchObject({ kind: 'command', notice: 'function no_such_function does not exist, skipping' });
  });

  it('a function a view calls is not dropped (2BP01) or replaced unless CASCADE drops the view', async () => {
    await engine.execute(`${TABLE}; CREATE FUNCTION sq(v int) RETURNS int RETURN v * v; CREATE MATERIALIZED VIEW uses_sq AS SELECT id, sq(x) AS y FROM g; INSERT INTO g VALUES (1, 3, NULL, NULL, NULL); FLUSH`);
    expect((await engine.viewRows('uses_sq')).map((r) => r[1])).toEqual([9]);
    expect(await errorOf('DROP FUNCTION sq')).toMatchObject({ code: '2BP01', message: 'cannot drop function sq(integer) because other objects depend on it' });
    expect((await errorOf('CREATE OR REPLACE FUNCTION sq(v int) RETURNS int RETURN v')).code).toBe('2BP01');
    await engine.execute('DROP FUNCTION sq(int) CASCADE');
    expect(engine.catalog.has('uses_sq')).toBe(false);
    expect((await errorOf('SELECT sq(2)')).code).toBe('42883');
    await engine.execute('DROP TABLE g');
  });

  it('psql \\df lists the functions', async () => {
    const server = await startPgServer(engine, { port: 0, log: () => undefined });
    try {
      // Asynchronously: the server answering psql runs in this process.
      const { stdout: out } = await promisify(execFile)('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'test', '-d', 'test', '-X', '-A', '-F', '|', '-c', '\\df ta*'], { encoding: 'utf8', timeout: 20_000 });
      expect(out).toContain('public|tag|character varying|label character varying, n integer|func');
    } finally {
      await server.close();
    }
  });
});

describe('SQL functions across a restart', () => {
  it('keeps functions, the views that call them, and ad-hoc calls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-fn-'));
    try {
      let e = await createEngine({ dataDir: dir, autoStart: false, log: () => undefined });
      await e.execute(`CREATE FUNCTION inc(int) RETURNS int AS 'SELECT $1 + 1' LANGUAGE sql;
        CREATE FUNCTION inc2(v int) RETURNS int STRICT RETURN inc(inc(v));
        CREATE TABLE t (x INT); CREATE MATERIALIZED VIEW mv AS SELECT x, inc2(x) AS y FROM t;
        INSERT INTO t VALUES (1), (NULL); FLUSH;`);
      await e.close();
      e = await createEngine({ dataDir: dir, autoStart: false, log: () => undefined });
      try {
        await e.execute('INSERT INTO t VALUES (10); FLUSH');
        expect((await e.viewRows('mv')).map((r) => r[1]).sort()).toEqual([12, 3, null].sort());
        const [r] = await e.execute('SELECT inc2(5) AS a, inc(NULL) AS b');
        expect(r).toMatchObject({ kind: 'rows', rows: [[7, null]] });
        const [sys] = await e.execute('SELECT name, arguments, returns, strict FROM sluice.functions ORDER BY name');
        expect(sys).toMatchObject({ rows: [['inc', 'integer', 'integer', false], ['inc2', 'v integer', 'integer', true]] });
      } finally {
        await e.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
