/**
 * CREATE SINK name AS query WITH (…): the query runs for the sink alone (no view store), its
 * changes go to the sink, its operator state is checkpointed with the sink's outbox, and a
 * closed and reopened engine on the same data dir continues without loss or duplicates. The
 * folded file-sink output is checked against the same query over the inputs in PostgreSQL.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { startPgServer } from '../src/server/pg-server.js';
import { tempDirEach } from './helpers.js';

const dir = tempDirEach('sluice-sinkq-');
const SCHEMA = `sink_query_${process.pid}`;
let oracle: pg.Client;

beforeAll(async () => {
  oracle = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await oracle.connect();
  await oracle.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}; SET search_path TO ${SCHEMA}`);
  await oracle.query('CREATE TABLE ev (id BIGINT, k VARCHAR)');
});
afterAll(async () => {
  await oracle.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await oracle.end();
});

function open(data: string, logs: string[] = []): Promise<Engine> {
  return createEngine({ dataDir: data, autoStart: false, log: (m) => logs.push(m) });
}

async function rows(e: Engine, sql: string): Promise<string[]> {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error(`${sql} returned no rows`);
  return r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))).join('|'));
}

/** Writes a JSON-lines file into the watched directory atomically. */
function drop(inDir: string, name: string, recs: readonly { id: number; k: string }[]): void {
  const tmp = join(inDir, `.${name}`);
  writeFileSync(tmp, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  renameSync(tmp, join(inDir, name));
}

const recs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, k: `k${(from + i) % 4}` }));

/** The file sink's changes folded into the rows it describes (`+` adds a copy, `-` takes one away). */
function folded(out: string, cols: readonly string[]): string[] {
  const counts = new Map<string, number>();
  let files: string[] = [];
  try {
    files = readdirSync(out).filter((f) => f.startsWith('part-')).sort();
  } catch {
    return [];
  }
  for (const f of files) {
    for (const line of readFileSync(join(out, f), 'utf8').split('\n')) {
      if (!line) continue;
      const o = JSON.parse(line) as Record<string, unknown>;
      const key = cols.map((c) => String(o[c])).join('|');
      counts.set(key, (counts.get(key) ?? 0) + (o.op === '-' ? -1 : 1));
    }
  }
  const result: string[] = [];
  for (const [k, n] of counts) {
    expect(n, `row ${k} folds to a negative count`).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < n; i++) result.push(k);
  }
  return result.sort();
}

async function oracleRows(sql: string): Promise<string[]> {
  const r = await oracle.query({ text: sql, rowMode: 'array' });
  return (r.rows as unknown[][]).map((row) => row.map((v) => (v === null ? 'NULL' : String(v))).join('|')).sort();
}

async function feed(inDir: string, name: string, batch: readonly { id: number; k: string }[]): Promise<void> {
  drop(inDir, name, batch);
  if (batch.length) await oracle.query(`INSERT INTO ev VALUES ${batch.map((r) => `(${r.id}, '${r.k}')`).join(', ')}`);
}

