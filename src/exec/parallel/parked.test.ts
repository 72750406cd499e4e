import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows, copyBatch, type Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { keptBytes, KeptPart, parkedFigures, parkedOf, release } from './parked.js';

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

describe('kept parts', () => {
  it('hold what was fetched, throw a clear error for columns not fetched, and drop out once released', () => {
    const rows = batchFromRows(['int', 'varchar', 'bigint'], [[1, 'a', 10n], [2, null, 20n]]);
    const before = parkedFigures().kept;
    const p = new KeptPart(0, 7, 2, 48, ['int', 'varchar', 'bigint']);
    p.fill([null, rows.columns[1]!, null]);
    expect(parkedFigures().kept).toBe(before + 1);
    expect(parkedOf(p)).toBe(p);
    expect(parkedOf(rows)).toBeUndefined();
    expect(keptBytes(p)).toBe(48);
    expect(p.has(1)).toBe(true);
    expect(p.has(0)).toBe(false);
    expect(p.has()).toBe(false);
    // Type and length are known without the rows; the buffers are not.
    expect(p.columns[0]!.type).toBe('int');
    expect(p.columns[2]!.length).toBe(2);
    expect(() => p.columns[0]!.values).toThrow(/kept by shard worker 0.*before they were fetched/);
    expect(() => batchRows(p)).toThrow(SluiceError);
    // A batch spread from it carries its columns (an own property), and a column not fetched still throws.
    const spread: Batch = { ...p, weights: null };
    expect(spread.columns).toHaveLength(3);
    expect(() => ({ ...spread.columns[2]! })).toThrow(/before they were fetched/);
    p.fill([rows.columns[0]!, null, rows.columns[2]!]);
    expect(p.has()).toBe(true);
    expect(batchRows(p)).toEqual(batchRows(rows));
    release([[p]]);
    expect(p.released).toBe(true);
    expect(parkedOf(p)).toBeUndefined();
    expect(parkedFigures().kept).toBe(before);
    // Released twice counts once.
    release([[p], [rows]]);
    expect(parkedFigures().kept).toBe(before);
  });
});
