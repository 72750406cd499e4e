import { describe, expect, it } from 'vitest';
import { batchRows, getValue, type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { parseTimestamp } from '../../common/values.js';
import type { DeadLetter, SourceContext } from '../api.js';
import { DatagenSource, datagenGenerators } from './source.js';
import { readDatagenOptions } from './options.js';
import { schemaOf } from '../../../test/helpers.js';

const T0 = 1_700_000_000_000_000n;
const SEC = 1_000_000n;

function ctx(schema: Schema, options: Record<string, string>): SourceContext {
  return {
    name: 'gen',
    schema,
    options: { connector: 'datagen', ...options },
    dataDir: null,
    deadLetter: (_d: DeadLetter) => undefined,
    log: () => undefined,
  };
}

async function started(schema: Schema, options: Record<string, string>): Promise<DatagenSource> {
  const s = new DatagenSource(ctx(schema, options), () => T0);
  await s.start(null);
  return s;
}

const column = (b: Batch, j: number) => Array.from({ length: b.length }, (_, i) => getValue(b.columns[j]!, i));

describe('datagen source', () => {
  const schema: Schema = schemaOf('id bigint, n int, x double, s varchar, ts timestamp');

  it('emits rows_per_second × elapsed time, in row-index ranges, up to max_rows', async () => {
    const s = await started(schema, { rows_per_second: '100', max_rows: '170', 'fields.id.kind': 'sequence' });
    let r = await s.poll(T0 + SEC / 2n);
    expect(r.range).toEqual({ from: 0, to: 50 });
    expect(r.batches[0]!.length).toBe(50);
    r = await s.poll(T0 + SEC / 2n);
    expect(r.batches).toEqual([]);
    expect(r.range).toEqual({ from: 50, to: 50 });
    r = await s.poll(T0 + 2n * SEC);
    expect(r.range).toEqual({ from: 50, to: 200 > 170 ? 170 : 200 });
    expect(column(r.batches[0]!, 0)).toEqual(Array.from({ length: 120 }, (_, i) => BigInt(50 + i)));
    r = await s.poll(T0 + 60n * SEC);
    expect(r.batches).toEqual([]);
    await s.stop();
  });

  it('started from a position it returned, continues with the same rows and rate', async () => {
    const opts = { rows_per_second: '100', 'fields.id.kind': 'sequence' };
    const whole = await started(schema, opts);
    const a = await whole.poll(T0 + SEC);
    const b = await whole.poll(T0 + 3n * SEC);
    const first = await started(schema, opts);
    const p = (await first.poll(T0 + SEC)).position;
    // A later process, whose clock says something else: the position carries the rate's origin.
    const resumed = new DatagenSource(ctx(schema, opts), () => T0 + 999n * SEC);
    await resumed.start(JSON.parse(JSON.stringify(p)));
    const c = await resumed.poll(T0 + 3n * SEC);
    expect(c.range).toEqual(b.range);
    expect(column(c.batches[0]!, 0)).toEqual(column(b.batches[0]!, 0));
    expect(column(c.batches[0]!, 2)).toEqual(column(b.batches[0]!, 2));
    expect(a.range).toEqual({ from: 0, to: 100 });
    expect(c.position).toEqual(b.position);
  });

  it('caps a poll at max_batch_rows and delivers the backlog later', async () => {
    const s = await started(schema, { rows_per_second: '1000', max_batch_rows: '300' });
    const sizes = [];
    for (let i = 0; i < 5; i++) sizes.push((await s.poll(T0 + SEC)).batches[0]?.length ?? 0);
    expect(sizes).toEqual([300, 300, 300, 100, 0]);
  });

  it('is deterministic for a seed and regenerates any range exactly', async () => {
    const opts = { seed: '7', 'fields.n.start': '-5', 'fields.n.end': '5', 'fields.s.length': '12' };
    const a = await started(schema.slice(0, 4), opts);
    const b = await started(schema.slice(0, 4), opts);
    const other = await started(schema.slice(0, 4), { ...opts, seed: '8' });
    const whole = batchRows(a.generate(0, 1000, T0));
    expect(batchRows(b.generate(0, 1000, T0))).toEqual(whole);
    expect(batchRows(a.generate(400, 100, T0))).toEqual(whole.slice(400, 500));
    expect(batchRows(other.generate(0, 1000, T0))).not.toEqual(whole);
    for (const row of whole) {
      expect(typeof row[0]).toBe('bigint');
      expect(row[1]).toBeGreaterThanOrEqual(-5);
      expect(row[1]).toBeLessThanOrEqual(5);
      expect(row[2]).toBeGreaterThanOrEqual(0);
      expect(row[2]).toBeLessThan(1);
      expect(row[3]).toMatch(/^[A-Za-z0-9]{12}$/);
    }
    // Every value of a small range shows up; columns are not copies of each other.
    expect(new Set(whole.map((r) => r[1])).size).toBe(11);
    expect(new Set(whole.map((r) => r[3])).size).toBe(1000);
  });

  it('generates sequences, value lists, ranges and current-time columns', async () => {
    const s = await started(
      [
        { name: 'seq', type: 'int' },
        { name: 'word', type: 'varchar' },
        { name: 'pick', type: 'varchar' },
        { name: 'num', type: 'varchar' },
        { name: 'ts', type: 'timestamp' },
        { name: 'ev', type: 'timestamp' },
        { name: 'big', type: 'bigint' },
        { name: 'huge', type: 'bigint' },
        { name: 'flag', type: 'boolean' },
        { name: 'd', type: 'date' },
        { name: 'nothing', type: 'null' },
      ],
      {
        rows_per_second: '4',
        'fields.seq.kind': 'sequence',
        'fields.seq.start': '10',
        'fields.seq.end': '12',
        'fields.word.kind': 'sequence',
        'fields.word.values': 'a, bb ,ccc',
        'fields.pick.values': 'x,y',
        'fields.num.kind': 'sequence',
        'fields.num.start': '-2',
        'fields.ev.kind': 'sequence',
        'fields.ev.start': '2024-01-01 00:00:00',
        'fields.big.start': '-1000000000000',
        'fields.big.end': '1000000000000',
        'fields.huge.start': '9000000000000000000',
        'fields.flag.kind': 'sequence',
        'fields.d.kind': 'sequence',
        'fields.d.start': '2024-02-28',
      },
    );
    const b = s.generate(0, 6, T0 + 5n);
    expect(column(b, 0)).toEqual([10, 11, 12, 10, 11, 12]);
    expect(column(b, 1)).toEqual(['a', 'bb', 'ccc', 'a', 'bb', 'ccc']);
    for (const v of column(b, 2)) expect(['x', 'y']).toContain(v);
    expect(column(b, 3)).toEqual(['-2', '-1', '0', '1', '2', '3']);
    expect(column(b, 4)).toEqual(Array(6).fill(T0 + 5n));
    const ev0 = parseTimestamp('2024-01-01 00:00:00');
    expect(column(b, 5)).toEqual([0n, 1n, 2n, 3n, 4n, 5n].map((i) => ev0 + i * 250_000n));
    for (const v of column(b, 6)) expect((v as bigint) >= -1_000_000_000_000n && (v as bigint) <= 1_000_000_000_000n).toBe(true);
    for (const v of column(b, 7)) expect((v as bigint) >= 9_000_000_000_000_000_000n).toBe(true);
    expect(column(b, 8)).toEqual([false, true, false, true, false, true]);
    expect(column(b, 9)).toEqual([19781, 19782, 19783, 19784, 19785, 19786]);
    expect(column(b, 10)).toEqual(Array(6).fill(null));
  });

  it('rejects bad options naming the option and what it expects', async () => {
    const make = (o: Record<string, string>) => new DatagenSource(ctx(schema, o));
    expect(() => make({ rows_per_sec: '5' })).toThrow(/unknown option "rows_per_sec" for connector 'datagen'; valid options are: connector, rows_per_second, .*fields.<column>.kind/);
    expect(() => make({ rows_per_second: 'fast' })).toThrow(/option "rows_per_second" of connector 'datagen' must be a number greater than 0, got 'fast'/);
    expect(() => make({ 'fields.nope.kind': 'random' })).toThrow(/names column "nope", which the source does not have; its columns are: id, n, x, s, ts/);
    expect(() => make({ 'fields.n.kind': 'zigzag' })).toThrow(/must be one of 'sequence', 'random'/);
    expect(() => make({ 'fields.n.start': 'ten' })).toThrow(/option "fields.n.start" .* must be a value of type INT/);
    expect(() => make({ 'fields.n.start': '5', 'fields.n.end': '1' })).toThrow(/start must not be greater than/);
    expect(() => make({ 'fields.n.length': '5' })).toThrow(/applies only to a random VARCHAR column/);
    expect(() => make({ 'fields.ts.kind': 'random' })).toThrow(/needs both fields.ts.start and fields.ts.end/);
    expect(() => make({ 'fields.s.values': 'a', 'fields.s.start': '1' })).toThrow(/cannot be combined/);
  });

  it('builds large batches quickly (sanity, no timing assertion)', async () => {
    const s = await started(schema, { 'fields.id.kind': 'sequence', 'fields.s.values': 'alpha,beta,gamma,delta' });
    const n = 2_000_000;
    const t = performance.now();
    const b = s.generate(0, n, T0);
    const ms = performance.now() - t;
    expect(b.length).toBe(n);
    expect(b.columns.every((c) => c.length === n)).toBe(true);
    expect(getValue(b.columns[0]!, n - 1)).toBe(BigInt(n - 1));
    console.log(`datagen: ${((n * schema.length) / ms / 1000).toFixed(1)}M values/s`);
  });
});
