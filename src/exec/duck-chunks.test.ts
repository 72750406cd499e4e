/**
 * The columnar append path (data chunks) against the per-value appender (appendRows): random
 * batches of every chunkable type, with NULLs, several chunks long and not a multiple of the
 * vector size, into plain and DECIMAL(p, s) columns; both tables must hold the same rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchFromRows, batchRows } from '../common/column.js';
import type { Schema, Value } from '../common/types.js';
import { createTableSql, Duck } from './duck.js';
import { chunkWriters, scaledInteger } from './duck-chunks.js';
import { seededRandom as rng } from '../common/random.js';


const schema: Schema = [
  { name: 'b', type: 'boolean' },
  { name: 'i', type: 'int' },
  { name: 'l', type: 'bigint' },
  { name: 'd', type: 'double' },
  { name: 's', type: 'varchar' },
  { name: 'n', type: 'numeric' },
  { name: 'n2', type: 'numeric', typmod: { precision: 6, scale: 2 } },
  { name: 'n18', type: 'numeric', typmod: { precision: 18, scale: 4 } },
  { name: 'n30', type: 'numeric', typmod: { precision: 30, scale: 3 } },
  { name: 't', type: 'timestamp' },
  { name: 'dt', type: 'date' },
  { name: 'j', type: 'jsonb' },
];

function randomRow(r: () => number): Value[] {
  const maybe = (v: () => Value): Value => (r() < 0.15 ? null : v());
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('').replace(/^0+(?=\d)/, '');
  const sign = () => (r() < 0.3 ? '-' : '');
  return [
    maybe(() => r() < 0.5),
    maybe(() => Math.floor(r() * 2 ** 32) - 2 ** 31),
    maybe(() => BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 53)) * BigInt(Math.floor(r() * 4096)))),
    maybe(() => (r() - 0.5) * 1e6),
    maybe(() => (r() < 0.1 ? '' : `wörd ${Math.floor(r() * 1e6)} ✓`)),
    maybe(() => `${sign()}${digits(1 + Math.floor(r() * 20))}${r() < 0.6 ? `.${digits(1 + Math.floor(r() * 8))}` : ''}`),
    maybe(() => `${sign()}${digits(1 + Math.floor(r() * 4))}.${digits(2)}`),
    maybe(() => `${sign()}${digits(1 + Math.floor(r() * 14))}.${digits(4)}`),
    maybe(() => `${sign()}${digits(1 + Math.floor(r() * 27))}.${digits(3)}`),
    maybe(() => BigInt(Math.floor((r() - 0.5) * 4e15))),
    maybe(() => Math.floor((r() - 0.5) * 40000)),
    maybe(() => `{"k": ${Math.floor(r() * 100)}}`),
  ];
}

describe('columnar appends into DuckDB', () => {
  let duck: Duck;
  beforeAll(async () => {
    duck = await Duck.open(':memory:', []);
  });
  afterAll(() => duck.close());

  it('hold exactly what the per-value appender holds (random rows, NULLs, partial chunks)', async () => {
    const r = rng(20261206);
    const rows = Array.from({ length: 5000 }, () => randomRow(r));
    // An unconstrained NUMERIC copy as DuckDB DECIMAL (ad-hoc SELECT over a view) and as VARCHAR.
    const numeric = schema.map((f) => (f.name === 'n' ? { precision: 38, scale: 8 } : null));
    for (const [suffix, nm] of [['dec', numeric], ['txt', undefined]] as const) {
      await duck.run(createTableSql(`chunked_${suffix}`, schema, [], false, nm));
      await duck.run(createTableSql(`rows_${suffix}`, schema, [], false, nm));
      // Three batches: 1, 2047 and the rest rows (chunk boundaries inside and across batches).
      const types = schema.map((f) => f.type);
      const batches = [rows.slice(0, 1), rows.slice(1, 2048), rows.slice(2048)].map((part) => batchFromRows(types, part));
      // Every column of this schema has a columnar writer (else appendBatch would go per value).
      const app = await duck.conn.createAppender(`chunked_${suffix}`);
      expect(chunkWriters(app, types)).not.toBeNull();
      app.closeSync();
      await duck.appendBatch(`chunked_${suffix}`, schema, batches);
      // The same values as the columns hold them (canonical: '-0' is '0').
      await duck.appendRows(`rows_${suffix}`, schema, batches.flatMap((b) => batchRows(b)));
      const cols = schema.map((f) => `"${f.name}"`).join(', ');
      const diff = await duck.query(`SELECT count(*) FROM ((SELECT ${cols} FROM chunked_${suffix} EXCEPT ALL SELECT ${cols} FROM rows_${suffix}) UNION ALL (SELECT ${cols} FROM rows_${suffix} EXCEPT ALL SELECT ${cols} FROM chunked_${suffix}))`);
      expect(diff.rows[0]![0]).toBe(0n);
      const n = await duck.query(`SELECT count(*), count(n), count(s) FROM chunked_${suffix}`);
      expect(n.rows[0]![0]).toBe(5000n);
      // NULLs landed as NULLs (about 15 % of each column).
      expect(Number(n.rows[0]![1])).toBeGreaterThan(3800);
      expect(Number(n.rows[0]![1])).toBeLessThan(4600);
    }
  });

  it('scale decimal text to integers, rounding half away from zero past the scale', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const at = (s: string, scale: number) => scaledInteger(enc(s), 0, s.length, scale);
    expect(at('12.5', 2)).toBe(1250n);
    expect(at('-0.125', 2)).toBe(-13n);
    expect(at('0.124', 2)).toBe(12n);
    expect(at('7', 3)).toBe(7000n);
    expect(at('123456789012345678901234567.891', 3)).toBe(123456789012345678901234567891n);
    expect(() => at('NaN', 0)).toThrow(/invalid input syntax for type numeric/);
  });
});
