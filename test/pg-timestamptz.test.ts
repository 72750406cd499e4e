/**
 * TIMESTAMPTZ and the session TimeZone against the real PostgreSQL (127.0.0.1:5432, database
 * `test`, a schema of this file's own). Each case draws a zone with DST or an odd offset and
 * instants near its transitions in 1970–2037, runs random DML in random epochs under
 * `SET TIME ZONE` into views (casts, AT TIME ZONE, arithmetic across DST, date_trunc,
 * date_part, to_char, comparisons with timestamps, grouping by local day), and compares every
 * view and one-shot SELECTs with PostgreSQL running the same SELECT under the same TimeZone.
 * Then the pg-wire side (text and binary, SET/SHOW, ParameterStatus) and a view's zone across a
 * restart.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatValue } from '../src/common/values.js';
import { timeZoneOf } from '../src/common/time-zone.js';
import { createEngine } from '../src/exec/runtime/engine.js';
import type { SessionZone } from '../src/exec/runtime/settings.js';
import type { SqlType, Value } from '../src/common/types.js';
import { tempDirEach } from './helpers.js';
import { closeOracle, connectOracle, oracleRows } from './pg-oracle.js';

const SCHEMA = `sluice_timestamptz_${process.pid}`;
/** Each run is a table, six views and a few epochs in one shared engine (about 0.2 s). */
const RUNS = Number(process.env.SLUICE_TIMESTAMPTZ_RUNS ?? 200);
let client: pg.Client;

beforeAll(async () => {
  client = await connectOracle(SCHEMA);
});

afterAll(async () => {
  await closeOracle(client, SCHEMA);
});

/** Zones with DST, odd offsets (+05:30, +10:30/+11, +12:45/+13:45, −03:30/−02:30), UTC and POSIX forms. */
const ZONES = ['America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/St_Johns', 'UTC', 'UTC+5', 'america/new_york', '<+0530>-05:30', '<+0545>-05:45'];
/** Fixed offsets DuckDB's ICU has no zone for: one-shot SELECTs convert in UTC there (README: limits), views are exact. */
const NO_ICU_ZONE = new Set(['<+0545>-05:45']);

const p2 = (n: number) => String(n).padStart(2, '0');

