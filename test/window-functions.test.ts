/**
 * Window functions over partitions (`f(…) OVER (PARTITION BY … ORDER BY … frame)`), checked
 * against the real PostgreSQL (127.0.0.1:5432, database `test`): a random table gets random
 * INSERT/UPDATE/DELETE cut into random epochs (FLUSH at random points, the view created at a
 * random point); the view's final contents, printed as PostgreSQL prints them, must equal
 * PostgreSQL running the same SELECT over the same final table. fast-check shrinks a failure.
 *
 * Determinism: PostgreSQL orders peers (rows equal in the window's ORDER BY) arbitrarily, so
 * functions that see the order within peers (row_number, lag/lead, ntile, first/last/nth_value,
 * ROWS frames) are only generated over an ORDER BY ending in the unique `id`; over an ORDER BY
 * with ties only peer-invariant functions (rank, dense_rank, percent_rank, cume_dist, and
 * aggregates over RANGE frames) are. `d` holds multiples of 0.25, so double sums are exact in
 * any order; string orderings are avoided (PostgreSQL's collation is not sluice's byte order).
 *
 * Also here: frame and error unit checks (PostgreSQL's SQLSTATEs), a window operator's state
 * surviving a checkpoint and restore, and the top-N rewrite kept for ROW_NUMBER() … rn <= N.
 */
import fc from 'fast-check';
import { parallelismArb } from './helpers.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { closeOracle, connectOracle, textRow, oracleRows } from './pg-oracle.js';

const SCHEMA = `sluice_winfn_${process.pid}`;
const TABLE = 'CREATE TABLE w (id INT, k INT, g VARCHAR, v INT, d DOUBLE PRECISION, ts TIMESTAMP)';

let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await closeOracle(client, SCHEMA);
});

const lit = (v: number | string | null) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));
const K = fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 6 });
const G = fc.option(fc.constantFrom('a', 'b', 'ab', 'c'), { nil: null, freq: 6 });
const V = fc.option(fc.integer({ min: -5, max: 9 }), { nil: null, freq: 6 });
const D = fc.option(fc.integer({ min: -40, max: 40 }).map((x) => x / 4), { nil: null, freq: 6 });
const TS = fc.option(fc.integer({ min: 0, max: 12 }).map((h) => `TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '${h * 30} minutes'`), { nil: null, freq: 6 });

