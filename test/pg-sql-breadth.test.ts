/**
 * Differential oracle against the real PostgreSQL (127.0.0.1:5432, database `test`) for
 * `JOIN … USING`, `NATURAL JOIN` (every join type; the merged column, its qualified copies and
 * `*`'s column order), `IS [NOT] DISTINCT FROM` (in WHERE, the select list, CASE and join
 * conditions), INTERSECT / EXCEPT mixed with UNION [ALL] (PostgreSQL's grouping of them) and
 * VALUES lists in FROM. Two random tables with NULLs get random INSERT/UPDATE/DELETE cut into random
 * epochs (and ORDER BY … LIMIT / DISTINCT ON over columns the select list leaves out, GROUPING
 * SETS / ROLLUP / CUBE, VALUES queries, WITH column lists, scalar functions in FROM, nested
 * set-returning calls); the view's
 * columns must be PostgreSQL's (names, order) and its final contents
 * PostgreSQL's answer over the final tables. Queries with an explicit select list run ad hoc
 * (in DuckDB) too. fast-check shrinks a failure to a minimal script.
 */
import fc from 'fast-check';
import { parallelismArb } from './helpers.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/exec/runtime/engine.js';
import { closeOracle, connectOracle, textRow } from './pg-oracle.js';

const SCHEMA = `sluice_breadth_${process.pid}`;
const A = 'CREATE TABLE a (x INT, k INT, v VARCHAR)';
const B = 'CREATE TABLE b (k INT, w INT, x INT)';

let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await closeOracle(client, SCHEMA);
});

const str = (s: string | null) => (s === null ? 'NULL' : `'${s}'`);
const int = (x: number | null) => (x === null ? 'NULL' : String(x));
const small = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 4 });
const word = fc.option(fc.constantFrom('p', 'q'), { nil: null, freq: 4 });

const aOp = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(small, small, word).map(([x, k, v]) => `INSERT INTO a VALUES (${int(x)}, ${int(k)}, ${str(v)})`) },
  { weight: 1, arbitrary: fc.tuple(small, small).map(([x, k]) => `UPDATE a SET k = ${int(k)} WHERE x = ${int(x ?? 0)}`) },
  { weight: 1, arbitrary: small.map((k) => `DELETE FROM a WHERE ${k === null ? 'k IS NULL' : `k = ${k}`}`) },
);
const bOp = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(small, small, small).map(([k, w, x]) => `INSERT INTO b VALUES (${int(k)}, ${int(w)}, ${int(x)})`) },
  { weight: 1, arbitrary: fc.tuple(small, small).map(([k, w]) => `UPDATE b SET w = ${int(w)} WHERE k = ${int(k ?? 0)}`) },
  { weight: 1, arbitrary: small.map((x) => `DELETE FROM b WHERE ${x === null ? 'x IS NULL' : `x = ${x}`}`) },
);
const ops = fc.array(fc.oneof({ weight: 3, arbitrary: aOp }, { weight: 3, arbitrary: bOp }, { weight: 2, arbitrary: fc.constant('FLUSH') }), { maxLength: 14 });

const joinType = fc.constantFrom('JOIN', 'INNER JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN', 'LEFT OUTER JOIN', 'FULL OUTER JOIN');
const using = fc.constantFrom('USING (k)', 'USING (x)', 'USING (k, x)', 'USING (x, k)');
const not = fc.constantFrom('', 'NOT ');

