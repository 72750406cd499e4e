/**
 * TIMESTAMPTZ and the session TimeZone over the wire, with the real PostgreSQL (127.0.0.1:5432)
 * as the oracle: SET TIME ZONE / SHOW TimeZone / RESET and the ParameterStatus a change sends,
 * each connection's own zone, the text and binary forms (OID 1184) of a view's column and of
 * one-shot SELECTs, the 22023 of an unknown zone, psql's output, and a view's zone across a
 * restart of the engine.
 */
import { execFile, execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { closeOracle, connectOracle } from '../pg-oracle.js';
import { tempDirEach } from '../helpers.js';

const SCHEMA = `sluice_tstz_wire_${process.pid}`;
let engine: Engine;
let server: PgServer;
let ours: pg.Client;
let oracle: pg.Client;

const hasPsql = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const raw = { getTypeParser: () => (v: string | Buffer) => v };
const ROWS = "(1, '2026-03-08 01:30', '2026-03-08 01:30'), (2, '2026-03-08 02:30', '2026-03-08 02:30'), (3, '2026-11-01 01:30:00.25', '2026-11-01 01:30'), (4, '2026-06-01 12:00+05:30', '2026-06-01 12:00')";
const QUERY = "SELECT id, ts, l::timestamptz AS lz, ts AT TIME ZONE 'Asia/Kolkata' AS k, date_trunc('day', ts) AS d, ts + INTERVAL '1 day' AS p FROM tz";

const connect = async (port: number) => {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'test', database: 'test' });
  await c.connect();
  return c;
};

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  ours = await connect(server.port);
  oracle = await connectOracle(SCHEMA);
  for (const c of [ours, oracle]) {
    await c.query("SET TIME ZONE 'America/New_York'");
    await c.query('CREATE TABLE tz (id INT PRIMARY KEY, ts TIMESTAMPTZ, l TIMESTAMP)');
    await c.query(`INSERT INTO tz VALUES ${ROWS}`);
  }
  await ours.query(`CREATE MATERIALIZED VIEW v AS ${QUERY}`);
  await ours.query('FLUSH');
});

afterAll(async () => {
  await ours?.end();
  await closeOracle(oracle, SCHEMA);
  await server?.close();
  await engine?.close();
});

/** Both answers to `sql` (rows of raw text, sorted by the first column) and the type OIDs. */
async function both(sql: string, mine = sql, binary = false) {
  const q = (c: pg.Client, text: string) => c.query({ text, rowMode: 'array', types: raw, binary } as pg.QueryConfig);
  const [a, b] = [await q(ours, mine), await q(oracle, sql)];
  const norm = (r: pg.QueryResult) => (r.rows as unknown[][]).map((row) => row.map((x) => (Buffer.isBuffer(x) ? x.toString('hex') : x)));
  return { got: norm(a), want: norm(b), gotTypes: a.fields.map((f) => f.dataTypeID), wantTypes: b.fields.map((f) => f.dataTypeID) };
}

