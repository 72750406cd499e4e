/**
 * Differential oracle against the real PostgreSQL (127.0.0.1:5432, database `test`) for
 * PostgreSQL's scalar functions, family by family: to_char of timestamps and of numbers by
 * random templates, to_timestamp/to_date reading what to_char wrote, regular expressions (the
 * operators, regexp_match/replace/count/like, SIMILAR TO and the regexp_matches SRF), text
 * building (format, lpad/rpad, md5, encode/decode), and calendar arithmetic (date_part,
 * make_date, make_timestamp, width_bucket). A random table gets random INSERT/UPDATE/DELETE in
 * random epochs; a view of each family's random expressions, and the same SELECT run ad hoc (in
 * DuckDB, through sluice's functions), must both equal PostgreSQL's answer over the final table,
 * compared as PostgreSQL's text. age, justify_* and make_interval are checked on their
 * months/days/time parts, which the interval representation does not yet keep apart.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import type { SqlType, Value } from '../src/common/types.js';
import { ageParts } from '../src/functions/scalar/calendar.js';
import { justifyDays, justifyHours, justifyInterval, type IntervalParts } from '../src/functions/scalar/interval-parts.js';
import { parseTimestamp } from '../src/common/values.js';
import { closeOracle, connectOracle, oracleRows, textRow } from './pg-oracle.js';

const SCHEMA = `t_funcs_${process.pid}`;
const TABLE = 'CREATE TABLE f (id INT, ts TIMESTAMP, x NUMERIC, d DOUBLE PRECISION, s VARCHAR, n INT)';
const RUNS = Number(process.env.SLUICE_FC_RUNS ?? 200);

let client: pg.Client;
let engine: Engine;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
  await client.query("SET TimeZone = 'UTC'");
  engine = await createEngine({ autoStart: false, log: () => undefined });
});

afterAll(async () => {
  await engine?.close();
  await client?.query('RESET search_path');
  await closeOracle(client, SCHEMA);
});

const lit = (v: string | number | null) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 6 });
const two = (n: number) => String(n).padStart(2, '0');
const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const chars = (unit: readonly string[], minLength: number, maxLength: number) => fc.array(pick(unit), { minLength, maxLength }).map((a) => a.join(''));

const id = fc.integer({ min: 0, max: 6 });
const ts = fc.record({
  y: fc.integer({ min: 1901, max: 2099 }), mo: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }),
  h: fc.integer({ min: 0, max: 23 }), mi: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }), us: fc.constantFrom(0, 5, 120000, 123456, 999999),
}).map((t) => `${t.y}-${two(t.mo)}-${two(t.d)} ${two(t.h)}:${two(t.mi)}:${two(t.s)}.${String(t.us).padStart(6, '0')}`);
const x = fc.tuple(fc.integer({ min: -9_999_999, max: 9_999_999 }), fc.integer({ min: 0, max: 4 })).map(([m, k]) => Number((m / 10 ** k).toFixed(k)));
const d = fc.constantFrom(-2.5, 0, 0.25, 1, 3.75, 7.5, 10, 12.5, 99);
const s = chars(['a', 'A', 'b', '1', '2', ' ', '_', 'x', '-', 'é'], 0, 9);
const n = fc.integer({ min: -2, max: 12 });
const row: fc.Arbitrary<(string | number | null)[]> = fc.tuple(id, opt(ts), opt(x), opt(d), opt(s), opt(n));

const op = fc.oneof(
  { weight: 6, arbitrary: row.map((r) => `INSERT INTO f VALUES (${r.map(lit).join(', ')})`) },
  { weight: 2, arbitrary: fc.tuple(id, opt(ts), opt(s)).map(([i, t, v]) => `UPDATE f SET ts = ${lit(t)}, s = ${lit(v)} WHERE id = ${i}`) },
  { weight: 1, arbitrary: fc.tuple(id, opt(x), opt(n)).map(([i, v, k]) => `UPDATE f SET x = ${lit(v)}, n = ${lit(k)} WHERE id = ${i}`) },
  { weight: 2, arbitrary: id.map((i) => `DELETE FROM f WHERE id = ${i}`) },
  { weight: 2, arbitrary: fc.constant('FLUSH') },
);

const TS_PIECES = ['YYYY', 'YY', 'Y,YYY', 'MM', 'mm', 'Mon', 'MON', 'mon', 'Month', 'FMMonth', 'DD', 'FMDD', 'DDD', 'D', 'Day', 'FMDay', 'DY', 'dy', 'HH', 'HH12', 'HH24', 'hh24',
  'FMHH24', 'MI', 'SS', 'MS', 'US', 'FF3', 'AM', 'pm', 'A.M.', 'p.m.', 'J', 'IYYY', 'IW', 'WW', 'W', 'Q', 'CC', 'DDth', 'FMDDTH', 'TZ', 'SSSS', '"at"', 'RM', 'rm', 'IDDD', 'ID', 'yyyy', 'Y', 'FMMM'];
const SEPS = [' ', '-', ':', '/', '.', ', ', ''];
const tsTemplate = fc.array(fc.tuple(fc.constantFrom(...TS_PIECES), fc.constantFrom(...SEPS)), { minLength: 1, maxLength: 6 }).map((ps) => ps.map(([p, sep]) => p + sep).join(''));

const numTemplate = fc.record({
  pre: fc.constantFrom('', 'S', 'FM', 'FMS', 'SG', 'PL'),
  int: chars(['9', '9', '9', '0'], 1, 8),
  group: fc.boolean(),
  frac: fc.option(chars(['9', '0'], 1, 4), { nil: null }),
  post: fc.constantFrom('', '', 'MI', 'PR'),
}).map((t) => {
  let int = t.int;
  if (t.group && int.length > 3) int = `${int.slice(0, int.length - 3)},${int.slice(-3)}`;
  const pre = t.post === 'PR' || t.post === 'MI' ? t.pre.replace(/S|SG|PL/, '') : t.pre;
  return `${pre}${int}${t.frac === null ? '' : `.${t.frac}`}${t.post}`;
});

/** Round trips: a template to_timestamp reads back what to_char wrote with it. */
const PARSE_TEMPLATES = ['YYYY-MM-DD HH24:MI:SS', 'DD Mon YYYY HH12:MI:SS AM', 'YYYYMMDD', 'YYYY-MM-DD"T"HH24:MI:SS.US', 'Month DD, YYYY', 'DD/MM/YY HH24.MI', 'J', 'YYYY DDD', 'FMDD FMMonth YYYY', 'Dy DD Mon YYYY'];

