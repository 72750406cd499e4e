import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../../common/column.js';
import { schemaOf } from '../../../test/helpers.js';
import { appendedRows, keyedChanges, rowChanges } from './changes.js';

const schema = schemaOf('k varchar, n bigint, x double');
const types = schema.map((f) => f.type);

describe('postgres sink changes', () => {
  it('nets a keyed epoch per key: the row a key ends with, or a delete', () => {
    const b = batchFromRows(types, [
      ['a', 1n, 0.5], ['a', 2n, -0], ['b', 1n, null], ['c', 1n, 1], ['c', 1n, 1], [null, 7n, NaN], ['null', 8n, 1],
    ], [-1, 1, -1, 1, -1, 1, 1]);
    expect(keyedChanges(schema, [b], [0])).toEqual({
      upserts: [['a', '2', '-0'], [null, '7', 'NaN'], ['null', '8', '1']],
      deletes: [['b']],
    });
  });

  it('nets an unkeyed epoch per row into copies to delete and insert', () => {
    const b = batchFromRows(types, [['a', 1n, 1], ['a', 1n, 1], ['b', 2n, null], ['c', 3n, 1]], [2, -1, -3, 0]);
    expect(rowChanges(schema, [b])).toEqual({ inserts: [['a', '1', '1']], deletes: [{ row: ['b', '2', null], count: 3 }] });
  });

  it('repeats an appended row by its weight', () => {
    expect(appendedRows(schema, [batchFromRows(types, [['a', 1n, 1.5]], [2]), batchFromRows(types, [[null, null, null]])])).toEqual([
      ['a', '1', '1.5'], ['a', '1', '1.5'], [null, null, null],
    ]);
  });
});
