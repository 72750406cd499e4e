/**
 * Differential oracle against the real PostgreSQL (127.0.0.1:5432, database `test`): set-returning
 * functions and arrays. A random table of lines and arrays gets random INSERT/UPDATE/DELETE cut
 * into random epochs (FLUSH at random points, the view created at a random point); the view's
 * final contents, printed as PostgreSQL prints them, must equal PostgreSQL running the same
 * SELECT over the same final table (replayed into a scratch schema, dropped afterwards).
 * fast-check shrinks a failure to a minimal script.
 */
import fc from 'fast-check';
import { parallelismArb } from './helpers.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../src/exec/runtime/engine.js';
import { closeOracle, connectOracle, textRow, oracleRows } from './pg-oracle.js';

const SCHEMA = `sluice_srf_${process.pid}`;
const TABLE = 'CREATE TABLE lines (id INT, line VARCHAR, tags VARCHAR[], n INT, nums INT[])';

let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await closeOracle(client, SCHEMA);
});

const WORDS = ['a', 'b', 'ab', 'the', 'x', 'A'];
const SEPS = [' ', '  ', ',', ', '];
const str = (s: string | null) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`);

const line = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 5 }), fc.constantFrom(...SEPS), fc.constantFrom('', ' ', ',')).map(([ws, sep, edge]) => `${edge}${ws.join(sep)}${edge === ',' ? '' : edge}`) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constant(null) },
);
const tags = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.option(fc.constantFrom(...WORDS, 'a b', ''), { nil: null, freq: 6 }), { maxLength: 4 }).map((xs) => (xs.length === 0 ? 'ARRAY[]::VARCHAR[]' : `ARRAY[${xs.map(str).join(', ')}]::VARCHAR[]`)) },
  { weight: 1, arbitrary: fc.constant('NULL') },
);
const nums = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.option(fc.integer({ min: -3, max: 3 }), { nil: null, freq: 6 }), { maxLength: 4 }).map((xs) => (xs.length === 0 ? 'ARRAY[]::INT[]' : `ARRAY[${xs.map((x) => (x === null ? 'NULL' : String(x))).join(', ')}]::INT[]`)) },
  { weight: 1, arbitrary: fc.constant('NULL') },
);
const n = fc.option(fc.integer({ min: -2, max: 5 }), { nil: null, freq: 6 });
const id = fc.integer({ min: 0, max: 5 });

const op = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(id, line, tags, n, nums).map(([i, l, t, k, a]) => `INSERT INTO lines VALUES (${i}, ${str(l)}, ${t}, ${k ?? 'NULL'}, ${a})`) },
  { weight: 1, arbitrary: fc.tuple(id, nums).map(([i, a]) => `UPDATE lines SET nums = ${a} WHERE id = ${i}`) },
  { weight: 2, arbitrary: fc.tuple(id, line).map(([i, l]) => `UPDATE lines SET line = ${str(l)} WHERE id = ${i}`) },
  { weight: 1, arbitrary: fc.tuple(id, tags, n).map(([i, t, k]) => `UPDATE lines SET tags = ${t}, n = ${k ?? 'NULL'} WHERE id = ${i}`) },
  { weight: 2, arbitrary: id.map((i) => `DELETE FROM lines WHERE id = ${i}`) },
  { weight: 2, arbitrary: fc.constant('FLUSH') },
);

const delim = fc.constantFrom("' '", "','", "''", 'NULL', "'ab'", "', '");
const pattern = fc.constantFrom("'\\s+'", "','", "' '", "'[ ,]+'", "'b'", "',\\s*'");

/** Queries of the family: unnest in FROM and the select list, splits, series, ORDINALITY, LATERAL, grouped counts. */
const query = fc.oneof(
  delim.map((d) => `SELECT w, count(*) AS c FROM (SELECT unnest(string_to_array(line, ${d})) AS w FROM lines) s GROUP BY w`),
  delim.map((d) => `SELECT id, w FROM lines, unnest(string_to_array(line, ${d})) AS w`),
  delim.map((d) => `SELECT id, w, o FROM lines, string_to_table(line, ${d}, 'x') WITH ORDINALITY AS s(w, o)`),
  delim.map((d) => `SELECT id, unnest(tags) AS t, unnest(string_to_array(line, ${d})) AS w FROM lines`),
  fc.constantFrom('generate_series(1, n)', 'generate_series(n, 1, -1)', 'generate_series(0, n, 2)', 'generate_series(id, n)').map((g) => `SELECT id, g FROM lines, ${g} AS g`),
  fc.constantFrom('CROSS JOIN LATERAL', ',').map((j) => `SELECT id, w, o FROM lines ${j} unnest(tags) WITH ORDINALITY AS u(w, o)`),
  pattern.map((p) => `SELECT id, w FROM lines LEFT JOIN LATERAL regexp_split_to_table(line, ${p}) AS w ON true`),
  pattern.map((p) => `SELECT id, regexp_split_to_table(line, ${p}) AS w, n FROM lines WHERE n IS NOT NULL`),
  delim.map((d) => `SELECT w, count(*) AS c, sum(n) AS s FROM lines CROSS JOIN LATERAL (SELECT unnest(string_to_array(line, ${d})) AS w) s GROUP BY w`),
  fc.constant('SELECT id, tags[1] AS f, tags[n] AS g, cardinality(tags) AS c, array_length(tags, 1) AS l, \'a\' = ANY(tags) AS has_a, \'a\' <> ALL(tags) AS no_a FROM lines'),
  fc.tuple(pattern, delim).map(([p, d]) => `SELECT id, regexp_split_to_array(line, ${p}) AS parts, string_to_array(line, ${d}, 'x') AS arr FROM lines`),
  fc.constant("SELECT id, ts FROM lines, generate_series(TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 00:00:00' + n * INTERVAL '1 hour', INTERVAL '30 minutes') AS ts"),
  fc.constant("SELECT id, w FROM lines LEFT JOIN LATERAL unnest(tags) AS w ON true WHERE id > 1"),
  fc.constant('SELECT x, count(*) AS c, sum(x) AS s FROM lines, unnest(nums) AS x GROUP BY x'),
  fc.constant('SELECT nums, count(*) AS c FROM lines GROUP BY nums'),
  delim.map((d) => `SELECT w, count(*) AS c FROM lines, unnest(tags || string_to_array(line, ${d})) AS w GROUP BY w`),
  fc.constant('SELECT id, nums || n AS a, n || nums AS b, nums || nums AS c FROM lines'),
  fc.constant('SELECT DISTINCT tags FROM lines'),
  fc.constantFrom('ASC', 'DESC').map((dir) => `SELECT id, nums FROM lines ORDER BY nums ${dir}, id LIMIT 3`),
  fc.constant('SELECT id, nums[2] AS second, 0 = ANY(nums) AS has0, 0 < ALL(nums) AS pos, cardinality(nums) AS c, nums FROM lines'),
  fc.constant('SELECT id, unnest(nums) AS x, unnest(tags) AS t, generate_series(1, n) AS g FROM lines'),
  fc.constant('SELECT id, x, t, o FROM lines, unnest(nums, tags) WITH ORDINALITY AS u(x, t, o)'),
  fc.constant('SELECT g, o, count(*) AS c FROM lines CROSS JOIN LATERAL generate_series(1, n) WITH ORDINALITY AS s(g, o) GROUP BY g, o'),
  fc.constant('SELECT id, s.w, s.l FROM lines, LATERAL (SELECT unnest(tags) AS w, length(line) AS l) s'),
  fc.constant("SELECT u.w, count(*) AS c FROM lines JOIN LATERAL unnest(string_to_array(line, ' ')) AS u(w) ON u.w <> 'x' GROUP BY u.w"),
);

const scenario = fc.record({ before: fc.array(op, { maxLength: 6 }), after: fc.array(op, { maxLength: 12 }), query, parallelism: parallelismArb });

/** A row as PostgreSQL's text output prints it. */
async function runScenario(s: { before: string[]; after: string[]; query: string; parallelism?: number }): Promise<void> {
  const engine = await createEngine({ autoStart: false, log: () => undefined, parallelism: s.parallelism ?? 1 });
  try {
    await client.query(`DROP TABLE IF EXISTS lines; ${TABLE}`);
    await engine.execute(TABLE);
    const apply = async (stmt: string) => {
      await engine.execute(stmt);
      if (stmt !== 'FLUSH') await client.query(stmt);
    };
    for (const stmt of s.before) await apply(stmt);
    await engine.execute(`CREATE MATERIALIZED VIEW mv AS ${s.query}`);
    for (const stmt of s.after) await apply(stmt);
    await engine.execute('FLUSH');
    const view = await engine.viewRows('mv');
    const types = engine.catalog.relation('mv').schema.map((f) => f.type);
    const got = view.map((r) => textRow(r, types)).sort();
    expect(got).toEqual(await oracleRows(client, s.query));
  } finally {
    await engine.close();
  }
}

describe('differential: set-returning functions and arrays vs PostgreSQL over the final table', () => {
  it('random lines and arrays, random DML in random epochs, random SRF queries (200 cases)', async () => {
    await fc.assert(fc.asyncProperty(scenario, (s) => runScenario(s)), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? 200), verbose: 1 });
  }, 600_000);

  it('a deleted line retracts its words', async () => {
    await runScenario({
      before: ["INSERT INTO lines VALUES (1, 'the cat the hat', NULL, 1, NULL)", "INSERT INTO lines VALUES (2, 'the dog', NULL, 2, NULL)", 'FLUSH'],
      after: ['DELETE FROM lines WHERE id = 1', 'FLUSH', "UPDATE lines SET line = 'a dog' WHERE id = 2"],
      query: "SELECT w, count(*) AS c FROM (SELECT unnest(string_to_array(line, ' ')) AS w FROM lines) s GROUP BY w",
    });
  });
});
