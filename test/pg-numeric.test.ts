/**
 * Exact NUMERIC against the real PostgreSQL: the decimal arithmetic itself (random values with
 * random scales: + - * / %, round, trunc, comparisons, casts and typmods), and views over a table
 * taking random DML in random epochs (sums, averages, products, divisions, rounds, comparisons,
 * GROUP BY numeric keys) whose contents equal PostgreSQL's answer over the final table, plus
 * one-shot SELECTs over the views and the table.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../src/common/errors.js';
import { addDec, applyTypmod, cmpDec, divDec, formatDec, modDec, mulDec, parseDec, roundDec, subDec, truncDec } from '../src/common/decimal.js';
import { castValue } from '../src/common/values.js';
import { createEngine } from '../src/exec/runtime/engine.js';
import { closeOracle, connectOracle, oracleRows, textRow } from './pg-oracle.js';
import { tempDirEach } from './helpers.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCHEMA = `t_types2_numeric_${process.pid}`;
let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await closeOracle(client, SCHEMA);
});

/** A random decimal literal: up to 12 integer digits and 0–8 places, some zero, some negative. */
const decimal = fc
  .tuple(fc.boolean(), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 8 }), fc.bigInt({ min: 0n, max: 10n ** 20n }))
  .map(([neg, whole, places, raw]) => {
    const digits = (raw % 10n ** BigInt(whole + places)).toString().padStart(whole + places, '0');
    const int = digits.slice(0, whole).replace(/^0+(?=\d)/, '') || '0';
    const frac = digits.slice(whole);
    return `${neg ? '-' : ''}${int}${places ? '.' + frac : ''}`;
  });

/** Our answer, or `ERROR <sqlstate>`. */
function ours(f: () => string): string {
  try {
    return f();
  } catch (e) {
    if (e instanceof SluiceError) return `ERROR ${e.sqlstate}`;
    throw e;
  }
}

async function theirs(sql: string, values: unknown[]): Promise<string[]> {
  const out: string[] = [];
  try {
    const r = await client.query({ text: sql, values, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    for (const v of (r.rows as string[][])[0]!) out.push(v);
  } catch (e) {
    out.push(`ERROR ${(e as { code: string }).code}`);
  }
  return out;
}

describe('NUMERIC arithmetic vs PostgreSQL', () => {
  it('+ - * / %, round, trunc and comparisons of random decimals', async () => {
    await fc.assert(
      fc.asyncProperty(decimal, decimal, fc.integer({ min: -3, max: 6 }), async (a, b, places) => {
        const x = parseDec(a);
        const y = parseDec(b);
        const got = [
          formatDec(addDec(x, y)),
          formatDec(subDec(x, y)),
          formatDec(mulDec(x, y)),
          ours(() => formatDec(divDec(x, y))),
          ours(() => formatDec(modDec(x, y))),
          formatDec(roundDec(x, places)),
          formatDec(truncDec(x, places)),
          String(cmpDec(x, y)),
          formatDec(parseDec(a)),
        ];
        const sql = `SELECT $1::numeric + $2::numeric, $1::numeric - $2::numeric, $1::numeric * $2::numeric,
          round($1::numeric, $3::int), trunc($1::numeric, $3::int), sign($1::numeric - $2::numeric)::int::text, $1::numeric`;
        const [add, sub, mul, round, trunc, cmp, self] = await theirs(sql, [a, b, places]);
        const [div] = await theirs('SELECT $1::numeric / $2::numeric', [a, b]);
        const [mod] = await theirs('SELECT $1::numeric % $2::numeric', [a, b]);
        expect(got).toEqual([add, sub, mul, div, mod, round, trunc, cmp, self]);
      }),
      { numRuns: 300 },
    );
  });

  it('casts to and from int, bigint, double and text, and typmods round or overflow as PostgreSQL', async () => {
    await fc.assert(
      fc.asyncProperty(decimal, fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 6 }), fc.double({ min: -1e9, max: 1e9, noNaN: true }), async (a, p, s0, d) => {
        const s = Math.min(s0, p);
        const got = [
          ours(() => String(castValue(a, 'numeric', 'int'))),
          ours(() => String(castValue(a, 'numeric', 'bigint'))),
          ours(() => formatDec(applyTypmod(parseDec(a), p, s))),
          ours(() => String(castValue(d, 'double', 'numeric'))),
        ];
        const [i] = await theirs('SELECT $1::numeric::int', [a]);
        const [bi] = await theirs('SELECT $1::numeric::bigint', [a]);
        const [tm] = await theirs(`SELECT $1::numeric(${p}, ${s})`, [a]);
        const [fd] = await theirs('SELECT $1::float8::numeric', [String(d)]);
        expect(got).toEqual([i, bi, tm, fd]);
      }),
      { numRuns: 200 },
    );
  });

  it('avg, sum of 0.10 and decimal literals as PostgreSQL', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      for (const q of ['SELECT 0.1 + 0.2 AS x', 'SELECT 1.10 * 3 AS x', 'SELECT 10 / 4.0 AS x', 'SELECT round(2.5) AS x', 'SELECT round(-2.5) AS x', 'SELECT -1.50 AS x']) {
        await engine.execute(`CREATE MATERIALIZED VIEW v AS ${q}`);
        await engine.execute('FLUSH');
        const schema = engine.catalog.relation('v').schema;
        const got = (await engine.viewRows('v')).map((r) => textRow(r, schema.map((f) => f.type)));
        expect(got, q).toEqual(await oracleRows(client, q));
        await engine.execute('DROP MATERIALIZED VIEW v');
      }
    } finally {
      await engine.close();
    }
  });
});

