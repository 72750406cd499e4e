import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { parseTimestamp } from '../../common/values.js';
import { PrintSink } from './sink.js';

const schema: Schema = [
  { name: 'word', type: 'varchar' },
  { name: 'n', type: 'bigint' },
  { name: 'at', type: 'timestamp' },
];

describe('print sink', () => {
  it('prints each change with the sink name and epoch', async () => {
    let out = '';
    const s = new PrintSink({ name: 'counts', schema, options: { connector: 'print' }, appendOnly: false, log: () => undefined }, async (t) => {
      out += t;
    });
    expect(await s.open()).toBeNull();
    const b = batchFromRows(
      schema.map((f) => f.type),
      [
        ['spark', 3n, parseTimestamp('2024-01-01 00:00:01.5')],
        ['spark', 2n, null],
        ['arrow', 1n, null],
      ],
      [1, -1, 2],
    );
    await s.write(7, [b]);
    await s.write(8, []);
    expect(out).toBe(
      'counts[7] + (spark, 3, 2024-01-01 00:00:01.5)\n' +
        'counts[7] - (spark, 2, NULL)\n' +
        'counts[7] + (arrow, 1, NULL)\n' +
        'counts[7] + (arrow, 1, NULL)\n',
    );
    const appendOnly = batchFromRows(['varchar', 'bigint', 'timestamp'], [['x', 1n, null]]);
    await s.write(9, [appendOnly]);
    expect(out.endsWith('counts[9] + (x, 1, NULL)\n')).toBe(true);
  });

  it('takes no options', () => {
    expect(() => new PrintSink({ name: 'p', schema, options: { connector: 'print', path: '/tmp' }, appendOnly: true, log: () => undefined })).toThrow(
      /unknown option "path" for connector 'print'; valid options are: connector/,
    );
  });
});
