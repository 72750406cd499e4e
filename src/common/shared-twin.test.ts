import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows, localBatch, shareBatch, type Batch } from './column.js';
import { clearTwins, setTwin, twinOf } from './shared-twin.js';
import { collectIfDue, noteColumnBytes, youngCollections } from './young-gc.js';

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

describe('localBatch', () => {
  it('copies every shared array of a batch into ordinary memory, rows unchanged', () => {
    const rows = [
      [1n, 'a', [1, 2], true],
      [null, null, null, null],
      [3n, 'ccc', [], false],
    ];
    const batch = batchFromRows(['bigint', 'varchar', 'int[]', 'boolean'], rows, [1, -1, 2]);
    const shared = shareBatch(batch);
    expect(arrays(shared).every((a) => a.buffer instanceof SharedArrayBuffer)).toBe(true);
    const local = localBatch(shared);
    expect(arrays(local).length).toBe(arrays(shared).length);
    expect(arrays(local).every((a) => a.buffer instanceof ArrayBuffer && !(a.buffer instanceof SharedArrayBuffer))).toBe(true);
    expect(batchRows(local)).toEqual(batchRows(batch));
    expect(local.weights).toEqual(batch.weights);
    // A later write to the shared rows does not reach the copy.
    (shared.columns[0]!.values as BigInt64Array)[0] = 99n;
    expect(batchRows(local)[0]![0]).toBe(1n);
  });

  it('keeps ordinary arrays as they are', () => {
    const batch = batchFromRows(['int'], [[1], [2]]);
    expect(localBatch(batch).columns[0]!.values).toBe(batch.columns[0]!.values);
  });
});

describe('shared twins', () => {
  it('are found for the batch they were registered with until cleared', () => {
    const local = batchFromRows(['int'], [[1]]);
    const shared = shareBatch(local);
    expect(twinOf(local)).toBeUndefined();
    setTwin(local, shared);
    expect(twinOf(local)).toBe(shared);
    expect(twinOf(batchFromRows(['int'], [[1]]))).toBeUndefined();
    clearTwins();
    expect(twinOf(local)).toBeUndefined();
  });
});

describe('collectIfDue', () => {
  it('collects the young generation once the noted bytes reach the threshold (16 MB by default), not before', () => {
    collectIfDue();
    const before = youngCollections();
    noteColumnBytes(8 << 20);
    collectIfDue();
    expect(youngCollections()).toBe(before);
    noteColumnBytes(8 << 20);
    collectIfDue();
    expect(youngCollections()).toBe(before + 1);
    collectIfDue();
    expect(youngCollections()).toBe(before + 1);
  });
});
