/**
 * JSONB against the real PostgreSQL (127.0.0.1:5432, database `test`): random documents in a
 * table changed over several epochs (inserts, updates, deletes), views over it using every jsonb
 * operator and function sluice has, each compared with PostgreSQL's answer to the same SELECT
 * over the final table — text output included (key order, number forms, escapes).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJsonb } from '../src/common/jsonb.js';
import { SluiceError } from '../src/common/errors.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { closeOracle, connectOracle, oracleRows, textRow } from './pg-oracle.js';
import { seededRandom as rng } from '../src/common/random.js';

const SCHEMA = `sluice_jsonb_${process.pid}`;
let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});
afterAll(async () => {
  await closeOracle(client, SCHEMA);
});


const KEYS = ['a', 'b', 'c', 'aa', 'n', 'é', 'a b', ''];
const NUMBERS = ['0', '1', '-1', '2.50', '1e2', '-0.0', '1.5E-3', '12345678901234567890', '3.14159', '10'];
const STRINGS = ['"x"', '"foo"', '"a"', '"b"', '"quo\\"te"', '"tab\\t"', '"\\u00e9t\\u00e9"', '"slash\\/"', '""', '"line\\nbreak"'];

/** JSON text of a random document, written loosely (spacing, duplicate keys) as a user would. */
function randomDoc(r: () => number, depth = 0): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const x = r();
  if (depth < 3 && x < 0.35) {
    const n = Math.floor(r() * 4);
    const pairs = Array.from({ length: n }, () => `${JSON.stringify(pick(KEYS))}:${r() < 0.5 ? ' ' : ''}${randomDoc(r, depth + 1)}`);
    return `{${pairs.join(r() < 0.5 ? ',' : ', ')}}`;
  }
  if (depth < 3 && x < 0.6) {
    const n = Math.floor(r() * 4);
    return `[${Array.from({ length: n }, () => randomDoc(r, depth + 1)).join(',')}]`;
  }
  if (x < 0.75) return pick(NUMBERS);
  if (x < 0.9) return pick(STRINGS);
  return pick(['true', 'false', 'null']);
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Every column a view computes, PostgreSQL-safe (no row of the random table makes PostgreSQL raise). */
const EXPRESSIONS: readonly string[] = [
  'doc',
  'doc::text',
  "doc->'a'",
  "doc->>'a'",
  'doc->0',
  'doc->>-1',
  "doc->'a'->'b'",
  "doc#>'{a,b}'",
  "doc#>>'{a,0}'",
  "doc#>'{}'",
  `doc @> '{"a": 1}'`,
  `doc @> '[1]'`,
  "doc @> '1'",
  `doc <@ '{"a": 1, "b": [1, 2.50, "x"], "c": "x"}'`,
  `doc @> '{"b": []}'`,
  "doc ? 'a'",
  "doc ? 'x'",
  "doc ?| array['a', 'foo']",
  "doc ?& array['a', 'b']",
  `doc || '{"z": 1, "a": null}'`,
  "doc || '[1]'",
  "doc || doc",
  "CASE WHEN jsonb_typeof(doc) IN ('object', 'array') THEN doc - 'a' END",
  "CASE WHEN jsonb_typeof(doc) = 'array' THEN doc - 0 END",
  "CASE WHEN jsonb_typeof(doc) IN ('object', 'array') THEN doc - array['a', 'x'] END",
  "CASE jsonb_typeof(doc) WHEN 'object' THEN doc #- '{a}' WHEN 'array' THEN doc #- '{-1}' END",
  'jsonb_typeof(doc)',
  "CASE WHEN jsonb_typeof(doc) = 'array' THEN jsonb_array_length(doc) END",
  'jsonb_strip_nulls(doc)',
  'jsonb_pretty(doc)',
  "jsonb_extract_path(doc, 'a', 'b')",
  "jsonb_extract_path_text(doc, 'a')",
  'to_jsonb(id)',
  'to_jsonb(label)',
  'to_jsonb(doc)',
  "jsonb_build_object('id', id, 'label', label, 'doc', doc, 'none', NULL)",
  'jsonb_build_array(id, label, doc, 1.5, true)',
  `doc = '{"a": 1}'`,
  "CASE WHEN jsonb_typeof(doc) = 'number' THEN doc::float8 END",
  "CASE WHEN jsonb_typeof(doc) = 'boolean' THEN doc::boolean END",
];

async function run(e: Engine, sql: string): Promise<void> {
  await e.execute(sql);
  await client.query(sql);
}

