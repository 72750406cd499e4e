/**
 * ALTER {SOURCE | TABLE | MATERIALIZED VIEW | VIEW | SINK} … RENAME TO through the pg driver:
 * the renamed object and everything that reads it follow the new name — statements (SHOW
 * CREATE), pg_class (same OID), sluice.* tables, Prometheus labels, the dead-letter table, a
 * running SUBSCRIBE, a sink's delivery (no epoch twice, none lost) — and keep their state
 * without a recomputation, across a restart from the data dir.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer } from '../../src/server/pg-server.js';
import { PrometheusExporter } from '../../src/server/prometheus.js';
import { walDir } from '../../src/connectors/receiver/receiver-log.js';
import { tempDirEach } from '../helpers.js';

const dir = tempDirEach('sluice-rename-');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Running {
  readonly engine: Engine;
  readonly client: pg.Client;
  readonly logs: string[];
  readonly port: number;
  connect(): Promise<pg.Client>;
  stop(): Promise<void>;
}

async function start(dataDir: string | null): Promise<Running> {
  const logs: string[] = [];
  const engine = await createEngine({ autoStart: false, dataDir, log: (m) => logs.push(m) });
  const server = await startPgServer(engine, { port: 0, log: () => undefined });
  const clients: pg.Client[] = [];
  const connect = async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 't', database: 't' });
    await c.connect();
    clients.push(c);
    return c;
  };
  const client = await connect();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of clients) await c.end().catch(() => undefined);
    await server.close();
    await engine.close();
  };
  cleanups.push(stop);
  return { engine, client, logs, port: server.port, connect, stop };
}

const recs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, k: `k${(from + i) % 3}` }));

/** Writes a JSON-lines file of ids [from, from + n) into the watched directory atomically. */
function drop(inDir: string, from: number, n: number): void {
  const name = `f${String(from).padStart(6, '0')}.json`;
  writeFileSync(join(inDir, `.${name}`), recs(from, n).map((r) => JSON.stringify(r)).join('\n') + '\n');
  renameSync(join(inDir, `.${name}`), join(inDir, name));
}

/** Feeds ids [from, from + n) and runs the epochs that take them (a file needs two listings). */
async function feed(c: pg.Client, inDir: string, from: number, n: number): Promise<number> {
  drop(inDir, from, n);
  await c.query('FLUSH');
  await c.query('FLUSH');
  return from + n;
}