const REGEXES = ['a', 'a+', '^a', 'b$', '[ab]+', '[^ab ]', '\\d+', '\\w+', '\\s', '(a)(b)?', 'a.b', '[[:digit:]]+', '[[:alpha:]]{2}', '\\mab', 'b\\M', '(\\d)(\\d)', '[a-c]{1,2}', '.', 'x?', '(?:a|1)_', 'A', '[[:upper:]]', '\\y\\w', 'é'];
const FLAGS = ['', 'i', 'n'];
const REPLACEMENTS = ['X', '<\\&>', '\\1', '', '\\\\'];
const SIMILAR = ['a%', '%b', '_b%', '(a|b)%', '%[0-9]%', 'a*', '%(ab)+%', '[a-c]_%', '%', '_', 'A%'];


/** Each family: random expressions over f's columns (PostgreSQL's text is the same). */
const FAMILIES: Readonly<Record<string, fc.Arbitrary<string>>> = {
  to_char_timestamp: fc.oneof(
    tsTemplate.map((t) => `to_char(ts, ${lit(t)})`),
    tsTemplate.map((t) => `to_char(ts::date, ${lit(t)})`),
  ),
  to_char_number: fc.oneof(
    numTemplate.map((t) => `to_char(x, ${lit(t)})`),
    numTemplate.map((t) => `to_char(n, ${lit(t)})`),
  ),
  to_timestamp: fc.oneof(
    pick(PARSE_TEMPLATES).map((t) => `to_timestamp(to_char(ts, ${lit(t)}), ${lit(t)})::timestamp`),
    pick(PARSE_TEMPLATES).map((t) => `to_date(to_char(ts, ${lit(t)}), ${lit(t)})`),
    fc.constant('to_timestamp(n * 86400.5)::timestamp'),
  ),
  regex: fc.oneof(
    fc.tuple(pick(REGEXES), fc.constantFrom('~', '~*', '!~', '!~*')).map(([p, o]) => `s ${o} ${lit(p)}`),
    fc.tuple(pick(REGEXES), pick(FLAGS)).map(([p, f]) => `regexp_match(s, ${lit(p)}, ${lit(f)})`),
    fc.tuple(pick(REGEXES), pick(REPLACEMENTS), pick(['', 'g', 'gi', 'i'])).map(([p, r, f]) => `regexp_replace(s, ${lit(p)}, ${lit(r)}, ${lit(f)})`),
    fc.tuple(pick(REGEXES), pick(REPLACEMENTS), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 })).map(([p, r, st, k]) => `regexp_replace(s, ${lit(p)}, ${lit(r)}, ${st}, ${k})`),
    fc.tuple(pick(REGEXES), pick(FLAGS)).map(([p, f]) => `regexp_count(s, ${lit(p)}, 1, ${lit(f)})`),
    fc.tuple(pick(REGEXES), pick(FLAGS)).map(([p, f]) => `regexp_like(s, ${lit(p)}, ${lit(f)})`),
    pick(SIMILAR).map((p) => `s SIMILAR TO ${lit(p)}`),
    pick(SIMILAR).map((p) => `s NOT SIMILAR TO ${lit(p)}`),
  ),
  text: fc.oneof(
    pick(['%s-%s', '%L', '%2$s %1$s', '%-5s|%s', '%5s|', '%%%s', '%I', '[%*s]']).map((f) => `format(${lit(f)}, ${f === '%I' ? "coalesce(s, 'q')" : f === '[%*s]' ? 'n, s' : 's, n'})`),
    fc.tuple(fc.constantFrom('lpad', 'rpad'), pick(['', '*', 'ab', null])).map(([f, fill]) => `${f}(s, n${fill === null ? '' : `, ${lit(fill)}`})`),
    fc.constant('md5(s)'),
    // DuckDB casts only ASCII text to bytea.
    pick(['hex', 'base64', 'escape']).map((e) => `encode(replace(s, 'é', 'e')::bytea, ${lit(e)})`),
    pick(['hex', 'base64', 'escape']).map((e) => `decode(encode(replace(s, 'é', 'e')::bytea, ${lit(e)}), ${lit(e)})`),
  ),
  calendar: fc.oneof(
    pick(['year', 'month', 'day', 'hour', 'minute', 'second', 'dow', 'doy', 'epoch', 'quarter', 'isodow', 'week', 'milliseconds', 'microseconds']).map((u) => `date_part(${lit(u)}, ts)`),
    fc.constant('make_date(2000 + n, abs(n) % 12 + 1, abs(n) + 1)'),
    fc.constant('make_timestamp(1999 + abs(n), 2, 28, abs(n), 59, 30.5)'),
    fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: 6, max: 20 }), fc.integer({ min: 1, max: 5 })).map(([lo, hi, c]) => `width_bucket(d, ${lo}, ${hi}, ${c})`),
    fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 5 })).map(([hi, c]) => `width_bucket(d, 12, ${hi}, ${c})`),
  ),
};
const FAMILY_NAMES = Object.keys(FAMILIES);

