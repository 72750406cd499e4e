import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows, copyBatch, type Batch } from '../../common/column.js';
import { park, parkedFigures, parkedOf, release } from './parked.js';

const arrays = (b: Batch): ArrayBufferView[] => {
  const out: ArrayBufferView[] = [];
  const column = (c: Batch['columns'][number]) => {
    for (const a of [c.values, c.offsets, c.validity]) if (a && ArrayBuffer.isView(a)) out.push(a);
    if (c.child) column(c.child);
  };
  b.columns.forEach(column);
  if (b.weights) out.push(b.weights);
  return out;
};

describe('copyBatch', () => {
  it('copies every array into a buffer of its own, rows and weights unchanged', () => {
    const batch = batchFromRows(['bigint', 'varchar', 'int[]', 'boolean'], [[1n, 'a', [1, 2], true], [null, null, null, null], [3n, 'ccc', [], false]], [1, -1, 2]);
    const copy = copyBatch(batch);
    expect(batchRows(copy)).toEqual(batchRows(batch));
    expect(copy.weights).toEqual(batch.weights);
    const from = arrays(batch);
    const to = arrays(copy);
    expect(to.length).toBe(from.length);
    for (let i = 0; i < to.length; i++) {
      expect(to[i]!.buffer).not.toBe(from[i]!.buffer);
      // Whole buffers: each can be transferred to another thread.
      expect(to[i]!.byteOffset).toBe(0);
      expect(to[i]!.byteLength).toBe(to[i]!.buffer.byteLength);
    }
    (batch.columns[0]!.values as BigInt64Array)[0] = 99n;
    expect(batchRows(copy)[0]![0]).toBe(1n);
  });
});

describe('parked parts', () => {
  it('are found for the batch they were recorded with until the epoch that read them is released', () => {
    const a = batchFromRows(['int'], [[1]]);
    const b = batchFromRows(['int'], [[2]]);
    const before = parkedFigures().kept;
    park(a, 0, 7);
    park(b, 1, 8);
    expect(parkedOf(a)).toEqual({ shard: 0, id: 7 });
    expect(parkedOf(batchFromRows(['int'], [[1]]))).toBeUndefined();
    expect(parkedFigures().kept).toBe(before + 2);
    release([[a]]);
    expect(parkedOf(a)).toBeUndefined();
    expect(parkedOf(b)).toEqual({ shard: 1, id: 8 });
    release([[b], [a]]);
    expect(parkedFigures().kept).toBe(before);
  });
});