/** Queries of the family; `star` ones run only as views (DuckDB orders `*` of a USING join its own way). */
const query = fc.oneof(
  // USING (k) or (x) alone leaves two columns of one name: PostgreSQL refuses the view (42701).
  fc.tuple(joinType, using).map(([j, u]) => ({ sql: `SELECT * FROM a ${j} b ${u}`, star: true })),
  fc.tuple(joinType, using).map(([j, u]) => ({ sql: `SELECT ${u.includes('k') ? 'k, ' : ''}${u.includes('x') ? 'x, ' : ''}a.k AS ak, b.k AS bk, a.x AS ax, b.x AS bx, v, w FROM a ${j} b ${u}`, star: false })),
  fc.constantFrom('JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN').map((j) => ({ sql: `SELECT * FROM a NATURAL ${j} b`, star: true })),
  fc.constantFrom('JOIN', 'FULL JOIN').map((j) => ({ sql: `SELECT * FROM a AS l NATURAL ${j} b r WHERE r.w IS NOT NULL OR l.v IS NOT NULL`, star: true })),
  fc.tuple(joinType).map(([j]) => ({ sql: `SELECT k, count(*) AS n, sum(w) AS s FROM a ${j} b USING (k) GROUP BY k`, star: false })),
  fc.tuple(joinType).map(([j]) => ({ sql: `SELECT a.*, w FROM a ${j} b USING (k, x)`, star: false })),
  fc.constant({ sql: 'SELECT x, k, v FROM a JOIN (SELECT k, sum(w) AS w FROM b GROUP BY k) s USING (k) WHERE w IS DISTINCT FROM 2', star: false }),
  fc.tuple(not).map(([n]) => ({ sql: `SELECT x, k, v FROM a WHERE k IS ${n}DISTINCT FROM x`, star: false })),
  fc.tuple(not).map(([n]) => ({ sql: `SELECT x, k, k IS ${n}DISTINCT FROM x + 1 AS d, NOT v IS ${n}DISTINCT FROM 'p' AS e FROM a`, star: false })),
  fc.tuple(not).map(([n]) => ({ sql: `SELECT x, CASE WHEN k IS ${n}DISTINCT FROM NULL THEN 'set' ELSE 'none' END AS c FROM a WHERE (x IS ${n}DISTINCT FROM (k - 1)) OR v = 'q'`, star: false })),
  fc.tuple(not).map(([n]) => ({ sql: `SELECT a.x, b.w FROM a JOIN b ON a.k IS ${n}DISTINCT FROM b.k AND a.x = b.x`, star: false })),
  fc.constant({ sql: 'SELECT k, count(*) AS n FROM a GROUP BY k HAVING k IS NOT DISTINCT FROM max(x)', star: false }),
  fc.constantFrom(
    'SELECT k FROM a INTERSECT SELECT k FROM b',
    'SELECT x, k FROM a EXCEPT SELECT x, k FROM b',
    'SELECT k FROM a UNION SELECT w FROM b EXCEPT SELECT x FROM a',
    'SELECT k FROM a EXCEPT SELECT x FROM b INTERSECT SELECT w FROM b',
    'SELECT k FROM a UNION ALL SELECT x FROM b UNION SELECT w FROM b',
    'SELECT k FROM a UNION SELECT x FROM b UNION ALL SELECT w FROM b',
    'SELECT x AS n FROM a INTERSECT SELECT k FROM b UNION ALL SELECT w FROM b WHERE w > 1',
    'SELECT v, k FROM a EXCEPT SELECT NULL, x FROM b',
  ).map((sql) => ({ sql, star: false })),
  fc.constant({ sql: "SELECT a.x, v.n FROM a JOIN (VALUES (1, 'one'), (2, 'two'), (NULL, 'none')) AS v(k, n) USING (k)", star: false }),
  fc.constant({ sql: 'SELECT s.total, s.k2 FROM (SELECT k, sum(w) FROM b GROUP BY k) AS s(k2, total) WHERE s.total IS DISTINCT FROM 0', star: false }),
  // ORDER BY and DISTINCT ON over columns (and aggregates) the select list leaves out. Ties are
  // broken down to the columns the output shows, so every correct answer is the same.
  fc.constantFrom(
    'SELECT DISTINCT ON (k) x + 1 AS y FROM a ORDER BY k NULLS LAST, x NULLS LAST',
    'SELECT DISTINCT ON (k) v FROM a ORDER BY k NULLS FIRST, x DESC NULLS LAST, v NULLS LAST',
    'SELECT v FROM a ORDER BY x DESC NULLS LAST, k NULLS LAST, v NULLS LAST LIMIT 2',
    'SELECT w FROM b ORDER BY k + x NULLS LAST, w NULLS LAST LIMIT 3 OFFSET 1',
    'SELECT k, count(*) AS n FROM a GROUP BY k ORDER BY sum(x) DESC NULLS LAST, k NULLS LAST LIMIT 2',
  ).map((sql) => ({ sql, star: false })),
  // GROUPING SETS, ROLLUP and CUBE (a key left out of a set reads NULL; grouping() its bit).
  fc.constantFrom(
    'SELECT k, v, count(*) AS n, sum(x) AS s FROM a GROUP BY ROLLUP (k, v)',
    'SELECT k, v, count(*), grouping(k, v) FROM a GROUP BY CUBE (k, v)',
    'SELECT k, count(DISTINCT x) AS d, grouping(k) AS g FROM a GROUP BY GROUPING SETS ((k), ())',
    'SELECT k, w, max(x) AS m FROM b GROUP BY k, ROLLUP (w) HAVING count(*) > 1 OR k IS NULL',
    'SELECT k + 1 AS k1, v, sum(x) AS s FROM a GROUP BY GROUPING SETS (k + 1, (v, k + 1), ())',
    'SELECT count(*) AS n, sum(w) AS s FROM b GROUP BY GROUPING SETS ((), ())',
    'SELECT k, coalesce(v, \'all\') AS v, count(*) AS n FROM a GROUP BY ROLLUP ((k, v))',
  ).map((sql) => ({ sql, star: false })),
  // VALUES as a query and as a WITH query, WITH column lists (PostgreSQL's column1, column2, …).
  fc.constantFrom(
    "VALUES (1, 'one'), (2, NULL), (1, 'one')",
    'WITH d(kk, total) AS (SELECT k, sum(w) FROM b GROUP BY k) SELECT * FROM d WHERE total IS NOT NULL',
    'WITH v(n) AS (VALUES (1), (2)) SELECT a.x, v.n FROM a JOIN v ON a.k = v.n',
    "WITH v AS (VALUES (1, 'p'), (3, 'q')) SELECT a.x, v.column2 FROM a JOIN v ON a.k = v.column1",
    "SELECT * FROM (VALUES (1, 'p'), (3, 'q')) AS t JOIN a ON a.k = t.column1",
    'WITH d(one) AS (SELECT x, k FROM a) SELECT * FROM d',
  ).map((sql) => ({ sql, star: false })),
  // A scalar function in FROM: one row, one column (views only: DuckDB, which runs one-shot SELECTs, refuses it).
  fc.constantFrom('SELECT a.x, f.m FROM a JOIN abs(-2) AS f(m) ON a.k = f.m', "SELECT * FROM upper('p') JOIN a ON a.v = lower(upper)").map((sql) => ({ sql, star: true })),
  // Set-returning calls nested in another's arguments: a ProjectSet per level, the lowest
  // holding every call without one in its arguments (views only: DuckDB's lists differ).
  fc.constantFrom(
    "SELECT unnest(regexp_matches(v || 'pq', '[pq]', 'g')) AS m, x FROM a",
    'SELECT unnest(ARRAY[generate_series(1, k), x]) AS u, generate_series(1, 2) AS g FROM a',
    "SELECT x, unnest(string_to_array(unnest(ARRAY[v, v || ' q']), ' ')) AS w FROM a",
  ).map((sql) => ({ sql, star: true })),
);

