import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SqlType, Value } from '../common/types.js';
import type { CopyOptions } from '../parser/index.js';
import { plainDouble, plainValue, type ParsedBatch, type ParsedColumn } from '../exec/runtime/bulk-load.js';
import { CopyColumnReader } from './copy-columns.js';
import { CopyReader } from './copy-format.js';

const TEXT: CopyOptions = { format: 'text', header: false, delimiter: '\t', null: '\\N', quote: '"', escape: '"' };

/** Reads `pieces` with the column reader, in one batch. */
function read(types: SqlType[], pieces: string[], o: CopyOptions = TEXT): ParsedBatch {
  const r = new CopyColumnReader(o, types, 4);
  for (const p of pieces) r.push(p);
  r.end();
  return r.take();
}

/** Row i of a parsed column as a value (NULL as null). */
function valueAt(c: ParsedColumn, i: number): Value | string {
  if (c.kind !== 'numbers') return c.values[i]!;
  return c.validity && !((c.validity[i >> 3]! >> (i & 7)) & 1) ? null : c.values[i]!;
}

describe('CopyColumnReader', () => {
  it('reads int and double fields into typed arrays, varchar, bigint and boolean as values, the rest as text', () => {
    const b = read(['int', 'double', 'varchar', 'bigint', 'boolean', 'timestamp'], ['1\t2.5\tx\t9007199254740993\tt\t2024-01-01\n-3\t-0\t\\N\t\\N\tfalse\t\\N\n']);
    expect(b.length).toBe(2);
    expect(b.bad).toBeNull();
    const [i, d, v, g, bo, ts] = b.columns;
    expect(i).toMatchObject({ kind: 'numbers', values: Int32Array.from([1, -3]), validity: null });
    expect(d!.kind).toBe('numbers');
    expect([valueAt(d!, 0), Object.is(valueAt(d!, 1), -0)]).toEqual([2.5, true]);
    expect(v).toEqual({ kind: 'values', values: ['x', null] });
    expect(g).toEqual({ kind: 'values', values: [9007199254740993n, null] });
    expect(bo).toEqual({ kind: 'values', values: [true, false] });
    expect(ts).toEqual({ kind: 'text', values: ['2024-01-01', null] });
  });

  it('turns a column to text when a value is not plainly one (DuckDB casts it), keeping the earlier values', () => {
    const b = read(['int', 'double'], ['7\t-0\n', ' 8\tNaN\n', '\\N\t0.1234567890123456789\n']);
    expect(b.columns[0]).toEqual({ kind: 'text', values: ['7', ' 8', null] });
    expect(b.columns[1]).toEqual({ kind: 'text', values: ['-0', 'NaN', '0.1234567890123456789'] });
  });

  it('takes escapes, a NULL marker of its own, CR LF, the header and the end marker as the row reader does', () => {
    const o: CopyOptions = { ...TEXT, delimiter: ',', null: 'nil', header: true };
    const b = read(['varchar', 'int'], ['a,b\r\nx\\,y,1\r\nnil,', '2\n\\t\\x41,nil\n\\.\nignored,9\n'], o);
    expect(b.columns).toEqual([{ kind: 'values', values: ['x,y', null, '\tA'] }, { kind: 'numbers', values: Int32Array.from([1, 2, 0]), validity: expect.any(Uint8Array) }]);
    expect(valueAt(b.columns[1]!, 2)).toBeNull();
  });

  it('ends at a line with the wrong number of fields: the batch up to it, and where it is', () => {
    let b = read(['int', 'varchar'], ['1\ta\n2\n3\tc\n']);
    expect(b).toMatchObject({ length: 1, bad: { at: 1, fields: 1 } });
    expect(b.columns[1]).toEqual({ kind: 'values', values: ['a'] });
    b = read(['int', 'varchar'], ['1\ta\tz\n']);
    expect(b).toMatchObject({ length: 0, bad: { at: 0, fields: 3 } });
    b = read(['int', 'varchar'], ['1\ta\\tb\\tc\textra\n']);
    expect(b).toMatchObject({ length: 0, bad: { at: 0, fields: 3 } });
  });

  it('reads what the row reader reads, however the data is cut into pieces', () => {
    const field = fc.oneof(
      fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }).map(String),
      fc.double({ noNaN: true }).map(String),
      fc.tuple(fc.integer({ min: -99999, max: 99999 }), fc.integer({ min: 0, max: 9999999 })).map(([a, b]) => `${a}.${b}`),
      fc.constantFrom('\\N', '', 'abc', 'a\\tb', ' 1', '-0', '+5', '.5', '5.', 't', 'false', '1e3', '0.000000000000000000001'),
    );
    const types: SqlType[] = ['int', 'double', 'varchar', 'bigint', 'boolean'];
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 5, maxLength: 5 }), { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 6 }), (rows, cuts) => {
        const text = rows.map((r) => r.join('\t') + '\n').join('');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((s, i) => text.slice(s, [...at, text.length][i]));
        const b = read(types, pieces);
        const rowReader = new CopyReader(TEXT);
        const expected = [...rowReader.push(text), ...rowReader.end()];
        expect(b.length).toBe(expected.length);
        types.forEach((type, k) => {
          const col = b.columns[k]!;
          expected.forEach((r, i) => {
            const f = r[k]!;
            const got = valueAt(col, i);
            if (f === null) expect(got).toBeNull();
            // A column turned to text writes its earlier converted values back as text: the same values.
            else if (col.kind === 'text' && got !== f) expect(type === 'double' ? Object.is(plainDouble(got as string), plainDouble(f)) : plainValue(got as string, type) === plainValue(f, type)).toBe(true);
            else if (col.kind === 'text') expect(got).toBe(f);
            else if (type === 'double') expect(Object.is(got, plainDouble(f))).toBe(true);
            else expect(got).toEqual(plainValue(f, type));
          });
        });
      }),
      { numRuns: 300 },
    );
  });
});
