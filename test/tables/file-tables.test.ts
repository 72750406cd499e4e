/**
 * Tables loaded from files (connector = 'file'): CSV, Parquet and JSON read through DuckDB feed
 * views, refresh_interval turns a changed file into deletes and inserts, a failed refresh keeps
 * the last snapshot, and every way a file can be wrong fails with an error that names it.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { flushUntil, queryRows, recordChanges, tempDir, testEngine, until, viewRows } from './harness.js';
import { parseInterval } from '../../src/common/interval.js';

const USERS_CSV = 'id,name,country\n1,ann,NO\n2,bob,SE\n3,cyd,NO\n';

/** Writes `sql`'s result as a Parquet file with DuckDB. */
async function writeParquet(path: string, sql: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (${sql}) TO '${path.replace(/'/g, "''")}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Replaces a file at once (write, then rename), as a producer of refreshed files should. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('file tables load and feed views', () => {
  const cases: [string, string, (dir: string) => Promise<string>][] = [
    ['CSV', 'csv', async (d) => (writeFileSync(join(d, 'users.csv'), USERS_CSV), join(d, 'users.csv'))],
    ['Parquet', 'parquet', async (d) => {
      await writeParquet(join(d, 'users.parquet'), "SELECT * FROM (VALUES (1, 'ann', 'NO'), (2, 'bob', 'SE'), (3, 'cyd', 'NO')) t(id, name, country)");
      return join(d, 'users.parquet');
    }],
    ['JSON lines', 'json', async (d) => {
      writeFileSync(join(d, 'users.jsonl'), '{"id": 1, "name": "ann", "country": "NO"}\n{"id": 2, "name": "bob", "country": "SE"}\n{"id": 3, "name": "cyd", "country": "NO"}\n');
      return join(d, 'users.jsonl');
    }],
    ['a JSON array', 'json', async (d) => {
      writeFileSync(join(d, 'users.json'), '[{"id": 1, "name": "ann", "country": "NO"},\n {"id": 2, "name": "bob", "country": "SE"},\n {"id": 3, "name": "cyd", "country": "NO"}]');
      return join(d, 'users.json');
    }],
  ];
  for (const [label, format, make] of cases) {
    it(`loads ${label}`, async () => {
      const path = await make(tempDir());
      const e = await testEngine();
      await e.execute(`CREATE TABLE users (id INT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${path}', format = '${format}');
        CREATE MATERIALIZED VIEW v AS SELECT country, count(*) AS n FROM users GROUP BY country;
        FLUSH;`);
      expect(await viewRows(e, 'v')).toEqual(['"NO" | 2', '"SE" | 1']);
      expect(await queryRows(e, 'SELECT id, name FROM users')).toEqual(['1 | "ann"', '2 | "bob"', '3 | "cyd"']);
      expect(e.stats().tables.users!.loadError).toBeNull();
    });
  }

  it('reads every type from CSV text, quoted fields and empty fields as NULL', async () => {
    const d = tempDir();
    writeFileSync(join(d, 't.csv'),
      'b,i,big,d,n,s,ts,day,iv\n' +
      'true,-7,9007199254740993,2.5,10.25,"a, ""quoted"" b",2024-05-01 09:00:01.5,2024-05-01,1 day 02:00:00\n' +
      'f,,,,,,,,\n');
    const e = await testEngine();
    await e.execute(`CREATE TABLE t (b BOOLEAN, i INT, big BIGINT, d DOUBLE, n NUMERIC, s VARCHAR, ts TIMESTAMP, day DATE, iv INTERVAL)
      WITH (connector = 'file', path = '${join(d, 't.csv')}')`);
    const [r] = await e.execute('SELECT * FROM t ORDER BY b DESC');
    expect(r!.kind === 'rows' && r!.rows).toEqual([
      [true, -7, 9007199254740993n, 2.5, '10.25', 'a, "quoted" b', 1714554001500000n, 19844, parseInterval('1 day 02:00:00')],
      [false, null, null, null, null, null, null, null, null],
    ]);
  });

  it('reads a CSV without a header by position, with another delimiter', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'semi.txt'), '1;ann;NO;extra\n2;bob;SE;extra\n');
    writeFileSync(join(d, 'tabs.tsv'), '1\tann\n2\tbob\n');
    const e = await testEngine();
    await e.execute(`CREATE TABLE semicolons (id INT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${join(d, 'semi.txt')}', format = 'csv', csv.header = 'false', csv.delimiter = ';');
      CREATE TABLE tabs (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(d, 'tabs.tsv')}', csv.header = 'false')`);
    expect(await queryRows(e, 'SELECT * FROM semicolons')).toEqual(['1 | "ann" | "NO"', '2 | "bob" | "SE"']);
    expect(await queryRows(e, 'SELECT * FROM tabs')).toEqual(['1 | "ann"', '2 | "bob"']);
  });

  it('reads the files a glob matches, and JSON values of any kind as text', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'part-1.csv'), 'id,name\n1,ann\n');
    writeFileSync(join(d, 'part-2.csv'), 'id,name\n2,bob\n');
    writeFileSync(join(d, 'mixed.jsonl'), '{"id": 1, "v": "text", "at": "2024-05-01T09:00:00Z"}\n{"id": "2", "v": 5, "at": null}\n{"id": 3, "v": {"a": [1]}}\n');
    const e = await testEngine();
    await e.execute(`CREATE TABLE parts (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(d, 'part-*.csv')}');
      CREATE TABLE mixed (id INT, v VARCHAR, at TIMESTAMP) WITH (connector = 'file', path = '${join(d, 'mixed.jsonl')}')`);
    expect(await queryRows(e, 'SELECT * FROM parts')).toEqual(['1 | "ann"', '2 | "bob"']);
    // A key holding strings and numbers stays as written (DuckDB's guess would quote the strings).
    expect(await queryRows(e, 'SELECT * FROM mixed')).toEqual(['1 | "text" | 1714554000000000', '2 | "5" | NULL', '3 | "{\\"a\\":[1]}" | NULL']);
  });

  it('loads an empty file as an empty table', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'empty.csv'), '');
    writeFileSync(join(d, 'header.csv'), 'id,name\n');
    const e = await testEngine();
    await e.execute(`CREATE TABLE a (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(d, 'empty.csv')}');
      CREATE TABLE b (id INT, name VARCHAR) WITH (connector = 'file', path = '${join(d, 'header.csv')}')`);
    expect(await queryRows(e, 'SELECT count(*) FROM a')).toEqual(['0']);
    expect(await queryRows(e, 'SELECT count(*) FROM b')).toEqual(['0']);
  });
});

