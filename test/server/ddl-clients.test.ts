/**
 * DDL people reach for, through the pg driver: SHOW CREATE for each kind of object re-executes
 * to the same object, ALTER SOURCE … SET (max_rate) changes a running source (and what SHOW
 * CREATE and a restart see), a UNIQUE index off the primary key and RENAME of a model are refused with 0A000 saying why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(dataDir: string | null = null): Promise<{ engine: Engine; server: PgServer; client: pg.Client }> {
  const engine = await createEngine({ autoStart: false, dataDir, log: () => undefined });
  const server = await startPgServer(engine, { port: 0, log: () => undefined });
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 't', database: 't' });
  await client.connect();
  cleanups.push(async () => {
    await client.end().catch(() => undefined);
    await server.close();
    await engine.close();
  });
  return { engine, server, client };
}

const OBJECTS: [string, string][] = [
  ['SOURCE', "CREATE SOURCE gen (id BIGINT, k INT) WITH (connector = 'datagen', rows_per_second = 5, fields.k.kind = 'sequence', fields.k.start = 1, fields.k.end = 3)"],
  ['TABLE', 'CREATE TABLE prices (k INT PRIMARY KEY, price DOUBLE NOT NULL, note VARCHAR)'],
  ['MATERIALIZED VIEW', 'CREATE MATERIALIZED VIEW per_k AS SELECT g.k, count(*) AS n, max(p.price) AS top FROM gen AS g JOIN prices AS p ON g.k = p.k GROUP BY g.k'],
  ['SINK', "CREATE SINK out FROM per_k WITH (connector = 'print')"],
];

async function describeAll(client: pg.Client): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [kind, sql] of OBJECTS) {
    const name = /^CREATE \S+(?: VIEW)? (\w+)/.exec(sql)![1]!;
    out.push((await client.query(`SHOW CREATE ${kind} ${name}`)).rows);
    if (kind !== 'SINK') out.push((await client.query(`DESCRIBE ${name}`)).rows);
  }
  return out;
}

describe('SHOW CREATE', () => {
  it('gives, for a source, a table, a view and a sink, text that re-executes to the same object', async () => {
    const { client } = await setup();
    for (const [, sql] of OBJECTS) await client.query(sql);
    const before = await describeAll(client);
    const texts: string[] = [];
    for (const [kind, sql] of OBJECTS) {
      const name = /^CREATE \S+(?: VIEW)? (\w+)/.exec(sql)![1]!;
      const r = await client.query(`SHOW CREATE ${kind} ${name}`);
      expect(r.fields.map((f) => f.name)).toEqual(['name', 'create_sql']);
      expect(r.rows[0].name).toBe(name);
      texts.push(r.rows[0].create_sql as string);
    }
    // Drop everything (dependents first) and run the texts SHOW CREATE gave.
    await client.query('DROP SINK out; DROP MATERIALIZED VIEW per_k; DROP TABLE prices; DROP SOURCE gen;');
    for (const t of texts) await client.query(t);
    expect(await describeAll(client)).toEqual(before);
    // The rebuilt objects work: the view computes over the source and the table.
    await client.query("INSERT INTO prices VALUES (1, 9.5, 'a'), (2, 3, NULL), (3, 1, 'c')");
    await client.query('FLUSH');
    await client.query('FLUSH');
    await new Promise((r) => setTimeout(r, 1100));
    await client.query('FLUSH');
    const rows = (await client.query('SELECT k, top FROM per_k ORDER BY k')).rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r: { k: number; top: number }) => ({ 1: 9.5, 2: 3, 3: 1 })[r.k] === r.top)).toBe(true);
  });

  it('names a missing object or one of another kind with 42P01', async () => {
    const { client } = await setup();
    await client.query('CREATE TABLE t (a INT)');
    await expect(client.query('SHOW CREATE MATERIALIZED VIEW t')).rejects.toMatchObject({ code: '42P01', message: 'materialized view "t" does not exist', position: '31' });
    await expect(client.query('SHOW CREATE SINK nope')).rejects.toMatchObject({ code: '42P01' });
  });
});

describe('ALTER SOURCE … SET', () => {
  it('changes max_rate of a running source from the next epoch, and SHOW CREATE and a restart keep it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-alter-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const { engine, client } = await setup(dir);
    await client.query("CREATE SOURCE gen (id BIGINT) WITH (connector = 'datagen', rows_per_second = 1000000, max_rate = 1000)");
    const rate = () => engine.stats().sources.gen!.rate;
    expect(rate()).toBe(1000);
    expect((await client.query('ALTER SOURCE gen SET (max_rate = 50)')).command).toBe('ALTER');
    expect(rate()).toBe(50);
    // An epoch reads at most max_rate × the batch interval (1 s): 50 rows.
    const before = engine.stats().sources.gen!.rows;
    await new Promise((r) => setTimeout(r, 1100));
    await client.query('FLUSH');
    expect(engine.stats().sources.gen!.rows - before).toBeLessThanOrEqual(50);
    const text = (await client.query('SHOW CREATE SOURCE gen')).rows[0].create_sql as string;
    expect(text).toBe("CREATE SOURCE gen (id BIGINT) WITH (connector = 'datagen', rows_per_second = '1000000', max_rate = '50')");
    await client.query('ALTER SOURCE gen RESET (max_rate)');
    // Without max_rate only backpressure's rate is left (its initial rate, 100 000 rows/s).
    expect(rate()).toBe(100_000);
    await client.query('ALTER SOURCE gen SET (max_rate = 7)');
    await client.end();
    await engine.close();
    // A restart replays the altered statement.
    const again = await createEngine({ autoStart: false, dataDir: dir, log: () => undefined });
    try {
      expect(again.stats().sources.gen!.rate).toBe(7);
    } finally {
      await again.close();
    }
  });

  it('refuses options that cannot change while running, bad values, other kinds and missing objects', async () => {
    const { client } = await setup();
    await client.query("CREATE SOURCE gen (id BIGINT) WITH (connector = 'datagen'); CREATE TABLE t (a INT);");
    await expect(client.query("ALTER SOURCE gen SET (rows_per_second = 5)")).rejects.toMatchObject({ code: '0A000', message: 'option "rows_per_second" of source "gen" cannot be changed while it runs' });
    await expect(client.query('ALTER SOURCE gen SET (max_rate = -1)')).rejects.toMatchObject({ code: '22023' });
    await expect(client.query('ALTER TABLE t SET (x = 1)')).rejects.toMatchObject({ code: '0A000' });
    await expect(client.query('ALTER SOURCE nope SET (max_rate = 1)')).rejects.toMatchObject({ code: '42P01', message: 'source "nope" does not exist' });
  });
});

describe('refused with 0A000 and a way forward', () => {
  it('CREATE UNIQUE INDEX off the primary key and ALTER MODEL … RENAME', async () => {
    const { client } = await setup();
    await client.query('CREATE TABLE t (a INT PRIMARY KEY, b INT)');
    const idx = await client.query('CREATE UNIQUE INDEX t_b ON t (b)').catch((e: unknown) => e as pg.DatabaseError);
    expect(idx).toMatchObject({ code: '0A000', message: "CREATE UNIQUE INDEX is supported only over a table's primary key columns", position: '1' });
    expect((idx as pg.DatabaseError).hint).toMatch(/PRIMARY KEY/);
    await client.query('CREATE TABLE pts (a DOUBLE, b DOUBLE) APPEND ONLY');
    await client.query("CREATE MODEL m WITH (type = 'linear_regression', label = 'a') AS SELECT a, b FROM pts");
    const ren = await client.query('ALTER MODEL m RENAME TO u').catch((e: unknown) => e as pg.DatabaseError);
    expect(ren).toMatchObject({ code: '0A000', message: 'ALTER MODEL … RENAME TO is not supported' });
    expect((ren as pg.DatabaseError).hint).toContain('SHOW CREATE MODEL m');
  });
});
