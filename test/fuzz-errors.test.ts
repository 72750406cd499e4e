/**
 * "No input ever produces XX000" (issue 14 item 9): random SQL — DDL over random tables and
 * datagen sources, queries drawn from the differential generators (test/generators.ts) and
 * templates of the SQL families (joins on timestamps, window functions, subqueries, functions),
 * and mutations of all of them (dropped tokens, swapped identifiers, wrong literal types,
 * unknown functions, wrong argument counts, nested subqueries, window functions in odd places)
 * — run as CREATE MATERIALIZED VIEW (then an epoch) and as one-shot SELECT. Every error must be
 * a SluiceError with a SQLSTATE other than XX000. Seeded: a failure prints the seed, the
 * statement and a shrunk statement (tokens dropped while it still fails with XX000).
 *
 * `npm run fuzz` runs many more cases (SLUICE_FUZZ_CASES, SLUICE_FUZZ_SEED).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { lex } from '../src/parser/index.js';
import { joinQuery, query, topNQuery, row } from './generators.js';
import { seededRandom as prng } from '../src/common/random.js';

// CI runs 300 cases; `npm run fuzz` and SLUICE_FUZZ_CASES many more.
const CASES = Number(process.env.SLUICE_FUZZ_CASES ?? (process.env.CI ? 300 : 800));
const SEED = Number(process.env.SLUICE_FUZZ_SEED ?? 20261206);


type Rnd = () => number;
const pick = <T,>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const SETUP = [
  'CREATE TABLE t (k1 INT, k2 VARCHAR, v INT, d DOUBLE, b BOOLEAN, big BIGINT)',
  'CREATE TABLE u (k1 INT, k2 VARCHAR, v INT, d DOUBLE, b BOOLEAN, big BIGINT)',
  'CREATE TABLE ev_a (id INT PRIMARY KEY, k INT, ts TIMESTAMP, v INT)',
  'CREATE TABLE ev_b (id INT PRIMARY KEY, k INT, ts TIMESTAMP, v INT)',
  "CREATE TABLE lines (id INT, line VARCHAR, tags VARCHAR[], n INT)",
  "CREATE SOURCE gen (id BIGINT, price BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1 second') WITH (connector = 'datagen', rows_per_second = 50)",
  "INSERT INTO ev_a VALUES (1, 1, '2026-01-01 00:00:00', 5), (2, 1, '2026-01-01 00:10:00', 7), (3, 2, '2026-01-01 01:00:00', NULL)",
  "INSERT INTO ev_b VALUES (1, 1, '2026-01-01 00:05:00', 1), (2, 2, '2026-01-01 00:30:00', 2), (3, 1, NULL, 3)",
  "INSERT INTO lines VALUES (1, 'a b c', ARRAY['x', 'y'], 2), (2, '', NULL, NULL)",
];

const COLUMNS = ['k1', 'k2', 'v', 'd', 'b', 'big', 'id', 'k', 'ts', 'line', 'tags', 'n', 'price', 'window_start', 'nope'];
const TABLES = ['t', 'u', 'ev_a', 'ev_b', 'lines', 'gen', 'nope_table'];
const FUNCTIONS = [
  'upper', 'lower', 'length', 'abs', 'round', 'floor', 'sqrt', 'power', 'coalesce', 'nullif', 'greatest', 'least', 'substring', 'trim',
  'replace', 'split_part', 'date_trunc', 'extract', 'now', 'to_char', 'to_timestamp', 'regexp_replace', 'regexp_match', 'md5', 'lpad',
  'string_to_array', 'array_length', 'cardinality', 'unnest', 'generate_series', 'sum', 'count', 'avg', 'min', 'max', 'string_agg',
  'array_agg', 'row_number', 'rank', 'lag', 'lead', 'ntile', 'first_value', 'percentile_cont', 'date_part', 'age', 'width_bucket',
  'no_such_function', 'jsonb_build_object', 'format', 'encode', 'make_interval', 'justify_days', 'tumble', 'hop', 'predict',
];
const LITERALS = ["'x'", "TIMESTAMP '2026-01-01 00:00:00'", 'NULL', '1.5', 'true', "INTERVAL '1 hour'", 'ARRAY[1, 2]', '-1', '0', "'2026-01-01'", "DATE '2026-01-01'", '9999999999999', "'{a,b}'::text[]"];
const KEYWORDS = ['SELECT', 'FROM', 'WHERE', 'GROUP BY', 'ORDER BY', 'JOIN', 'ON', 'AND', 'OR', 'NOT', 'AS', 'OVER', '(', ')', ',', 'BETWEEN', 'LIMIT', 'DISTINCT', 'CASE', 'END', 'IN', 'EXISTS', 'UNION', 'LATERAL', '*', '::', '[1]'];

/** Queries of the families the generators do not cover: timestamps, windows, subqueries, functions. */
const TEMPLATES = [
  // The known case: ROW_NUMBER top-1 over a join with a BETWEEN on timestamps.
  "SELECT * FROM (SELECT a.id, b.id AS bid, ROW_NUMBER() OVER (PARTITION BY a.id ORDER BY b.ts DESC) AS rn FROM ev_a a JOIN ev_b b ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL '1 hour' AND a.ts) s WHERE rn = 1",
  "SELECT a.id, b.id FROM ev_a a JOIN ev_b b ON a.k = b.k AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '30 minutes'",
  "SELECT a.id, count(*) FROM ev_a a LEFT JOIN ev_b b ON b.ts BETWEEN a.ts AND a.ts + INTERVAL '1 hour' GROUP BY a.id",
  'SELECT k, v, sum(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM ev_a',
  'SELECT k, lag(v, 1, 0) OVER (PARTITION BY k ORDER BY ts) AS p, rank() OVER (ORDER BY v) AS r FROM ev_a',
  'SELECT id, v - lag(v) OVER w AS dv FROM ev_b WINDOW w AS (PARTITION BY k ORDER BY ts)',
  'SELECT k1, sum(v), rank() OVER (ORDER BY sum(v) DESC) FROM t GROUP BY k1',
  'SELECT * FROM t WHERE k1 IN (SELECT k1 FROM u WHERE u.v > t.v)',
  'SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k1 = t.k1) AND v > (SELECT avg(v) FROM u)',
  'SELECT k1, (SELECT max(v) FROM u WHERE u.k2 = t.k2) AS m FROM t',
  'SELECT * FROM t WHERE v > ALL (SELECT v FROM u WHERE u.k1 = t.k1)',
  "SELECT id, word FROM lines, unnest(string_to_array(line, ' ')) AS word",
  "SELECT id, unnest(tags) AS tag, generate_series(1, n) FROM lines",
  "SELECT window_start, count(*) FROM TUMBLE(gen, ts, INTERVAL '1 second') GROUP BY window_start",
  "SELECT window_start, max(price) FROM HOP(gen, ts, INTERVAL '1 second', INTERVAL '2 seconds') GROUP BY window_start",
  "SELECT to_char(ts, 'YYYY-MM-DD HH24:MI'), date_trunc('hour', ts), extract(hour FROM ts) FROM ev_a",
  "SELECT regexp_replace(k2, 'a', 'b', 'g'), lpad(k2, 5, '*'), md5(k2), split_part(k2, 'a', 1) FROM t",
  "SELECT string_agg(k2, ',' ORDER BY k2), array_agg(v ORDER BY v DESC), percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM t",
  "SELECT k, first_value(v ORDER BY ts), count(*) FILTER (WHERE v > 0) FROM ev_a GROUP BY k",
  'SELECT DISTINCT ON (k) k, v FROM ev_a ORDER BY k, ts DESC',
  "SELECT * FROM ev_a WHERE ts > now() - INTERVAL '1 hour'",
  'WITH x AS (SELECT k1, sum(v) AS s FROM t GROUP BY k1) SELECT * FROM x JOIN u ON x.k1 = u.k1',
  'SELECT id, price FROM gen WHERE price % 7 = 1',
  "SELECT id, tags[1], array_length(tags, 1), cardinality(tags) FROM lines WHERE 'x' = ANY (tags)",
  "SELECT a.id FROM ev_a a JOIN ev_b b ON a.ts BETWEEN b.ts AND b.ts + INTERVAL '1 hour' JOIN t ON t.k1 = a.k",
];

