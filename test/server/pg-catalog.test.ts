/**
 * The PostgreSQL catalog as clients read it: psql 15's \d family through the real binary, and
 * the introspection queries of pgjdbc (DBeaver's and Metabase's driver), DBeaver, pgAdmin and
 * Metabase through the `pg` driver — each run against sluice and, for the shape of the answer,
 * against PostgreSQL 15 (the oracle) holding the same table and materialized view.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { DBEAVER, METABASE, PGADMIN, PGJDBC, probeSql, type Probe } from './catalog-probes.js';

const hasPsql = (() => {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let engine: Engine;
let server: PgServer;
let mine: pg.Client;
let oracle: pg.Client;
const schema = `t_catalog_${randomBytes(4).toString('hex')}`;

const USERS = 'CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR, score DOUBLE PRECISION, tags VARCHAR[], born DATE, seen TIMESTAMP)';
const MV = 'CREATE MATERIALIZED VIEW per_name AS SELECT name, count(*) AS n, sum(score) AS total FROM users GROUP BY name';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs psql asynchronously (a synchronous run would block this process's server). */
function psql(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'psql',
      ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'ann', '-d', 'shop', '-X', ...args],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '5', PGPASSWORD: '' }, encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  mine = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'test' });
  oracle = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await mine.connect();
  await oracle.connect();
  await mine.query(USERS);
  await mine.query(MV);
  await mine.query(`CREATE SOURCE clicks (url VARCHAR, at TIMESTAMP) WITH (connector = 'datagen', rows_per_second = 5)`);
  await oracle.query(`CREATE SCHEMA ${schema}`);
  await oracle.query(`SET search_path = ${schema}`);
  await oracle.query(USERS);
  await oracle.query(MV);
  for (const c of [mine, oracle]) {
    await c.query(`COMMENT ON TABLE users IS 'people who buy'`);
    await c.query(`COMMENT ON COLUMN users.score IS 'lifetime value'`);
  }
});

afterAll(async () => {
  await oracle?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await oracle?.end();
  await mine?.end();
  await server?.close();
  await engine?.close();
});