describe('a NUMERIC constant with an integer column vs PostgreSQL', () => {
  it('0.908 * price and the like: either side, + - *, NULLs, negative, and a constant past 15 digits', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    const values = [[1, 7, 100], [2, null, -3], [3, -2147483648, '9007199254740993'], [4, 0, null], [5, 123456, -987654321012]];
    const rows = values.map((r) => `(${r.map((v) => (v === null ? 'NULL' : String(v))).join(', ')})`).join(', ');
    try {
      await engine.execute('CREATE TABLE t (id INT PRIMARY KEY, i INT, b BIGINT)');
      await engine.execute(`INSERT INTO t VALUES ${rows}`);
      const exprs = ['0.908 * b', 'b * 0.908', '-1.5 * i', 'i + 2.25', '2.25 - b', 'b - 0.001', '12345678901234567.89 * i', 'i * 0.0', '1.10 * b + 0.5 * i'];
      for (const e of exprs) {
        const q = `SELECT id, ${e} AS x FROM t`;
        await engine.execute(`CREATE MATERIALIZED VIEW v AS ${q}`);
        await engine.execute('FLUSH');
        const schema = engine.catalog.relation('v').schema;
        const got = (await engine.viewRows('v')).map((r) => textRow(r, schema.map((f) => f.type))).sort();
        const want = (await oracleRows(client, `SELECT id, ${e} AS x FROM (VALUES ${rows}) AS t(id, i, b)`)).sort();
        expect(got, e).toEqual(want);
        await engine.execute('DROP MATERIALIZED VIEW v');
      }
    } finally {
      await engine.close();
    }
  });
});

interface Row {
  id: number;
  k: string;
  x: string;
  y: string;
  i: number;
  b: string;
}

const row = fc.record({
  k: fc.constantFrom('1.00', '2.50', '-3.25', '0.00'),
  x: decimal,
  y: decimal,
  i: fc.integer({ min: -1000, max: 1000 }),
  b: fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }).map(String),
});