/** Local (wall-clock) text of a UTC instant in an IANA zone, by Intl (the test's own reading). */
function offsetAt(zone: string, ms: number): number {
  const s = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')!.value;
  const m = /GMT([+-])(\d\d):(\d\d)/.exec(s);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/** The UTC instants (ms) of a zone's offset changes in a year, found day by day and bisected to the minute. */
const transitionCache = new Map<string, number[]>();
function transitions(zone: string, year: number): number[] {
  const key = `${zone}|${year}`;
  const hit = transitionCache.get(key);
  if (hit) return hit;
  const out: number[] = [];
  const iana = /^[A-Z][a-z]+\//.test(zone) ? zone : null;
  if (iana) {
    let t = Date.UTC(year, 0, 1);
    let prev = offsetAt(iana, t);
    for (let d = 1; d <= 366; d++) {
      const t2 = Date.UTC(year, 0, 1) + d * 86_400_000;
      const o = offsetAt(iana, t2);
      if (o !== prev) {
        let lo = t;
        let hi = t2;
        while (hi - lo > 60_000) {
          const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
          if (offsetAt(iana, mid) === prev) lo = mid;
          else hi = mid;
        }
        out.push(hi);
        prev = o;
      }
      t = t2;
    }
  }
  if (out.length === 0) out.push(Date.UTC(year, 2, 29, 1));
  transitionCache.set(key, out);
  return out;
}

const isoUtc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** An instant near one of the zone's transitions, as text in one of the forms PostgreSQL reads. */
function instantText(zone: string): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: 1970, max: 2037 }), fc.nat(), fc.integer({ min: -180, max: 180 }), fc.constantFrom(0, 0, 0, 30, 59), fc.constantFrom('', '', '.5', '.123456'), fc.constantFrom('local', 'local', 'local', 'utc', 'offset', 'named'))
    .map(([year, k, minutes, sec, frac, form]) => {
      const ts = transitions(zone, year);
      const ms = ts[k % ts.length]! + minutes * 60_000 + sec * 1000;
      if (form === 'utc') return `${isoUtc(ms)}${frac}+00`;
      if (form === 'offset') return `${isoUtc(ms + 330 * 60_000)}${frac}+05:30`;
      if (form === 'named') return `${isoUtc(ms - 210 * 60_000)}${frac} America/St_Johns`;
      // Wall-clock text around the transition (read in the session zone: gaps and overlaps).
      const d = new Date(ms + (/^[A-Z][a-z]+\//.test(zone) ? offsetAt(zone, ms) : 0) * 60_000);
      return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}${frac}`;
    });
}

const INTERVALS = ['1 day', '-1 day', '1 mon', '1 mon 1 day', '24:00:00', '2 hours', '-3 hours 30 minutes', '1 year -2 days 01:00:00', '7 days', '00:00:00.5'];

const row = (zone: string) => fc.record({
  g: fc.integer({ min: 0, max: 2 }),
  ts: instantText(zone),
  l: instantText(zone).map((s) => s.replace(/\s*([+-]\d\d(:\d\d)?|America\/St_Johns)$/, '')),
  d: fc.integer({ min: 0, max: 24_000 }).map((n) => new Date(n * 86_400_000).toISOString().slice(0, 10)),
  iv: fc.constantFrom(...INTERVALS),
});
type Row = typeof row extends (z: string) => fc.Arbitrary<infer T> ? T : never;

const DDL = 'CREATE TABLE tz (id INT PRIMARY KEY, g INT, ts TIMESTAMPTZ, l TIMESTAMP, d DATE, iv INTERVAL)';

/** The views, each the same text in sluice and PostgreSQL. */
const VIEWS: Record<string, string> = {
  conv: `SELECT id, ts, ts::text AS t, ts::date AS dt, ts::timestamp AS lt, l::timestamptz AS lz, d::timestamptz AS dz, ts AT TIME ZONE 'UTC' AS u, l AT TIME ZONE 'Asia/Kolkata' AS k, ts AT TIME ZONE 'America/St_Johns' AS sj, timezone(INTERVAL '+05:45', ts) AS np, l AT TIME ZONE 'UTC+3' AS px FROM tz`,
  arith: `SELECT id, ts + iv AS p, ts - iv AS m, iv + ts AS rp, ts + INTERVAL '1 day' AS pd, ts - INTERVAL '1 mon' AS mm, ts + INTERVAL '36 hours' AS ph, ts - l AS dl, ts - d AS dd, age(ts, l) AS ag FROM tz`,
  fns: `SELECT id, date_trunc('day', ts) AS td, date_trunc('hour', ts) AS th, date_trunc('month', ts) AS tm, date_trunc('week', ts) AS tw, date_trunc('day', ts, 'Europe/Berlin') AS tb, date_part('hour', ts) AS h, date_part('day', ts) AS dy, date_part('epoch', ts) AS ep, date_part('timezone', ts) AS tzs, date_part('timezone_hour', ts) AS tzh, date_part('timezone_minute', ts) AS tzm, date_part('dow', ts) AS dow, to_char(ts, 'YYYY-MM-DD HH24:MI:SS OF TZH TZM') AS tc FROM tz`,
  cmp: `SELECT id, ts < l AS lt, ts = l AS eq, ts >= d AS ge, ts > '2000-01-01 00:00' AS y2k, l < '2000-01-01 00:00:00+00'::timestamptz AS ly FROM tz`,
  daily: `SELECT date_trunc('day', ts) AS day, count(*) AS n, min(ts) AS first, max(ts) AS last FROM tz GROUP BY date_trunc('day', ts)`,
  filtered: `SELECT id, ts FROM tz WHERE ts BETWEEN l::timestamptz - INTERVAL '1 day' AND l::timestamptz + INTERVAL '1 day'`,
};

/** One-shot SELECTs (DuckDB with its ICU zone, and sluice's kernels through it) with the same text in PostgreSQL. */
const ONE_SHOT = [
  `SELECT id, ts, ts::text, ts::date, ts::timestamp, l::timestamptz, d::timestamptz, ts AT TIME ZONE 'UTC', l AT TIME ZONE 'Asia/Kolkata' FROM tz`,
  // (Not ts + iv: DuckDB adds an interval's time part on the wall clock, PostgreSQL to the instant — README: limits.)
  `SELECT id, ts - INTERVAL '1 mon', ts + INTERVAL '1 day', date_trunc('day', ts), date_part('hour', ts), to_char(ts, 'YYYY-MM-DD HH24:MI OF') FROM tz`,
  `SELECT id, ts < l, ts >= d FROM tz`,
  `SELECT day, n, first, last FROM daily`,
];

/** PostgreSQL's text of a sluice value, a timestamptz printed in `zone`. */
function textRow(r: readonly Value[], types: readonly SqlType[], zone: SessionZone): string {
  return JSON.stringify(r.map((v, i) => formatValue(v, types[i]!, zone.zone)));
}

const insertSql = (id: number, r: Row) => `INSERT INTO tz VALUES (${id}, ${r.g}, '${r.ts}', '${r.l}', '${r.d}', '${r.iv}')`;

const caseArb = fc.constantFrom(...ZONES).chain((zone) => fc.record({
  zone: fc.constant(zone),
  epochs: fc.array(fc.record({ inserts: fc.array(row(zone), { minLength: 1, maxLength: 5 }), deletes: fc.array(fc.nat(), { maxLength: 2 }) }), { minLength: 1, maxLength: 3 }),
}));

describe('timestamptz under the session TimeZone vs PostgreSQL', () => {
  it('random DML in random epochs: each view and one-shot SELECT equals PostgreSQL under the same zone', async () => {
    // One engine for every case (a case drops its table and views at the end): an engine's start is most of a case's time.
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    const session: SessionZone = { zone: timeZoneOf('UTC') };
    const run = (sql: string) => engine.execute(sql, { zone: session });
    try {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ zone, epochs }) => {
        await client.query(`SET TIME ZONE '${zone}'; DROP TABLE IF EXISTS tz CASCADE; ${DDL}`);
        try {
          await run(`SET TIME ZONE '${zone}'`);
          await run(DDL);
          for (const [name, q] of Object.entries(VIEWS)) await run(`CREATE MATERIALIZED VIEW ${name} AS ${q}`);
          await client.query(`CREATE VIEW daily AS ${VIEWS.daily!}`);
          const live: number[] = [];
          let next = 1;
          for (const ep of epochs) {
            for (const r of ep.inserts) {
              const sql = insertSql(next, r);
              await run(sql);
              await client.query(sql);
              live.push(next++);
            }
            for (const d of ep.deletes) {
              if (live.length === 0) break;
              const [gone] = live.splice(d % live.length, 1);
              const sql = `DELETE FROM tz WHERE id = ${gone!}`;
              await run(sql);
              await client.query(sql);
            }
            await run('FLUSH');
          }
          for (const [name, q] of Object.entries(VIEWS)) {
            const types = engine.catalog.relation(name).schema.map((f) => f.type);
            const got = (await engine.viewRows(name)).map((r) => textRow(r, types, session)).sort();
            expect(got, `${name} in ${zone}`).toEqual(await oracleRows(client, q));
          }
          for (const q of NO_ICU_ZONE.has(zone) ? [] : ONE_SHOT) {
            const [res] = await run(q);
            if (res?.kind !== 'rows') throw new Error(`${q} returned no rows`);
            const types = res.columns.map((c) => c.type);
            expect(res.rows.map((r) => textRow(r, types, session)).sort(), `${q} in ${zone}`).toEqual(await oracleRows(client, q));
          }
        } finally {
          await run('DROP TABLE IF EXISTS tz CASCADE');
        }
      }),
      // Shrinking a failure is cut off after a few minutes (the failure so far is reported).
      { numRuns: RUNS, interruptAfterTimeLimit: 540_000, markInterruptAsFailure: true },
    );
    } finally {
      await engine.close();
    }
  }, 600_000);
});

describe('now() is a timestamptz', () => {
  it("a temporal filter reads a timestamp column in the view's zone and a timestamptz column as the instant", async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    const session: SessionZone = { zone: timeZoneOf('UTC') };
    const run = (sql: string) => engine.execute(sql, { zone: session });
    try {
      await run("SET TIME ZONE 'America/New_York'");
      await run('CREATE TABLE ev (id INT PRIMARY KEY, l TIMESTAMP, ts TIMESTAMPTZ)');
      await run("CREATE MATERIALIZED VIEW recent_l AS SELECT id FROM ev WHERE l > now() - INTERVAL '1 hour'");
      await run("CREATE MATERIALIZED VIEW recent_ts AS SELECT id FROM ev WHERE ts > now() - INTERVAL '1 hour'");
      // Wall-clock New York text 30 minutes ago (in the last hour there), and 3 hours ago.
      const ny = (minutesAgo: number) => {
        const ms = Date.now() - minutesAgo * 60_000;
        return new Date(ms + offsetAt('America/New_York', ms) * 60_000).toISOString().replace('T', ' ').slice(0, 19);
      };
      await run(`INSERT INTO ev VALUES (1, '${ny(30)}', '${ny(30)}'), (2, '${ny(180)}', '${ny(180)}')`);
      await run('FLUSH');
      expect((await engine.viewRows('recent_l')).map((r) => r[0])).toEqual([1]);
      expect((await engine.viewRows('recent_ts')).map((r) => r[0])).toEqual([1]);
      const [r] = await run("SELECT now() > '2000-01-01 00:00:00+00' AS after, pg_typeof(now())::text AS t");
      expect(r?.kind === 'rows' && r.rows).toEqual([[true, 'timestamp with time zone']]);
    } finally {
      await engine.close();
    }
  });
});

describe('timestamptz in sources and JSON output', () => {
  const dir = tempDirEach('sluice-tstz-src-');
  it('a source reads offsets as written and text without one as UTC (a source has no session); to_jsonb prints the instant', async () => {
    const json = dir();
    writeFileSync(join(json, 'a.jsonl'), ['{"id":1,"ts":"2026-03-08 01:30:00-05"}', '{"id":2,"ts":"2026-03-08T06:30:00Z"}', '{"id":3,"ts":"2026-03-08 06:30:00"}', '{"id":4,"ts":1772951400000}', '{"id":5,"ts":"2026-03-08 12:00:00+05:30"}'].join('\n') + '\n');
    const csv = dir();
    writeFileSync(join(csv, 'a.csv'), '1,2026-03-08 01:30:00-05\n2,2026-03-08 06:30:00\n');
    const engine = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [tmpdir()] });
    const session: SessionZone = { zone: timeZoneOf('UTC') };
    const run = (sql: string) => engine.execute(sql, { zone: session });
    try {
      await run("SET TIME ZONE 'Asia/Kolkata'");
      await run(`CREATE SOURCE sj (id INT, ts TIMESTAMPTZ) WITH (connector = 'file', path = '${json}', format = 'json')`);
      await run(`CREATE SOURCE sc (id INT, ts TIMESTAMPTZ) WITH (connector = 'file', path = '${csv}', format = 'csv')`);
      await run('CREATE MATERIALIZED VIEW vj AS SELECT id, ts, to_jsonb(ts) AS j FROM sj');
      await run('CREATE MATERIALIZED VIEW vc AS SELECT id, ts FROM sc');
      await run('FLUSH');
      const text = async (v: string) => (await engine.viewRows(v)).map((r) => r.map((x, i) => formatValue(x, engine.catalog.relation(v).schema[i]!.type, session.zone)).join(' ')).sort();
      expect(await text('vj')).toEqual([
        '1 2026-03-08 12:00:00+05:30 "2026-03-08T06:30:00+00:00"',
        '2 2026-03-08 12:00:00+05:30 "2026-03-08T06:30:00+00:00"',
        '3 2026-03-08 12:00:00+05:30 "2026-03-08T06:30:00+00:00"',
        '4 2026-03-08 12:00:00+05:30 "2026-03-08T06:30:00+00:00"',
        '5 2026-03-08 12:00:00+05:30 "2026-03-08T06:30:00+00:00"',
      ]);
      expect(await text('vc')).toEqual(['1 2026-03-08 12:00:00+05:30', '2 2026-03-08 12:00:00+05:30']);
    } finally {
      await engine.close();
    }
  });
});
