import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { changeMessages } from './change-messages.js';

const schema: Schema = [{ name: 'word', type: 'varchar' }, { name: 'n', type: 'bigint' }];
const types = schema.map((f) => f.type);

describe('changeMessages', () => {
  it('nets an epoch per key into one upsert or tombstone', () => {
    const b = batchFromRows(types, [['a', 1n], ['a', 2n], ['b', 1n], ['c', 4n], ['c', 4n], ['d', 1n]], [-1, 1, -1, -1, 1, 1]);
    expect(changeMessages(schema, [b], [0], true)).toEqual([
      { key: '{"word":"a"}', value: '{"word":"a","n":2}' },
      { key: '{"word":"b"}', value: null },
      { key: '{"word":"d"}', value: '{"word":"d","n":1}' },
    ]);
  });

  it('nets across the batches of an epoch, in any order of retraction and insertion', () => {
    const ins = batchFromRows(types, [['a', 3n]], [1]);
    const del = batchFromRows(types, [['a', 2n]], [-1]);
    expect(changeMessages(schema, [ins, del], [0], true)).toEqual([{ key: '{"word":"a"}', value: '{"word":"a","n":3}' }]);
  });

  it('writes append-only rows once per unit of weight, keyed only with key columns', () => {
    const b = batchFromRows(types, [['a', 1n], ['b', 9007199254740993n]]);
    expect(changeMessages(schema, [b], null, false)).toEqual([
      { key: null, value: '{"word":"a","n":1}' },
      { key: null, value: '{"word":"b","n":"9007199254740993"}' },
    ]);
    const w = batchFromRows(types, [['a', 1n]], [2]);
    expect(changeMessages(schema, [w], [1, 0], false)).toEqual([
      { key: '{"n":1,"word":"a"}', value: '{"word":"a","n":1}' },
      { key: '{"n":1,"word":"a"}', value: '{"word":"a","n":1}' },
    ]);
  });
});
