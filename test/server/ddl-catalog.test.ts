/**
 * COMMENT ON, ALTER TABLE … RENAME TO and ALTER MATERIALIZED VIEW … SET through the pg driver:
 * what the catalog (pg_description, pg_class, SHOW CREATE) shows after them, the errors for
 * what cannot be done, and what a restart from the data dir keeps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/exec/runtime/engine.js';
import { startPgServer } from '../../src/server/pg-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(dataDir: string | null = null): Promise<{ client: pg.Client; stop: () => Promise<void> }> {
  const engine = await createEngine({ autoStart: false, dataDir, log: () => undefined });
  const server = await startPgServer(engine, { port: 0, log: () => undefined });
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 't', database: 't' });
  await client.connect();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await client.end().catch(() => undefined);
    await server.close();
    await engine.close();
  };
  cleanups.push(stop);
  return { client, stop };
}

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ddl-catalog-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const DESCRIPTIONS = `SELECT c.relname, d.objsubid, d.description FROM pg_catalog.pg_description d
  JOIN pg_catalog.pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_catalog.pg_class'::regclass ORDER BY 1, 2`;

describe('COMMENT ON', () => {
  it('describes tables, sources, materialized views and columns in pg_description, and a restart keeps them', async () => {
    const dir = tempDir();
    const first = await setup(dir);
    await first.client.query(`CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR)`);
    await first.client.query(`CREATE SOURCE clicks (url VARCHAR) WITH (connector = 'datagen')`);
    await first.client.query(`CREATE MATERIALIZED VIEW names AS SELECT name, count(*) AS n FROM users GROUP BY name`);
    expect((await first.client.query(`COMMENT ON TABLE users IS 'people who buy'`)).command).toBe('COMMENT');
    await first.client.query(`COMMENT ON COLUMN users.name IS 'as they sign'`);
    await first.client.query(`COMMENT ON COLUMN public.names.n IS 'how many'`);
    await first.client.query(`COMMENT ON SOURCE clicks IS 'from the web'`);
    await first.client.query(`COMMENT ON MATERIALIZED VIEW names IS 'it''s per name'`);
    const expected = [
      { relname: 'clicks', objsubid: 0, description: 'from the web' },
      { relname: 'names', objsubid: 0, description: "it's per name" },
      { relname: 'names', objsubid: 2, description: 'how many' },
      { relname: 'users', objsubid: 0, description: 'people who buy' },
      { relname: 'users', objsubid: 2, description: 'as they sign' },
    ];
    expect((await first.client.query(DESCRIPTIONS)).rows).toEqual(expected);
    const r = await first.client.query(`SELECT obj_description('users'::regclass, 'pg_class') AS t, col_description('users'::regclass, 2) AS c`);
    expect(r.rows).toEqual([{ t: 'people who buy', c: 'as they sign' }]);
    await first.stop();
    const again = await setup(dir);
    expect((await again.client.query(DESCRIPTIONS)).rows).toEqual(expected);
    // IS NULL takes a comment away; dropping the object takes its comments with it.
    await again.client.query(`COMMENT ON SOURCE clicks IS NULL`);
    await again.client.query(`DROP MATERIALIZED VIEW names`);
    expect((await again.client.query(DESCRIPTIONS)).rows).toEqual(expected.filter((x) => x.relname === 'users'));
  });

  it('refuses what does not exist, and users', async () => {
    const { client } = await setup();
    await client.query(`CREATE TABLE t (a INT)`);
    await expect(client.query(`COMMENT ON TABLE nope IS 'x'`)).rejects.toMatchObject({ code: '42P01', message: 'table "nope" does not exist' });
    await expect(client.query(`COMMENT ON MATERIALIZED VIEW t IS 'x'`)).rejects.toMatchObject({ code: '42P01', message: 'materialized view "t" does not exist' });
    await expect(client.query(`COMMENT ON COLUMN t.b IS 'x'`)).rejects.toMatchObject({ code: '42703', message: 'column "b" of relation "t" does not exist' });
    await expect(client.query(`COMMENT ON TABLE t IS 42`)).rejects.toMatchObject({ code: '42601' });
  });
});

describe('ALTER TABLE … RENAME TO', () => {
  it('moves the rows, the primary key and comments to the new name, and a restart keeps it', async () => {
    const dir = tempDir();
    const first = await setup(dir);
    await first.client.query(`CREATE TABLE t (k INT PRIMARY KEY, v VARCHAR)`);
    await first.client.query(`INSERT INTO t VALUES (1, 'a'), (2, 'b')`);
    await first.client.query(`COMMENT ON TABLE t IS 'kept'`);
    expect((await first.client.query(`ALTER TABLE t RENAME TO u`)).command).toBe('ALTER');
    await expect(first.client.query(`SELECT * FROM t`)).rejects.toMatchObject({ code: '42P01' });
    expect((await first.client.query(`SELECT k, v FROM u ORDER BY k`)).rows).toEqual([{ k: 1, v: 'a' }, { k: 2, v: 'b' }]);
    await first.client.query(`INSERT INTO u VALUES (3, 'c')`);
    expect((await first.client.query(`SHOW CREATE TABLE u`)).rows[0].create_sql).toBe('CREATE TABLE u (k INT PRIMARY KEY, v VARCHAR)');
    expect((await first.client.query(`SELECT relname FROM pg_class WHERE relnamespace = 2200 ORDER BY 1`)).rows.map((x) => x.relname)).toEqual(['u', 'u_pkey']);
    // A view over the new name reads the renamed rows.
    await first.client.query(`CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM u`);
    expect((await first.client.query(`SELECT n FROM c`)).rows).toEqual([{ n: '3' }]);
    await first.stop();
    const again = await setup(dir);
    expect((await again.client.query(`SELECT k, v FROM u ORDER BY k`)).rows).toEqual([{ k: 1, v: 'a' }, { k: 2, v: 'b' }, { k: 3, v: 'c' }]);
    expect((await again.client.query(`SELECT obj_description('u'::regclass, 'pg_class') AS d`)).rows).toEqual([{ d: 'kept' }]);
    expect((await again.client.query(`SELECT n FROM c`)).rows).toEqual([{ n: '3' }]);
  });

  it('refuses a taken name (42P07), what does not exist (42P01) and the wrong kind (42809), as PostgreSQL does', async () => {
    const { client } = await setup();
    await client.query(`CREATE TABLE t (a INT); CREATE TABLE other (b INT)`);
    await client.query(`CREATE MATERIALIZED VIEW v AS SELECT a FROM t`);
    await expect(client.query(`ALTER TABLE t RENAME TO other`)).rejects.toMatchObject({ code: '42P07', message: 'relation "other" already exists' });
    await expect(client.query(`ALTER TABLE t RENAME TO t`)).rejects.toMatchObject({ code: '42P07', message: 'relation "t" already exists' });
    await expect(client.query(`ALTER TABLE nope RENAME TO x`)).rejects.toMatchObject({ code: '42P01', message: 'relation "nope" does not exist' });
    expect((await client.query(`ALTER TABLE IF EXISTS nope RENAME TO x`)).command).toBe('ALTER');
    await expect(client.query(`ALTER MATERIALIZED VIEW t RENAME TO w`)).rejects.toMatchObject({ code: '42809', message: '"t" is not a materialized view' });
    await expect(client.query(`ALTER TABLE IF EXISTS v RENAME TO w`)).rejects.toMatchObject({ code: '42809', message: '"v" is not a table' });
    // A table others read is renamed with them: their statements follow.
    expect((await client.query(`ALTER TABLE t RENAME TO t2`)).command).toBe('ALTER');
    expect((await client.query(`SHOW CREATE MATERIALIZED VIEW v`)).rows[0].create_sql).toBe('CREATE MATERIALIZED VIEW v AS SELECT a FROM t2');
  });
});

describe('ALTER MATERIALIZED VIEW … SET', () => {
  const EVENTS = `CREATE TABLE ev (ts TIMESTAMP, v INT, WATERMARK FOR ts AS ts - INTERVAL '1 second') APPEND ONLY`;
  const WINDOWED = `CREATE MATERIALIZED VIEW w AS SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1 minute') GROUP BY window_start`;

  it("late_rows = 'keep' starts keeping late rows in <view>_late, RESET stops; SHOW CREATE and a restart follow", async () => {
    const dir = tempDir();
    const first = await setup(dir);
    await first.client.query(EVENTS);
    await first.client.query(WINDOWED);
    expect((await first.client.query(`ALTER MATERIALIZED VIEW w SET (late_rows = 'keep')`)).command).toBe('ALTER');
    expect((await first.client.query(`SHOW CREATE MATERIALIZED VIEW w`)).rows[0].create_sql).toBe(WINDOWED.replace(' AS SELECT', " WITH (late_rows = 'keep') AS SELECT"));
    await first.client.query(`INSERT INTO ev VALUES ('2024-01-01 00:10:00', 1)`);
    await first.client.query('FLUSH');
    await first.client.query(`INSERT INTO ev VALUES ('2024-01-01 00:01:00', 2)`);
    await first.client.query('FLUSH');
    expect((await first.client.query(`SELECT count(*)::int AS n FROM w_late`)).rows).toEqual([{ n: 1 }]);
    await first.stop();
    const again = await setup(dir);
    expect((await again.client.query(`SHOW CREATE MATERIALIZED VIEW w`)).rows[0].create_sql).toContain("WITH (late_rows = 'keep')");
    await again.client.query(`ALTER MATERIALIZED VIEW w RESET (late_rows)`);
    expect((await again.client.query(`SHOW CREATE MATERIALIZED VIEW w`)).rows[0].create_sql).toBe(WINDOWED);
    await expect(again.client.query(`SELECT * FROM w_late`)).rejects.toMatchObject({ code: '42P01' });
  });

  it('refuses options a view does not have, bad values, and keep without a watermarked window', async () => {
    const { client } = await setup();
    await client.query(`CREATE TABLE t (a INT); CREATE MATERIALIZED VIEW v AS SELECT a FROM t`);
    const e = await client.query(`ALTER MATERIALIZED VIEW v SET (refresh = '1 hour')`).catch((x: unknown) => x as pg.DatabaseError);
    expect(e).toMatchObject({ code: '0A000', message: 'option "refresh" of materialized view "v" cannot be changed' });
    expect((e as pg.DatabaseError).hint).toContain('late_rows');
    expect((e as pg.DatabaseError).hint).toContain('retention');
    // v reads a table that is not APPEND ONLY: it updates, and retention is for append-only views.
    await expect(client.query(`ALTER MATERIALIZED VIEW v SET (retention = '1 hour')`)).rejects.toMatchObject({ code: '22023', message: 'retention needs an append-only view: materialized view "v" updates its rows' });
    await expect(client.query(`ALTER MATERIALIZED VIEW v SET (late_rows = 'maybe')`)).rejects.toMatchObject({ code: '22023' });
    await expect(client.query(`ALTER MATERIALIZED VIEW v SET (late_rows = 'keep')`)).rejects.toMatchObject({ code: '22023' });
  });
});

describe('CREATE INDEX', () => {
  it('is kept as PostgreSQL checks it: pg_indexes shows it, DROP INDEX and DROP TABLE remove it, a restart keeps it', async () => {
    const dir = tempDir();
    const first = await setup(dir);
    await first.client.query(`CREATE TABLE t (a INT PRIMARY KEY, b INT, c VARCHAR)`);
    await first.client.query(`CREATE MATERIALIZED VIEW mv AS SELECT b, count(*) AS n FROM t GROUP BY b`);
    // A name left out is made as PostgreSQL makes it; a second one is numbered.
    expect((await first.client.query(`CREATE INDEX ON t (b)`)).command).toBe('CREATE');
    await first.client.query(`CREATE INDEX ON t (b)`);
    await first.client.query(`CREATE INDEX IF NOT EXISTS t_b_idx ON t (c)`);
    await first.client.query(`CREATE INDEX CONCURRENTLY mv_b ON mv USING btree (b DESC NULLS LAST) INCLUDE (n)`);
    await first.client.query(`CREATE INDEX t_expr ON t ((b + 1), lower(c) text_pattern_ops) WHERE b > 0`);
    await first.client.query(`CREATE UNIQUE INDEX t_a ON t (a)`);
    const names = async (c: pg.Client) => (await c.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 2`)).rows;
    const before = await names(first.client);
    expect(before.map((r) => r.indexname)).toEqual(['mv_b', 't_a', 't_b_idx', 't_b_idx1', 't_expr', 't_pkey']);
    expect(before.find((r) => r.indexname === 't_b_idx1')!.indexdef).toBe('CREATE INDEX t_b_idx1 ON public.t USING btree (b)');
    expect(before.find((r) => r.indexname === 't_a')!.indexdef).toBe('CREATE UNIQUE INDEX t_a ON public.t USING btree (a)');
    // What PostgreSQL refuses, with its SQLSTATE.
    await expect(first.client.query(`CREATE INDEX t_b_idx ON t (c)`)).rejects.toMatchObject({ code: '42P07', message: 'relation "t_b_idx" already exists' });
    await expect(first.client.query(`CREATE TABLE t_b_idx (x INT)`)).rejects.toMatchObject({ code: '42P07' });
    await expect(first.client.query(`CREATE INDEX i ON t (zz)`)).rejects.toMatchObject({ code: '42703', message: 'column "zz" does not exist', position: '22' });
    await expect(first.client.query(`CREATE INDEX i ON nope (b)`)).rejects.toMatchObject({ code: '42P01', position: '19' });
    await expect(first.client.query(`DROP INDEX t`)).rejects.toMatchObject({ code: '42809', message: '"t" is not an index' });
    await expect(first.client.query(`DROP INDEX nope`)).rejects.toMatchObject({ code: '42704', message: 'index "nope" does not exist' });
    // A UNIQUE index would constrain rows: taken only over the primary key, which is unique already.
    const u = await first.client.query(`CREATE UNIQUE INDEX u ON t (b)`).catch((e: unknown) => e as pg.DatabaseError);
    expect(u).toMatchObject({ code: '0A000' });
    expect((u as pg.DatabaseError).hint).toMatch(/PRIMARY KEY/);
    // An index changes no result.
    await first.client.query(`INSERT INTO t VALUES (1, 10, 'x'), (2, 10, 'y'), (3, 20, NULL)`);
    await first.client.query('FLUSH');
    expect((await first.client.query(`SELECT b, n FROM mv ORDER BY b`)).rows).toEqual([{ b: 10, n: '2' }, { b: 20, n: '1' }]);
    await first.client.query(`DROP INDEX IF EXISTS nope, t_b_idx1`);
    await first.stop();

    const second = await setup(dir);
    expect((await names(second.client)).map((r) => r.indexname)).toEqual(['mv_b', 't_a', 't_b_idx', 't_expr', 't_pkey']);
    await second.client.query(`DROP MATERIALIZED VIEW mv`);
    await second.client.query(`ALTER TABLE t RENAME TO t2`);
    expect((await names(second.client)).map((r) => [r.tablename, r.indexname])).toEqual([['t2', 't2_pkey'], ['t2', 't_a'], ['t2', 't_b_idx'], ['t2', 't_expr']]);
    await second.client.query(`DROP TABLE t2`);
    expect(await names(second.client)).toEqual([]);
    // Its name is free again.
    await second.client.query(`CREATE TABLE t_b_idx (x INT)`);
  });
});
