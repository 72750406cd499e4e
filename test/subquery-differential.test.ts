/**
 * Differential oracle against the real PostgreSQL (127.0.0.1:5432, database `test`): subqueries
 * (EXISTS, IN, NOT IN, ANY/ALL, scalar subqueries; correlated and not; in WHERE, the select list
 * and HAVING) and PostgreSQL's grouping rules. Two random tables with NULLs on both sides get
 * random INSERT/UPDATE/DELETE cut into random epochs (FLUSH at random points, the view created at
 * a random point); the view's final contents must equal PostgreSQL running the same SELECT over
 * the same final tables. In the "stream" variant the inner table is APPEND ONLY (inserts only),
 * in the "streams" variant both are (and t has no primary key).
 * The same SELECT run ad hoc (in DuckDB) must answer as PostgreSQL does too.
 * fast-check shrinks a failure to a minimal script.
 */
import fc from 'fast-check';
import { parallelismArb } from './helpers.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../src/exec/runtime/engine.js';
import { closeOracle, connectOracle, textRow } from './pg-oracle.js';

const SCHEMA = `sluice_subq_${process.pid}`;
const T = 'CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR)';
const U = 'CREATE TABLE u (k INT, y INT, z VARCHAR)';

let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await closeOracle(client, SCHEMA);
});

const str = (s: string | null) => (s === null ? 'NULL' : `'${s}'`);
const int = (x: number | null) => (x === null ? 'NULL' : String(x));
const small = fc.option(fc.integer({ min: -1, max: 4 }), { nil: null, freq: 5 });
const word = fc.option(fc.constantFrom('p', 'q', 'r'), { nil: null, freq: 5 });
const id = fc.integer({ min: 0, max: 5 });

// t has a primary key: an insert replaces the row with its key (DELETE then INSERT in both systems).
const tOp = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(id, small, word).map(([i, a, b]) => [`DELETE FROM t WHERE id = ${i}`, `INSERT INTO t VALUES (${i}, ${int(a)}, ${str(b)})`]) },
  { weight: 1, arbitrary: fc.tuple(id, small).map(([i, a]) => [`UPDATE t SET a = ${int(a)} WHERE id = ${i}`]) },
  { weight: 1, arbitrary: id.map((i) => [`DELETE FROM t WHERE id = ${i}`]) },
);
const uInsert = fc.tuple(small, small, word).map(([k, y, z]) => [`INSERT INTO u VALUES (${int(k)}, ${int(y)}, ${str(z)})`]);
const uOp = fc.oneof(
  { weight: 4, arbitrary: uInsert },
  { weight: 1, arbitrary: fc.tuple(small, small).map(([k, y]) => [`UPDATE u SET y = ${int(y)} WHERE k = ${int(k ?? 0)}`]) },
  { weight: 1, arbitrary: small.map((k) => [`DELETE FROM u WHERE ${k === null ? 'k IS NULL' : `k = ${k}`}`]) },
);
const flush = fc.constant(['FLUSH']);
const tInsert = fc.tuple(id, small, word).map(([i, a, b]) => [`INSERT INTO t VALUES (${i}, ${int(a)}, ${str(b)})`]);
/** Mode 'tables': both tables take any DML; 'stream': u is APPEND ONLY; 'streams': both are (no primary key on t). */
type Mode = 'tables' | 'stream' | 'streams';
const ops = (mode: Mode) => fc.array(fc.oneof({ weight: 3, arbitrary: mode === 'streams' ? tInsert : tOp }, { weight: 3, arbitrary: mode === 'tables' ? uOp : uInsert }, { weight: 2, arbitrary: flush }), { maxLength: 12 }).map((xs) => xs.flat());

