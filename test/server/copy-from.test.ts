/**
 * COPY FROM STDIN as a bulk load, through the `pg` driver's copy stream (pg-copy-streams) and
 * psql's \copy: rows are inserted in batches as they arrive and the views get them at once; a
 * bad row anywhere (also after the first batches went in), CopyFail or a vanished client leaves
 * the table as it was.
 */
import { execFileSync, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await c.connect();
  return c;
}

/** Lines of `n` rows (id, name, v) in COPY text form, produced lazily in pieces. */
function* lines(n: number, bad?: number): Generator<string> {
  let piece = '';
  for (let i = 0; i < n; i++) {
    piece += i === bad ? `${i}\tbad\tnot a number\n` : `${i}\tname ${i % 100}\t${i % 10}.5\n`;
    if (piece.length > 60_000) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

const rowsOf = async (sql: string) => ((await engine.execute(sql))[0] as { rows: unknown[][] }).rows;

describe('COPY FROM STDIN, the bulk load', () => {
  it('loads 120 000 rows through the pg driver in batches; the view gets all of them in one change', async () => {
    await engine.execute('CREATE TABLE big (id INT, name VARCHAR, v DOUBLE PRECISION); CREATE MATERIALIZED VIEW big_v AS SELECT count(*) AS n, sum(id) AS s, sum(v) AS sv FROM big');
    const c = await client();
    try {
      const stream = c.query(copyFrom('COPY big FROM STDIN'));
      await pipeline(Readable.from(lines(120_000)), stream);
      expect(stream.rowCount).toBe(120_000);
    } finally {
      await c.end();
    }
    await engine.execute('FLUSH');
    expect(await engine.viewRows('big_v')).toEqual([[120_000n, BigInt((119_999 * 120_000) / 2), 5 * 120_000]]);
  });

  it('NULLs in int and double columns across batches, in pieces of one megabyte; a short line late is refused with its line', async () => {
    await engine.execute('CREATE TABLE nul (id INT, name VARCHAR, v DOUBLE PRECISION); CREATE MATERIALIZED VIEW nul_v AS SELECT count(id) AS ids, sum(id) AS s, count(v) AS vs, sum(v) AS sv FROM nul');
    // Big pieces: a batch runs past its 50 000 rows before it is handed on.
    function* big(n: number, short?: number): Generator<string> {
      let piece = '';
      for (let i = 0; i < n; i++) {
        piece += i === short ? `${i}\tshort\n` : i % 7 === 0 ? `\\N\tn${i}\t\\N\n` : `${i}\tn${i}\t${i % 10}.25\n`;
        if (piece.length > 1_000_000) {
          yield piece;
          piece = '';
        }
      }
      if (piece) yield piece;
    }
    const c = await client();
    try {
      const stream = c.query(copyFrom('COPY nul FROM STDIN'));
      await pipeline(Readable.from(big(130_000)), stream);
      expect(stream.rowCount).toBe(130_000);
      const bad = c.query(copyFrom('COPY nul FROM STDIN'));
      const err = await pipeline(Readable.from(big(120_000, 100_000)), bad).then(() => null, (e: unknown) => e as pg.DatabaseError);
      expect(err).toMatchObject({ code: '22P04', message: 'missing data for column "v"', hint: 'COPY nul, line 100001' });
    } finally {
      await c.end();
    }
    await engine.execute('FLUSH');
    let ids = 0n;
    let s = 0n;
    let sv = 0;
    for (let i = 0; i < 130_000; i++) {
      if (i % 7 === 0) continue;
      ids++;
      s += BigInt(i);
      sv += (i % 10) + 0.25;
    }
    expect(await engine.viewRows('nul_v')).toEqual([[ids, s, ids, sv]]);
    expect(await rowsOf('SELECT count(*), count(id), count(v) FROM nul')).toEqual([[130_000n, ids, ids]]);
  });

  it('a bad value after the first batches went in refuses the whole COPY, with PostgreSQL\'s error and the line', async () => {
    await engine.execute('CREATE TABLE bad (id INT, name VARCHAR, v DOUBLE PRECISION); CREATE MATERIALIZED VIEW bad_v AS SELECT count(*) AS n FROM bad');
    const c = await client();
    try {
      const stream = c.query(copyFrom('COPY bad FROM STDIN'));
      const err = await pipeline(Readable.from(lines(120_000, 110_000)), stream).then(() => null, (e: unknown) => e as pg.DatabaseError);
      expect(err?.code).toBe('22P02');
      expect(err?.message).toBe('invalid input syntax for type double precision: "not a number"');
      expect(err?.hint).toBe('COPY bad, line 110001, column v: "not a number"');
      // The connection goes on.
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
    await engine.execute('FLUSH');
    expect(await rowsOf('SELECT count(*) FROM bad')).toEqual([[0n]]);
    expect(await engine.viewRows('bad_v')).toEqual([[0n]]);
  });

  it('values DuckDB casts (timestamps, NULL markers, a column list) and their errors', async () => {
    await engine.execute('CREATE TABLE ev (id BIGINT, ts TIMESTAMP, ok BOOLEAN, note VARCHAR)');
    const c = await client();
    try {
      let stream = c.query(copyFrom("COPY ev (ts, id, ok) FROM STDIN WITH (FORMAT csv, NULL 'nil')"));
      await pipeline(Readable.from(['2026-01-02 03:04:05,1,t\n', 'nil,2,nil\n2026-03-04 00:00:00.5,3,false\n']), stream);
      expect(stream.rowCount).toBe(3);
      stream = c.query(copyFrom('COPY ev (ts, id) FROM STDIN WITH (FORMAT csv)'));
      const err = await pipeline(Readable.from(['2026-01-02 03:04:05,4\n', 'yesterday-ish,5\n']), stream).then(() => null, (e: unknown) => e as pg.DatabaseError);
      expect(err?.code).toBe('22007');
      expect(err?.hint).toBe('COPY ev, line 2, column ts: "yesterday-ish"');
      stream = c.query(copyFrom('COPY ev (id) FROM STDIN'));
      const range = await pipeline(Readable.from(['99999999999999999999\n']), stream).then(() => null, (e: unknown) => e as pg.DatabaseError);
      expect(range?.code).toBe('22003');
    } finally {
      await c.end();
    }
    expect(await rowsOf('SELECT id, CAST(ts AS VARCHAR), ok, note FROM ev ORDER BY id')).toEqual([
      [1n, '2026-01-02 03:04:05', true, null],
      [2n, null, null, null],
      [3n, '2026-03-04 00:00:00.5', false, null],
    ]);
  });

  it('the engine takes the rows as a stream of batches, made one at a time, and commits them at the end', async () => {
    await engine.execute('CREATE TABLE streamed (id INT, name VARCHAR, v DOUBLE PRECISION)');
    let made = 0;
    const seenWhileLoading: unknown[][][] = [];
    async function* batches() {
      for (let b = 0; b < 4; b++) {
        // The previous batch was taken (the load asks for the next only after inserting one),
        // and nobody sees any of it before the end.
        seenWhileLoading.push(await rowsOf('SELECT count(*) FROM streamed'));
        made++;
        yield { rows: Array.from({ length: 50_000 }, (_, i) => [String(b * 50_000 + i), 'x', '1']), firstLine: b * 50_000 + 1 };
      }
    }
    expect(await engine.copyInto('streamed', null, batches())).toBe(200_000);
    expect(made).toBe(4);
    expect(seenWhileLoading).toEqual([[[0n]], [[0n]], [[0n]], [[0n]]]);
    expect(await rowsOf('SELECT count(*), sum(id) FROM streamed')).toEqual([[200_000n, BigInt((199_999 * 200_000) / 2)]]);
  });

  it('a duplicate key refuses the whole COPY with 23505', async () => {
    await engine.execute('CREATE TABLE keyed (id INT PRIMARY KEY, name VARCHAR, v DOUBLE PRECISION)');
    const c = await client();
    try {
      const stream = c.query(copyFrom('COPY keyed FROM STDIN'));
      const err = await pipeline(Readable.from([...lines(60_000), '59999\tagain\t1\n']), stream).then(() => null, (e: unknown) => e as pg.DatabaseError);
      expect(err?.code).toBe('23505');
    } finally {
      await c.end();
    }
    expect(await rowsOf('SELECT count(*) FROM keyed')).toEqual([[0n]]);
  });

  it('a client that fails the COPY (CopyFail) or leaves mid-way loads nothing', async () => {
    await engine.execute('CREATE TABLE gone (id INT, name VARCHAR, v DOUBLE PRECISION)');
    const c = await client();
    const stream = c.query(copyFrom('COPY gone FROM STDIN'));
    const source = Readable.from((function* () {
      yield* lines(60_000);
      throw new Error('the producer broke');
    })());
    await pipeline(source, stream).catch(() => undefined);
    await c.end().catch(() => undefined);
    // The failed COPY's transaction is rolled back once the session sees the end of it.
    for (let i = 0; i < 100 && (await rowsOf('SELECT count(*) FROM gone'))[0]![0] !== 0n; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await rowsOf('SELECT count(*) FROM gone')).toEqual([[0n]]);
  });
});

let hasPsql = true;
try {
  execFileSync('psql', ['--version']);
} catch {
  hasPsql = false;
}

describe.skipIf(!hasPsql)('psql \\copy FROM a file', () => {
  it('loads the file (CSV with a header) into the table', async () => {
    await engine.execute('CREATE TABLE fromfile (id INT, name VARCHAR, v DOUBLE PRECISION)');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-copy-'));
    try {
      const file = join(dir, 'rows.csv');
      writeFileSync(file, 'id,name,v\n' + Array.from({ length: 70_000 }, (_, i) => `${i},"n, ""${i % 3}""",${i % 4}`).join('\n') + '\n');
      const out = await new Promise<string>((resolve, reject) => {
        execFile('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'test', '-d', 'test', '-X', '-c', `\\copy fromfile FROM '${file}' WITH (FORMAT csv, HEADER)`],
          { env: { ...process.env, PGPASSWORD: '', PGSSLMODE: 'disable' }, encoding: 'utf8', timeout: 60_000 },
          (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
      });
      expect(out).toBe('COPY 70000\n');
      expect(await rowsOf("SELECT count(*), sum(id), sum(v), count(*) FILTER (WHERE name = 'n, \"1\"') FROM fromfile")).toEqual([[70_000n, BigInt((69_999 * 70_000) / 2), 105_000, 23_333n]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