/** What the file sink wrote: how often each id was written. */
function sinkCounts(outDir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of readdirSync(outDir).filter((x) => x.startsWith('part-'))) {
    for (const line of readFileSync(join(outDir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const id = (JSON.parse(line) as { id: number }).id;
      out.set(id, (out.get(id) ?? 0) + 1);
    }
  }
  return out;
}

/** Expected per-key counts of ids [0, n). */
function perKey(n: number): { k: string; n: string }[] {
  const m = new Map<string, number>();
  for (const r of recs(0, n)) m.set(r.k, (m.get(r.k) ?? 0) + 1);
  return [...m].sort().map(([k, c]) => ({ k, n: String(c) }));
}

const showCreate = async (c: pg.Client, kind: string, name: string): Promise<string> => (await c.query(`SHOW CREATE ${kind} ${name}`)).rows[0].create_sql as string;

describe('ALTER … RENAME TO over a running pipeline', () => {
  it('renames a source, a view and a sink in a chain: statements, catalog, state and delivery follow, and a restart keeps it', async () => {
    const data = dir();
    const inDir = join(data, 'in');
    const outDir = join(data, 'out');
    mkdirSync(inDir);
    let r = await start(data);
    let c = r.client;
    await c.query(`CREATE SOURCE ev (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${inDir}', format = 'json')`);
    await c.query(`CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n FROM ev GROUP BY k`);
    await c.query(`CREATE MATERIALIZED VIEW allrows AS SELECT ev.id, ev.k FROM ev WHERE ev.id >= 0`);
    await c.query(`CREATE SINK out FROM allrows WITH (connector = 'file', path = '${outDir}')`);
    await c.query(`COMMENT ON MATERIALIZED VIEW agg IS 'per key'`);
    let id = await feed(c, inDir, 0, 20);
    const oids = new Map((await c.query(`SELECT relname, oid::int AS oid FROM pg_class WHERE relnamespace = 2200`)).rows.map((x) => [x.relname as string, x.oid as number]));

    expect((await c.query('ALTER SOURCE ev RENAME TO events')).command).toBe('ALTER');
    expect(await showCreate(c, 'SOURCE', 'events')).toBe(`CREATE SOURCE events (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${inDir}', format = 'json')`);
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'agg')).toBe('CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n FROM events GROUP BY k');
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'allrows')).toBe('CREATE MATERIALIZED VIEW allrows AS SELECT events.id, events.k FROM events WHERE events.id >= 0');
    await expect(c.query('SELECT * FROM ev')).rejects.toMatchObject({ code: '42P01' });
    // The dead-letter table moved with the source.
    expect((await c.query('SELECT count(*)::int AS n FROM events_errors')).rows).toEqual([{ n: 0 }]);
    await expect(c.query('SELECT * FROM ev_errors')).rejects.toMatchObject({ code: '42P01' });

    expect((await c.query('ALTER MATERIALIZED VIEW agg RENAME TO per_key')).command).toBe('ALTER');
    expect((await c.query('ALTER VIEW allrows RENAME TO everything')).command).toBe('ALTER');
    expect((await c.query('ALTER SINK out RENAME TO out_file')).command).toBe('ALTER');
    expect(await showCreate(c, 'SINK', 'out_file')).toBe(`CREATE SINK out_file FROM everything WITH (connector = 'file', path = '${outDir}')`);
    // The views kept their state (a source cannot be read again: a recomputation would be empty).
    expect((await c.query('SELECT k, n FROM per_key ORDER BY k')).rows).toEqual(perKey(20));
    expect((await c.query('SELECT count(*)::int AS n FROM everything')).rows).toEqual([{ n: 20 }]);
    await expect(c.query('SELECT * FROM agg')).rejects.toMatchObject({ code: '42P01' });

    // The catalog: same OIDs under the new names, the comment, the system tables.
    const after = new Map((await c.query(`SELECT relname, oid::int AS oid FROM pg_class WHERE relnamespace = 2200`)).rows.map((x) => [x.relname as string, x.oid as number]));
    expect([...after.keys()].sort()).toEqual(['events', 'everything', 'per_key']);
    expect([after.get('events'), after.get('per_key'), after.get('everything')]).toEqual([oids.get('ev'), oids.get('agg'), oids.get('allrows')]);
    expect((await c.query(`SELECT obj_description('per_key'::regclass, 'pg_class') AS d`)).rows).toEqual([{ d: 'per key' }]);
    expect((await c.query('SELECT name, errors_table FROM sluice.sources')).rows).toEqual([{ name: 'events', errors_table: 'events_errors' }]);
    expect((await c.query('SELECT name FROM sluice.views ORDER BY name')).rows).toEqual([{ name: 'everything' }, { name: 'per_key' }]);
    expect((await c.query('SELECT DISTINCT view FROM sluice.operators ORDER BY 1')).rows).toEqual([{ view: 'everything' }, { view: 'per_key' }]);
    expect((await c.query('SELECT operator_id FROM sluice.operators WHERE view = \'per_key\' ORDER BY 1')).rows.every((x) => (x.operator_id as string).startsWith('per_key/'))).toBe(true);
    expect((await c.query('SELECT name, "from" FROM sluice.sinks')).rows).toEqual([{ name: 'out_file', from: 'everything' }]);
    const metrics = await new PrometheusExporter(r.engine).text();
    expect(metrics).toContain('sluice_source_rows_total{source="events"} 20');
    expect(metrics).toContain('sluice_view_rows{view="per_key"} 3');
    expect(metrics).not.toMatch(/source="ev"|view="agg"|sink="out"/);

    // The renamed objects go on.
    id = await feed(c, inDir, id, 10);
    expect((await c.query('SELECT k, n FROM per_key ORDER BY k')).rows).toEqual(perKey(30));
    await r.stop();

    r = await start(data);
    c = r.client;
    expect(r.logs.filter((m) => /recomputed|changed its definition|does not fit/.test(m))).toEqual([]);
    expect((await c.query('SELECT k, n FROM per_key ORDER BY k')).rows).toEqual(perKey(30));
    id = await feed(c, inDir, id, 15);
    expect((await c.query('SELECT k, n FROM per_key ORDER BY k')).rows).toEqual(perKey(45));
    expect((await c.query('SELECT count(*)::int AS n FROM everything')).rows).toEqual([{ n: 45 }]);
    // Every row reached the sink exactly once, across the renames and the restart.
    const counts = sinkCounts(outDir);
    expect(counts.size).toBe(id);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'per_key')).toBe('CREATE MATERIALIZED VIEW per_key AS SELECT k, count(*) AS n FROM events GROUP BY k');
  });

  it('a table read by a join view: the view keeps its state and follows inserts under the new name, also after a restart', async () => {
    const data = dir();
    let r = await start(data);
    let c = r.client;
    await c.query('CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR)');
    await c.query('CREATE TABLE orders (uid INT, amount INT) APPEND ONLY');
    await c.query('CREATE MATERIALIZED VIEW spend AS SELECT u.name, sum(o.amount) AS total FROM orders o JOIN users u ON o.uid = u.id GROUP BY u.name');
    await c.query("INSERT INTO users VALUES (1, 'ann'), (2, 'bob'); INSERT INTO orders VALUES (1, 5), (2, 7), (1, 1); FLUSH");
    expect((await c.query('ALTER TABLE users RENAME TO customers')).command).toBe('ALTER');
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'spend')).toBe('CREATE MATERIALIZED VIEW spend AS SELECT u.name, sum(o.amount) AS total FROM orders o JOIN customers u ON o.uid = u.id GROUP BY u.name');
    await c.query("INSERT INTO customers VALUES (3, 'cy'); INSERT INTO orders VALUES (3, 2), (2, 1); UPDATE customers SET name = 'anne' WHERE id = 1; FLUSH");
    const expected = [{ name: 'anne', total: '6' }, { name: 'bob', total: '8' }, { name: 'cy', total: '2' }];
    expect((await c.query('SELECT name, total FROM spend ORDER BY name')).rows).toEqual(expected);
    await r.stop();
    r = await start(data);
    c = r.client;
    expect(r.logs.filter((m) => /recomputed/.test(m))).toEqual([]);
    expect((await c.query('SELECT name, total FROM spend ORDER BY name')).rows).toEqual(expected);
    await c.query('INSERT INTO orders VALUES (3, 10); FLUSH');
    expect((await c.query("SELECT total FROM spend WHERE name = 'cy'")).rows).toEqual([{ total: '12' }]);
    expect((await c.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([{ n: 3 }]);
  });

  it('a SUBSCRIBE (cursor) on a view goes on across its rename and its input\'s', async () => {
    const r = await start(null);
    const c = r.client;
    await c.query('CREATE TABLE t (k VARCHAR, v INT)');
    await c.query('CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k');
    await c.query("INSERT INTO t VALUES ('a', 1); FLUSH");
    const sub = await r.connect();
    await sub.query('BEGIN');
    await sub.query('DECLARE c CURSOR FOR SUBSCRIBE s');
    const snapshot = await sub.query('FETCH ALL c');
    expect(snapshot.rows.map((x) => [x.weight, x.k, x.total])).toEqual([[1, 'a', '1']]);
    await c.query('ALTER MATERIALIZED VIEW s RENAME TO sums');
    await c.query('ALTER TABLE t RENAME TO t2');
    await c.query("INSERT INTO t2 VALUES ('a', 2); FLUSH");
    const changes = await sub.query("FETCH ALL c WITH (timeout = '5s')");
    expect(changes.rows.map((x) => [x.weight, x.k, x.total]).sort()).toEqual([[-1, 'a', '1'], [1, 'a', '3']]);
    await sub.query('COMMIT');
    // Dropping it under the new name still ends a subscription with an error that says so.
    const sub2 = await r.connect();
    await sub2.query('BEGIN');
    await sub2.query('DECLARE d CURSOR FOR SUBSCRIBE sums');
    await sub2.query('FETCH ALL d');
    await c.query('DROP MATERIALIZED VIEW sums');
    await expect(sub2.query("FETCH ALL d WITH (timeout = '5s')")).rejects.toThrow(/sums/);
  });

  it("a view keeping late rows takes its <view>_late table along; late rows go on into it", async () => {
    const { client: c } = await start(null);
    await c.query(`CREATE TABLE ev (ts TIMESTAMP, v INT, WATERMARK FOR ts AS ts - INTERVAL '1 second') APPEND ONLY`);
    await c.query(`CREATE MATERIALIZED VIEW w WITH (late_rows = 'keep') AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1 minute') GROUP BY window_start`);
    await c.query(`INSERT INTO ev VALUES ('2024-01-01 00:10:00', 1); FLUSH`);
    await c.query(`INSERT INTO ev VALUES ('2024-01-01 00:01:00', 2); FLUSH`);
    await c.query('ALTER MATERIALIZED VIEW w RENAME TO per_minute');
    await expect(c.query('SELECT * FROM w_late')).rejects.toMatchObject({ code: '42P01' });
    await c.query(`INSERT INTO ev VALUES ('2024-01-01 00:02:00', 3); FLUSH`);
    expect((await c.query('SELECT count(*)::int AS n FROM per_minute_late')).rows).toEqual([{ n: 2 }]);
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'per_minute')).toContain("per_minute WITH (late_rows = 'keep') AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts,");
    // The input with the watermark renamed: TUMBLE's relation follows, the watermark holds.
    await c.query('ALTER TABLE ev RENAME TO events');
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'per_minute')).toContain('FROM TUMBLE(events, ts,');
    await c.query(`INSERT INTO events VALUES ('2024-01-01 00:03:00', 4), ('2024-01-01 00:10:30', 5), ('2024-01-01 00:12:00', 6); FLUSH`);
    expect((await c.query('SELECT count(*)::int AS n FROM per_minute_late')).rows).toEqual([{ n: 3 }]);
    expect((await c.query("SELECT n::int AS n FROM per_minute WHERE window_start = '2024-01-01 00:10:00'")).rows).toEqual([{ n: 2 }]);
  });

  it('a model over a renamed table keeps its parameters and goes on training', async () => {
    const { client: c } = await start(null);
    await c.query('CREATE TABLE pts (x DOUBLE PRECISION, y DOUBLE PRECISION) APPEND ONLY');
    await c.query("CREATE MODEL m WITH (type = 'linear_regression', label = 'y') AS SELECT x, y FROM pts");
    await c.query('INSERT INTO pts VALUES (1, 2), (2, 4), (3, 6); FLUSH');
    const before = (await c.query('SELECT points::int AS points, batches::int AS batches FROM sluice.models')).rows[0];
    expect((await c.query('ALTER TABLE pts RENAME TO points')).command).toBe('ALTER');
    expect(await showCreate(c, 'MODEL', 'm')).toBe("CREATE MODEL m WITH (type = 'linear_regression', label = 'y') AS SELECT x, y FROM points");
    expect((await c.query('SELECT points::int AS points, batches::int AS batches FROM sluice.models')).rows[0]).toEqual(before);
    await c.query('INSERT INTO points VALUES (4, 8); FLUSH');
    expect((await c.query('SELECT points::int AS points FROM sluice.models')).rows[0]).toEqual({ points: before.points + 1 });
  });

  it('errors as PostgreSQL: 42P07 for a taken name (also a companion table), 42P01 / IF EXISTS, 42809 for the wrong kind', async () => {
    const { client: c } = await start(null);
    await c.query("CREATE SOURCE gen (a INT) WITH (connector = 'datagen')");
    await c.query('CREATE TABLE t (a INT)');
    await c.query('CREATE MATERIALIZED VIEW v AS SELECT a FROM t');
    await c.query('CREATE TABLE x_errors (a INT)');
    await expect(c.query('ALTER SOURCE gen RENAME TO t')).rejects.toMatchObject({ code: '42P07', message: 'relation "t" already exists' });
    // Renaming the source would move gen_errors onto a table that exists.
    await expect(c.query('ALTER SOURCE gen RENAME TO x')).rejects.toMatchObject({ code: '42P07', message: 'relation "x_errors" already exists' });
    await expect(c.query('ALTER SOURCE v RENAME TO w')).rejects.toMatchObject({ code: '42809', message: '"v" is not a source' });
    await expect(c.query('ALTER SINK v RENAME TO w')).rejects.toMatchObject({ code: '42809', message: '"v" is not a sink' });
    await expect(c.query('ALTER MATERIALIZED VIEW nope RENAME TO w')).rejects.toMatchObject({ code: '42P01', message: 'relation "nope" does not exist' });
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    expect((await c.query('ALTER SOURCE IF EXISTS nope RENAME TO w')).command).toBe('ALTER');
    await new Promise((res) => setTimeout(res, 50));
    expect(notices).toEqual(['relation "nope" does not exist, skipping']);
    // Nothing changed on a refusal.
    expect((await c.query('SELECT name FROM sluice.sources')).rows).toEqual([{ name: 'gen' }]);
    expect((await c.query(`ALTER SOURCE gen RENAME TO "Gen 2"`)).command).toBe('ALTER');
    expect(await showCreate(c, 'SOURCE', '"Gen 2"')).toBe(`CREATE SOURCE "Gen 2" (a INT) WITH (connector = 'datagen')`);
    expect((await c.query('SELECT count(*)::int AS n FROM "Gen 2_errors"')).rows).toEqual([{ n: 0 }]);
  });
});

