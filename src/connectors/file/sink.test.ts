import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchFromRows, type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { parseTimestamp } from '../../common/values.js';
import type { SinkContext } from '../api.js';
import { FileSink, partFileName } from './sink.js';
import { schemaOf, tempDirEach } from '../../../test/helpers.js';

const schema: Schema = schemaOf('word varchar, n bigint, at timestamp, x double, ok boolean, d date');

const rootOf = tempDirEach('sluice-file-sink-');

function sink(path: string): FileSink {
  const ctx: SinkContext = { name: 'out', schema, options: { connector: 'file', path }, appendOnly: false, log: () => undefined };
  return new FileSink(ctx);
}

const changes: Batch = batchFromRows(
  schema.map((f) => f.type),
  [
    ['say "hi"\n', 9007199254740993n, parseTimestamp('2024-01-02 03:04:05.25'), 1.5, true, 19723],
    ['gone', 5n, parseTimestamp('2024-01-02 00:00:00'), NaN, false, null],
    ['twice', -7n, null, null, null, 0],
  ],
  [1, -1, 2],
);

describe('file sink', () => {
  it('writes an epoch as JSON lines, once: a rerun epoch or an older one is a no-op', async () => {
    const dir = join(rootOf(), 'out', 'nested');
    const s = sink(dir);
    expect(await s.open()).toBeNull();
    await s.write(3, [changes]);
    const file = join(dir, 'part-0000000003.jsonl');
    const first = await readFile(file, 'utf8');
    expect(first.split('\n')).toEqual([
      '{"op":"+","word":"say \\"hi\\"\\n","n":"9007199254740993","at":"2024-01-02 03:04:05.25","x":1.5,"ok":true,"d":"2024-01-01"}',
      '{"op":"-","word":"gone","n":5,"at":"2024-01-02 00:00:00","x":"NaN","ok":false,"d":null}',
      '{"op":"+","word":"twice","n":-7,"at":null,"x":null,"ok":null,"d":"1970-01-01"}',
      '{"op":"+","word":"twice","n":-7,"at":null,"x":null,"ok":null,"d":"1970-01-01"}',
      '',
    ]);
    for (const line of first.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

    const other = batchFromRows(schema.map((f) => f.type), [['other', 1n, null, null, null, null]]);
    await s.write(3, [other]);
    await s.write(2, [other]);
    const restarted = sink(dir);
    expect(await restarted.open()).toBe(3);
    await restarted.write(3, [other]);
    await restarted.write(1, [other]);
    expect(await readdir(dir)).toEqual(['part-0000000003.jsonl']);
    expect(await readFile(file, 'utf8')).toBe(first);
    await restarted.write(4, [other]);
    expect(await readdir(dir)).toEqual(['part-0000000003.jsonl', 'part-0000000004.jsonl']);
    expect(await sink(dir).open()).toBe(4);
    await s.close();
  });

  it('writes nothing for an epoch without changes; open removes an interrupted write\'s temporary file', async () => {
    const s = sink(rootOf());
    await writeFile(join(rootOf(), '.part-0000000007.jsonl.tmp'), 'half');
    await writeFile(join(rootOf(), 'notes.txt'), 'kept');
    expect(await s.open()).toBeNull();
    expect((await readdir(rootOf())).sort()).toEqual(['notes.txt']);
    await s.write(1, []);
    await s.write(2, [{ columns: changes.columns.map((c) => ({ ...c, length: 0 })), length: 0, weights: null }]);
    expect(await readdir(rootOf())).toEqual(['notes.txt']);
    await s.write(12345, [changes]);
    expect((await readdir(rootOf())).sort()).toEqual(['notes.txt', partFileName(12345)]);
    expect(partFileName(12345)).toBe('part-0000012345.jsonl');
  });

  it('opens on the first write when open was not called', async () => {
    const s = sink(rootOf());
    await writeFile(join(rootOf(), partFileName(5)), 'kept\n');
    await s.write(5, [changes]);
    expect(await readFile(join(rootOf(), partFileName(5)), 'utf8')).toBe('kept\n');
  });

  it('requires path', () => {
    expect(() => new FileSink({ name: 'out', schema, options: { connector: 'file' }, appendOnly: true, log: () => undefined })).toThrow(
      /connector 'file' needs option "path"/,
    );
  });
});
