/**
 * Subqueries end to end, beyond the differential suite: the errors of unsupported shapes (each
 * names the construct, 0A000, never XX000), PostgreSQL's errors for bad ones, a scalar subquery
 * returning several rows (21000 ad hoc; NULL and a counted row error in a view), and a view
 * following changes of either side of a correlated subquery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';

let engine: Engine;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  await engine.execute(`CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR);
    CREATE TABLE u (k INT, y INT);
    CREATE SOURCE s (k INT, v VARCHAR) WITH (connector = 'datagen', rows_per_second = 1);
    INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y'), (3, NULL, 'z');
    INSERT INTO u VALUES (1, 10), (1, 20), (2, NULL);
    FLUSH;`);
});

afterAll(async () => {
  await engine?.close();
});

async function errorOf(sql: string): Promise<{ code: string; message: string; position: number | undefined }> {
  try {
    await engine.execute(sql);
  } catch (e) {
    const err = toSluiceError(e);
    return { code: err.sqlstate, message: err.message, position: err.position };
  }
  throw new Error(`expected failure: ${sql}`);
}

const view = (name: string, q: string) => `CREATE MATERIALIZED VIEW ${name} AS ${q}`;

describe('subqueries: unsupported shapes name the construct (0A000)', () => {
  it.each([
    ['SELECT id, (SELECT t.a + y FROM u WHERE u.k = t.id) AS s FROM t', /outer query's column t\.a outside the subquery's WHERE/],
    ['SELECT id FROM t WHERE a = (SELECT y FROM u WHERE u.k = t.id ORDER BY y LIMIT 1)', /LIMIT, OFFSET or DISTINCT ON in a correlated subquery/],
    ['SELECT t.id FROM t JOIN u ON u.k = t.id AND u.y IN (SELECT 1)', /subqueries in JOIN conditions are not supported yet/],
    ['SELECT count(*) FROM t GROUP BY (SELECT 1)', /subqueries in GROUP BY are not supported yet/],
    ['SELECT (a, b) IN (SELECT k, y FROM u) AS r FROM t', /row constructor/],
    ['SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE EXISTS (SELECT 1 FROM u u2 WHERE u2.k = t.a))', /reference to t\.a from a subquery nested two or more levels/],
    ['SELECT id FROM t ORDER BY (SELECT 1) LIMIT 1', /subqueries in ORDER BY are not supported yet/],
  ])('%s', async (q, message) => {
    const e = await errorOf(view(`v_${Math.random().toString(36).slice(2, 8)}`, q));
    expect(e.code).toBe('0A000');
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(/undefined/);
  });

  it('a correlation other than an equality is no longer refused (test/subquery-differential.test.ts checks the answers)', async () => {
    for (const [i, q] of ['SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k > t.a)', 'SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.a OR u.y = t.id)'].entries()) {
      expect(await errorOf(view(`v_ok${i}`, q)).catch(() => null)).toBeNull();
    }
  });
});

describe('subqueries: PostgreSQL errors', () => {
  it.each([
    ['SELECT id FROM t WHERE a IN (SELECT k, y FROM u)', '42601', /subquery must return only one column/],
    // (node-sql-parser refuses a two-column scalar subquery itself: a syntax error, 42601 as PostgreSQL's)
    ['SELECT id, (SELECT k, y FROM u WHERE u.k = t.id) AS s FROM t', '42601', /subquery must return only one column|syntax error/],
    ['SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.nope)', '42703', /column "t\.nope" does not exist/],
    ['SELECT a, (SELECT count(*) FROM u WHERE u.k = t.id) AS c FROM t GROUP BY a', '42803', /"t\.id" must appear in the GROUP BY clause/],
    ['SELECT count(*) AS n FROM t GROUP BY 3', '42P10', /GROUP BY position 3 is not in select list/],
    ['SELECT id, b FROM t GROUP BY a', '42803', /"t\.id" must appear in the GROUP BY clause/],
    ['SELECT k, y FROM u GROUP BY k', '42803', /"u\.y" must appear in the GROUP BY clause/],
  ])('%s', async (q, code, message) => {
    const e = await errorOf(view(`v_${Math.random().toString(36).slice(2, 8)}`, q));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('ad hoc (in DuckDB) with PostgreSQL\'s SQLSTATEs', async () => {
    expect((await errorOf('SELECT id, (SELECT y FROM u WHERE u.k = t.id) AS y FROM t')).code).toBe('21000');
    expect(await errorOf('SELECT id FROM t WHERE a IN (SELECT k, y FROM u)')).toMatchObject({ code: '42601', message: 'subquery must return only one column' });
    expect((await errorOf('SELECT count(*) FROM t GROUP BY 3')).code).toBe('42P10');
  });
});

describe('subqueries in views', () => {
  it('a scalar subquery returning several rows: NULL there and a counted row error (21000 ad hoc)', async () => {
    await engine.execute(view('v_multi', 'SELECT id, (SELECT y FROM u WHERE u.k = t.id) AS y FROM t'));
    await engine.execute('FLUSH');
    const before = engine.stats().views.v_multi!.rowErrors;
    expect(before).toBeGreaterThan(0);
    const rows = (await engine.viewRows('v_multi')).map((r) => r.map(String).join(' ')).sort();
    // id 1 has two rows in u (NULL and counted), id 2 one row (y NULL), id 3 none.
    expect(rows).toEqual(['1 null', '2 null', '3 null']);
    await engine.execute('INSERT INTO u VALUES (3, 30); FLUSH;');
    expect((await engine.viewRows('v_multi')).map((r) => r.map(String).join(' ')).sort()).toEqual(['1 null', '2 null', '3 30']);
  });

  it('a change to either side updates a correlated subquery', async () => {
    await engine.execute(`CREATE TABLE o (id INT PRIMARY KEY, g INT); CREATE TABLE i (g INT, x INT);
      ${view('v_either', 'SELECT id, (SELECT count(*) FROM i WHERE i.g = o.g) AS n, EXISTS (SELECT 1 FROM i WHERE i.g = o.g AND x > 0) AS pos, g NOT IN (SELECT x FROM i) AS fresh FROM o')};
      INSERT INTO o VALUES (1, 1), (2, 2); FLUSH;`);
    const rows = async () => (await engine.viewRows('v_either')).map((r) => r.map(String).join(' ')).sort();
    expect(await rows()).toEqual(['1 0 false true', '2 0 false true']);
    await engine.execute('INSERT INTO i VALUES (1, 5), (1, -1), (2, NULL); FLUSH;');
    // g NOT IN (5, -1, NULL): NULL for both (no match, a NULL in the list).
    expect(await rows()).toEqual(['1 2 true null', '2 1 false null']);
    await engine.execute('DELETE FROM i WHERE x IS NULL; UPDATE o SET g = 5 WHERE id = 2; FLUSH;');
    expect(await rows()).toEqual(['1 2 true true', '2 0 false false']);
    await engine.execute('DELETE FROM i WHERE g = 1; FLUSH;');
    expect(await rows()).toEqual(['1 0 false true', '2 0 false true']);
  });

  it('a one-shot SELECT whose subquery reads a view (the view is copied for DuckDB)', async () => {
    await engine.execute(`${view('v_big', 'SELECT id FROM t WHERE a > 1')}; FLUSH;`);
    const [r] = await engine.execute('SELECT id, (SELECT count(*) FROM v_big) AS c FROM t WHERE id IN (SELECT id FROM v_big)');
    expect(r?.kind === 'rows' && r.rows.map((x) => x.map(String).join(' '))).toEqual(['2 1']);
  });

  it('a stream filtered by a subquery over a table', async () => {
    await engine.execute(view('v_stream', "SELECT k, v FROM s WHERE k IN (SELECT id FROM t WHERE b <> 'z')"));
    await engine.execute('FLUSH');
    const plan = (await engine.execute("EXPLAIN SELECT k, v FROM s WHERE k IN (SELECT id FROM t WHERE b <> 'z')"))[0]!;
    expect(plan.kind === 'rows' && plan.rows.map((r) => String(r[0])).join('\n')).toMatch(/HashJoinExec/);
  });
});
