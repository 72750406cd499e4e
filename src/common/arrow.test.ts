import { describe, expect, it } from 'vitest';
import { tableFromIPC, tableToIPC, Table } from 'apache-arrow';
import { batchFromRows, batchRows } from './column.js';
import { fromArrow, toArrow } from './arrow.js';
import { microsInterval } from './interval.js';
import type { Schema } from './types.js';

const schema: Schema = [
  { name: 'b', type: 'boolean' }, { name: 'i', type: 'int' }, { name: 'l', type: 'bigint' }, { name: 'd', type: 'double' },
  { name: 's', type: 'varchar' }, { name: 't', type: 'timestamp' }, { name: 'dt', type: 'date' }, { name: 'iv', type: 'interval' },
];

describe('Arrow interchange', () => {
  it('round-trips a changelog batch through an Arrow IPC stream', () => {
    const rows = [
      [true, 1, 10n, 1.5, 'héllo', 1_700_000_000_000_000n, 19_000, microsInterval(5_000_000n)],
      [null, null, null, null, null, null, null, null],
      [false, -2, -(2n ** 62n), -0.25, '', 0n, 0, microsInterval(-1n)],
    ];
    const batch = batchFromRows(schema.map((f) => f.type), rows, [1, -1, 1]);
    const rb = toArrow(batch, schema);
    expect(rb.numRows).toBe(3);
    expect(rb.schema.fields.map((f) => f.name)).toEqual([...schema.map((f) => f.name), '__weight']);
    const bytes = tableToIPC(new Table(rb), 'stream');
    const back = tableFromIPC(bytes).batches[0]!;
    const b2 = fromArrow(back, schema);
    expect(batchRows(b2)).toEqual(rows);
    expect(Array.from(b2.weights!)).toEqual([1, -1, 1]);
  });

  it('round-trips a column of SQL type null (Arrow Null, no buffers)', () => {
    const nullSchema: Schema = [{ name: 'n', type: 'null' }, { name: 'i', type: 'int' }];
    const batch = batchFromRows(['null', 'int'], [[null, 1], [null, 2]]);
    const back = fromArrow(tableFromIPC(tableToIPC(new Table(toArrow(batch, nullSchema)), 'stream')).batches[0]!, nullSchema);
    expect(batchRows(back)).toEqual([[null, 1], [null, 2]]);
  });
});

describe('Arrow interchange of arrays', () => {
  it('round-trips list columns (Arrow List) with NULL arrays, NULL elements and empty arrays', () => {
    const arrSchema: Schema = [{ name: 'a', type: 'varchar[]' }, { name: 'b', type: 'int[]' }];
    const rows = [
      [['x', null, 'yz'], [1, 2]],
      [null, []],
      [[], [null]],
    ];
    const batch = batchFromRows(['varchar[]', 'int[]'], rows, [1, -1, 1]);
    const back = fromArrow(tableFromIPC(tableToIPC(new Table(toArrow(batch, arrSchema)), 'stream')).batches[0]!, arrSchema);
    expect(batchRows(back)).toEqual(rows);
  });
});