const scenario = fc.record({ before: ops, after: ops, query, parallelism: parallelismArb });

async function pgAnswer(sql: string): Promise<{ names: string[]; rows: string[] }> {
  const r = await client.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
  return { names: r.fields.map((f) => f.name), rows: (r.rows as (string | null)[][]).map((row) => JSON.stringify(row)).sort() };
}

async function runScenario(s: { before: string[]; after: string[]; query: { sql: string; star: boolean }; parallelism?: number }): Promise<void> {
  const engine = await createEngine({ autoStart: false, log: () => undefined, parallelism: s.parallelism ?? 1 });
  try {
    await client.query(`DROP TABLE IF EXISTS a; DROP TABLE IF EXISTS b; ${A}; ${B}`);
    await engine.execute(`${A}; ${B}`);
    const apply = async (stmt: string) => {
      await engine.execute(stmt);
      if (stmt !== 'FLUSH') await client.query(stmt);
    };
    const q = s.query.sql;
    // A view PostgreSQL refuses (duplicate column names of `*`) must be refused with its SQLSTATE.
    const refused = await client.query(`CREATE TEMP VIEW probe AS ${q}`).then(() => null, (e: { code?: string }) => e.code ?? 'error');
    await client.query('DROP VIEW IF EXISTS probe');
    if (refused !== null) {
      await expect(engine.execute(`CREATE MATERIALIZED VIEW mv AS ${q}`)).rejects.toMatchObject({ sqlstate: refused });
      return;
    }
    for (const stmt of s.before) await apply(stmt);
    await engine.execute(`CREATE MATERIALIZED VIEW mv AS ${q}`);
    for (const stmt of s.after) await apply(stmt);
    await engine.execute('FLUSH');
    const want = await pgAnswer(q);
    const schema = engine.catalog.relation('mv').schema;
    expect(schema.map((f) => f.name)).toEqual(want.names);
    const view = await engine.viewRows('mv');
    expect(view.map((r) => textRow(r, schema.map((f) => f.type))).sort()).toEqual(want.rows);
    if (s.query.star) return;
    const [adhoc] = await engine.execute(q);
    if (adhoc?.kind !== 'rows') throw new Error('the ad-hoc SELECT returned no rows');
    expect(adhoc.columns.map((c) => c.name)).toEqual(want.names);
    expect(adhoc.rows.map((row) => textRow(row, adhoc.columns.map((c) => c.type))).sort()).toEqual(want.rows);
  } finally {
    await engine.close();
  }
}