describe('CREATE SINK … AS SELECT', () => {
  it('sends an aggregate\'s changes to a file sink with no view store, across a restart', async () => {
    await oracle.query('TRUNCATE ev');
    const data = dir();
    const inDir = join(data, 'in');
    const out = join(data, 'out');
    mkdirSync(inDir, { recursive: true });
    let e = await open(data);
    await e.execute(`CREATE SOURCE ev (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${inDir}', format = 'json');
      CREATE SINK agg AS SELECT k, count(*) AS n, sum(id) AS s FROM ev WHERE id % 5 <> 0 GROUP BY k WITH (connector = 'file', path = '${out}')`);
    // The file source reads a file once two listings saw it unchanged: two epochs per file.
    await feed(inDir, 'a.json', recs(0, 40));
    await e.execute('FLUSH; FLUSH');
    await feed(inDir, 'b.json', recs(40, 25));
    await e.execute('FLUSH; FLUSH');
    const query = 'SELECT k, count(*) AS n, sum(id) AS s FROM ev WHERE id % 5 <> 0 GROUP BY k';
    expect(folded(out, ['k', 'n', 's'])).toEqual(await oracleRows(query));
    // No view of the name, no rows of its result kept: only the aggregate's groups.
    await expect(e.execute('SELECT * FROM agg')).rejects.toMatchObject({ sqlstate: '42P01' });
    const [sinkRow] = await rows(e, "SELECT name, \"from\", connector, state_rows > 0 FROM sluice.sinks WHERE name = 'agg'");
    expect(sinkRow).toBe('agg|NULL|file|true');
    expect((await rows(e, "SELECT count(*) FROM sluice.operators WHERE view = 'agg'"))[0]).not.toBe('0');
    await e.close();

    // Restart: the aggregate's groups come back from the checkpoint, so the next changes retract
    // exactly what was sent (a fresh aggregate would send each group as new).
    await feed(inDir, 'c.json', recs(65, 30));
    const logs: string[] = [];
    e = await open(data, logs);
    expect(logs.join('\n')).not.toMatch(/recomputed/);
    await e.execute('FLUSH; FLUSH');
    expect(folded(out, ['k', 'n', 's'])).toEqual(await oracleRows(query));
    expect(await rows(e, 'SHOW CREATE SINK agg')).toEqual([`agg|CREATE SINK agg AS SELECT k, count(*) AS n, sum(id) AS s FROM ev WHERE id % 5 <> 0 GROUP BY k WITH (connector = 'file', path = '${out}')`]);
    await e.close();
  });

  it('with checkpoint_interval = \'4 epochs\', a restart replays the epochs after the last state through the sink\'s query without sending them again', async () => {
    await oracle.query('TRUNCATE ev');
    const data = dir();
    const inDir = join(data, 'in');
    const out = join(data, 'out');
    mkdirSync(inDir, { recursive: true });
    const logs: string[] = [];
    let e = await open(data, logs);
    await e.execute(`SET checkpoint_interval = '4 epochs';
      CREATE SOURCE ev (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${inDir}', format = 'json');
      CREATE SINK agg AS SELECT k, count(*) AS n, min(id) AS lo FROM ev GROUP BY k WITH (connector = 'file', path = '${out}')`);
    let id = 0;
    for (let i = 0; i < 3; i++) {
      await feed(inDir, `f${i}.json`, recs(id, 7));
      id += 7;
      await e.execute('FLUSH; FLUSH');
    }
    // As a crash leaves it: no final state write.
    await e.close({ checkpoint: false });
    e = await open(data, logs);
    expect(logs.some((l) => /replayed epochs \d+–\d+/.test(l))).toBe(true);
    await feed(inDir, 'g.json', recs(id, 9));
    await e.execute('FLUSH; FLUSH');
    expect(folded(out, ['k', 'n', 'lo'])).toEqual(await oracleRows('SELECT k, count(*), min(id) FROM ev GROUP BY k'));
    await e.close();
  });

  it('REPLAY EPOCH n shows the changes a query sink was handed in epoch n', async () => {
    const data = dir();
    const out = join(data, 'out');
    const e = await open(data);
    try {
      await e.execute(`SET checkpoint_interval = '3 epochs'; CREATE TABLE t (k VARCHAR);
        CREATE SINK s AS SELECT k, count(*) AS n FROM t GROUP BY k WITH (connector = 'file', path = '${out}')`);
      for (const words of [['a', 'b'], ['a'], ['c', 'b'], ['a', 'c'], ['b']]) await e.execute(`INSERT INTO t VALUES ${words.map((w) => `('${w}')`).join(', ')}; FLUSH`);
      const parts = readdirSync(out).filter((f) => f.startsWith('part-')).sort();
      expect(parts.length).toBe(5);
      for (const f of parts.slice(-3)) {
        const n = Number(/part-(\d+)/.exec(f)![1]);
        const sent = readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean).map((l) => {
          const o = JSON.parse(l) as { op: string; k: string; n: number };
          return `${o.op === '+' ? 1 : -1}|${o.k}|${o.n}`;
        });
        const [r] = await e.execute(`REPLAY EPOCH ${n}`);
        if (r?.kind !== 'rows') throw new Error('REPLAY returned no rows');
        const replayed = r.rows.filter((row) => row[0] === 's').map((row) => {
          const [k, cnt] = JSON.parse(String(row[2])) as [string, string];
          return `${String(row[1])}|${k}|${cnt}`;
        });
        expect(replayed.sort()).toEqual(sent.sort());
      }
    } finally {
      await e.close();
    }
  });

  it('starts with the query\'s current result over a table, and SHOW CREATE re-executes to the same sink', async () => {
    const data = dir();
    const out = join(data, 'out');
    const e = await open(data);
    await e.execute(`CREATE TABLE t (id INT, v INT);
      INSERT INTO t VALUES (1, 10), (2, 20), (3, 30);
      CREATE SINK big AS WITH x AS (SELECT id, v FROM t) SELECT id, v * 2 AS w FROM x WHERE v >= 20 WITH (connector = 'file', path = '${out}');`);
    expect(folded(out, ['id', 'w'])).toEqual(['2|40', '3|60']);
    await e.execute('UPDATE t SET v = 5 WHERE id = 3; INSERT INTO t VALUES (4, 40); FLUSH');
    expect(folded(out, ['id', 'w'])).toEqual(['2|40', '4|80']);
    const [show] = await rows(e, 'SHOW CREATE SINK big');
    const text = show!.slice('big|'.length);
    await e.execute('DROP SINK big');
    expect(await rows(e, 'SHOW SINKS')).toEqual([]);
    await e.execute(text.replace(out, join(data, 'out2')));
    expect(folded(join(data, 'out2'), ['id', 'w'])).toEqual(['2|40', '4|80']);
    await e.close();
  });

  it('writes a print sink\'s changes to stdout, EXPLAIN shows the plan, and DROP of what it reads needs CASCADE', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, cb?: unknown) => {
      lines.push(String(chunk));
      if (typeof cb === 'function') (cb as () => void)();
      return true;
    });
    const e = await createEngine({ autoStart: false });
    try {
      await e.execute(`CREATE TABLE t (k VARCHAR, v INT);
        CREATE SINK p AS SELECT k, sum(v) AS s FROM t GROUP BY k WITH (connector = 'print');
        INSERT INTO t VALUES ('a', 1), ('b', 2); FLUSH;
        INSERT INTO t VALUES ('a', 5); FLUSH;`);
      const printed = lines.join('').split('\n').filter((l) => l.startsWith('p['));
      expect(printed.map((l) => l.replace(/^p\[\d+\] /, '')).sort()).toEqual(['+ (a, 1)', '+ (a, 6)', '+ (b, 2)', '- (a, 1)']);
      const plan = await rows(e, `EXPLAIN CREATE SINK p2 AS SELECT k, sum(v) AS s FROM t GROUP BY k WITH (connector = 'print')`);
      expect(plan[0]).toBe("SinkExec: p2 [connector print; upserts keyed by (k); no view store: only the operators' state is kept]");
      expect(plan.join('\n')).toMatch(/Aggregate/i);
      await expect(e.execute('DROP TABLE t')).rejects.toMatchObject({ sqlstate: '2BP01' });
      // A rename does not rewrite a sink's own query yet: refused, nothing renamed.
      await expect(e.execute('ALTER TABLE t RENAME TO t2')).rejects.toMatchObject({ sqlstate: '0A000', message: expect.stringContaining('sink "p" reads it in a query of its own') });
      await expect(e.execute('ALTER SINK p RENAME TO p2')).rejects.toMatchObject({ sqlstate: '0A000' });
      expect(await rows(e, 'SHOW SINKS')).toEqual(['p']);
      await e.execute('DROP TABLE t CASCADE');
      expect(await rows(e, 'SHOW SINKS')).toEqual([]);
    } finally {
      spy.mockRestore();
      await e.close();
    }
  });

  it('EMIT ON WINDOW CLOSE: each closed window is sent once, final, as PostgreSQL counts it', async () => {
    const data = dir();
    const out = join(data, 'out');
    const e = await open(data);
    try {
      await e.execute(`CREATE TABLE w (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1 minute') APPEND ONLY;
        CREATE SINK win AS SELECT window_start, count(*) AS n FROM TUMBLE(w, ts, INTERVAL '10 minutes') GROUP BY window_start EMIT ON WINDOW CLOSE WITH (connector = 'file', path = '${out}');`);
      await oracle.query('DROP TABLE IF EXISTS w; CREATE TABLE w (id INT, ts TIMESTAMP)');
      const minutes = [0, 3, 9, 12, 15, 24, 31, 33, 47, 52, 58, 61];
      for (const [i, m] of minutes.entries()) {
        const v = `(${i}, TIMESTAMP '2030-01-01 00:00:00' + INTERVAL '${m} minutes')`;
        await e.execute(`INSERT INTO w VALUES ${v}; FLUSH`);
        await oracle.query(`INSERT INTO w VALUES ${v}`);
      }
      const lines = readdirSync(out).filter((f) => f.startsWith('part-')).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
      expect(lines.every((l) => (JSON.parse(l) as { op: string }).op === '+')).toBe(true);
      // Closed: windows ending at or before the watermark (max ts − 1 minute = 01:00).
      const expected = await oracleRows(`SELECT to_char(date_bin('10 minutes', ts, TIMESTAMP '2030-01-01'), 'YYYY-MM-DD HH24:MI:SS'), count(*) FROM w
        GROUP BY 1 HAVING date_bin('10 minutes', max(ts), TIMESTAMP '2030-01-01') + INTERVAL '10 minutes' <= (SELECT max(ts) FROM w) - INTERVAL '1 minute'`);
      expect(expected.length).toBe(6);
      expect(folded(out, ['window_start', 'n'])).toEqual(expected);
    } finally {
      await e.close();
    }
  });

  it('a SQL function a query sink calls cannot be dropped without CASCADE, which drops the sink', async () => {
    const e = await createEngine({ autoStart: false });
    try {
      await e.execute(`CREATE FUNCTION twice(x INT) RETURNS INT LANGUAGE SQL AS 'SELECT x * 2';
        CREATE TABLE t (v INT);
        CREATE SINK p AS SELECT twice(v) AS w FROM t WITH (connector = 'print');`);
      await expect(e.execute('DROP FUNCTION twice')).rejects.toMatchObject({ sqlstate: '2BP01', hint: expect.stringMatching(/sink p/) });
      await e.execute('DROP FUNCTION twice CASCADE');
      expect(await rows(e, 'SHOW SINKS')).toEqual([]);
    } finally {
      await e.close();
    }
  });

  it('refuses a query that does not plan, naming the problem', async () => {
    const e = await createEngine({ autoStart: false });
    try {
      await expect(e.execute(`CREATE SINK s AS SELECT nope FROM missing WITH (connector = 'print')`)).rejects.toMatchObject({ sqlstate: '42P01' });
      await expect(e.execute(`CREATE SINK s AS SELECT 1 AS x`)).rejects.toMatchObject({ sqlstate: '22023' });
      expect(await rows(e, 'SHOW SINKS')).toEqual([]);
    } finally {
      await e.close();
    }
  });

  it('works over pg-wire: create, EXPLAIN, SHOW CREATE, sluice.sinks, rows sent, DROP', async () => {
    const data = dir();
    const out = join(data, 'out');
    const e = await open(data);
    const server = await startPgServer(e, { port: 0, log: () => undefined });
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
    await c.connect();
    try {
      await c.query('CREATE TABLE t (k VARCHAR, v INT)');
      const create = `CREATE SINK s AS SELECT k, max(v) AS top FROM t GROUP BY k WITH (connector = 'file', path = '${out}')`;
      const plan = (await c.query(`EXPLAIN ${create}`)).rows.map((r) => r['QUERY PLAN'] as string);
      expect(plan[0]).toBe("SinkExec: s [connector file; upserts keyed by (k); no view store: only the operators' state is kept]");
      const tag = await c.query(create);
      expect(tag.command).toBe('CREATE');
      await c.query("INSERT INTO t VALUES ('a', 3), ('a', 9), ('b', 1); FLUSH");
      await c.query("DELETE FROM t WHERE v = 9; FLUSH");
      expect(folded(out, ['k', 'top'])).toEqual(['a|3', 'b|1']);
      expect((await c.query('SHOW CREATE SINK s')).rows[0].create_sql).toBe(create);
      const listed = (await c.query(`SELECT name, "from", connector, rows_written FROM sluice.sinks`)).rows;
      expect(listed).toEqual([{ name: 's', from: null, connector: 'file', rows_written: '4' }]);
      await c.query('DROP SINK s');
      expect((await c.query('SHOW SINKS')).rows).toEqual([]);
    } finally {
      await c.end();
      await server.close();
      await e.close();
    }
  });
});