const scenario = fc.record({
  before: fc.array(op, { maxLength: 6 }),
  after: fc.array(op, { maxLength: 12 }),
  queries: fc.record(Object.fromEntries(FAMILY_NAMES.map((f) => [f, fc.array(FAMILIES[f]!, { minLength: 1, maxLength: 3 })]))) as fc.Arbitrary<Record<string, string[]>>,
  srf: fc.tuple(pick(REGEXES), pick(['g', '', 'gi'])),
});

type Scenario = { before: string[]; after: string[]; queries: Record<string, string[]>; srf: [string, string] };

function selectOf(exprs: readonly string[]): string {
  return `SELECT id, ${exprs.map((e, i) => `${e} AS c${i}`).join(', ')} FROM f`;
}

function rowsText(rows: readonly (readonly Value[])[], types: readonly SqlType[]): string[] {
  return rows.map((r) => textRow(r, types)).sort();
}

async function runScenario(sc: Scenario): Promise<void> {
  // One engine for every case: each starts from a fresh table and no views.
  try {
    await client.query(`DROP TABLE IF EXISTS f; ${TABLE}`);
    await engine.execute(`DROP TABLE IF EXISTS f CASCADE; ${TABLE}`);
    const apply = async (stmt: string) => {
      await engine.execute(stmt);
      if (stmt !== 'FLUSH') await client.query(stmt);
    };
    for (const stmt of sc.before) await apply(stmt);
    const queries: [string, string][] = FAMILY_NAMES.map((f) => [f, selectOf(sc.queries[f]!)]);
    queries.push(['regexp_matches', `SELECT id, regexp_matches(s, ${lit(sc.srf[0])}, ${lit(sc.srf[1])}) AS m FROM f`]);
    for (const [name, q] of queries) await engine.execute(`CREATE MATERIALIZED VIEW v_${name} AS ${q}`);
    for (const stmt of sc.after) await apply(stmt);
    await engine.execute('FLUSH');
    for (const [name, q] of queries) {
      const want = await oracleRows(client, q);
      const schema = engine.catalog.relation(`v_${name}`).schema;
      expect(rowsText(await engine.viewRows(`v_${name}`), schema.map((c) => c.type)), `view ${name}: ${q}`).toEqual(want);
      const [r] = await engine.execute(q);
      if (r?.kind !== 'rows') throw new Error('expected rows');
      expect(rowsText(r.rows, r.columns.map((c) => c.type)), `ad hoc ${name}: ${q}`).toEqual(want);
    }
  } finally {
    await engine.execute('DROP TABLE IF EXISTS f CASCADE');
  }
}