/** DML; `#` in an INSERT is replaced by a fresh id, so ids stay unique. */
const op = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(K, G, V, D, TS), { minLength: 1, maxLength: 4 }).map((rs) => `INSERT INTO w VALUES ${rs.map(([k, g, v, d, ts]) => `(#, ${lit(k)}, ${lit(g)}, ${lit(v)}, ${lit(d)}, ${ts ?? 'NULL'})`).join(', ')}`) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 12 }), V, K).map(([i, v, k]) => `UPDATE w SET v = ${lit(v)}, k = ${lit(k)} WHERE id % 13 = ${i}`) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: -2, max: 2 }), D).map(([x, d]) => `UPDATE w SET v = v + ${x}, d = ${lit(d)} WHERE v > 2`) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `DELETE FROM w WHERE id % 6 = ${i}`) },
  { weight: 2, arbitrary: fc.constant('FLUSH') },
);

const PARTITION = ['', 'PARTITION BY k ', 'PARTITION BY g ', 'PARTITION BY k, g ', 'PARTITION BY v % 2 '];
/** Orders ending in the unique id: every function is deterministic over them. */
const UNIQUE_ORDER = ['ORDER BY id', 'ORDER BY v, id', 'ORDER BY v DESC, id', 'ORDER BY v NULLS FIRST, id DESC', 'ORDER BY d DESC NULLS LAST, id', 'ORDER BY ts, id'];
/** Orders with ties: only peer-invariant functions over them. */
const TIED_ORDER = ['ORDER BY v', 'ORDER BY v DESC', 'ORDER BY v NULLS FIRST', 'ORDER BY k, v', 'ORDER BY d DESC NULLS LAST', ''];

const ROWS_FRAMES = [
  'ROWS BETWEEN 1 PRECEDING AND CURRENT ROW',
  'ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING',
  'ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING',
  'ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING',
  'ROWS UNBOUNDED PRECEDING',
  'ROWS 2 PRECEDING',
  'ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING',
  'ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING',
  'ROWS BETWEEN 0 PRECEDING AND 0 FOLLOWING',
];
const RANGE_FRAMES = [
  '',
  'RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW',
  'RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING',
  'RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING',
  'RANGE CURRENT ROW',
];
/** RANGE frames with offsets, for an ORDER BY over v (one key). */
const RANGE_OFFSET_FRAMES = ['RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING', 'RANGE BETWEEN 1 PRECEDING AND CURRENT ROW', 'RANGE BETWEEN CURRENT ROW AND 3 FOLLOWING', 'RANGE 1 PRECEDING', 'RANGE BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING', 'RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING'];

const AGGS = ['sum(v)', 'count(*)', 'count(v)', 'min(v)', 'max(v)', 'avg(d)', 'sum(d)', 'max(ts)', 'min(g)'];
/** Functions that see the order within peers (need a unique ORDER BY). */
const ORDERED = ['row_number()', 'lag(v)', 'lag(v, 2, -1)', 'lead(v)', 'lead(d, 1, 0.5)', 'lag(g, 1, \'none\')', 'ntile(3)', 'ntile(2)', 'first_value(v)', 'last_value(v)', 'nth_value(v, 2)', 'first_value(g)'];
const PEER_INVARIANT = ['rank()', 'dense_rank()', 'percent_rank()', 'cume_dist()'];

const windowCalls = fc.oneof(
  // Any function over a unique order, aggregates and value functions with ROWS or RANGE frames.
  fc.tuple(fc.constantFrom(...PARTITION), fc.constantFrom(...UNIQUE_ORDER), fc.subarray([...ORDERED, ...PEER_INVARIANT, ...AGGS], { minLength: 1, maxLength: 4 }), fc.constantFrom(...ROWS_FRAMES, ...RANGE_FRAMES)).map(([p, o, fns, frame]) =>
    fns.map((f) => `${f} OVER (${p}${o}${/^(sum|count|min|max|avg|first_value|last_value|nth_value)/.test(f) && frame ? ` ${frame}` : ''})`),
  ),
  // Peer-invariant functions and RANGE-framed aggregates over an order with ties.
  fc.tuple(fc.constantFrom(...PARTITION), fc.constantFrom(...TIED_ORDER), fc.subarray([...PEER_INVARIANT, ...AGGS], { minLength: 1, maxLength: 4 }), fc.constantFrom(...RANGE_FRAMES)).map(([p, o, fns, frame]) =>
    fns.map((f) => `${f} OVER (${p}${o}${AGGS.includes(f) && frame ? ` ${frame}` : ''})`),
  ),
  // RANGE offsets over v (ascending or descending).
  fc.tuple(fc.constantFrom(...PARTITION), fc.constantFrom('ORDER BY v', 'ORDER BY v DESC', 'ORDER BY v NULLS FIRST', 'ORDER BY v DESC NULLS LAST'), fc.subarray(AGGS, { minLength: 1, maxLength: 3 }), fc.constantFrom(...RANGE_OFFSET_FRAMES)).map(([p, o, fns, frame]) =>
    fns.map((f) => `${f} OVER (${p}${o} ${frame})`),
  ),
  // RANGE offsets over a timestamp with an interval.
  fc.tuple(fc.constantFrom(...PARTITION), fc.constantFrom('ORDER BY ts', 'ORDER BY ts DESC'), fc.constantFrom("RANGE BETWEEN INTERVAL '1 hour' PRECEDING AND CURRENT ROW", "RANGE BETWEEN INTERVAL '30 minutes' PRECEDING AND INTERVAL '1 hour' FOLLOWING")).map(([p, o, frame]) =>
    ['count(*)', 'sum(v)', 'max(d)'].map((f) => `${f} OVER (${p}${o} ${frame})`),
  ),
);

const query = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(windowCalls, fc.option(fc.constantFrom('v > 0', 'k IS NOT NULL', 'd < 5'), { nil: null })).map(([calls, where]) => `SELECT id, k, v, ${calls.map((c, i) => `${c} AS w${i}`).join(', ')} FROM w${where ? ` WHERE ${where}` : ''}`) },
  // Window functions inside expressions, and named windows.
  { weight: 1, arbitrary: fc.constantFrom(...PARTITION).map((p) => `SELECT id, v - lag(v) OVER x AS dv, coalesce(lead(v, 2) OVER x, 0) * 10 AS l2, sum(v) OVER (x ROWS 1 PRECEDING) AS s2, row_number() OVER x AS rn FROM w WINDOW x AS (${p}ORDER BY id)`) },
  { weight: 1, arbitrary: fc.constantFrom('rank() OVER (ORDER BY sum(v) DESC NULLS LAST)', 'sum(sum(v)) OVER (ORDER BY k)', 'lag(count(*)) OVER (ORDER BY k)', 'count(*) OVER ()', 'max(max(d)) OVER (ORDER BY k ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)', 'dense_rank() OVER (ORDER BY count(*))').map((wf) => `SELECT k, sum(v) AS s, count(*) AS c, ${wf} AS x FROM w GROUP BY k`) },
  { weight: 1, arbitrary: fc.constantFrom('g', 'k').map((p) => `SELECT ${p}, count(*) AS c, percent_rank() OVER (ORDER BY count(*)) AS pr, cume_dist() OVER (ORDER BY count(*)) AS cd FROM w GROUP BY ${p} HAVING count(*) > 1`) },
  // Filters over window results (top-N for row_number, a plain filter otherwise).
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PARTITION), fc.integer({ min: 1, max: 3 })).map(([p, n]) => `SELECT id, k, v, rn FROM (SELECT id, k, v, row_number() OVER (${p}ORDER BY v DESC NULLS LAST, id) AS rn FROM w) s WHERE rn <= ${n}`) },
  { weight: 1, arbitrary: fc.constantFrom(...PARTITION).map((p) => `SELECT id, l FROM (SELECT id, lag(v) OVER (${p}ORDER BY id) AS l, k FROM w) s WHERE l > 0 AND k IS NOT NULL`) },
);