const cmp = fc.constantFrom('=', '<>', '<', '<=', '>', '>=');
const quant = fc.constantFrom('ANY', 'SOME', 'ALL');
const not = fc.constantFrom('', 'NOT ');
/** A correlation of u with the outer t (or none). */
const corr = fc.constantFrom('', 'WHERE u.k = t.a', 'WHERE u.k = t.id', 'WHERE k = a', 'WHERE u.k = t.a AND u.y IS NOT NULL', 'WHERE u.k = t.id + 1', 'WHERE y > 0',
  // Correlated otherwise than by equalities: decorrelated over the outer values' domain.
  'WHERE u.k = t.a AND u.y <> t.id', 'WHERE u.y < t.a', 'WHERE u.k = t.a OR u.y = t.id', 'WHERE u.y BETWEEN t.a AND t.id', 'WHERE u.z <> t.b AND u.k IS NOT NULL');
const scalarAgg = fc.constantFrom('count(*)', 'count(y)', 'sum(y)', 'max(y)', 'min(z)', 'count(*) + 1', 'coalesce(sum(y), -1)', 'count(DISTINCT y)', 'avg(y)');

/** Queries valid in PostgreSQL through a functional dependency on t's primary key. */
const FUNCTIONAL_DEPENDENCY = ['SELECT * FROM t GROUP BY id', 'SELECT id, a, b, count(*) AS n FROM t GROUP BY 1', 'SELECT t.id, b FROM t GROUP BY id', 'SELECT b, count(*) AS n FROM t GROUP BY id HAVING a > 0'];