/** Random DDL: tables and datagen sources with random columns, and mutated forms of them. */
function randomDdl(r: Rnd, n: number): string {
  const types = ['INT', 'BIGINT', 'DOUBLE', 'VARCHAR', 'BOOLEAN', 'TIMESTAMP', 'DATE', 'INTERVAL', 'NUMERIC', 'TEXT[]', 'INT[]', 'BYTEA', 'JSONB', 'NOPE'];
  const cols = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i) => `c${i} ${pick(r, types)}`);
  if (r() < 0.3) cols.push(`PRIMARY KEY (c0)`);
  if (r() < 0.5) return `CREATE TABLE fz_t${n} (${cols.join(', ')})${r() < 0.3 ? ' APPEND ONLY' : ''}`;
  const opts = [`connector = 'datagen'`, `rows_per_second = ${pick(r, ['10', '0', '-1', "'x'", '1e9'])}`];
  if (r() < 0.5) opts.push(`fields.c0.kind = '${pick(r, ['sequence', 'random', 'nope'])}'`);
  if (r() < 0.3) opts.push(`fields.c0.min = ${pick(r, ['1', "'a'", '-5'])}`);
  return `CREATE SOURCE fz_s${n} (${cols.join(', ')}) WITH (${opts.join(', ')})`;
}