/** An epoch of changes: inserts of new rows and deletes of some existing ones. */
const epochs = fc.array(fc.record({ inserts: fc.array(row, { maxLength: 6 }), deletes: fc.array(fc.nat(), { maxLength: 3 }) }), { minLength: 1, maxLength: 5 });

const VIEWS: Record<string, string> = {
  grouped: `SELECT k, sum(x) AS sx, avg(x) AS ax, min(y) AS mn, max(y) AS mx, count(*) AS n, sum(b) AS sb, avg(i) AS ai, avg(b) AS ab, sum(y) AS sy FROM nt GROUP BY k`,
  arith: `SELECT id, x + y AS a, x - y AS s, x * y AS m, round(x, 2) AS r, round(y) AS r0, x < y AS lt, x = y AS eq, i * x AS ix, x + 0.10 AS p, k * 2 AS k2 FROM nt`,
  division: `SELECT id, x / y AS d, y / 7 AS s, i / 3.0 AS q FROM nt WHERE y <> 0`,
  filtered: `SELECT id, x FROM nt WHERE x > 1.5 AND y <= x`,
  total: `SELECT sum(x * y) AS t, sum(x) / NULLIF(count(*), 0) AS mean, avg(y) AS ay FROM nt`,
};

describe('views over NUMERIC vs PostgreSQL', () => {
  it('random DML in random epochs: each view equals PostgreSQL over the final table', async () => {
    await fc.assert(
      fc.asyncProperty(epochs, async (script) => {
        const engine = await createEngine({ autoStart: false, log: () => undefined });
        const ddl = 'CREATE TABLE nt (id INT PRIMARY KEY, k NUMERIC(6, 2), x NUMERIC, y NUMERIC(20, 4), i INT, b BIGINT)';
        await client.query(`DROP TABLE IF EXISTS nt; ${ddl}`);
        try {
          await engine.execute(ddl);
          for (const [name, q] of Object.entries(VIEWS)) await engine.execute(`CREATE MATERIALIZED VIEW ${name} AS ${q}`);
          const live: Row[] = [];
          let next = 1;
          for (const ep of script) {
            for (const r of ep.inserts) {
              const full = { ...r, id: next++ };
              const sql = `INSERT INTO nt VALUES (${full.id}, ${full.k}, ${full.x}, ${full.y}, ${full.i}, ${full.b})`;
              await engine.execute(sql);
              await client.query(sql);
              live.push(full);
            }
            for (const d of ep.deletes) {
              if (live.length === 0) break;
              const [gone] = live.splice(d % live.length, 1);
              const sql = `DELETE FROM nt WHERE id = ${gone!.id}`;
              await engine.execute(sql);
              await client.query(sql);
            }
            await engine.execute('FLUSH');
          }
          for (const [name, q] of Object.entries(VIEWS)) {
            const types = engine.catalog.relation(name).schema.map((f) => f.type);
            const got = (await engine.viewRows(name)).map((r) => textRow(r, types)).sort();
            expect(got, name).toEqual(await oracleRows(client, q));
          }
          // One-shot SELECTs (run in DuckDB) over a view and over the table print what PostgreSQL
          // prints. A view's unconstrained NUMERIC column is copied as one DECIMAL scale (its
          // largest), so the view's column compared here has a single scale (y is NUMERIC(20, 4)).
          for (const [mine, oracle] of [
            ['SELECT k, sy, n FROM grouped ORDER BY sy', 'SELECT k, sum(y), count(*) FROM nt GROUP BY k'],
            ['SELECT id, k, y FROM nt', 'SELECT id, k, y FROM nt'],
          ] as const) {
            const [res] = await engine.execute(mine);
            if (res?.kind !== 'rows') throw new Error(`${mine} returned no rows`);
            const types = res.columns.map((c) => c.type);
            expect(res.rows.map((r) => textRow(r, types)).sort(), mine).toEqual(await oracleRows(client, oracle));
          }
        } finally {
          await engine.close();
        }
      }),
      { numRuns: 12 },
    );
  }, 600_000);
});

