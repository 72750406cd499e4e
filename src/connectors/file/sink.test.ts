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
  it('writes an epoch as JSON lines and rewrites the same file when the epoch is rerun', async () => {
    const dir = join(rootOf(), 'out', 'nested');
    const s = sink(dir);
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

    await s.write(3, [changes]);
    await sink(dir).write(3, [changes]);
    expect(await readdir(dir)).toEqual(['part-0000000003.jsonl']);
    expect(await readFile(file, 'utf8')).toBe(first);
    await s.close();
  });

  it('writes nothing for an epoch without changes and removes stale temporary files', async () => {
    const s = sink(rootOf());
    await writeFile(join(rootOf(), '.part-0000000001.jsonl.tmp'), 'half');
    await s.write(1, []);
    await s.write(2, [{ columns: changes.columns.map((c) => ({ ...c, length: 0 })), length: 0, weights: null }]);
    expect(await readdir(rootOf())).toEqual(['.part-0000000001.jsonl.tmp']);
    await s.write(12345, [changes]);
    expect(await readdir(rootOf())).toEqual([partFileName(12345)]);
    expect(partFileName(12345)).toBe('part-0000012345.jsonl');
  });

  it('requires path', () => {
    expect(() => new FileSink({ name: 'out', schema, options: { connector: 'file' }, appendOnly: true, log: () => undefined })).toThrow(
      /connector 'file' needs option "path"/,
    );
  });
});