describe('the session TimeZone over pg-wire', () => {
  it('SET TIME ZONE sends ParameterStatus; SHOW and RESET answer as PostgreSQL', async () => {
    const c = await connect(server.port);
    const seen: string[] = [];
    (c as unknown as { connection: { on(e: string, f: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection.on('parameterStatus', (m) => {
      if (m.parameterName === 'TimeZone') seen.push(m.parameterValue);
    });
    try {
      for (const [set, show] of [["SET TIME ZONE 'australia/lord_howe'", 'Australia/Lord_Howe'], ["SET TimeZone = 'UTC+5'", 'UTC+5'], ['SET TIME ZONE 5.5', '<+05:30>-05:30'], ["SET TIME ZONE INTERVAL '-03:30' HOUR TO MINUTE", '<-03:30>+03:30'], ["SET timezone TO 'Pacific/Chatham'", 'Pacific/Chatham']] as const) {
        await c.query(set);
        await oracle.query(set);
        const r = await c.query('SHOW TimeZone');
        expect(r.rows, set).toEqual([{ TimeZone: show }]);
        expect(r.rows, set).toEqual((await oracle.query('SHOW TimeZone')).rows);
      }
      expect(seen).toEqual(['Australia/Lord_Howe', 'UTC+5', '<+05:30>-05:30', '<-03:30>+03:30', 'Pacific/Chatham']);
      await c.query('RESET TIME ZONE');
      expect((await c.query('SHOW TimeZone')).rows).toEqual([{ TimeZone: 'UTC' }]);
      expect(seen.at(-1)).toBe('UTC');
      await oracle.query("SET TIME ZONE 'America/New_York'");
    } finally {
      await c.end();
    }
  });

  it('an unknown zone is 22023 with PostgreSQL\'s message, and the zone stays', async () => {
    const err = (c: pg.Client) => c.query("SET TIME ZONE 'Mars/Olympus'").then(() => null, (e: pg.DatabaseError) => ({ code: e.code, message: e.message }));
    expect(await err(ours)).toEqual(await err(oracle));
    expect((await ours.query('SHOW TimeZone')).rows).toEqual([{ TimeZone: 'America/New_York' }]);
  });

  it('each connection has its own zone', async () => {
    const other = await connect(server.port);
    try {
      expect((await other.query('SHOW TimeZone')).rows).toEqual([{ TimeZone: 'UTC' }]);
      const r = await other.query({ text: 'SELECT ts FROM tz WHERE id = 4', rowMode: 'array', types: raw });
      expect(r.rows).toEqual([['2026-06-01 06:30:00+00']]);
    } finally {
      await other.end();
    }
  });

  it('text results of a view and of one-shot SELECTs are PostgreSQL\'s (OID 1184)', async () => {
    for (const mine of ['SELECT * FROM v ORDER BY id', `${QUERY} ORDER BY id`]) {
      const r = await both(`${QUERY} ORDER BY id`, mine);
      expect(r.got, mine).toEqual(r.want);
      expect(r.gotTypes, mine).toEqual(r.wantTypes);
    }
    // The view's instants print in the reader's zone.
    await ours.query("SET TIME ZONE 'Asia/Kolkata'");
    await oracle.query("SET TIME ZONE 'Asia/Kolkata'");
    try {
      const r = await both('SELECT id, ts FROM tz ORDER BY id', 'SELECT id, ts FROM v ORDER BY id');
      expect(r.got).toEqual(r.want);
    } finally {
      await ours.query("SET TIME ZONE 'America/New_York'");
      await oracle.query("SET TIME ZONE 'America/New_York'");
    }
  });

  it('binary results are PostgreSQL\'s bytes (int64 µs since 2000-01-01 UTC)', async () => {
    const r = await both('SELECT ts FROM tz ORDER BY id', 'SELECT ts FROM v ORDER BY id', true);
    expect(r.got).toEqual(r.want);
  });

  it.skipIf(!hasPsql)('psql prints what PostgreSQL\'s psql prints', async () => {
    const run = (port: number, user: string, sql: string) =>
      new Promise<string>((resolve) => {
        execFile('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'test', '-X', '-A', '-F', '|', '-c', "SET TIME ZONE 'Pacific/Chatham'", '-c', sql], { env: { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '5', PGOPTIONS: `-c search_path=${SCHEMA}` }, encoding: 'utf8', timeout: 20_000 }, (_e, stdout) => resolve(stdout));
      });
    const want = await run(5432, 'postgres', 'SELECT id, ts FROM tz ORDER BY id');
    expect(want).toContain('+13:45');
    expect(await run(server.port, 'test', 'SELECT id, ts FROM v ORDER BY id')).toBe(want);
  });
});

describe('a view\'s zone across a restart', () => {
  const dir = tempDirEach('sluice-tstz-');
  it('keeps the zone it was created under, whatever the zone of the session that restarts it', async () => {
    const data = dir();
    let e = await createEngine({ dataDir: data, autoStart: false, log: () => undefined });
    const rows = async () => (await e.execute("SELECT id, d::text AS d, h FROM days ORDER BY id"))[0];
    try {
      await e.execute("SET TIME ZONE 'Australia/Lord_Howe'; CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMPTZ)");
      await e.execute("CREATE MATERIALIZED VIEW days AS SELECT id, date_trunc('day', ts) AS d, date_part('hour', ts) AS h FROM t");
      await e.execute("SET TIME ZONE 'UTC'; INSERT INTO t VALUES (1, '2026-04-05 12:00+00'); FLUSH");
      const before = await rows();
      expect(before?.kind === 'rows' && before.rows).toEqual([[1, '2026-04-04 13:00:00+00', 22]]);
      await e.close();
      e = await createEngine({ dataDir: data, autoStart: false, log: () => undefined });
      await e.execute("INSERT INTO t VALUES (2, '2026-10-04 15:00+00'); FLUSH");
      const after = await rows();
      // PostgreSQL's answers under Lord Howe (+11 until April 5, +10:30 after, +11 again from October 4).
      expect(after?.kind === 'rows' && after.rows).toEqual([[1, '2026-04-04 13:00:00+00', 22], [2, '2026-10-04 13:00:00+00', 2]]);
    } finally {
      await e.close();
    }
  });
});