describe('differential: JOIN … USING, NATURAL JOIN, IS [NOT] DISTINCT FROM, INTERSECT/EXCEPT, VALUES vs PostgreSQL', () => {
  it('random tables, random DML in random epochs, random queries of the family (200 cases)', async () => {
    await fc.assert(fc.asyncProperty(scenario, (s) => runScenario(s)), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? 200), verbose: 1 });
  }, 900_000);

  it('refuses ORDER BY over a column SELECT DISTINCT leaves out, and a bare column of a grouped select, as PostgreSQL does', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await engine.execute(A);
      for (const sql of ['SELECT DISTINCT k FROM a ORDER BY x LIMIT 1', 'SELECT k, count(*) AS n FROM a GROUP BY k ORDER BY x LIMIT 1']) {
        const want = await client.query(sql.replace('FROM a', `FROM (SELECT 1 AS x, 1 AS k) a`)).then(() => null, (e: { code?: string }) => e.code);
        await expect(engine.execute(`CREATE MATERIALIZED VIEW m AS ${sql}`)).rejects.toMatchObject({ sqlstate: want });
      }
    } finally {
      await engine.close();
    }
  });

  it('names a view\'s columns from CREATE MATERIALIZED VIEW name (a, b, …), and keeps them over a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-view-names-'));
    try {
      let engine = await createEngine({ autoStart: false, log: () => undefined, dataDir: dir });
      await engine.execute(`${A}; INSERT INTO a VALUES (1, 2, 'p'), (3, 4, NULL)`);
      await client.query(`DROP TABLE IF EXISTS a; ${A}; INSERT INTO a VALUES (1, 2, 'p'), (3, 4, NULL)`);
      const cases = ['m1(c1) AS SELECT * FROM a', 'm2(c1, c2, c3) AS SELECT * FROM a', 'm3(n, total) AS SELECT k, sum(x) FROM a GROUP BY k'];
      for (const c of cases) {
        await engine.execute(`CREATE MATERIALIZED VIEW ${c}`);
        await client.query(`CREATE TEMP VIEW ${c.replace(/^m/, 'pg')}`);
      }
      // More names than columns, and a name twice: PostgreSQL's SQLSTATEs.
      await expect(engine.execute('CREATE MATERIALIZED VIEW bad(p, q, r, s) AS SELECT * FROM a')).rejects.toMatchObject({ sqlstate: '42601' });
      await expect(engine.execute('CREATE MATERIALIZED VIEW bad(p, p) AS SELECT * FROM a')).rejects.toMatchObject({ sqlstate: '42701' });
      await engine.execute('FLUSH');
      const check = async () => {
        for (const [i] of cases.entries()) {
          const want = await pgAnswer(`SELECT * FROM pg${i + 1}`);
          const [got] = await engine.execute(`SELECT * FROM m${i + 1}`);
          if (got?.kind !== 'rows') throw new Error('no rows');
          expect(got.columns.map((c) => c.name)).toEqual(want.names);
          expect(got.rows.map((row) => textRow(row, got.columns.map((c) => c.type))).sort()).toEqual(want.rows);
        }
      };
      await check();
      await engine.close();
      engine = await createEngine({ autoStart: false, log: () => undefined, dataDir: dir });
      await check();
      await engine.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await client.query('DROP VIEW IF EXISTS pg1, pg2, pg3');
    }
  });

  it('answers INSERT / UPDATE / DELETE … RETURNING with the rows PostgreSQL gives, and keeps the view right', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await client.query(`DROP TABLE IF EXISTS a CASCADE; ${A}`);
      await engine.execute(`${A}; CREATE MATERIALIZED VIEW mv AS SELECT k, count(*) AS n, sum(x) AS s FROM a GROUP BY k`);
      const statements = [
        "INSERT INTO a VALUES (1, 1, 'p'), (2, 1, NULL), (3, 2, 'q') RETURNING x, v",
        'INSERT INTO a (x, k) VALUES (4, 2) RETURNING *',
        "UPDATE a SET x = x + 10 WHERE k = 1 RETURNING x, k AS key",
        "DELETE FROM a WHERE v = 'q' RETURNING k, v",
        'UPDATE a SET v = NULL WHERE x > 100 RETURNING x',
      ];
      for (const sql of statements) {
        const want = await client.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
        const [got] = await engine.execute(sql);
        if (got?.kind !== 'rows') throw new Error(`${sql}: no rows`);
        expect([sql, got.tag]).toEqual([sql, `${want.command}${want.command === 'INSERT' ? ' 0' : ''} ${want.rowCount}`]);
        expect(got.columns.map((c) => c.name)).toEqual(want.fields.map((f) => f.name));
        expect(got.rows.map((row) => textRow(row, got.columns.map((c) => c.type))).sort()).toEqual((want.rows as (string | null)[][]).map((row) => JSON.stringify(row)).sort());
      }
      await engine.execute('FLUSH');
      const view = await engine.viewRows('mv');
      const wantView = await pgAnswer('SELECT k, count(*) AS n, sum(x) AS s FROM a GROUP BY k');
      expect(view.map((r) => textRow(r, ['int', 'bigint', 'bigint'])).sort()).toEqual(wantView.rows);
    } finally {
      await engine.close();
    }
  });

  it('refuses USING columns that are missing, repeated or ambiguous as PostgreSQL does', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await engine.execute(`${A}; ${B}; CREATE TABLE c (k INT, k2 INT)`);
      await expect(engine.execute('CREATE MATERIALIZED VIEW m1 AS SELECT * FROM a JOIN b USING (zz)')).rejects.toMatchObject({ sqlstate: '42703', message: 'column "zz" specified in USING clause does not exist in left table' });
      await expect(engine.execute('CREATE MATERIALIZED VIEW m2 AS SELECT * FROM a JOIN b USING (v)')).rejects.toMatchObject({ sqlstate: '42703', message: 'column "v" specified in USING clause does not exist in right table' });
      await expect(engine.execute('CREATE MATERIALIZED VIEW m3 AS SELECT * FROM a JOIN b USING (k, k)')).rejects.toMatchObject({ sqlstate: '42701' });
      // a ⋈ b USING (x) keeps a.k and b.k apart: a third join on k finds two.
      await expect(engine.execute('CREATE MATERIALIZED VIEW m4 AS SELECT 1 AS one FROM a JOIN b USING (x) JOIN c USING (k)')).rejects.toMatchObject({ sqlstate: '42702', message: 'common column name "k" appears more than once in left table' });
      // … and the merged k of a ⋈ b USING (k) is one column.
      await engine.execute('CREATE MATERIALIZED VIEW m5 AS SELECT k, k2 FROM a JOIN b USING (k) JOIN c USING (k)');
      await expect(engine.execute('CREATE MATERIALIZED VIEW m6 AS SELECT * FROM a JOIN b USING (k)')).rejects.toMatchObject({ sqlstate: '42701', message: 'column "x" specified more than once' });
    } finally {
      await engine.close();
    }
  });
});