/** Queries of the family. */
const query = fc.oneof(
  fc.tuple(not, corr).map(([n, c]) => `SELECT id, a FROM t WHERE ${n}EXISTS (SELECT 1 FROM u ${c})`),
  fc.tuple(not, corr).map(([n, c]) => `SELECT id, ${n}EXISTS (SELECT y FROM u ${c}) AS e FROM t`),
  fc.tuple(not, corr).map(([n, c]) => `SELECT id FROM t WHERE a ${n}IN (SELECT y FROM u ${c})`),
  fc.tuple(not, corr).map(([n, c]) => `SELECT id, a ${n}IN (SELECT y FROM u ${c}) AS r FROM t`),
  fc.tuple(not, corr).map(([n, c]) => `SELECT id, b ${n}IN (SELECT z FROM u ${c}) AS r FROM t`),
  fc.tuple(cmp, quant, corr).map(([o, q, c]) => `SELECT id, a ${o} ${q} (SELECT y FROM u ${c}) AS r FROM t`),
  fc.tuple(cmp, quant, corr).map(([o, q, c]) => `SELECT id FROM t WHERE a ${o} ${q} (SELECT y FROM u ${c})`),
  fc.tuple(scalarAgg, corr).map(([f, c]) => `SELECT id, (SELECT ${f} FROM u ${c}) AS s FROM t`),
  fc.tuple(cmp, scalarAgg, corr).map(([o, f, c]) => `SELECT id, a FROM t WHERE a ${o} (SELECT ${f} FROM u ${c})`),
  fc.tuple(cmp, corr).map(([o, c]) => `SELECT a, count(*) AS n FROM t GROUP BY a HAVING count(*) ${o} (SELECT count(*) FROM u ${c.replace(/t\.id/g, 't.a')})`),
  fc.tuple(not).map(([n]) => `SELECT a, count(*) AS n FROM t GROUP BY a HAVING a ${n}IN (SELECT y FROM u)`),
  fc.tuple(scalarAgg).map(([f]) => `SELECT a, count(*) AS n, (SELECT ${f} FROM u WHERE u.k = t.a) AS s FROM t GROUP BY a`),
  fc.constantFrom('', 'NOT ').map((n) => `SELECT id FROM t WHERE a > 1 OR ${n}EXISTS (SELECT 1 FROM u WHERE u.k = t.id)`),
  fc.constant('SELECT k, y, (SELECT b FROM t WHERE t.id = u.k) AS b FROM u'),
  fc.constant('SELECT k, (SELECT a FROM t WHERE t.id = 2) AS a2 FROM u'),
  fc.constant('SELECT id FROM t WHERE a IN (SELECT y FROM u WHERE EXISTS (SELECT 1 FROM t t2 WHERE t2.id = u.k))'),
  fc.constant('SELECT id, (SELECT count(*) FROM u WHERE u.k = t.a AND u.y IN (SELECT a FROM t t3)) AS c FROM t'),
  fc.constant('SELECT DISTINCT a FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.a AND u.z = t.b)'),
  fc.constant('SELECT id, a NOT IN (SELECT y FROM u WHERE y IS NOT NULL) AS r, a IN (SELECT k FROM u GROUP BY k HAVING count(*) > 1) AS m FROM t'),
  fc.constant('SELECT id, (SELECT max(y) FROM u WHERE u.k = t.a) - (SELECT min(y) FROM u WHERE u.k = t.a) AS spread FROM t'),
  fc.constant('SELECT id, b FROM t WHERE a = (SELECT max(k) FROM u)'),
  fc.constant('SELECT id, a FROM t WHERE (SELECT count(*) FROM u WHERE u.k = t.a) >= 2'),
  fc.constant('SELECT id, EXISTS (SELECT 1 FROM u WHERE u.k = t.a AND u.y = t.id) AS e FROM t'),
  fc.constant('SELECT id FROM t WHERE a IN (SELECT y FROM u UNION SELECT k FROM u)'),
  fc.constant('SELECT id, a IN (SELECT y FROM u WHERE u.k = t.id GROUP BY y HAVING count(*) > 1) AS r FROM t'),
  fc.constant('SELECT id, (SELECT count(*) FROM u WHERE u.k = t.id HAVING count(*) > 1) AS c FROM t'),
  fc.constant('SELECT id, (SELECT DISTINCT y FROM u WHERE u.k = t.a AND u.y IS NOT NULL AND u.y = t.id) AS c FROM t'),
  fc.constant('SELECT id, (SELECT sum(y) FILTER (WHERE y > 0) FROM u WHERE u.k = t.id) AS c FROM t'),
  fc.constant('SELECT id FROM t WHERE a IN (SELECT u.y FROM u JOIN t t2 ON t2.id = u.k WHERE t2.b = t.b)'),
  fc.constant('SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE 1 = t.a) OR a IS NULL'),
  fc.constant('SELECT id FROM t WHERE EXISTS (SELECT 1 FROM t t2 WHERE t2.a = t.a AND t2.id <> t.id)'),
  // (With LEFT JOIN there, a one-shot SELECT fails in DuckDB: non-inner join on correlated columns.)
  fc.constant('SELECT id, (SELECT count(*) FROM u JOIN t t2 ON t2.id = u.k AND t2.a = t.a WHERE u.y = t.id) AS c FROM t'),
  fc.constant('SELECT id, s.c FROM t, LATERAL (SELECT (SELECT count(*) FROM u) AS c) s'),
  fc.constant("SELECT id FROM t WHERE b IN (SELECT 'p' UNION ALL SELECT z FROM u WHERE y > 1)"),
  fc.constant('SELECT id, (SELECT y FROM u WHERE u.k = t.id) + 1 AS p FROM t WHERE (SELECT y FROM u WHERE u.k = t.id) IS NOT NULL'),
  // PostgreSQL's grouping rules
  fc.constantFrom(...FUNCTIONAL_DEPENDENCY),
  fc.constant('SELECT a + 1 AS x, count(*) AS n FROM t GROUP BY x'),
  fc.constant('SELECT b, count(*) AS n FROM t GROUP BY 1 ORDER BY 1'),
  fc.constant('SELECT y AS k, count(*) AS n FROM u GROUP BY k'), // k is u.k (input first): y ungrouped, 42803
  fc.constant('SELECT y AS w, count(*) AS n FROM u GROUP BY w'),
  fc.constant('SELECT y + k AS k, count(*) AS n FROM u GROUP BY y + k'),
  fc.constant('SELECT t.a, count(*) AS n FROM t GROUP BY a'),
  fc.constant('SELECT a, max(b) AS m FROM t GROUP BY t.a, 1'),
);

const scenario = (mode: Mode) => fc.record({ before: ops(mode), after: ops(mode), query, parallelism: parallelismArb });