/** One random change to a statement's tokens. */
function mutate(r: Rnd, sql: string): string {
  const toks = lex(sql).filter((t) => t.kind !== 'eof');
  if (!toks.length) return sql;
  const text = toks.map((t) => sql.slice(t.start, t.end));
  const i = Math.floor(r() * text.length);
  const identAt = () => {
    const ids = toks.flatMap((t, k) => (t.kind === 'ident' ? [k] : []));
    return ids.length ? pick(r, ids) : i;
  };
  switch (Math.floor(r() * 10)) {
    case 0:
      text.splice(i, 1);
      break;
    case 1: {
      const a = identAt();
      const b = identAt();
      [text[a], text[b]] = [text[b]!, text[a]!];
      break;
    }
    case 2:
      text[identAt()] = pick(r, [...COLUMNS, ...TABLES]);
      break;
    case 3: {
      // A function call with another function's name.
      const calls = toks.flatMap((t, k) => (t.kind === 'ident' && toks[k + 1]?.value === '(' ? [k] : []));
      text[calls.length ? pick(r, calls) : identAt()] = pick(r, FUNCTIONS);
      break;
    }
    case 4: {
      const lits = toks.flatMap((t, k) => (t.kind === 'number' || t.kind === 'string' ? [k] : []));
      text[lits.length ? pick(r, lits) : identAt()] = pick(r, LITERALS);
      break;
    }
    case 5: {
      // A call with one argument more or fewer.
      const opens = toks.flatMap((t, k) => (t.value === '(' && toks[k - 1]?.kind === 'ident' ? [k] : []));
      if (!opens.length) break;
      const k = pick(r, opens);
      if (r() < 0.5) text[k] = `(${pick(r, LITERALS)}, `;
      else if (toks[k + 1] && toks[k + 2]?.value === ',') text.splice(k + 1, 2);
      else text[k] = '(';
      break;
    }
    case 6:
      text.splice(i, 0, pick(r, KEYWORDS));
      break;
    case 7:
      text.splice(i, 0, pick(r, ['(SELECT max(v) FROM t) + ', 'row_number() OVER (ORDER BY k1) + ', 'sum(v) + ', '(SELECT 1 FROM u WHERE u.k1 = t.k1 LIMIT 1) + ', 'count(*) OVER () + ']));
      break;
    case 8: {
      const where = text.findIndex((x) => x.toLowerCase() === 'where');
      const clause = pick(r, ['rank() OVER (ORDER BY v) = 1 AND ', 'sum(v) > 0 AND ', "ts BETWEEN now() AND now() + INTERVAL '1 day' AND ", 'EXISTS (SELECT 1 FROM ev_b WHERE ev_b.ts BETWEEN ev_a.ts AND ev_a.ts) AND ', 'unnest(tags) = 1 AND ']);
      if (where >= 0) text.splice(where + 1, 0, clause);
      else text.push('WHERE', clause.replace(/ AND $/, ''));
      break;
    }
    default:
      text.splice(i, 0, text[i]!);
  }
  return text.join(' ');
}

const generated = (arb: fc.Arbitrary<string>, r: Rnd) => fc.sample(arb, { seed: Math.floor(r() * 2 ** 31), numRuns: 1 })[0]!;

/** The case-th statement of a run: DDL, or a query (template or generated, maybe mutated). */
function statement(seed: number, n: number): { sql: string; kind: 'ddl' | 'query' } {
  const r = prng(seed * 1_000_003 + n);
  if (r() < 0.08) return { sql: r() < 0.5 ? randomDdl(r, n) : mutate(r, randomDdl(r, n)), kind: 'ddl' };
  const base = r() < 0.45 ? pick(r, TEMPLATES) : generated(pick(r, [query, query, joinQuery, topNQuery]), r);
  let sql = base;
  const mutations = r() < 0.2 ? 0 : 1 + Math.floor(r() * 3);
  for (let k = 0; k < mutations; k++) sql = mutate(r, sql);
  return { sql, kind: 'query' };
}

