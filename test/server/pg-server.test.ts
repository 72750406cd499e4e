/**
 * The PostgreSQL wire server driven by the `pg` driver: simple and extended queries, parameters,
 * prepared statements, errors, notices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import fc from 'fast-check';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;
let client: pg.Client;

const connect = async (extra: Partial<pg.ClientConfig> = {}) => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test', ...extra });
  await c.connect();
  return c;
};

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  client = await connect({ application_name: 'vitest' });
  await client.query(`CREATE TABLE t (k VARCHAR, v INT, ts TIMESTAMP)`);
  await client.query(`INSERT INTO t VALUES ('a', 1, '2024-01-01 00:00:00'), ('b', 2, NULL), ('c', 3, '2024-03-01 12:30:00.25')`);
});

afterAll(async () => {
  await client?.end();
  await server?.close();
  await engine?.close();
});

describe('pg server: simple query', () => {
  it('runs DDL, DML, FLUSH and SELECT on a view with PostgreSQL command tags', async () => {
    const r = (await client.query(`CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k; FLUSH; SELECT * FROM s ORDER BY k`)) as unknown as pg.QueryResult[];
    expect(r.map((x) => x.command)).toEqual(['CREATE', 'FLUSH', 'SELECT']);
    expect(r[2]!.rows).toEqual([
      { k: 'a', total: '1' },
      { k: 'b', total: '2' },
      { k: 'c', total: '3' },
    ]);
    expect(r[2]!.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['k', 1043],
      ['total', 20],
    ]);
  });

  it('reports the server parameters clients rely on', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'alice', database: 'test', application_name: 'app1' });
    const status: Record<string, string> = {};
    (c as unknown as { connection: { on(e: string, f: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection.on('parameterStatus', (m) => {
      status[m.parameterName] = m.parameterValue;
    });
    await c.connect();
    expect(status).toMatchObject({
      server_version: '15.0 (sluice)',
      server_encoding: 'UTF8',
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      TimeZone: 'UTC',
      integer_datetimes: 'on',
      standard_conforming_strings: 'on',
      application_name: 'app1',
      session_authorization: 'alice',
    });
    expect((c as unknown as { processID: number }).processID).toBeGreaterThan(0);
    expect((await c.query(`SHOW batch_interval`)).rows).toEqual([{ batch_interval: '1s' }]);
    await c.end();
  });

  it('sends each statement of a multi-statement query its own result', async () => {
    const r = (await client.query(`SELECT k FROM t WHERE v = 1; SELECT v FROM t WHERE k = 'c'`)) as unknown as pg.QueryResult[];
    expect(r.map((x) => x.rows)).toEqual([[{ k: 'a' }], [{ v: 3 }]]);
  });

  it('prints values in PostgreSQL text form and types them with PostgreSQL OIDs', async () => {
    const r = await client.query(
      `SELECT 1 AS i, CAST(2 AS BIGINT) AS b, CAST(1.5 AS DOUBLE) AS d, TRUE AS bo, 'x' AS s, DATE '2024-01-02' AS dt, TIMESTAMP '2024-01-01 10:00:00.5' AS ts, INTERVAL '1 day 2 hours' AS iv, CAST(NULL AS INT) AS n`,
    );
    expect(r.fields.map((f) => f.dataTypeID)).toEqual([23, 20, 701, 16, 1043, 1082, 1114, 1186, 23]);
    const row = r.rows[0];
    expect(row.i).toBe(1);
    expect(row.b).toBe('2');
    expect(row.d).toBe(1.5);
    expect(row.bo).toBe(true);
    expect(row.s).toBe('x');
    expect(row.n).toBeNull();
    // Raw text as PostgreSQL prints it:
    const raw = await client.query({ text: `SELECT DATE '2024-01-02' AS dt, TIMESTAMP '2024-01-01 10:00:00.5' AS ts, INTERVAL '1 day 2 hours' AS iv`, types: { getTypeParser: () => (v: string) => v } as never });
    expect(raw.rows[0]).toEqual({ dt: '2024-01-02', ts: '2024-01-01 10:00:00.5', iv: '1 day 02:00:00' });
  });

  it('answers an empty query with EmptyQueryResponse', async () => {
    const r = await client.query('  ;  ');
    expect(r.rows).toEqual([]);
    expect(r.command).toBeNull();
  });

  it('passes engine notices on as NoticeResponse', async () => {
    const notices: string[] = [];
    const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
    client.on('notice', onNotice);
    await client.query('DROP TABLE IF EXISTS does_not_exist');
    client.off('notice', onNotice);
    expect(notices).toEqual(['table "does_not_exist" does not exist, skipping']);
  });
});

describe('pg server: parameters and prepared statements', () => {
  it('binds integer and text parameters', async () => {
    const r = await client.query(`SELECT k, v FROM t WHERE v >= $1 AND k <> $2 ORDER BY k`, [2, 'c']);
    expect(r.rows).toEqual([{ k: 'b', v: 2 }]);
  });

  it('binds quotes and look-alike placeholders in text safely', async () => {
    const r = await client.query(`SELECT $1 AS s, '$1' AS lit, $2 AS t`, [`it's; DROP TABLE t; --`, '$2']);
    expect(r.rows).toEqual([{ s: `it's; DROP TABLE t; --`, lit: '$1', t: '$2' }]);
    expect((await client.query(`SELECT count(*) AS n FROM t`)).rows).toEqual([{ n: '3' }]);
  });

  it('round-trips arbitrary text through parameters and through returned rows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')), fc.integer(), async (s, n) => {
        const r = await client.query(`SELECT $1 AS s, $2 AS n, length($1) AS len`, [s, n]);
        expect(r.rows[0].s).toBe(s);
        expect(Number(r.rows[0].n)).toBe(n);
      }),
      { numRuns: 60 },
    );
  });

  it('binds timestamps (JS Dates and strings) and NULL', async () => {
    await client.query(`INSERT INTO t VALUES ($1, $2, $3)`, ['d', 4, new Date('2024-02-03T04:05:06.789Z')]);
    await client.query(`INSERT INTO t VALUES ($1, $2, $3)`, ['e', null, '2024-02-04 00:00:00']);
    const r = await client.query(`SELECT k, v FROM t WHERE ts >= $1 AND ts < $2 ORDER BY k`, [new Date('2024-02-03T00:00:00Z'), '2024-02-05']);
    expect(r.rows).toEqual([
      { k: 'd', v: 4 },
      { k: 'e', v: null },
    ]);
    const back = await client.query(`SELECT ts FROM t WHERE k = $1`, ['d']);
    expect((back.rows[0].ts as Date).toISOString()).toBe('2024-02-03T04:05:06.789Z');
    await client.query(`DELETE FROM t WHERE k IN ($1, $2)`, ['d', 'e']);
  });

  it('reuses named prepared statements with new values', async () => {
    const q = (v: number) => client.query({ name: 'by_min_v', text: `SELECT k FROM t WHERE v >= $1 ORDER BY k`, values: [v] });
    expect((await q(3)).rows).toEqual([{ k: 'c' }]);
    expect((await q(2)).rows).toEqual([{ k: 'b' }, { k: 'c' }]);
    expect((await q(9)).rows).toEqual([]);
  });

  it('runs DML through the extended protocol with the right tag', async () => {
    const r = await client.query(`INSERT INTO t VALUES ($1, $2, NULL), ($3, $4, NULL)`, ['x', 10, 'y', 11]);
    expect([r.command, r.rowCount]).toEqual(['INSERT', 2]);
    const d = await client.query(`DELETE FROM t WHERE v >= $1`, [10]);
    expect([d.command, d.rowCount]).toEqual(['DELETE', 2]);
  });
});

describe('pg server: errors', () => {
  it('reports a syntax error with its position, and the session goes on', async () => {
    const e = await client.query(`SELECT k FROM t WHERE`).catch((x: unknown) => x as pg.DatabaseError);
    expect(e).toMatchObject({ code: '42601', severity: 'ERROR' });
    expect(Number((e as pg.DatabaseError).position)).toBeGreaterThan(0);
    expect((await client.query(`SELECT 1 AS one`)).rows).toEqual([{ one: 1 }]);
  });

  it('reports an unknown relation (42P01) and column (42703) with positions', async () => {
    const a = (await client.query(`SELECT * FROM nope`).catch((x: unknown) => x)) as pg.DatabaseError;
    expect([a.code, a.position]).toEqual(['42P01', '15']);
    const b = (await client.query(`SELECT nope FROM t`).catch((x: unknown) => x)) as pg.DatabaseError;
    expect([b.code, b.position]).toEqual(['42703', '8']);
    expect((await client.query(`SELECT count(*) AS n FROM t`)).rows).toEqual([{ n: '3' }]);
  });

  it('positions an error in a later statement relative to the whole query text', async () => {
    const text = `SELECT 1;\nSELECT nope FROM t`;
    const e = (await client.query(text).catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.code).toBe('42703');
    expect(Number(e.position)).toBe(text.indexOf('nope') + 1);
  });

  it('positions an error in characters, not bytes', async () => {
    const text = `SELECT 'é😀' AS s, nope FROM t`;
    const e = (await client.query(text).catch((x: unknown) => x)) as pg.DatabaseError;
    expect(Number(e.position)).toBe([...text.slice(0, text.indexOf('nope'))].length + 1);
  });

  it('runs nothing of a multi-statement query with a syntax error, as PostgreSQL does', async () => {
    const e = (await client.query(`INSERT INTO t VALUES ('z', 99, NULL); SELEC 1`).catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.code).toBe('42601');
    expect((await client.query(`SELECT count(*) AS n FROM t WHERE k = 'z'`)).rows).toEqual([{ n: '0' }]);
  });

  it('reports parameterized-query errors at positions of the original text', async () => {
    const text = `SELECT k FROM t WHERE v = $1 AND nope = $2`;
    const e = (await client.query(text, [1, 'a-long-parameter-value']).catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.code).toBe('42703');
    expect(Number(e.position)).toBe(text.indexOf('nope') + 1);
    expect((await client.query(`SELECT k FROM t WHERE v = $1`, [1])).rows).toEqual([{ k: 'a' }]);
  });

  it('passes hints on', async () => {
    const e = (await client.query(`CREATE TABLE t (a INT)`).catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.code).toBe('42710');
    expect(e.hint).toMatch(/DROP it first/);
  });

  it('keeps other sessions unaffected by one session’s errors', async () => {
    const other = await connect();
    await other.query('SELEC').catch(() => undefined);
    expect((await client.query(`SELECT 2 AS two`)).rows).toEqual([{ two: 2 }]);
    expect((await other.query(`SELECT 3 AS three`)).rows).toEqual([{ three: 3 }]);
    await other.end();
  });
});
