/**
 * Set-returning functions and arrays end to end: incremental word counts from lines, arrays over
 * pg-wire (PostgreSQL's text form and array type OIDs, parsed by the `pg` driver), one-shot
 * SELECTs over views holding arrays, and a PostgreSQL-style error (never XX000) for every shape
 * that is not supported.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import type { Engine } from '../src/exec/runtime/engine.js';
import { pgSession } from './helpers.js';

let engine: Engine;
let client: pg.Client;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ engine, client, close } = await pgSession());
  await engine.execute(`CREATE TABLE lines (id INT, line VARCHAR, tags VARCHAR[], nums INT[]);
    CREATE SOURCE stream (line VARCHAR) WITH (connector = 'datagen', rows_per_second = 1);`);
});

afterAll(async () => {
  await close?.();
});

async function errorOf(sql: string): Promise<{ code: string; message: string }> {
  try {
    await engine.execute(sql);
  } catch (e) {
    const err = toSluiceError(e);
    return { code: err.sqlstate, message: err.message };
  }
  throw new Error(`expected failure: ${sql}`);
}

describe('set-returning functions', () => {
  it('counts the words of lines, and a deleted line retracts its words', async () => {
    await engine.execute(`CREATE MATERIALIZED VIEW wc AS
        SELECT word, count(*) AS n FROM lines CROSS JOIN LATERAL unnest(string_to_array(line, ' ')) AS word GROUP BY word;
      INSERT INTO lines VALUES (1, 'to be or not to be', NULL, NULL), (2, 'to do', NULL, NULL); FLUSH;`);
    const counts = async () => Object.fromEntries((await engine.viewRows('wc')).map(([w, n]) => [w, Number(n)]));
    expect(await counts()).toEqual({ to: 3, be: 2, or: 1, not: 1, do: 1 });
    await engine.execute(`DELETE FROM lines WHERE id = 1; FLUSH;`);
    expect(await counts()).toEqual({ to: 1, do: 1 });
    await engine.execute(`UPDATE lines SET line = 'do be do' WHERE id = 2; FLUSH;`);
    expect(await counts()).toEqual({ do: 2, be: 1 });
    await engine.execute('DROP MATERIALIZED VIEW wc; DELETE FROM lines; FLUSH;');
  });

  it('sends arrays over pg-wire in PostgreSQL text form with array type OIDs', async () => {
    await client.query(`INSERT INTO lines VALUES (7, 'a b', ARRAY['x', NULL, 'c d', '', 'q"r'], ARRAY[3, NULL, 1])`);
    await client.query(`CREATE MATERIALIZED VIEW arr AS
      SELECT id, tags, nums, string_to_array(line, ' ') AS words, ARRAY[1.5, 2] AS ds, ARRAY[true, NULL] AS bs,
             ARRAY[id::bigint] AS bigs, tags[3] AS third, cardinality(nums) AS c FROM lines; FLUSH`);
    const r = await client.query('SELECT * FROM arr');
    expect(r.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['id', 23], ['tags', 1015], ['nums', 1007], ['words', 1015], ['ds', 1022], ['bs', 1000], ['bigs', 1016], ['third', 1043], ['c', 23],
    ]);
    // The driver parses PostgreSQL's array text form back into arrays.
    expect(r.rows).toEqual([{ id: 7, tags: ['x', null, 'c d', '', 'q"r'], nums: [3, null, 1], words: ['a', 'b'], ds: [1.5, 2], bs: [true, null], bigs: ['7'], third: 'c d', c: 3 }]);
    const raw = await client.query({ text: 'SELECT tags, nums FROM arr', rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    expect(raw.rows).toEqual([['{x,NULL,"c d","","q\\"r"}', '{3,NULL,1}']]);
    await client.query('DROP MATERIALIZED VIEW arr; DELETE FROM lines; FLUSH');
  });

  it('unnests in the select list, zipped as in PostgreSQL 10+', async () => {
    await engine.execute(`CREATE MATERIALIZED VIEW z AS SELECT id, unnest(nums) AS x, unnest(tags) AS t FROM lines;
      INSERT INTO lines VALUES (1, NULL, ARRAY['a'], ARRAY[1, 2, 3]); FLUSH;`);
    expect((await engine.viewRows('z')).sort()).toEqual([[1, 1, 'a'], [1, 2, null], [1, 3, null]]);
    await engine.execute('DROP MATERIALIZED VIEW z; DELETE FROM lines; FLUSH;');
  });

  it('reads a LATERAL subquery over the outer row through a qualified star', async () => {
    await engine.execute(`CREATE MATERIALIZED VIEW q AS SELECT l.id, s.* FROM lines l, LATERAL (SELECT l.id * 2 AS d, upper(l.line) AS u) s;
      INSERT INTO lines VALUES (3, 'hi', NULL, NULL); FLUSH;`);
    expect(await engine.viewRows('q')).toEqual([[3, 6, 'HI']]);
    await engine.execute('DROP MATERIALIZED VIEW q; DELETE FROM lines; FLUSH;');
  });

  it('reports a bad row of a set-returning function without stopping the view', async () => {
    await engine.execute(`CREATE MATERIALIZED VIEW g AS SELECT id, g FROM lines, generate_series(1, 3, id) AS g;
      INSERT INTO lines VALUES (0, NULL, NULL, NULL), (2, NULL, NULL, NULL); FLUSH;`);
    expect((await engine.viewRows('g')).sort()).toEqual([[2, 1], [2, 3]]);
    await engine.execute('DROP MATERIALIZED VIEW g; DELETE FROM lines; FLUSH;');
  });

  it('refuses unsupported shapes with PostgreSQL errors naming the construct', async () => {
    const cases: [string, string, RegExp][] = [
      ['SELECT id FROM lines WHERE unnest(tags) = \'a\'', '0A000', /set-returning function unnest\(\) is not allowed in WHERE/],
      ['SELECT unnest(tags) AS t, count(*) FROM lines GROUP BY id', '0A000', /set-returning functions in a SELECT with GROUP BY/],
      ['SELECT count(*) FROM lines GROUP BY unnest(tags)', '0A000', /not allowed in GROUP BY/],
      ['SELECT w FROM lines RIGHT JOIN LATERAL unnest(tags) AS w ON true', '0A000', /RIGHT JOIN LATERAL/],
      ['SELECT w FROM lines LEFT JOIN LATERAL unnest(tags) AS w ON w = \'a\'', '0A000', /LEFT JOIN LATERAL is supported with ON true only/],
      ['SELECT s.k FROM lines l CROSS JOIN LATERAL (SELECT k FROM lines) s', '0A000', /LATERAL subquery reading FROM a relation/],
      ['SELECT tags[1:2] FROM lines', '0A000', /array slices/],
      ['SELECT id FROM lines WHERE tags = nums', '0A000', /comparing arrays/],
      ['SELECT unnest(tags, nums) FROM lines', '0A000', /unnest\(\) with several arrays is supported in FROM only/],
      ['SELECT * FROM unnest(1)', '42883', /function unnest\(integer\) does not exist/],
      ['SELECT ARRAY[] AS a FROM lines', '42804', /cannot determine type of empty array/],
      ["SELECT '{a,{b}}'::text[] AS a FROM lines", '22P02', /malformed array literal/],
      ['SELECT id[1] FROM lines', '42804', /cannot subscript type integer/],
      ["SELECT * FROM generate_series(1, 'x')", '22P02', /invalid input syntax for type integer/],
      ['SELECT ARRAY[now()] FROM lines', '0A000', /arrays of timestamp with time zone are not supported/],
      ['SELECT CASE WHEN id = 1 THEN unnest(tags) END AS x FROM lines', '0A000', /set-returning functions are not allowed in CASE/],
      ["SELECT coalesce(unnest(tags), 'z') AS x FROM lines", '0A000', /set-returning functions are not allowed in COALESCE/],
    ];
    for (const [sql, code, message] of cases) {
      const e = await errorOf(`CREATE MATERIALIZED VIEW bad AS ${sql}`);
      expect([sql, e.code], e.message).toEqual([sql, code]);
      expect(e.message).toMatch(message);
    }
  });

  it('accepts array columns in DDL and refuses multidimensional ones', async () => {
    expect(await errorOf('CREATE TABLE m (a INT[][])')).toEqual({ code: '0A000', message: 'type "INT[][]" is not supported' });
    expect(await errorOf('CREATE TABLE m (a TIMESTAMP[])')).toEqual({ code: '0A000', message: 'type "TIMESTAMP[]" is not supported' });
    await engine.execute('CREATE TABLE m (a BIGINT[], b DOUBLE PRECISION[], c BOOLEAN[], d TEXT[]); DROP TABLE m;');
  });
});