describe('file tables refresh', () => {
  it('turns a changed file into deletes and inserts that views follow', async () => {
    const d = tempDir();
    const path = join(d, 'users.csv');
    writeFileSync(path, USERS_CSV);
    const e = await testEngine();
    await e.execute(`CREATE TABLE users (id INT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${path}', refresh_interval = '50 milliseconds');
      CREATE MATERIALIZED VIEW v AS SELECT country, count(*) AS n FROM users GROUP BY country;
      FLUSH;`);
    expect(await viewRows(e, 'v')).toEqual(['"NO" | 2', '"SE" | 1']);
    const changes = recordChanges(e, 'v');
    // cyd moves to DK, bob leaves, dan arrives in SE.
    replaceFile(path, 'id,name,country\n1,ann,NO\n3,cyd,DK\n4,dan,SE\n');
    await flushUntil(e, 'v', ['"DK" | 1', '"NO" | 1', '"SE" | 1']);
    expect(changes).toEqual(expect.arrayContaining(['-"NO" | 2', '+"NO" | 1', '+"DK" | 1']));
    expect(changes).not.toContain('-"SE" | 1');
    expect(await queryRows(e, 'SELECT id, name FROM users')).toEqual(['1 | "ann"', '3 | "cyd"', '4 | "dan"']);
    // Everything goes: the view empties.
    replaceFile(path, 'id,name,country\n');
    await flushUntil(e, 'v', []);
    expect(changes).toEqual(expect.arrayContaining(['-"DK" | 1', '-"NO" | 1', '-"SE" | 1']));
  });

  it('keeps the last snapshot while the file is missing or broken, and resumes after', async () => {
    const d = tempDir();
    const path = join(d, 'users.csv');
    writeFileSync(path, USERS_CSV);
    const e = await testEngine();
    await e.execute(`CREATE TABLE users (id INT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${path}', refresh_interval = '50 milliseconds');
      CREATE MATERIALIZED VIEW v AS SELECT country, count(*) AS n FROM users GROUP BY country;
      FLUSH;`);
    rmSync(path);
    await until('the refresh fails', () => e.stats().tables.users!.loadError !== null);
    expect(e.stats().tables.users!.loadError).toBe(`file ${path} of table "users" does not exist`);
    await e.execute('FLUSH');
    expect(await viewRows(e, 'v')).toEqual(['"NO" | 2', '"SE" | 1']);
    replaceFile(path, 'id,name,country\n1,ann,NO\n2,bob,oops,extra\n');
    await until('the broken file is reported', () => /not valid CSV/.test(e.stats().tables.users!.loadError ?? ''));
    expect(await queryRows(e, 'SELECT count(*) FROM users')).toEqual(['3']);
    replaceFile(path, 'id,name,country\n1,ann,NO\n');
    await flushUntil(e, 'v', ['"NO" | 1']);
    expect(e.stats().tables.users!.loadError).toBeNull();
  });

  it('refuses DML on a loaded table', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'users.csv'), USERS_CSV);
    const e = await testEngine();
    await e.execute(`CREATE TABLE users (id INT, name VARCHAR, country VARCHAR) WITH (connector = 'file', path = '${join(d, 'users.csv')}')`);
    for (const dml of ["INSERT INTO users VALUES (9, 'x', 'y')", 'DELETE FROM users', "UPDATE users SET name = 'x'"]) {
      await expect(e.execute(dml)).rejects.toMatchObject({ sqlstate: '0A000', message: expect.stringMatching(/table "users" is loaded by connector 'file'/) });
    }
  });
});