describe.skipIf(!hasPsql)('psql 15 \\d family', () => {
  it('\\d lists sources, tables and materialized views; \\dt tables only; \\dm views; \\di indexes; \\dE sources', async () => {
    let r = await psql(['-c', '\\d']);
    expect(r.stdout).toContain(' public | clicks   | source            | sluice');
    expect(r.stdout).toContain(' public | per_name | materialized view | sluice');
    expect(r.stdout).toContain(' public | users    | table             | sluice');
    r = await psql(['-A', '-t', '-c', '\\dt']);
    expect(r.stdout).toBe('public|users|table|sluice\n');
    r = await psql(['-A', '-t', '-c', '\\dm']);
    expect(r.stdout).toBe('public|per_name|materialized view|sluice\n');
    r = await psql(['-A', '-t', '-c', '\\di']);
    expect(r.stdout).toBe('public|users_pkey|index|sluice|users\n');
    r = await psql(['-A', '-t', '-c', '\\dE']);
    expect(r.stdout).toBe('public|clicks|source|sluice\n');
    // sluice has no plain views: \dv runs and finds none, as PostgreSQL's would.
    r = await psql(['-c', '\\dv']);
    expect(r).toMatchObject({ code: 0, stderr: 'Did not find any relations.\n' });
  });

  it('\\d NAME shows columns, types, NOT NULL, the primary key index, a view\'s query and a source\'s connector', async () => {
    let r = await psql(['-c', '\\d users']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Table "public.users"');
    expect(r.stdout).toMatch(/ id {5}\| bigint +\| +\| not null \|/);
    expect(r.stdout).toMatch(/ tags {3}\| character varying\[\] +\|/);
    expect(r.stdout).toMatch(/ seen {3}\| timestamp without time zone \|/);
    expect(r.stdout).toContain('"users_pkey" PRIMARY KEY, btree (id)');
    r = await psql(['-c', '\\d+ users']);
    expect(r.stdout).toMatch(/ score  \| double precision .*\| lifetime value/);
    r = await psql(['-A', '-t', '-c', '\\dt+']);
    expect(r.stdout).toMatch(/^public\|users\|table\|sluice\|permanent\|\|\|people who buy$/m);
    r = await psql(['-c', '\\d+ per_name']);
    expect(r.stdout).toContain('Materialized view "public.per_name"');
    expect(r.stdout).toContain('SELECT name, count(*) AS n, sum(score) AS total FROM users GROUP BY name;');
    r = await psql(['-c', '\\d clicks']);
    expect(r.stdout).toContain('Foreign table "public.clicks"');
    expect(r.stdout).toContain('Server: datagen');
    expect(r.stdout).toContain("FDW options: (rows_per_second '5')");
  });

  it('\\dn, \\l, \\du and \\df answer for the connected database and role', async () => {
    let r = await psql(['-A', '-t', '-c', '\\dn']);
    expect(r.stdout).toBe('public|sluice\n');
    r = await psql(['-A', '-t', '-c', '\\l']);
    expect(r.stdout.split('\n')[0]).toMatch(/^sluice\|sluice\|UTF8\|/);
    r = await psql(['-A', '-t', '-c', '\\du']);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('ann|Superuser');
    r = await psql(['-c', '\\df']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('(0 rows)');
  });
});

/** Rows as text, with the schema name and OIDs (which differ between servers) left out. */
function comparable(rows: Record<string, unknown>[], drop: readonly string[]): string[] {
  return rows.map((row) => JSON.stringify(Object.entries(row).filter(([k]) => !drop.includes(k)).map(([k, v]) => [k, v === null ? null : String(v)])));
}

describe('client introspection queries through the pg driver', () => {
  const all: readonly Probe[] = [...PGJDBC, ...DBEAVER, ...PGADMIN, ...METABASE];

  it.each(all.map((p) => [`${p.client}: ${p.name}`, p] as const))('%s runs and names its columns as PostgreSQL does', async (_, p) => {
    const ours = await mine.query(probeSql(p, 'public', 'users'));
    const theirs = await oracle.query(probeSql(p, schema, 'users'));
    expect(ours.fields.map((f) => f.name)).toEqual(theirs.fields.map((f) => f.name));
  });

  it('pgjdbc getTables lists the table, the materialized view and the source with their JDBC types', async () => {
    const r = await mine.query(probeSql(PGJDBC.find((p) => p.name === 'getTables')!, 'public', 'users'));
    expect(r.rows.map((x) => [x.table_name, x.table_type])).toEqual([['clicks', 'FOREIGN TABLE'], ['per_name', 'MATERIALIZED VIEW'], ['users', 'TABLE']]);
  });

  it('pgjdbc getColumns, getPrimaryKeys and Metabase describe-fields give PostgreSQL\'s rows', async () => {
    for (const [name, drop] of [['getColumns', ['nspname']], ['getPrimaryKeys', ['table_schem']], ['describe-fields', ['table-schema']]] as const) {
      const p = [...PGJDBC, ...METABASE].find((x) => x.name === name)!;
      const ours = await mine.query(probeSql(p, 'public', 'users'));
      const theirs = await oracle.query(probeSql(p, schema, 'users'));
      expect(comparable(ours.rows, drop), name).toEqual(comparable(theirs.rows, drop));
      expect(ours.rows.length).toBeGreaterThan(0);
    }
  });

  it('pgjdbc getColumns of the materialized view matches PostgreSQL\'s', async () => {
    const p = PGJDBC.find((x) => x.name === 'getColumns')!;
    const ours = await mine.query(probeSql(p, 'public', 'per_name'));
    const theirs = await oracle.query(probeSql(p, schema, 'per_name'));
    // sum(double) and count(*) have the same types in both; only the schema differs.
    expect(comparable(ours.rows, ['nspname'])).toEqual(comparable(theirs.rows, ['nspname']));
  });

  it('DBeaver, pgAdmin and Metabase see the objects', async () => {
    const run = async (list: readonly Probe[], name: string) => (await mine.query(probeSql(list.find((p) => p.name === name)!, 'public', 'users'))).rows;
    expect((await run(DBEAVER, 'tables')).map((r) => [r.relname, r.relkind])).toEqual([['clicks', 'f'], ['per_name', 'm'], ['users', 'r']]);
    expect((await run(DBEAVER, 'columns')).map((r) => r.attname)).toEqual(['id', 'name', 'score', 'tags', 'born', 'seen']);
    expect((await run(DBEAVER, 'indexes')).map((r) => [r.relname, r.indisprimary])).toEqual([['users_pkey', true]]);
    expect((await run(DBEAVER, 'databases')).map((r) => r.datname)).toEqual(['test']);
    expect((await run(PGADMIN, 'tables')).map((r) => r.name)).toEqual(['users']);
    expect((await run(PGADMIN, 'materialized views')).map((r) => r.name)).toEqual(['per_name']);
    expect((await run(PGADMIN, 'columns')).map((r) => r.displaytypname)).toEqual(['bigint', 'character varying', 'double precision', 'character varying[]', 'date', 'timestamp without time zone']);
    expect((await run(METABASE, 'describe-database')).map((r) => [r.name, r.type])).toEqual([['clicks', 'FOREIGN TABLE'], ['per_name', 'MATERIALIZED VIEW'], ['users', 'TABLE']]);
  });

  it('answers pg_namespace, pg_type, pg_database, pg_settings and information_schema as PostgreSQL', async () => {
    let r = await mine.query(`SELECT nspname FROM pg_catalog.pg_namespace ORDER BY nspname`);
    expect(r.rows.map((x) => x.nspname)).toEqual(['information_schema', 'pg_catalog', 'public', 'sluice']);
    r = await mine.query(`SELECT oid, typname FROM pg_type WHERE oid IN (16, 20, 23, 25, 701, 1043, 1114, 1184, 1082, 1186, 1700, 17, 1009) ORDER BY oid`);
    const types = await oracle.query(`SELECT oid, typname FROM pg_type WHERE oid IN (16, 20, 23, 25, 701, 1043, 1114, 1184, 1082, 1186, 1700, 17, 1009) ORDER BY oid`);
    expect(r.rows.map((x) => [String(x.oid), x.typname])).toEqual(types.rows.map((x) => [String(x.oid), x.typname]));
    r = await mine.query(`SELECT datname FROM pg_database`);
    expect(r.rows).toEqual([{ datname: 'test' }]);
    r = await mine.query(`SELECT setting FROM pg_settings WHERE name = 'batch_interval'`);
    expect(r.rows).toEqual([{ setting: '1s' }]);
    r = await mine.query(`SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`);
    expect(r.rows.map((x) => [x.table_schema, x.table_name, x.table_type])).toEqual([['public', 'clicks', 'FOREIGN'], ['public', 'per_name', 'VIEW'], ['public', 'users', 'BASE TABLE']]);
    r = await mine.query(`SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = 'public'`);
    expect(r.rows).toEqual([{ table_name: 'per_name', view_definition: 'SELECT name, count(*) AS n, sum(score) AS total FROM users GROUP BY name;' }]);
    r = await mine.query(`SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'public'`);
    expect(r.rows).toEqual([{ schema_name: 'public' }]);
  });

  it('answers catalog queries over the extended protocol with parameters', async () => {
    const r = await mine.query(`SELECT c.relname, a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
      WHERE c.relname = $1 AND a.attnum > 0 ORDER BY a.attnum`, ['users']);
    expect(r.rows.map((x) => x.attname)).toEqual(['id', 'name', 'score', 'tags', 'born', 'seen']);
  });

  it('a query joining the catalog with a user relation takes the ordinary path', async () => {
    await mine.query(`INSERT INTO users (id, name) VALUES (1, 'ann')`);
    const r = await mine.query(`SELECT u.name, (SELECT count(*) FROM pg_catalog.pg_namespace) AS n FROM users u`);
    expect(r.rows).toEqual([{ name: 'ann', n: '4' }]);
  });

  it('two catalog queries in one script give both results; a failed transaction block refuses them with 25P02', async () => {
    const both = (await mine.query(`SELECT 1 AS a FROM pg_catalog.pg_namespace WHERE nspname = 'public'; SELECT nspname FROM pg_namespace WHERE oid = 2200`)) as unknown as pg.QueryResult[];
    expect(both.map((r) => r.rows)).toEqual([[{ a: 1 }], [{ nspname: 'public' }]]);
    await mine.query('BEGIN');
    await expect(mine.query('SELECT nope FROM users')).rejects.toMatchObject({ code: '42703' });
    await expect(mine.query('SELECT relname FROM pg_catalog.pg_class')).rejects.toMatchObject({ code: '25P02' });
    await mine.query('ROLLBACK');
    expect((await mine.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'users'`)).rows).toEqual([{ n: 1 }]);
  });

  it('a new object shows at once; a dropped one is gone', async () => {
    await mine.query(`CREATE TABLE extra (x INT)`);
    let r = await mine.query(`SELECT relname FROM pg_class WHERE relname = 'extra'`);
    expect(r.rows).toEqual([{ relname: 'extra' }]);
    await mine.query(`DROP TABLE extra`);
    r = await mine.query(`SELECT relname FROM pg_class WHERE relname = 'extra'`);
    expect(r.rows).toEqual([]);
  });
});
