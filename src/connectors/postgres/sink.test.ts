/**
 * The PostgreSQL sink against the real server on 127.0.0.1:5432 (database `test`, trust auth):
 * the table it creates, upserts and deletes by key, appends, retractions without a key, epochs
 * written once, a transaction killed in the middle, and every type read back as written.
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchFromRows, type Batch } from '../../common/column.js';
import type { Schema, Value } from '../../common/types.js';
import { parseText, parseTimestamp } from '../../common/values.js';
import { parseInterval } from '../../common/interval.js';
import { schemaOf } from '../../../test/helpers.js';
import type { SinkContext } from '../api.js';
import { PostgresSink } from './sink.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `sluice_sink_${process.pid}`;

let admin: pg.Client;
const sinks: PostgresSink[] = [];
let serial = 0;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
});

afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close();
});

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
});

/** A fresh table name in the test schema. */
function tableName(): string {
  return `out_${++serial}`;
}

interface SinkSpec {
  readonly schema: Schema;
  readonly table: string;
  readonly appendOnly?: boolean;
  readonly primaryKey?: readonly string[];
  readonly options?: Record<string, string>;
  readonly name?: string;
}

/** A sink (closed after the test). */
function sink(spec: SinkSpec): PostgresSink {
  const ctx: SinkContext = {
    name: spec.name ?? 'out',
    schema: spec.schema,
    options: { connector: 'postgres', url: URL, table: `${SCHEMA}.${spec.table}`, ...spec.options },
    appendOnly: spec.appendOnly ?? false,
    primaryKey: spec.primaryKey,
    log: () => undefined,
  };
  const s = new PostgresSink(ctx);
  sinks.push(s);
  return s;
}

/** The table's rows as sorted text lines `a|b` (NULL as ∅). */
async function rows(table: string): Promise<string[]> {
  const res = await admin.query<unknown[]>({ text: `SELECT * FROM ${SCHEMA}.${table}`, rowMode: 'array' });
  return res.rows.map((r) => r.map((v) => (v === null ? '∅' : String(v))).join('|')).sort();
}

async function progress(table: string, sinkName = 'out'): Promise<string | null | undefined> {
  const res = await admin.query<{ epoch: string | null }>(`SELECT epoch FROM ${SCHEMA}.sluice_sink_progress WHERE sink = $1 AND target = $2`, [sinkName, `"${SCHEMA}"."${table}"`]);
  return res.rows[0]?.epoch;
}

const counts = schemaOf('word varchar, n bigint');

/** A batch of (word, n) changes; weights default to +1. */
function changes(rs: readonly (readonly [string | null, number])[], weights?: number[]): Batch {
  return batchFromRows(['varchar', 'bigint'], rs.map(([w, n]) => [w, BigInt(n)]), weights);
}