describe('jsonb against PostgreSQL', () => {
  it('operators and functions in views over a changing table equal PostgreSQL over the final table', async () => {
    const r = rng(20261206);
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await run(e, 'CREATE TABLE docs (id INT, label VARCHAR, doc JSONB)');
      const views = EXPRESSIONS.map((x, i) => ({ name: `jv${i}`, sql: `SELECT id, ${x} AS x FROM docs` }));
      for (const v of views) await e.execute(`CREATE MATERIALIZED VIEW ${v.name} AS ${v.sql}`);
      const aggs = [
        { name: 'ja1', sql: 'SELECT jsonb_agg(doc ORDER BY id) AS j, json_agg(id ORDER BY id DESC) AS i, count(*) AS n FROM docs' },
        { name: 'ja2', sql: "SELECT doc->'a' AS k, count(*) AS n, jsonb_agg(label ORDER BY label, id) AS ls FROM docs GROUP BY doc->'a'" },
        { name: 'ja3', sql: "SELECT d.id, e FROM (SELECT * FROM docs WHERE jsonb_typeof(doc) = 'array') d, jsonb_array_elements(d.doc) e" },
        { name: 'ja4', sql: "SELECT d.id, e FROM (SELECT * FROM docs WHERE jsonb_typeof(doc) = 'array') d, jsonb_array_elements_text(d.doc) e" },
        { name: 'ja5', sql: "SELECT d.id, k FROM (SELECT * FROM docs WHERE jsonb_typeof(doc) = 'object') d, jsonb_object_keys(d.doc) k" },
      ];
      for (const v of aggs) await e.execute(`CREATE MATERIALIZED VIEW ${v.name} AS ${v.sql}`);
      let next = 0;
      for (let epoch = 0; epoch < 6; epoch++) {
        const rows = Array.from({ length: 25 }, () => `(${next++}, ${r() < 0.1 ? 'NULL' : sqlString(['x', 'y', "it's", 'zz'][Math.floor(r() * 4)]!)}, ${r() < 0.05 ? 'NULL' : sqlString(randomDoc(r))})`);
        await run(e, `INSERT INTO docs VALUES ${rows.join(', ')}`);
        if (epoch > 0) {
          await run(e, `DELETE FROM docs WHERE id % 7 = ${epoch}`);
          await run(e, `UPDATE docs SET doc = ${sqlString(randomDoc(r))} WHERE id % 11 = ${epoch}`);
        }
        await e.execute('FLUSH');
      }
      for (const v of [...views, ...aggs]) {
        const expected = await oracleRows(client, v.sql);
        const schema = e.catalog.relation(v.name).schema;
        const got = (await e.viewRows(v.name)).map((row) => textRow(row, schema.map((f) => f.type))).sort();
        expect(got, `${v.name}: ${v.sql}`).toEqual(expected);
      }
    } finally {
      await e.close();
    }
  }, 120_000);

  it('parses documents as PostgreSQL does: canonical text, and the same inputs refused', async () => {
    const r = rng(7);
    const inputs = [
      ...Array.from({ length: 200 }, () => randomDoc(r)),
      '{"a":1,"a":2}', ' [ 1 , 2 ] ', '1E+2', '-0', '0.000', '1e-7', '"\\ud83d\\ude00"', '{"b":{"d":1,"c":2},"a":[]}',
      '{bad', '[1,]', '{"a" 1}', "'x'", 'NaN', '01', '1.', '.5', '"\\x"', '', '   ', 'nul', 'true false', '"\\u0000"', '{"a":1}x',
    ];
    for (const s of inputs) {
      let want: string;
      try {
        const res = await client.query({ text: 'SELECT $1::jsonb::text AS t', values: [s] });
        want = String((res.rows[0] as { t: string }).t);
      } catch (err) {
        want = `ERROR ${(err as { code: string }).code}`;
      }
      let got: string;
      try {
        got = canonicalJsonb(s);
      } catch (err) {
        if (!(err instanceof SluiceError)) throw err;
        got = `ERROR ${err.sqlstate}`;
      }
      expect(got, `input ${JSON.stringify(s)}`).toBe(want);
    }
  });

  it('a JSONB column of a table refuses malformed JSON with 22P02, and one-shot SELECTs print canonical text', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute(`CREATE TABLE t (doc JSONB); INSERT INTO t VALUES ('{"b": 1,"a":[1, 2.50]}')`);
      const err = await e.execute("INSERT INTO t VALUES ('{bad')").then(() => null, (x: unknown) => x as SluiceError);
      expect(err?.sqlstate).toBe('22P02');
      // (DuckDB answers one-shot SELECTs: its `->` prints numbers its own way, so only whole documents here.)
      const [res] = await e.execute(`SELECT doc, '{"y":1,"x":2}'::jsonb AS c, doc->>'b' AS b FROM t`);
      expect(res && 'rows' in res ? res.rows : null).toEqual([['{"a": [1, 2.50], "b": 1}', '{"x": 2, "y": 1}', '1']]);
    } finally {
      await e.close();
    }
  });
});