describe('file tables fail clearly', () => {
  async function createFails(options: string, columns = 'id INT, name VARCHAR'): Promise<{ sqlstate: string; message: string; hint?: string }> {
    const e = await testEngine();
    const err = await e.execute(`CREATE TABLE t (${columns}) WITH (connector = 'file', ${options})`).then(
      () => { throw new Error('CREATE TABLE succeeded'); },
      (x: { sqlstate: string; message: string; hint?: string }) => x,
    );
    // Nothing was created: the name is still free.
    await expect(e.execute('SELECT * FROM t')).rejects.toMatchObject({ sqlstate: '42P01' });
    return err;
  }

  it('names a missing file, an unmatched glob and a directory', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'sub'));
    expect(await createFails(`path = '${join(d, 'nope.csv')}'`)).toMatchObject({
      sqlstate: '22023', message: `file ${join(d, 'nope.csv')} of table "t" does not exist`, hint: expect.stringMatching(/^Check the path option; a relative path starts at the directory sluice runs in/),
    });
    expect(await createFails(`path = '${join(d, '*.parquet')}'`)).toMatchObject({ sqlstate: '22023', message: `no file matches ${join(d, '*.parquet')} of table "t"` });
    expect(await createFails(`path = '${join(d, 'sub')}', format = 'csv'`)).toMatchObject({
      sqlstate: '22023', message: expect.stringMatching(/is a directory/), hint: expect.stringContaining(`'${join(d, 'sub')}/*.csv'`),
    });
  });

  it('names missing columns and lists the ones the file has', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.csv'), 'id,nme\n1,ann\n');
    writeFileSync(join(d, 'a.jsonl'), '{"id": 1, "Name": "ann"}\n');
    await writeParquet(join(d, 'a.parquet'), 'SELECT 1 AS id, 2 AS other');
    expect(await createFails(`path = '${join(d, 'a.csv')}'`)).toMatchObject({
      sqlstate: '42703', message: `file ${join(d, 'a.csv')} has no column "name" for table "t" (its columns: id, nme)`, hint: expect.stringContaining("csv.header = 'false'"),
    });
    expect(await createFails(`path = '${join(d, 'a.parquet')}'`)).toMatchObject({
      sqlstate: '42703', message: `file ${join(d, 'a.parquet')} has no column "name" for table "t" (its columns: id, other)`,
    });
    expect(await createFails(`path = '${join(d, 'a.jsonl')}'`)).toMatchObject({
      sqlstate: '42703', message: `file ${join(d, 'a.jsonl')} has no key "name" for table "t" (its keys: Name, id)`,
      hint: expect.stringContaining('the file has "Name": declare the column as "Name" (quoted)'),
    });
  });

  it('names bad values, malformed files and too few columns', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'v.csv'), 'id,name\n1,ann\nx2,bob\n');
    writeFileSync(join(d, 'r.csv'), 'id,name\n1,ann\n2\n3,cyd,extra\n');
    writeFileSync(join(d, 'n.csv'), '1\n2\n');
    writeFileSync(join(d, 'j.json'), '{"id": 1,\n');
    writeFileSync(join(d, 'p.parquet'), 'not parquet');
    expect(await createFails(`path = '${join(d, 'v.csv')}'`)).toMatchObject({
      sqlstate: '22P02', message: expect.stringMatching(/^cannot load table "t" from file .*v\.csv: Could not convert string 'x2' to INT32 when casting from source column id/),
      hint: expect.stringContaining('(id INTEGER, name VARCHAR)'),
    });
    expect(await createFails(`path = '${join(d, 'r.csv')}'`)).toMatchObject({ sqlstate: '22P02', message: expect.stringMatching(/r\.csv of table "t" is not valid CSV with delimiter ','/) });
    expect(await createFails(`path = '${join(d, 'n.csv')}', csv.header = 'false'`)).toMatchObject({
      sqlstate: '22P02', message: expect.stringMatching(/n\.csv has 1 columns per line, fewer than the 2 table "t" declares/),
    });
    expect(await createFails(`path = '${join(d, 'j.json')}'`)).toMatchObject({ sqlstate: '22P02', message: expect.stringMatching(/j\.json of table "t" is not valid JSON/) });
    expect(await createFails(`path = '${join(d, 'p.parquet')}'`)).toMatchObject({ sqlstate: '22P02', message: expect.stringMatching(/p\.parquet of table "t" is not a Parquet file/) });
  });

  it('rejects bad options before reading anything', async () => {
    expect(await createFails("path = '/nowhere/x.csv', paht = 'x'")).toMatchObject({ sqlstate: '22023', message: expect.stringMatching(/unknown option "paht"/) });
    expect(await createFails("path = '/nowhere/x.csv', refresh_interval = 'often'")).toMatchObject({ sqlstate: '22023', message: expect.stringMatching(/refresh_interval/) });
  });
});
