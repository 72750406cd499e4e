/**
 * INTERVAL over the wire, with the real PostgreSQL (127.0.0.1:5432) as the oracle: the text the
 * pg driver receives, the binary form (int64 µs, int32 days, int32 months) byte for byte, a
 * text interval parameter, and psql's output — of a view's column and of one-shot SELECTs.
 */
import { execFile, execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { closeOracle, connectOracle } from '../pg-oracle.js';

const SCHEMA = `sluice_interval_wire_${process.pid}`;
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

const LITERALS = ['1 mon 2 days 03:00:00', '14 months', '-1 days +02:00', '0.5 seconds', '1.5 months', '-1 years -2 mons +3 days -04:05:06.789', '2 hours ago', '100000 hours', 'P1Y2M3DT4H5M6S', '0'];
const SELECT = `SELECT ${LITERALS.map((l, i) => `INTERVAL '${l}' AS i${i}`).join(', ')}, DATE '2026-01-31' + INTERVAL '1 month' AS d, TIMESTAMP '2026-03-29 12:00' - TIMESTAMP '2026-01-01' AS diff`;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  ours = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await ours.connect();
  oracle = await connectOracle(SCHEMA);
  await ours.query(`CREATE MATERIALIZED VIEW iv AS ${SELECT}`);
  await ours.query('FLUSH');
});

afterAll(async () => {
  await ours?.end();
  await closeOracle(oracle, SCHEMA);
  await server?.close();
  await engine?.close();
});

const raw = { getTypeParser: () => (v: string | Buffer) => v };

describe('interval over pg-wire', () => {
  it('text results of a view and of a one-shot SELECT are PostgreSQL\'s', async () => {
    const want = await oracle.query({ text: SELECT, rowMode: 'array', types: raw });
    for (const q of ['SELECT * FROM iv', SELECT]) {
      const got = await ours.query({ text: q, rowMode: 'array', types: raw });
      expect(got.rows, q).toEqual(want.rows);
      expect(got.fields.map((f) => f.dataTypeID), q).toEqual(want.fields.map((f) => f.dataTypeID));
    }
  });

  it('binary results are PostgreSQL\'s bytes (int64 µs, int32 days, int32 months)', async () => {
    const q = `SELECT ${LITERALS.slice(0, 6).map((l, i) => `INTERVAL '${l}' AS i${i}`).join(', ')}`;
    const want = await oracle.query({ text: q, rowMode: 'array', types: raw, binary: true } as pg.QueryConfig);
    const got = await ours.query({ text: q, rowMode: 'array', types: raw, binary: true } as pg.QueryConfig);
    expect((got.rows[0] as Buffer[]).map((b) => b.toString('hex'))).toEqual((want.rows[0] as Buffer[]).map((b) => b.toString('hex')));
  });

  it('takes an interval parameter', async () => {
    const t = await ours.query({ text: "SELECT $1::interval + INTERVAL '1 day' AS x", values: ['-1 days +02:00'], rowMode: 'array', types: raw });
    expect(t.rows).toEqual([['02:00:00']]);
  });

  it.skipIf(!hasPsql)('psql prints what PostgreSQL\'s psql prints', async () => {
    const run = (port: number, user: string, sql: string) =>
      new Promise<string>((resolve) => {
        execFile('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'test', '-X', '-A', '-F', '|', '-c', sql], { env: { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8', timeout: 20_000 }, (_e, stdout) => resolve(stdout));
      });
    const want = await run(5432, 'postgres', SELECT);
    expect(want).toContain('1 mon 2 days 03:00:00');
    expect(await run(server.port, 'test', 'SELECT * FROM iv')).toBe(want);
    expect(await run(server.port, 'test', SELECT)).toBe(want);
  });
});