const scenario = fc.record({ before: fc.array(op, { maxLength: 6 }), after: fc.array(op, { maxLength: 12 }), query, parallelism: parallelismArb });

async function runScenario(s: { before: string[]; after: string[]; query: string; parallelism?: number }): Promise<void> {
  const engine = await createEngine({ autoStart: false, log: () => undefined, parallelism: s.parallelism ?? 1 });
  let nextId = 1;
  try {
    await client.query(`DROP TABLE IF EXISTS w; ${TABLE}`);
    await engine.execute(TABLE);
    const apply = async (stmt: string) => {
      const sql = stmt.replace(/#/g, () => String(nextId++));
      await engine.execute(sql);
      if (sql !== 'FLUSH') await client.query(sql);
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

describe('differential: window functions over partitions vs PostgreSQL over the final table', () => {
  it('random partitions, orders, frames and functions under random DML in random epochs (200 cases)', async () => {
    await fc.assert(fc.asyncProperty(scenario, (s) => runScenario(s)), { numRuns: Number(process.env.SLUICE_FC_RUNS ?? 200), verbose: 1 });
  }, 1_800_000);

  it('a delete inside a partition renumbers only that partition', async () => {
    await runScenario({
      before: ["INSERT INTO w VALUES (#, 1, 'a', 3, 1, NULL), (#, 1, 'a', 5, 2, NULL), (#, 2, 'b', 4, 3, NULL)", 'FLUSH'],
      after: ['DELETE FROM w WHERE id % 6 = 1', 'FLUSH', "INSERT INTO w VALUES (#, 1, 'c', 1, 0.5, NULL)"],
      query: 'SELECT id, k, row_number() OVER (PARTITION BY k ORDER BY id) AS rn, sum(v) OVER (PARTITION BY k ORDER BY v ROWS 1 PRECEDING) AS s, lag(v, 1, 0) OVER (PARTITION BY k ORDER BY id) AS l FROM w',
    });
  });

  it('NULL ORDER BY keys under RANGE offsets, ascending and descending, NULLS FIRST and LAST', async () => {
    for (const order of ['v', 'v DESC', 'v NULLS FIRST', 'v DESC NULLS LAST']) {
      await runScenario({
        before: ["INSERT INTO w VALUES (#, 1, 'a', NULL, 1, NULL), (#, 1, 'a', NULL, 2, NULL), (#, 1, 'a', 1, 3, NULL), (#, 1, 'b', 2, 4, NULL), (#, 1, 'b', 4, 5, NULL)"],
        after: [],
        query: `SELECT id, count(*) OVER (ORDER BY ${order} RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS c, sum(d) OVER (ORDER BY ${order} RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS s FROM w`,
      });
    }
  });
});

/** Runs `sql` against a fresh engine (with table w) and returns the error's SQLSTATE and message. */
async function errorOf(engine: Engine, sql: string): Promise<{ code: string; message: string }> {
  try {
    await engine.execute(sql);
  } catch (e) {
    return { code: (e as { sqlstate: string }).sqlstate, message: (e as Error).message };
  }
  throw new Error(`no error for ${sql}`);
}

/** PostgreSQL's SQLSTATE for `sql` over the same table. */
async function pgCode(sql: string): Promise<string> {
  try {
    await client.query(sql);
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'ok';
}

describe('window functions: errors as PostgreSQL gives them', () => {
  it('misplaced window functions and bad frames get PostgreSQL\'s SQLSTATE', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await engine.execute(TABLE);
      await client.query(`DROP TABLE IF EXISTS w; ${TABLE}`);
      const cases = [
        'SELECT id FROM w WHERE row_number() OVER (ORDER BY id) > 1',
        'SELECT k FROM w GROUP BY row_number() OVER ()',
        'SELECT k, count(*) FROM w GROUP BY k HAVING rank() OVER (ORDER BY k) > 1',
        'SELECT sum(row_number() OVER ()) FROM w',
        'SELECT lag(row_number() OVER ()) OVER () FROM w',
        'SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM w',
        'SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED PRECEDING) FROM w',
        'SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM w',
        'SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM w',
        'SELECT sum(v) OVER (ORDER BY id ROWS -1 PRECEDING) FROM w',
        'SELECT sum(v) OVER (ORDER BY id ROWS v PRECEDING) FROM w',
        'SELECT sum(v) OVER (ORDER BY k, id RANGE 1 PRECEDING) FROM w',
        'SELECT sum(v) OVER (ORDER BY g RANGE 1 PRECEDING) FROM w',
        'SELECT sum(v) OVER x FROM w',
        'SELECT sum(v) OVER (x ORDER BY id) FROM w WINDOW x AS (ORDER BY v)',
        'SELECT sum(v) OVER (x PARTITION BY k) FROM w WINDOW x AS (ORDER BY v)',
        'SELECT sum(v) OVER (x ORDER BY id) FROM w WINDOW x AS (PARTITION BY k ROWS 1 PRECEDING)',
        'SELECT nosuchfn(v) OVER () FROM w',
        'SELECT sum(g) OVER () FROM w',
      ];
      for (const sql of cases) {
        const ours = await errorOf(engine, `CREATE MATERIALIZED VIEW bad AS ${sql}`);
        expect({ sql, code: ours.code }).toEqual({ sql, code: await pgCode(sql) });
      }
      // Constructs sluice does not run get 0A000 naming them.
      for (const [sql, what] of [
        ['SELECT sum(v) OVER (ORDER BY id GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM w', 'GROUPS'],
        ['SELECT sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) FROM w', 'EXCLUDE CURRENT ROW'],
        ['SELECT count(DISTINCT v) OVER () FROM w', 'DISTINCT'],
        ['SELECT id FROM w ORDER BY rank() OVER (ORDER BY v) LIMIT 3', 'ORDER BY'],
      ] as const) {
        const ours = await errorOf(engine, `CREATE MATERIALIZED VIEW bad AS ${sql}`);
        expect(ours.code).toBe('0A000');
        expect(ours.message).toContain(what);
      }
    } finally {
      await engine.close();
    }
  });

  it('ntile, nth_value and RANGE offsets out of range fail as in PostgreSQL', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await engine.execute(TABLE);
      await engine.execute("INSERT INTO w VALUES (1, 1, 'a', 1, 1, NULL)");
      await client.query(`DROP TABLE IF EXISTS w; ${TABLE}; INSERT INTO w VALUES (1, 1, 'a', 1, 1, NULL)`);
      // (A negative RANGE offset: PostgreSQL checks it when a row is read, sluice when the view is created.)
      for (const sql of ['SELECT ntile(0) OVER (ORDER BY id) FROM w', 'SELECT nth_value(v, 0) OVER (ORDER BY id) FROM w', 'SELECT sum(v) OVER (ORDER BY v RANGE -1 PRECEDING) FROM w']) {
        // (The view's first epoch computes the window over the row already in the table.)
        const r = await errorOf(engine, `CREATE MATERIALIZED VIEW bad AS ${sql}`);
        const code = await pgCode(sql);
        expect(r.code).toBe(code);
      }
    } finally {
      await engine.close();
    }
  });
});

describe('window functions: state through a checkpoint', () => {
  it('a view restored from its checkpoint keeps maintaining the same answer', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-winfn-'));
    const view = "CREATE MATERIALIZED VIEW mv AS SELECT id, k, v, row_number() OVER (PARTITION BY k ORDER BY id) AS rn, sum(v) OVER (PARTITION BY k ORDER BY v RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) AS s, lag(v * 2) OVER (PARTITION BY k ORDER BY id) AS l, ntile(2) OVER (ORDER BY id) AS t FROM w";
    try {
      const a = await createEngine({ autoStart: false, dataDir: dir, log: () => undefined });
      await a.execute(TABLE);
      await a.execute(view);
      await a.execute("INSERT INTO w VALUES (1, 1, 'a', 3, 1, NULL), (2, 1, 'a', 4, 2, NULL), (3, 2, 'b', 5, 3, NULL), (4, 2, 'b', 5, 3, NULL)");
      await a.execute('FLUSH');
      await a.close();
      const b = await createEngine({ autoStart: false, dataDir: dir, log: () => undefined });
      try {
        await b.execute('DELETE FROM w WHERE id = 1');
        await b.execute("INSERT INTO w VALUES (5, 1, 'c', 2, 0, NULL)");
        await b.execute('FLUSH');
        const rows = (await b.viewRows('mv')).map((r) => r.map((x) => (typeof x === 'bigint' ? Number(x) : x)));
        rows.sort((x, y) => (x[0] as number) - (y[0] as number));
        // An independent model: k=1 holds ids 2 (v 4) and 5 (v 2); k=2 holds ids 3, 4 (v 5, 5).
        expect(rows).toEqual([
          [2, 1, 4, 1, 4, null, 1],
          [3, 2, 5, 1, 10, null, 1],
          [4, 2, 5, 2, 10, 10, 2],
          [5, 1, 2, 2, 2, 8, 2],
        ]);
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
