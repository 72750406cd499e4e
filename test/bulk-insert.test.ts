/**
 * A bulk INSERT is not a pathological statement: DuckDB parses it (linearly), node-sql-parser
 * never sees it, so the parse guard's deadline does not refuse tens of thousands of rows, and
 * its syntax errors still come with SQLSTATE and position.
 */
import { describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import { createEngine } from '../src/exec/runtime/engine.js';

describe('bulk INSERT', () => {
  it('takes 30 000 rows in one statement, and places a syntax error', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE t (a INT, b VARCHAR); CREATE MATERIALIZED VIEW n AS SELECT count(*) AS c, sum(a) AS s FROM t');
      const rows = Array.from({ length: 30_000 }, (_, i) => `(${i}, 'row ${i}')`).join(', ');
      await e.execute(`INSERT INTO t VALUES ${rows}; FLUSH`);
      expect(await e.viewRows('n')).toEqual([[30_000n, BigInt((29_999 * 30_000) / 2)]]);
      const err = await e.execute("SELECT 1; INSERT INTO t VALUS (1, 'x')").then(() => null, (x: unknown) => toSluiceError(x));
      expect(err?.sqlstate).toBe('42601');
      expect(err?.message).toBe('syntax error at or near "VALUS"');
      expect(err?.position).toBe('SELECT 1; INSERT INTO t '.length + 1);
    } finally {
      await e.close();
    }
  });
});

/** Random literal rows for (i INT, b BIGINT, d DOUBLE PRECISION, s VARCHAR, f BOOLEAN, ts TIMESTAMP). */
function literalRows(n: number, seed: number): string[] {
  let x = seed;
  const rnd = (k: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % k;
  };
  const strings = ["plain", "it''s", "'' quoted ''", 'ünïcødé ✓', '', 'tab\tand, comma', 'a -- not a comment'];
  const rows: string[] = [];
  for (let r = 0; r < n; r++) {
    const i = rnd(10) === 0 ? 'NULL' : String(rnd(2_000_000) - 1_000_000);
    const b = rnd(10) === 0 ? 'NULL' : `${rnd(2) ? '-' : ''}${rnd(1_000_000)}${rnd(1_000_000_000)}`;
    const d = rnd(10) === 0 ? 'NULL' : [`${rnd(1000)}.${rnd(100)}`, `-${rnd(100)}.5e${rnd(5)}`, `${rnd(7)}`, `.${rnd(99)}`][rnd(4)]!;
    const s = rnd(10) === 0 ? 'NULL' : `'${strings[rnd(strings.length)]}${rnd(100)}'`;
    const f = ['TRUE', 'false', 'NULL', "'t'"][rnd(4)]!;
    const t = `2026-0${1 + rnd(9)}-1${rnd(10)} 0${rnd(10)}:1${rnd(10)}:00`;
    const ts = [`'${t}'`, `TIMESTAMP '${t}'`, 'NULL'][rnd(3)]!;
    rows.push(`(${i}, ${b}, ${d}, ${s}, ${f}, ${ts})`);
  }
  return rows;
}

const errorOf = (p: Promise<unknown>) => p.then(() => null, (x: unknown) => toSluiceError(x));

