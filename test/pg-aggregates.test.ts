/**
 * Differential oracle against the real PostgreSQL (127.0.0.1:5432, database `test`): aggregate
 * functions under retraction. A random table gets random INSERT/UPDATE/DELETE cut into random
 * epochs (FLUSH at random points, the view created at a random point); the view's final contents,
 * printed as PostgreSQL prints them, must equal PostgreSQL running the same SELECT over the same
 * final table. Floating-point results (variance, stddev, avg) are compared to 12 significant digits,
 * as PostgreSQL computes them in a different order (and in numeric for integer inputs).
 * fast-check shrinks a failure to a minimal script.
 */
import fc from 'fast-check';
import { parallelismArb } from './helpers.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../src/exec/runtime/engine.js';
import { formatValue } from '../src/common/values.js';
import type { Value } from '../src/common/types.js';
import { closeOracle, connectOracle } from './pg-oracle.js';

const SCHEMA = `sluice_agg_${process.pid}`;
const TABLE = 'CREATE TABLE obs (id INT, g INT, x INT, d DOUBLE PRECISION, s VARCHAR, b BOOLEAN)';

let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await client?.query('RESET search_path');
  await closeOracle(client, SCHEMA);
});

const str = (s: string | null) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 5 });
const sql = (v: string | number | boolean | null) => (v === null ? 'NULL' : typeof v === 'string' ? str(v) : String(v));

const id = fc.integer({ min: 0, max: 7 });
const g = opt(fc.integer({ min: 0, max: 2 }));
const x = opt(fc.integer({ min: -4, max: 6 }));
// Binary fractions, so sums are exact in doubles and in PostgreSQL alike.
const d = opt(fc.constantFrom(-2.5, -1, 0, 0.25, 1.5, 3, 1000.125));
const s = opt(fc.constantFrom('a', 'b', 'ab', 'B', '', 'a b', 'zz'));
const b = opt(fc.boolean());

const op = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(id, g, x, d, s, b).map((r) => `INSERT INTO obs VALUES (${r.map(sql).join(', ')})`) },
  { weight: 2, arbitrary: fc.tuple(id, x, s).map(([i, v, t]) => `UPDATE obs SET x = ${sql(v)}, s = ${sql(t)} WHERE id = ${i}`) },
  { weight: 1, arbitrary: fc.tuple(id, g, d, b).map(([i, k, v, t]) => `UPDATE obs SET g = ${sql(k)}, d = ${sql(v)}, b = ${sql(t)} WHERE id = ${i}`) },
  { weight: 3, arbitrary: id.map((i) => `DELETE FROM obs WHERE id = ${i}`) },
  { weight: 2, arbitrary: fc.constant('FLUSH') },
);

/**
 * Aggregate expressions: the text sluice runs, and the text PostgreSQL runs when it differs
 * (first_value/last_value are RisingWave's; PostgreSQL takes the end of an ordered array_agg).
 * Columns named f_* are compared as numbers to 12 significant digits.
 */