describe('NUMERIC state across a restart', () => {
  const dir = tempDirEach('sluice-numeric-');
  it('a restarted engine keeps exact sums and averages, and goes on from them exactly', async () => {
    const open = () => createEngine({ autoStart: false, dataDir: dir(), log: () => undefined });
    const q = 'SELECT g, sum(x) AS s, avg(x) AS a, min(x) AS mn, count(*) AS n FROM acc GROUP BY g';
    let engine = await open();
    await engine.execute('CREATE TABLE acc (id INT PRIMARY KEY, g INT, x NUMERIC(30, 10))');
    await engine.execute(`CREATE MATERIALIZED VIEW sums AS ${q}`);
    // Ten times 0.1 in one group, values past a double's 17 digits in the other.
    await engine.execute(`INSERT INTO acc VALUES ${Array.from({ length: 10 }, (_, i) => `(${i}, 1, 0.1)`).join(', ')}, (100, 2, 12345678901234567890.1234567891), (101, 2, 0.0000000001)`);
    await engine.execute('FLUSH');
    const rows = async () => (await engine.viewRows('sums')).map((r) => textRow(r, engine.catalog.relation('sums').schema.map((f) => f.type))).sort();
    const before = await rows();
    expect(before).toEqual([
      JSON.stringify(['1', '1.0000000000', '0.10000000000000000000', '0.1000000000', '10']),
      JSON.stringify(['2', '12345678901234567890.1234567892', '6172839450617283945.0617283946', '0.0000000001', '2']),
    ]);
    await engine.close();
    engine = await open();
    try {
      expect(await rows()).toEqual(before);
      await engine.execute('DELETE FROM acc WHERE id IN (0, 101); INSERT INTO acc VALUES (102, 2, -0.0000000001)');
      await engine.execute('FLUSH');
      expect(await rows()).toEqual([
        JSON.stringify(['1', '0.9000000000', '0.10000000000000000000', '0.1000000000', '9']),
        JSON.stringify(['2', '12345678901234567890.1234567890', '6172839450617283945.0617283945', '-0.0000000001', '2']),
      ]);
    } finally {
      await engine.close();
    }
  });
});

describe('NUMERIC from a JSON source', () => {
  const dir = tempDirEach('sluice-numeric-src-');
  it('a NUMERIC(p, s) column rounds to s, a value past p digits is NULL, an unconstrained one keeps the number', async () => {
    const inDir = join(dir(), 'in');
    mkdirSync(inDir);
    const engine = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [dir()] });
    try {
      await engine.execute(`CREATE SOURCE prices (id INT, p NUMERIC(5, 2), q NUMERIC) WITH (connector = 'file', path = '${inDir}', format = 'json');
        CREATE MATERIALIZED VIEW pv AS SELECT id, p, q, p * 2 AS p2 FROM prices;
        CREATE MATERIALIZED VIEW ps AS SELECT sum(p) AS sp, sum(q) AS sq FROM prices;`);
      writeFileSync(join(inDir, 'a.json'), ['{"id": 1, "p": 1.005, "q": 0.1}', '{"id": 2, "p": "2.5", "q": 0.2}', '{"id": 3, "p": 12345.6, "q": -1.25}'].join('\n') + '\n');
      await engine.execute('FLUSH');
      await engine.execute('FLUSH');
      const rows = (await engine.viewRows('pv')).map((r) => r.map((v) => (v === null ? null : String(v)))).sort((a, b) => Number(a[0]) - Number(b[0]));
      expect(rows).toEqual([
        ['1', '1.01', '0.1', '2.02'],
        ['2', '2.50', '0.2', '5.00'],
        ['3', null, '-1.25', null],
      ]);
      expect((await engine.viewRows('ps')).map((r) => r.map(String))).toEqual([['3.51', '-0.95']]);
    } finally {
      await engine.close();
    }
  });
});
