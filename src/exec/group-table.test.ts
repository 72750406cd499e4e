import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ColumnBuilder, getValue } from '../common/column.js';
import { createGroupTable } from './group-table.js';

describe('string group table', () => {
  it('gives each distinct VARCHAR key (NULL, empty, multi-byte) one dense id in order of first sight, across batches and rehashes', () => {
    const key = fc.option(fc.oneof(fc.string({ maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 3 }), fc.integer({ min: 0, max: 3000 }).map((k) => `k${k}`)), { freq: 20 });
    fc.assert(
      fc.property(fc.array(fc.array(key, { maxLength: 400 }), { minLength: 1, maxLength: 5 }), (batches) => {
        const table = createGroupTable('string', ['varchar']);
        const want = new Map<string | null, number>();
        for (const keys of batches) {
          // A column holds UTF-8: lone surrogates arrive as U+FFFD.
          const values = keys.map((k) => (k === null ? null : Buffer.from(k, 'utf8').toString('utf8')));
          const b = new ColumnBuilder('varchar', values.length);
          for (const v of values) b.append(v);
          const gids = new Int32Array(values.length);
          table.assign([b.finish()], values.length, gids);
          values.forEach((v, i) => {
            if (!want.has(v)) want.set(v, want.size);
            expect(gids[i]).toBe(want.get(v));
          });
        }
        expect(table.size).toBe(want.size);
        const keys = [...want.keys()];
        keys.forEach((k, gid) => expect(table.keyValue(gid, 0)).toBe(k));
        const order = Int32Array.from(keys.map((_, g) => keys.length - 1 - g));
        const col = table.keyColumn(0, order, order.length);
        expect(Array.from(order, (_, i) => getValue(col, i))).toEqual([...keys].reverse());
      }),
      { numRuns: 200 },
    );
  });
});

describe('int group table', () => {
  it('gives each distinct integer key (NULL, negative, 64-bit) one dense id in order of first sight, across batches, rehashes and a reserve', () => {
    const key = fc.option(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: -3000, max: 3000 }).map(BigInt), fc.integer({ min: 0, max: 40 }).map((k) => BigInt(k) << 32n)), { freq: 30 });
    fc.assert(
      fc.property(fc.array(fc.array(key, { maxLength: 1500 }), { minLength: 1, maxLength: 5 }), fc.nat(3000), (batches, reserve) => {
        const table = createGroupTable('int', ['bigint']);
        const want = new Map<bigint | null, number>();
        batches.forEach((keys, j) => {
          if (j === 1) table.reserve?.(reserve);
          const b = new ColumnBuilder('bigint', keys.length);
          for (const v of keys) b.append(v);
          const gids = new Int32Array(keys.length);
          table.assign([b.finish()], keys.length, gids);
          keys.forEach((v, i) => {
            if (!want.has(v)) want.set(v, want.size);
            expect(gids[i]).toBe(want.get(v));
          });
        });
        expect(table.size).toBe(want.size);
        const keys = [...want.keys()];
        keys.forEach((k, gid) => expect(table.keyValue(gid, 0)).toBe(k));
        const col = table.keyColumn(0, null, keys.length);
        expect(Array.from(keys, (_, i) => getValue(col, i))).toEqual(keys);
      }),
      { numRuns: 60 },
    );
  });
});