describe('a receiver source with a write-ahead log', () => {
  it('moves the WAL directory with the source and reconnects; nothing received is lost or counted twice, also after a restart', async () => {
    const clients: Socket[] = [];
    const server = createServer((x) => clients.push(x));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    cleanups.push(() => new Promise<void>((res) => {
      for (const x of clients) x.destroy();
      server.close(() => res());
    }));
    const port = (server.address() as { port: number }).port;
    // The connection made after the first `seen` ones (a restarted connector connects anew).
    const connection = async (seen: number) => {
      for (let i = 0; i < 500 && clients.length <= seen; i++) await new Promise((res) => setTimeout(res, 20));
      return clients[seen]!;
    };
    const countIs = async (c: pg.Client, n: number) => {
      let got = -1;
      for (let i = 0; i < 250 && got !== n; i++) {
        await c.query('FLUSH');
        got = (await c.query('SELECT coalesce(sum(n), 0)::int AS n FROM wc')).rows[0].n as number;
        if (got !== n) await new Promise((res) => setTimeout(res, 20));
      }
      return got;
    };
    const data = dir();
    let r = await start(data);
    let c = r.client;
    await c.query(`CREATE SOURCE lines (word VARCHAR) WITH (connector = 'socket', host = '127.0.0.1', port = ${port})`);
    await c.query('CREATE MATERIALIZED VIEW wc AS SELECT word, count(*) AS n FROM lines GROUP BY word');
    (await connection(0)).write('a\nb\na\n');
    expect(await countIs(c, 3)).toBe(3);
    expect(existsSync(walDir(data, 'lines'))).toBe(true);
    await c.query('ALTER SOURCE lines RENAME TO words');
    expect(existsSync(walDir(data, 'lines'))).toBe(false);
    expect(existsSync(walDir(data, 'words'))).toBe(true);
    // The connector restarted to write its WAL in the new place: it connected again.
    (await connection(1)).write('c\na\n');
    expect(await countIs(c, 5)).toBe(5);
    await r.stop();
    r = await start(data);
    c = r.client;
    (await connection(2)).write('b\n');
    expect(await countIs(c, 6)).toBe(6);
    expect((await c.query('SELECT word, n::int AS n FROM wc ORDER BY word')).rows).toEqual([{ word: 'a', n: 3 }, { word: 'b', n: 2 }, { word: 'c', n: 1 }]);
    expect(await showCreate(c, 'MATERIALIZED VIEW', 'wc')).toBe('CREATE MATERIALIZED VIEW wc AS SELECT word, count(*) AS n FROM words GROUP BY word');
  });
});