describe('postgres sink', () => {
  it('creates the table with mapped types and a unique key, and a progress table', async () => {
    const table = tableName();
    const schema = schemaOf('k varchar, b boolean, i int, g bigint, d double, n numeric, ts timestamp, tz timestamptz, dt date, iv interval');
    const s = sink({ schema, table, primaryKey: ['k'] });
    expect(await s.open()).toBeNull();
    const cols = await admin.query<{ column_name: string; data_type: string }>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [SCHEMA, table]);
    expect(cols.rows.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
      'k text', 'b boolean', 'i integer', 'g bigint', 'd double precision', 'n numeric', 'ts timestamp without time zone', 'tz timestamp with time zone', 'dt date', 'iv interval',
    ]);
    const idx = await admin.query<{ def: string }>('SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass', [`${SCHEMA}.${table}`]);
    expect(idx.rows.map((r) => r.def)).toEqual([expect.stringMatching(/CREATE UNIQUE INDEX .* USING btree \(k\) NULLS NOT DISTINCT/)]);
    expect(await progress(table)).toBeNull();
    // Opening again finds both tables and keeps them.
    expect(await sink({ schema, table, primaryKey: ['k'] }).open()).toBeNull();
  });

  it('upserts and deletes by key, netting each key within the epoch, NULL keys included', async () => {
    const table = tableName();
    const s = sink({ schema: counts, table, primaryKey: ['word'] });
    await s.open();
    await s.write(1, [changes([['a', 1], ['b', 1], ['c', 1], [null, 5]])]);
    expect(await rows(table)).toEqual(['a|1', 'b|1', 'c|1', '∅|5']);
    // a: updated (its retraction and insert may come in either order); b: deleted; d: new;
    // c: inserted and retracted again in the same epoch (no change); NULL key: updated.
    await s.write(2, [
      changes([['a', 2], ['b', 1], ['d', 1]], [1, -1, 1]),
      changes([['a', 1], ['c', 2], ['c', 2], [null, 5], [null, 6]], [-1, 1, -1, -1, 1]),
    ]);
    expect(await rows(table)).toEqual(['a|2', 'c|1', 'd|1', '∅|6']);
    await s.write(3, [changes([[null, 6], ['a', 2]], [-1, -1])]);
    expect(await rows(table)).toEqual(['c|1', 'd|1']);
    expect(await progress(table)).toBe('3');
  });

  it('appends rows of an append-only input, a row of weight w as w rows', async () => {
    const table = tableName();
    const s = sink({ schema: counts, table, appendOnly: true });
    await s.open();
    await s.write(1, [changes([['a', 1], ['a', 1]]), changes([['b', 2]], [2])]);
    await s.write(2, [changes([['a', 1]])]);
    expect(await rows(table)).toEqual(['a|1', 'a|1', 'a|1', 'b|2', 'b|2']);
    const idx = await admin.query('SELECT 1 FROM pg_index WHERE indrelid = $1::regclass', [`${SCHEMA}.${table}`]);
    expect(idx.rows).toEqual([]);
  });

  it('deletes one matching row per retraction for an updating input without a key', async () => {
    const table = tableName();
    const s = sink({ schema: counts, table });
    await s.open();
    await s.write(1, [changes([['x', 1], ['x', 1], ['y', 2], [null, 3], ['x', 1]], [1, 1, 1, 1, 1])]);
    expect(await rows(table)).toEqual(['x|1', 'x|1', 'x|1', 'y|2', '∅|3']);
    await s.write(2, [changes([['x', 1], [null, 3], ['y', 2], ['z', 9]], [-2, -1, -1, 1])]);
    expect(await rows(table)).toEqual(['x|1', 'z|9']);
    // A retraction with no matching row left deletes nothing else.
    await s.write(3, [changes([['y', 2], ['x', 1]], [-1, -1])]);
    expect(await rows(table)).toEqual(['z|9']);
  });

  it('writes each epoch once: an old or repeated epoch is a no-op, also for a restarted sink', async () => {
    const table = tableName();
    const s = sink({ schema: counts, table, appendOnly: true });
    await s.open();
    await s.write(3, [changes([['a', 1]])]);
    await s.write(3, [changes([['a', 1]])]);
    await s.write(2, [changes([['old', 1]])]);
    await s.write(4, []);
    expect(await rows(table)).toEqual(['a|1']);
    const restarted = sink({ schema: counts, table, appendOnly: true });
    expect(await restarted.open()).toBe(3);
    await restarted.write(3, [changes([['a', 1]])]);
    await restarted.write(5, [changes([['b', 1]])]);
    expect(await rows(table)).toEqual(['a|1', 'b|1']);
    // A writer that did not open (so does not know epoch 5 is written) is stopped by the
    // progress row it locks in its transaction.
    const stale = sink({ schema: counts, table, appendOnly: true });
    await stale.write(5, [changes([['b', 1]])]);
    expect(await rows(table)).toEqual(['a|1', 'b|1']);
    expect(await progress(table)).toBe('5');
    // Another sink writing the same table keeps its own progress.
    const other = sink({ schema: counts, table, appendOnly: true, name: 'other' });
    expect(await other.open()).toBeNull();
    await other.write(1, [changes([['c', 1]])]);
    expect(await rows(table)).toEqual(['a|1', 'b|1', 'c|1']);
  });

  it('leaves nothing of an epoch whose connection is killed mid-transaction, and a retry writes it', async () => {
    const table = tableName();
    const s = sink({ schema: counts, table, primaryKey: ['word'] });
    await s.open();
    await s.write(1, [changes([['a', 1], ['z', 1]])]);
    // Another session holds row z, so the epoch's upsert of z waits after its delete of a.
    const locker = new pg.Client({ connectionString: URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT * FROM ${SCHEMA}.${table} WHERE word = 'z' FOR UPDATE`);
      const epoch2 = [changes([['a', 1], ['z', 1], ['z', 2]], [-1, -1, 1])];
      const writing = s.write(2, epoch2);
      const failed = expect(writing).rejects.toThrow(/sink "out" could not write epoch 2 to PostgreSQL table .* at 127\.0\.0\.1:5432\/test .*the epoch is not written; it is retried/);
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const res = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%${SCHEMA}"."${table}"%ON CONFLICT%`]);
        pid = res.rows[0]?.pid;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pid).toBeDefined();
      const killed = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
      expect(killed.rows[0]!.ok).toBe(true);
      await failed;
      await locker.query('ROLLBACK');
      expect(await rows(table)).toEqual(['a|1', 'z|1']);
      expect(await progress(table)).toBe('1');
      await s.write(2, epoch2);
      expect(await rows(table)).toEqual(['z|2']);
      expect(await progress(table)).toBe('2');
    } finally {
      await locker.end();
    }
  });

  it('writes an epoch larger than one statement in slices, all in its one transaction', async () => {
    const table = tableName();
    const s = sink({ schema: counts, table, primaryKey: ['word'] });
    await s.open();
    const n = 25_000;
    const words = Array.from({ length: n }, (_, i) => `w${i}`);
    await s.write(1, [changes(words.map((w) => [w, 1] as const))]);
    // Every key updated, and every other one deleted, in one epoch.
    await s.write(2, [
      changes(words.map((w) => [w, 1] as const), words.map(() => -1)),
      changes(words.filter((_, i) => i % 2 === 0).map((w) => [w, 2] as const)),
    ]);
    const res = await admin.query<{ count: string; sum: string }>(`SELECT count(*), sum(n) FROM ${SCHEMA}.${table}`);
    expect(res.rows[0]).toEqual({ count: String(n / 2), sum: String(n) });
    expect(await progress(table)).toBe('2');
  });

  it('round-trips every type, NULLs and awkward values included', async () => {
    const table = tableName();
    const schema = schemaOf('b boolean, i int, g bigint, d double, n numeric, v varchar, ts timestamp, dt date, iv interval, tz timestamptz');
    const values: Value[][] = [
      [true, 2147483647, 9223372036854775807n, 0.1, 12.5, 'say "hi", {x} \\ \'q\' NULL ünï 🙂', parseTimestamp('2024-02-29 23:59:59.123456'), 19782, parseInterval('1 day 02:03:04.5'), parseTimestamp('2026-03-08 01:30:00-05')],
      [false, -2147483648, -9223372036854775808n, 5e-324, -0.25, '', parseTimestamp('1969-12-31 23:59:59.999999'), -1, parseInterval('-3 days'), -1n],
      [null, null, null, null, null, null, null, null, null, null],
      [true, 0, 0n, NaN, 1e15, 'NULL', parseTimestamp('1900-01-01 00:00:00'), 0, parseInterval('0'), 0n],
      [false, 1, 1n, -Infinity, 0, ' ', parseTimestamp('2262-04-11 23:47:16.854775'), 100000, parseInterval('1 microsecond'), parseTimestamp('1900-01-01 00:00:00.5')],
      [true, 2, 2n, Infinity, 3, '\t\n', 0n, 1, parseInterval('-1 day 01:00:00'), 1n],
      [false, 3, 3n, -0, 4, 'a,b', 1n, 2, parseInterval('100000 hours'), parseTimestamp('2037-11-01 05:59:59.999999')],
      [true, 4, 4n, 1.7976931348623157e308, 5, '{"j":[1,2]}', -1n, 3, parseInterval('1 year 2 mons -3 days +00:00:00.000001'), parseTimestamp('2026-06-01 12:00+05:30')],
    ];
    const s = sink({ schema, table, appendOnly: true });
    await s.open();
    await s.write(1, [batchFromRows(schema.map((f) => f.type), values)]);
    const text = new pg.Client({ connectionString: URL, types: { getTypeParser: () => (v: string) => v } });
    await text.connect();
    let back: Value[][];
    try {
      await text.query("SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; SET DateStyle = 'ISO'");
      const res = await text.query<(string | null)[]>({ text: `SELECT * FROM ${SCHEMA}.${table}`, rowMode: 'array' });
      back = res.rows.map((r) => r.map((v, j) => (v === null ? null : parseText(v, schema[j]!.type))));
    } finally {
      await text.end();
    }
    const key = (r: readonly Value[]) => r.map((v) => (Object.is(v, -0) ? '-0' : typeof v === 'bigint' ? `${v}n` : String(v))).join('|');
    expect(back.map(key).sort()).toEqual(values.map(key).sort());
  });

  it('refuses an existing table without the key\'s unique index or without a column, and keeps passwords out of errors', async () => {
    const table = tableName();
    await admin.query(`CREATE TABLE ${SCHEMA}.${table} (word text, n bigint)`);
    await expect(sink({ schema: counts, table, primaryKey: ['word'] }).open()).rejects.toThrow(/upserts by key \(word\), but PostgreSQL table .* has no unique index on exactly those columns/);
    await admin.query(`CREATE UNIQUE INDEX ON ${SCHEMA}.${table} (word)`);
    expect(await sink({ schema: counts, table, primaryKey: ['word'] }).open()).toBeNull();
    await expect(sink({ schema: schemaOf('word varchar, m int'), table }).open()).rejects.toThrow(/writes column\(s\) m, which PostgreSQL table .* does not have \(its columns: word, n\)/);

    const port = await deadPort();
    const unreachable = sink({ schema: counts, table, options: { url: `postgres://postgres:s3cr3t-pw@127.0.0.1:${port}/test`, connect_timeout: '1s' } });
    const err = await unreachable.open().then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(new RegExp(`could not connect to PostgreSQL table .* at 127\\.0\\.0\\.1:${port}/test: .*it is retried`));
    expect(err?.message).not.toContain('s3cr3t-pw');
  });
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
