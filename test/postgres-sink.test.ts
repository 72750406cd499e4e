/**
 * CREATE SINK … connector = 'postgres' in the engine, against the real server on
 * 127.0.0.1:5432 (database `test`): a GROUP BY view lands as a table keyed by its group keys,
 * a view without a key as a multiset of rows, and a bad option fails CREATE SINK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { TcpProxy } from './tables/tcp-proxy.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `sluice_engine_sink_${process.pid}`;

let admin: pg.Client;
const engines: Engine[] = [];

beforeAll(async () => {
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
});

afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
});

async function engine(dataDir?: string, log: (m: string) => void = () => undefined): Promise<Engine> {
  const e = await createEngine({ autoStart: false, log, dataDir });
  engines.push(e);
  return e;
}

async function pgRows(sql: string): Promise<string[]> {
  const res = await admin.query<unknown[]>({ text: sql, rowMode: 'array' });
  return res.rows.map((r) => r.map((v) => (v === null ? '∅' : String(v))).join('|')).sort();
}

async function viewRows(e: Engine, view: string): Promise<string[]> {
  return (await e.viewRows(view)).map((r) => r.map((v) => (v === null ? '∅' : String(v))).join('|')).sort();
}

describe('postgres sink in the engine', () => {
  it('keeps a PostgreSQL table equal to a GROUP BY view, keyed by its group keys', async () => {
    const e = await engine();
    await e.execute(`CREATE TABLE words_t (word VARCHAR, cat VARCHAR);
      CREATE MATERIALIZED VIEW v AS SELECT cat, word, count(*) AS n FROM words_t GROUP BY cat, word;
      CREATE SINK counts FROM v WITH (connector = 'postgres', url = '${URL}', schema = '${SCHEMA}', table = 'counts');`);
    await e.execute(`INSERT INTO words_t VALUES ('a', 'x'), ('a', 'x'), ('b', NULL), ('c', 'y'); FLUSH;`);
    await e.execute(`INSERT INTO words_t VALUES ('a', 'x'), ('b', NULL); DELETE FROM words_t WHERE word = 'c'; FLUSH;`);
    await e.execute(`DELETE FROM words_t WHERE word = 'a'; INSERT INTO words_t VALUES ('c', 'y'); FLUSH;`);
    expect(await pgRows(`SELECT cat, word, n FROM ${SCHEMA}.counts`)).toEqual(await viewRows(e, 'v'));
    expect(await pgRows(`SELECT cat, word, n FROM ${SCHEMA}.counts`)).toEqual(['y|c|1', '∅|b|2']);
    const idx = await admin.query<{ def: string }>('SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass', [`${SCHEMA}.counts`]);
    expect(idx.rows[0]!.def).toMatch(/\(cat, word\) NULLS NOT DISTINCT/);
    expect(await pgRows(`SELECT sink, epoch FROM ${SCHEMA}.sluice_sink_progress`)).toEqual([`counts|${e.currentEpoch}`]);
  });

  it('writes a view without a key as rows, and an append-only table as inserts', async () => {
    const e = await engine();
    await e.execute(`CREATE TABLE t (word VARCHAR);
      CREATE TABLE log (word VARCHAR, at TIMESTAMP) APPEND ONLY;
      CREATE MATERIALIZED VIEW u AS SELECT word FROM t WHERE word <> 'x';
      CREATE SINK s1 FROM u WITH (connector = 'postgres', url = '${URL}', table = '${SCHEMA}.u');
      CREATE SINK s2 FROM log WITH (connector = 'postgres', url = '${URL}', table = '${SCHEMA}.log');`);
    await e.execute(`INSERT INTO t VALUES ('a'), ('a'), ('x'), ('b'); INSERT INTO log VALUES ('a', '2024-01-02 03:04:05.5'), ('a', NULL); FLUSH;`);
    await e.execute(`DELETE FROM t WHERE word = 'a'; INSERT INTO t VALUES ('c'); INSERT INTO log VALUES ('b', '1999-12-31 23:59:59'); FLUSH;`);
    expect(await pgRows(`SELECT word FROM ${SCHEMA}.u`)).toEqual(await viewRows(e, 'u'));
    expect(await pgRows(`SELECT word FROM ${SCHEMA}.u`)).toEqual(['b', 'c']);
    expect(await pgRows(`SELECT word, to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS') FROM ${SCHEMA}.log`)).toEqual(['a|2024-01-02 03:04:05.500', 'a|∅', 'b|1999-12-31 23:59:59.000']);
  });

  it('fails CREATE SINK for bad options and for a server it cannot reach, without registering the sink', async () => {
    const e = await engine();
    await e.execute('CREATE TABLE t (word VARCHAR)');
    await expect(e.execute(`CREATE SINK s FROM t WITH (connector = 'postgres', url = '${URL}')`)).rejects.toThrow(/connector 'postgres' needs option "table"/);
    await expect(e.execute(`CREATE SINK s FROM t WITH (connector = 'postgres', url = '${URL}', table = 'a.b', schema = 'c')`)).rejects.toThrow(/got a schema both in table \('a\.b'\) and in option "schema"/);
    await expect(e.execute(`CREATE SINK s FROM t WITH (connector = 'postgres', url = '${URL}', table = 'x', query_timeout = 'soon')`)).rejects.toThrow(/option "query_timeout"/);
    await expect(e.execute(`CREATE SINK s FROM t WITH (connector = 'postgres', url = 'postgres://postgres@127.0.0.1:1/test', table = 'x', connect_timeout = '1s')`))
      .rejects.toThrow(/sink "s" could not connect to PostgreSQL table x at 127\.0\.0\.1:1\/test/);
    await e.execute(`CREATE SINK s FROM t WITH (connector = 'postgres', url = '${URL}', table = '${SCHEMA}.t')`);
  });

  it('restores a sink whose server is down: the engine starts, the epochs wait in the outbox, and are delivered once it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-sink-'));
    const proxy = new TcpProxy('127.0.0.1', 5432);
    await proxy.start();
    try {
      const first = await engine(dir);
      await first.execute(`CREATE TABLE t (word VARCHAR) APPEND ONLY;
        CREATE SINK s FROM t WITH (connector = 'postgres', url = 'postgres://postgres@127.0.0.1:${proxy.port}/test', table = '${SCHEMA}.restored', connect_timeout = '1s');
        INSERT INTO t VALUES ('before'); FLUSH;`);
      await first.close();
      engines.splice(engines.indexOf(first), 1);
      await proxy.stop();
      const logged: string[] = [];
      const e = await engine(dir, (m) => logged.push(m));
      await e.execute(`INSERT INTO t VALUES ('while down'); FLUSH;`);
      expect(logged.some((l) => /sink s: epoch 2 not delivered yet, retrying: sink "s" could not connect to PostgreSQL table .*restored at 127\.0\.0\.1:\d+\/test/.test(l))).toBe(true);
      expect(e.stats().sinks.s).toMatchObject({ pendingEpochs: 1 });
      await proxy.start();
      await e.execute(`INSERT INTO t VALUES ('back'); FLUSH;`);
      // Epoch numbers continue from the checkpoint: epochs 2 and 3 are new to the table, and
      // the outbox delivers them in order once the server answers (retried with backoff).
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await pgRows(`SELECT word FROM ${SCHEMA}.restored`)).length < 3) await new Promise((r) => setTimeout(r, 100));
      expect(await pgRows(`SELECT word FROM ${SCHEMA}.restored`)).toEqual(['back', 'before', 'while down']);
      expect(e.stats().sinks.s).toMatchObject({ pendingEpochs: 0, deliveredEpoch: 3, error: null });
      expect(logged.filter((l) => l.includes('already holds'))).toEqual([]);
      // A sink created anew over the same table learns it holds epoch 3, ahead of this engine.
      const fresh = await engine(undefined, (m) => logged.push(m));
      await fresh.execute(`CREATE TABLE t (word VARCHAR) APPEND ONLY;
        CREATE SINK s FROM t WITH (connector = 'postgres', url = '${URL}', table = '${SCHEMA}.restored');
        INSERT INTO t VALUES ('skipped'); FLUSH;`);
      expect(logged).toContainEqual(expect.stringMatching(/^sink s: the destination already holds epoch 3 from a sink of this name, and the engine is at epoch 1; epochs up to 3 are not written/));
      expect(await pgRows(`SELECT word FROM ${SCHEMA}.restored`)).toEqual(['back', 'before', 'while down']);
    } finally {
      await proxy.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