type Agg = { readonly ours: string; readonly pg?: string };
const AGGS: readonly Agg[] = [
  { ours: "string_agg(s, ',' ORDER BY s)" },
  { ours: "string_agg(s, '' ORDER BY s DESC)" },
  { ours: 'string_agg(s, s ORDER BY s NULLS FIRST)' },
  { ours: "string_agg(DISTINCT s, '-' ORDER BY s)" },
  { ours: "string_agg(s, ',' ORDER BY x, s) FILTER (WHERE b)" },
  { ours: 'array_agg(x ORDER BY x)' },
  { ours: 'array_agg(x ORDER BY x DESC NULLS LAST)' },
  { ours: 'array_agg(s ORDER BY s, x)' },
  { ours: 'array_agg(DISTINCT x ORDER BY x DESC)' },
  { ours: 'array_agg(DISTINCT s)' },
  { ours: 'array_agg(b ORDER BY b, id)' },
  { ours: 'array_agg(d ORDER BY d NULLS FIRST)' },
  { ours: 'bool_and(b)' },
  { ours: 'bool_or(b)' },
  { ours: 'every(b)' },
  { ours: 'bool_and(x > 0)' },
  { ours: 'bool_or(b) FILTER (WHERE x IS NOT NULL)' },
  { ours: 'bit_and(x)' },
  { ours: 'bit_or(x)' },
  { ours: 'bit_xor(x)' },
  { ours: 'bit_or(x::bigint * -3)' },
  { ours: 'bit_and(DISTINCT x) FILTER (WHERE b)' },
  { ours: 'stddev(x)' },
  { ours: 'stddev_samp(x)' },
  { ours: 'stddev_pop(x)' },
  { ours: 'variance(x)' },
  { ours: 'var_samp(d)' },
  { ours: 'var_pop(d)' },
  { ours: 'stddev_pop(d)' },
  { ours: 'var_pop(DISTINCT x)' },
  { ours: 'percentile_cont(0.5) WITHIN GROUP (ORDER BY x)' },
  { ours: 'percentile_cont(0.25) WITHIN GROUP (ORDER BY d DESC)' },
  { ours: 'percentile_cont(1) WITHIN GROUP (ORDER BY x)' },
  { ours: 'percentile_disc(0.5) WITHIN GROUP (ORDER BY x)' },
  { ours: 'percentile_disc(0) WITHIN GROUP (ORDER BY s)' },
  { ours: 'percentile_disc(0.75) WITHIN GROUP (ORDER BY s DESC)' },
  // A direct argument that is an expression, or NULL (node-sql-parser reads only a number there).
  { ours: 'percentile_disc(0.2 + 0.3) WITHIN GROUP (ORDER BY x)' },
  { ours: 'percentile_cont(NULL) WITHIN GROUP (ORDER BY x)' },
  { ours: 'percentile_cont((1 - 0.5)::float8) WITHIN GROUP (ORDER BY x DESC)' },
  { ours: 'mode() WITHIN GROUP (ORDER BY x)' },
  { ours: 'mode() WITHIN GROUP (ORDER BY s DESC)' },
  { ours: 'first_value(s ORDER BY x, s)', pg: '(array_agg(s ORDER BY x, s))[1]' },
  { ours: 'last_value(x ORDER BY s DESC, x)', pg: '(array_agg(x ORDER BY s, x DESC))[1]' },
  { ours: 'first_value(x ORDER BY x DESC)', pg: '(array_agg(x ORDER BY x DESC))[1]' },
  { ours: 'count(*)' },
  { ours: 'count(DISTINCT s)' },
  { ours: 'sum(x)' },
  { ours: 'min(s)' },
  { ours: 'max(d)' },
  { ours: 'avg(x)' },
];
const APPROX = /^(stddev|variance|var_|avg|percentile_cont\(0\.25)/;

const query = fc.record({
  aggs: fc.uniqueArray(fc.constantFrom(...AGGS), { minLength: 1, maxLength: 4 }),
  grouped: fc.boolean(),
  having: fc.boolean(),
});

function texts(q: { aggs: readonly Agg[]; grouped: boolean; having: boolean }): { ours: string; pg: string } {
  const cols = (pick: (a: Agg) => string) =>
    q.aggs.map((a, i) => `${pick(a)} AS ${APPROX.test(a.ours) ? 'f' : 'c'}${i}`).join(', ');
  const tail = q.grouped ? ` GROUP BY g${q.having ? ' HAVING count(*) > 1' : ''}` : '';
  const key = q.grouped ? 'g, ' : '';
  return { ours: `SELECT ${key}${cols((a) => a.ours)} FROM obs${tail}`, pg: `SELECT ${key}${cols((a) => a.pg ?? a.ours)} FROM obs${tail}` };
}

const scenario = fc.record({ before: fc.array(op, { maxLength: 6 }), after: fc.array(op, { maxLength: 14 }), query, parallelism: parallelismArb });

function approx(v: string | null): string | null {
  return v === null ? null : Number(v).toPrecision(12);
}

function normalize(rows: (string | null)[][], names: readonly string[]): string[] {
  return rows.map((r) => JSON.stringify(r.map((v, i) => (names[i]!.startsWith('f') ? approx(v) : v)))).sort();
}

async function runScenario(sc: { before: string[]; after: string[]; query: { aggs: readonly Agg[]; grouped: boolean; having: boolean }; parallelism?: number }): Promise<void> {
  const q = texts(sc.query);
  const engine = await createEngine({ autoStart: false, log: () => undefined, parallelism: sc.parallelism ?? 1 });
  try {
    await client.query(`DROP TABLE IF EXISTS obs; ${TABLE}`);
    await engine.execute(TABLE);
    const apply = async (stmt: string) => {
      await engine.execute(stmt);
      if (stmt !== 'FLUSH') await client.query(stmt);
    };
    for (const stmt of sc.before) await apply(stmt);
    await engine.execute(`CREATE MATERIALIZED VIEW mv AS ${q.ours}`);
    for (const stmt of sc.after) await apply(stmt);
    await engine.execute('FLUSH');
    const view = await engine.viewRows('mv');
    const schema = engine.catalog.relation('mv').schema;
    const got = view.map((r: readonly Value[]) => r.map((v, i) => formatValue(v, schema[i]!.type)));
    const r = await client.query({ text: q.pg, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    const names = r.fields.map((f) => f.name);
    expect(normalize(got, names)).toEqual(normalize(r.rows as (string | null)[][], names));
  } finally {
    await engine.close();
  }
}

describe('differential: aggregates vs PostgreSQL over the final table', () => {
  it('random rows, random DML in random epochs, random aggregate queries (200 cases)', async () => {
    await fc.assert(fc.asyncProperty(scenario, (sc) => runScenario(sc)), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? 200), verbose: 1 });
  }, 600_000);

  it('a deleted row leaves string_agg, array_agg and the percentiles', async () => {
    await runScenario({
      before: ["INSERT INTO obs VALUES (1, 0, 5, 1.5, 'b', true)", "INSERT INTO obs VALUES (2, 0, 1, 3, 'a', false)", 'FLUSH'],
      after: ['DELETE FROM obs WHERE id = 2', 'FLUSH', "UPDATE obs SET x = 2, s = 'c' WHERE id = 1"],
      query: { aggs: [AGGS[0]!, AGGS[5]!, AGGS[25]!, AGGS[31]!, AGGS[12]!], grouped: true, having: false },
    });
  });

  it('every aggregate at once over one script', async () => {
    const rows = ["INSERT INTO obs VALUES (1, 0, 5, 1.5, 'b', true)", "INSERT INTO obs VALUES (2, 0, 1, 3, 'a', false)", "INSERT INTO obs VALUES (3, 1, NULL, -2.5, NULL, NULL)", "INSERT INTO obs VALUES (4, 0, 5, 0.25, 'a b', true)"];
    for (let i = 0; i < AGGS.length; i += 8) {
      await runScenario({ before: rows.slice(0, 2), after: [...rows.slice(2), 'FLUSH', 'DELETE FROM obs WHERE id = 1', "UPDATE obs SET s = '' WHERE id = 2"], query: { aggs: AGGS.slice(i, i + 8), grouped: i % 16 === 0, having: false } });
    }
  });
});