let engine: Engine;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  for (const s of SETUP) await engine.execute(s);
  await engine.execute(`INSERT INTO t VALUES ${fc.sample(row, { seed: 1, numRuns: 30 }).join(', ')}`);
  await engine.execute(`INSERT INTO u VALUES ${fc.sample(row, { seed: 2, numRuns: 30 }).join(', ')}`);
  await engine.execute('FLUSH');
});

afterAll(async () => {
  await engine?.close();
});

/** The SQLSTATE a statement fails with (null when it succeeds). */
async function outcome(sql: string, mode: 'view' | 'select' | 'ddl'): Promise<{ state: string; message: string } | null> {
  try {
    if (mode === 'view') {
      await engine.execute(`CREATE MATERIALIZED VIEW fz_v AS ${sql}`);
      try {
        await engine.execute('FLUSH');
      } finally {
        await engine.execute('DROP MATERIALIZED VIEW IF EXISTS fz_v');
      }
    } else await engine.execute(sql);
    return null;
  } catch (e) {
    const err = toSluiceError(e);
    return { state: err.sqlstate, message: err.message };
  }
}

/** Drops tokens one at a time while the statement still fails with XX000. */
async function shrink(sql: string, mode: 'view' | 'select' | 'ddl'): Promise<string> {
  let toks = lex(sql).filter((t) => t.kind !== 'eof').map((t) => sql.slice(t.start, t.end));
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < toks.length; i++) {
      const next = [...toks.slice(0, i), ...toks.slice(i + 1)];
      if ((await outcome(next.join(' '), mode))?.state === 'XX000') {
        toks = next;
        changed = true;
        i--;
      }
    }
  }
  return toks.join(' ');
}

describe('fuzzer: no input gives XX000', () => {
  it(`${CASES} random statements (seed ${SEED}), as views and as one-shot SELECTs`, async () => {
    const failures: string[] = [];
    const seen = new Set<string>();
    for (let n = 0; n < CASES; n++) {
      const { sql, kind } = statement(SEED, n);
      for (const mode of kind === 'ddl' ? (['ddl'] as const) : (['view', 'select'] as const)) {
        const got = await outcome(sql, mode);
        if (got?.state !== 'XX000') continue;
        // One report per message shape: the same crash found twice says nothing new.
        const names = new Set(lex(sql).map((t) => t.value));
        const shape = `${mode}: ${got.message.replace(/[\w.]+/g, (w) => (names.has(w.toLowerCase()) || /^\d/.test(w) ? 'X' : w)).slice(0, 80)}`;
        if (seen.has(shape)) continue;
        seen.add(shape);
        const report = `seed ${SEED} case ${n} (${mode}): XX000 ${got.message}\n  sql:    ${sql}\n  shrunk: ${await shrink(sql, mode)}`;
        // Printed at once too: a long run that is stopped still shows what it found.
        console.error(report);
        failures.push(report);
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, Math.max(600_000, CASES * 2000));
});

describe('crash classes the fuzzer found, fixed at their root', () => {
  const stateOf = async (sql: string) => (await outcome(sql, 'select'))?.state ?? null;

  it("DuckDB's catalog errors in one-shot SELECTs have PostgreSQL's SQLSTATEs", async () => {
    expect(await stateOf('SELECT no_such_function(k1) FROM t')).toBe('42883');
    await expect(engine.execute('SELECT no_such_function(k1) FROM t')).rejects.toThrow('function no_such_function does not exist');
    expect(await stateOf("SELECT to_char(ts, 'YYYY') FROM ev_a GROUP BY k")).not.toBe('XX000');
    expect(await stateOf('SELECT array_length(tags, 1) OVER (ORDER BY id) FROM lines')).toBe('42809');
  });

  it('a ROW_NUMBER bound that is not a whole number (rn > 1.5) is a top-N with the bound rounded, as the one-shot SELECT answers', async () => {
    for (const w of ['rn <= 2 AND rn > 1.5', 'rn <= 2.5', 'rn = 1.5', 'rn < 2.5 AND rn >= 1.5']) {
      const q = `SELECT k1, v FROM (SELECT k1, v, ROW_NUMBER() OVER (PARTITION BY k1 ORDER BY v, k2, d, b, big) AS rn FROM t) s WHERE ${w}`;
      await engine.execute(`CREATE MATERIALIZED VIEW fz_rn AS ${q}; FLUSH`);
      try {
        const [one] = await engine.execute(q);
        const sort = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();
        expect(sort(await engine.viewRows('fz_rn')), w).toEqual(sort((one as { rows: unknown[][] }).rows));
      } finally {
        await engine.execute('DROP MATERIALIZED VIEW fz_rn');
      }
    }
  });
});