describe('bulk INSERT fast path', () => {
  it('gives the same rows as small INSERTs (the general path), and the views get them', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      const cols = '(i INT, b BIGINT, d DOUBLE PRECISION, s VARCHAR, f BOOLEAN, ts TIMESTAMP)';
      await e.execute(`CREATE TABLE fast ${cols}; CREATE TABLE slow ${cols}; CREATE MATERIALIZED VIEW fv AS SELECT count(*) AS n, sum(i) AS si, count(ts) AS nts FROM fast`);
      const rows = literalRows(5000, 7);
      await e.execute(`INSERT INTO fast VALUES ${rows.join(',\n')};`);
      for (let k = 0; k < rows.length; k += 20) await e.execute(`INSERT INTO slow VALUES ${rows.slice(k, k + 20).join(', ')}`);
      const all = async (t: string) => ((await e.execute(`SELECT * FROM ${t} ORDER BY i, b, d, s, f, ts`))[0] as { rows: unknown[][] }).rows;
      const want = await all('slow');
      expect(want.length).toBe(5000);
      expect(await all('fast')).toEqual(want);
      await e.execute('FLUSH');
      const [agg] = await e.execute('SELECT count(*) AS n, sum(i) AS si, count(ts) AS nts FROM slow');
      expect(await e.viewRows('fv')).toEqual((agg as { rows: unknown[][] }).rows);
    } finally {
      await e.close();
    }
  });

  it('takes a column list, and statements over the 1 MiB limit of other statements', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE t (a INT, b VARCHAR, c DOUBLE PRECISION); CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n, sum(a) AS s, count(b) AS nb FROM t');
      const rows = Array.from({ length: 80_000 }, (_, i) => `(${i}, ${i % 7}.25)`).join(',');
      expect(rows.length).toBeGreaterThan(1 << 20);
      const [r] = await e.execute(`INSERT INTO t (a, c) VALUES ${rows}`);
      expect(r).toEqual({ kind: 'command', tag: 'INSERT 0 80000' });
      await e.execute('FLUSH');
      expect(await e.viewRows('v')).toEqual([[80_000n, BigInt((79_999 * 80_000) / 2), 0n]]);
    } finally {
      await e.close();
    }
  });

  it('falls back to the general path for anything else, with its answers and errors', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR); CREATE TABLE u (a INT, b VARCHAR)');
      const many = (k: number, last: string) => Array.from({ length: k }, (_, i) => `(${i}, 'x${i}')`).concat([last]).join(', ');
      // A decimal into an integer column and a number into a text column: DuckDB's casts decide.
      await e.execute(`INSERT INTO u VALUES ${many(1000, "(1.5, 'y')")}; INSERT INTO u VALUES (2.5, 'z')`);
      await e.execute(`INSERT INTO u VALUES ${many(1000, '(-7, 42)')}`);
      const [got] = await e.execute("SELECT a, b FROM u WHERE b IN ('y', 'z', '42') ORDER BY b");
      expect((got as { rows: unknown[][] }).rows).toEqual([[-7, '42'], [2, 'y'], [3, 'z']]);
      // A bad value: the same error as a small statement, and nothing inserted.
      const small = await errorOf(e.execute("INSERT INTO t VALUES ('abc', 'x')"));
      const big = await errorOf(e.execute(`INSERT INTO t VALUES ${many(1000, "('abc', 'x')")}`));
      expect(small?.sqlstate).toBe('22P02');
      expect(big?.sqlstate).toBe(small?.sqlstate);
      expect(big?.message).toBe(small?.message);
      // A duplicate key refuses the whole statement.
      const dup = await errorOf(e.execute(`INSERT INTO t VALUES ${many(1000, "(5, 'again')")}`));
      expect(dup?.sqlstate).toBe('23505');
      // A NULL key: PostgreSQL's not-null violation, small or bulk.
      for (const sql of ["INSERT INTO t VALUES (NULL, 'x')", `INSERT INTO t VALUES ${many(1000, "(NULL, 'x')")}`]) {
        const nul = await errorOf(e.execute(sql));
        expect(nul).toMatchObject({ sqlstate: '23502', message: 'null value in column "a" of relation "t" violates not-null constraint' });
      }
      const [n] = await e.execute('SELECT count(*) FROM t');
      expect((n as { rows: unknown[][] }).rows).toEqual([[0n]]);
      // A function call, an unknown table, a bad column list.
      await e.execute(`INSERT INTO t VALUES ${many(1000, "(upper('5000')::int, lower('X'))")}`);
      expect((await errorOf(e.execute(`INSERT INTO nope VALUES ${many(1000, '(1, 2)')}`)))?.sqlstate).toBe('42P01');
      const smallCol = await errorOf(e.execute("INSERT INTO t (a, nope) VALUES (1, 'x')"));
      expect((await errorOf(e.execute(`INSERT INTO t (a, nope) VALUES ${many(1000, "(1, 'x')")}`)))?.sqlstate).toBe(smallCol?.sqlstate);
      const [m] = await e.execute("SELECT count(*), max(a) FROM t WHERE b = 'x'");
      expect((m as { rows: unknown[][] }).rows).toEqual([[1n, 5000]]);
    } finally {
      await e.close();
    }
  });
});