async function pgRows(sql: string): Promise<string[]> {
  const r = await client.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
  return (r.rows as (string | null)[][]).map((row) => JSON.stringify(row.map((v) => (v !== null && /^-?\d+\.\d+$/.test(v) ? String(Number(Number(v).toPrecision(12))) : v)))).sort();
}

/** Doubles (avg) compared to 12 significant digits; PostgreSQL's numeric avg prints more. */
function normalize(rows: string[]): string[] {
  return rows.map((r) => JSON.stringify((JSON.parse(r) as (string | null)[]).map((v) => (v !== null && /^-?\d+(\.\d+)?(e[-+]\d+)?$/.test(v) && v.includes('.') ? String(Number(Number(v).toPrecision(12))) : v)))).sort();
}

async function runScenario(s: { before: string[]; after: string[]; query: string; parallelism?: number }, mode: Mode): Promise<void> {
  const engine = await createEngine({ autoStart: false, log: () => undefined, parallelism: s.parallelism ?? 1 });
  const t = mode === 'streams' ? T.replace(' PRIMARY KEY', '') : T;
  try {
    await client.query(`DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS u; ${t}; ${U}`);
    await engine.execute(mode === 'streams' ? `${t} APPEND ONLY` : t);
    await engine.execute(mode === 'tables' ? U : `${U} APPEND ONLY`);
    const apply = async (stmt: string) => {
      await engine.execute(stmt);
      if (stmt !== 'FLUSH') await client.query(stmt);
    };
    // A query PostgreSQL refuses (over the empty tables) must be refused with the same SQLSTATE.
    const refused = await client.query(s.query).then(() => null, (e: { code?: string }) => e.code ?? 'error');
    if (refused !== null) {
      await expect(engine.execute(`CREATE MATERIALIZED VIEW mv AS ${s.query}`)).rejects.toMatchObject({ sqlstate: refused });
      return;
    }
    for (const stmt of s.before) await apply(stmt);
    await engine.execute(`CREATE MATERIALIZED VIEW mv AS ${s.query}`);
    for (const stmt of s.after) await apply(stmt);
    await engine.execute('FLUSH');
    let want: string[] | null = null;
    try {
      want = normalize(await pgRows(s.query));
    } catch (e) {
      // More than one row from a scalar subquery: PostgreSQL refuses the query; the view has NULL there.
      if ((e as { code?: string }).code !== '21000') throw e;
    }
    const view = await engine.viewRows('mv');
    const types = engine.catalog.relation('mv').schema.map((f) => f.type);
    const got = normalize(view.map((r) => textRow(r, types)));
    if (want !== null) expect(got).toEqual(want);
    // DuckDB does not know functional dependencies (GROUP BY a primary key): those run only as views.
    if (FUNCTIONAL_DEPENDENCY.includes(s.query)) return;
    const adhoc = await engine.execute(s.query).then(
      ([r]) => (r?.kind === 'rows' ? normalize(r.rows.map((row) => textRow(row, r.columns.map((c) => c.type)))) : []),
      (e: { sqlstate?: string }) => e.sqlstate ?? 'error',
    );
    expect(adhoc).toEqual(want ?? '21000');
  } finally {
    await engine.close();
  }
}

describe('differential: subqueries and grouping vs PostgreSQL over the final tables', () => {
  it('random tables, random DML in random epochs, random subquery queries (200 cases)', async () => {
    await fc.assert(fc.asyncProperty(scenario('tables'), (s) => runScenario(s, 'tables')), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? 200), verbose: 1 });
  }, 900_000);

  it('the inner table a stream (APPEND ONLY, inserts only) (100 cases, 50 in CI)', async () => {
    await fc.assert(fc.asyncProperty(scenario('stream'), (s) => runScenario(s, 'stream')), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? (process.env.CI ? 50 : 100)), verbose: 1 });
  }, 900_000);

  it('both tables streams (APPEND ONLY, no primary key) (100 cases, 50 in CI)', async () => {
    await fc.assert(fc.asyncProperty(scenario('streams'), (s) => runScenario(s, 'streams')), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? (process.env.CI ? 50 : 100)), verbose: 1 });
  }, 900_000);
});