describe('a renamed PostgreSQL sink keeps its progress', () => {
  const oracle = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
  const schema = `sluice_rename_${process.pid}`;

  it('pins progress_key to the old name: no epoch is written twice or lost across the rename and a restart', async () => {
    const admin = new pg.Client(oracle);
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    const data = dir();
    let r = await start(data);
    let c = r.client;
    await c.query('CREATE TABLE ev (id INT) APPEND ONLY');
    await c.query(`CREATE SINK pg_out FROM ev WITH (connector = 'postgres', url = 'postgres://postgres@127.0.0.1:5432/test', table = '${schema}.ev_copy')`);
    await c.query('INSERT INTO ev VALUES (1), (2); FLUSH');
    expect((await c.query('ALTER SINK pg_out RENAME TO pg_sink')).command).toBe('ALTER');
    expect(await showCreate(c, 'SINK', 'pg_sink')).toBe(
      `CREATE SINK pg_sink FROM ev WITH (connector = 'postgres', url = 'postgres://postgres@127.0.0.1:5432/test', table = '${schema}.ev_copy', progress_key = 'pg_out')`,
    );
    await c.query('INSERT INTO ev VALUES (3); FLUSH');
    await r.stop();
    r = await start(data);
    c = r.client;
    await c.query('INSERT INTO ev VALUES (4); FLUSH');
    // Delivery is retried outside the statement: wait until the sink holds epoch of the last insert.
    for (let i = 0; i < 100 && Number((await admin.query(`SELECT count(*) FROM ${schema}.ev_copy`)).rows[0].count) < 4; i++) await new Promise((res) => setTimeout(res, 50));
    expect((await admin.query(`SELECT id FROM ${schema}.ev_copy ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
    const progress = await admin.query(`SELECT sink FROM ${schema}.sluice_sink_progress`);
    expect(progress.rows).toEqual([{ sink: 'pg_out' }]);
  });
});

const hasPsql = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs a psql script (asynchronously: this process serves it) against host:port as `user`. */
function psql(port: number, user: string, script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'test', '-X', '-q'], { env: { ...process.env, PGPASSWORD: '' }, encoding: 'utf8', timeout: 20_000 }, (_err, stdout, stderr) =>
      resolve({ stdout, stderr }),
    );
    child.stdin!.end(script);
  });
}

describe.skipIf(!hasPsql)('psql', () => {
  it('prints the errors and notices of table renames as PostgreSQL 15 does, and \\d shows the renamed view', async () => {
    const script = [
      'CREATE TABLE t (a INT);',
      'CREATE TABLE other (b INT);',
      'ALTER TABLE t RENAME TO other;',
      'ALTER TABLE nope RENAME TO x;',
      'ALTER TABLE IF EXISTS nope RENAME TO x;',
      'ALTER TABLE t RENAME TO t;',
      'ALTER TABLE t RENAME TO t2;',
      'SELECT count(*) AS n FROM t2;',
      '',
    ].join('\n');
    const schema = `sluice_rename_psql_${process.pid}`;
    const oracle = await psql(5432, 'postgres', `CREATE SCHEMA ${schema}; SET search_path TO ${schema};\n${script}SET client_min_messages = warning; DROP SCHEMA ${schema} CASCADE;\n`);
    const { port } = await start(null);
    const mine = await psql(port, 'test', script);
    expect(oracle.stderr).toContain('relation "other" already exists');
    expect(mine.stderr.replace(/psql:<stdin>:\d+: /g, '')).toBe(oracle.stderr.replace(/psql:<stdin>:\d+: /g, ''));
    expect(mine.stdout).toBe(oracle.stdout);
    const view = await psql(port, 'test', 'CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n FROM t2;\nALTER VIEW v RENAME TO counts;\nALTER SOURCE counts RENAME TO c;\n\\d counts\n');
    expect(view.stderr).toContain('ERROR:  "counts" is not a source');
    expect(view.stdout).toContain('"public.counts"');
  });
});