/** PostgreSQL's text of an interval's parts (IntervalStyle postgres). */
function partsText(p: IntervalParts): string {
  const out: string[] = [];
  // After a negative field, a positive one carries its sign.
  let negativeBefore = false;
  const field = (v: number, unit: string) => {
    if (!v) return;
    out.push(`${negativeBefore && v > 0 ? '+' : ''}${v} ${unit}${v === 1 ? '' : 's'}`);
    negativeBefore = v < 0;
  };
  field(Math.trunc(p.months / 12), 'year');
  field(p.months % 12, 'mon');
  field(p.days, 'day');
  if (p.micros !== 0n || out.length === 0) {
    const neg = p.micros < 0n;
    let us = neg ? -p.micros : p.micros;
    const h = us / 3_600_000_000n;
    us -= h * 3_600_000_000n;
    const mi = us / 60_000_000n;
    us -= mi * 60_000_000n;
    const sec = us / 1_000_000n;
    const frac = us % 1_000_000n;
    const pad = (v: bigint) => String(v).padStart(2, '0');
    const lead = neg ? '-' : negativeBefore ? '+' : '';
    out.push(`${lead}${pad(h)}:${pad(mi)}:${pad(sec)}${frac ? `.${String(frac).padStart(6, '0').replace(/0+$/, '')}` : ''}`);
  }
  return out.join(' ');
}

describe('differential: PostgreSQL functions vs PostgreSQL over the final table', () => {
  it(`random rows, random DML in random epochs, every family in views and ad hoc (${RUNS} cases)`, async () => {
    await fc.assert(fc.asyncProperty(scenario, (sc) => runScenario(sc as Scenario)), { numRuns: RUNS, verbose: 1 });
  }, 1_200_000);

  it('age borrows months and days as PostgreSQL does (random pairs)', async () => {
    const pair = fc.tuple(ts, ts);
    const cases = fc.sample(pair, 300);
    cases.push(['2021-03-31 00:00:00.000000', '2021-02-28 12:00:00.000000'], ['2020-02-29 00:00:00.000000', '2021-03-01 00:00:00.000000'], ['2001-01-31 10:00:00.000000', '2000-12-31 23:59:59.999999']);
    const r = await client.query({ text: `SELECT age(a::timestamp, b::timestamp)::text FROM unnest($1::text[], $2::text[]) AS u(a, b)`, values: [cases.map((c) => c[0]), cases.map((c) => c[1])] });
    const got = cases.map(([a, b]) => partsText(ageParts(parseTimestamp(a), parseTimestamp(b))));
    expect(got).toEqual(r.rows.map((x: { age: string }) => x.age));
  });

  it('justify_days, justify_hours and justify_interval move whole days and months as PostgreSQL does', async () => {
    const parts = fc.record({ months: fc.integer({ min: -30, max: 30 }), days: fc.integer({ min: -70, max: 70 }), micros: fc.bigInt({ min: -200_000_000_000n, max: 200_000_000_000n }) });
    const cases = fc.sample(parts, 200);
    const texts = cases.map((p) => `${p.months} mons ${p.days} days ${p.micros} microseconds`);
    const r = await client.query({ text: 'SELECT justify_days(i)::text AS d, justify_hours(i)::text AS h, justify_interval(i)::text AS j FROM unnest($1::interval[]) AS u(i)', values: [texts] });
    const got = cases.map((p) => ({ d: partsText(justifyDays(p)), h: partsText(justifyHours(p)), j: partsText(justifyInterval(p)) }));
    expect(got).toEqual(r.rows);
  });
});
