import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchRows, type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import type { DeadLetter, SourceContext } from '../api.js';
import { FileSource } from './source.js';
import { schemaOf, tempDirEach } from '../../../test/helpers.js';

const schema: Schema = schemaOf('id int, name varchar');

const dirOf = tempDirEach('sluice-file-source-');

function source(options: Record<string, string>, dead: DeadLetter[] = [], logs: string[] = []): FileSource {
  const ctx: SourceContext = {
    name: 'files',
    schema,
    options: { connector: 'file', path: dirOf(), ...options },
    dataDir: null,
    deadLetter: (d) => dead.push(d),
    log: (m) => logs.push(m),
  };
  return new FileSource(ctx);
}

const rows = (batches: readonly Batch[]) => batches.flatMap((b) => batchRows(b));

describe('file source', () => {
  it('reads files present at start on the first poll, and a file added later once it is stable', async () => {
    await writeFile(join(dirOf(), 'a.jsonl'), '{"id": 1, "name": "ann"}\n{"id": 2, "name": "bob"}\n');
    const dead: DeadLetter[] = [];
    const s = source({}, dead);
    await s.start(null);
    let r = await s.poll(0n);
    expect(r.range).toEqual({ files: ['a.jsonl'] });
    expect(rows(r.batches)).toEqual([[1, 'ann'], [2, 'bob']]);

    await writeFile(join(dirOf(), 'b.jsonl'), '{"id": 3}\nnot json\n{"id": "x"}\n{"id": 4, "name": "dan"}');
    r = await s.poll(0n);
    // First sighting: not read until a second listing sees the same size and mtime.
    expect(r.range).toEqual({ files: [] });
    r = await s.poll(0n);
    expect(r.range).toEqual({ files: ['b.jsonl'] });
    expect(rows(r.batches)).toEqual([[3, null], [4, 'dan']]);
    expect(dead.map((d) => d.position)).toEqual(['b.jsonl:2', 'b.jsonl:3']);
    expect(dead[0]!.raw).toBe('not json');
    expect(dead[0]!.error).toMatch(/^invalid JSON/);
    expect(dead[1]!.error).toMatch(/^column "id": invalid input syntax for type integer/);

    // Each file is read once.
    r = await s.poll(0n);
    expect(r.range).toEqual({ files: [] });
    expect(r.batches).toEqual([]);
    await s.stop();
  });

  it('started from a position it returned, reads only the files not read before', async () => {
    await writeFile(join(dirOf(), 'a.jsonl'), '{"id": 1}\n');
    const first = source({});
    await first.start(null);
    const r = await first.poll(0n);
    expect(r.range).toEqual({ files: ['a.jsonl'] });
    const position = JSON.parse(JSON.stringify(r.position));
    await first.stop();
    await writeFile(join(dirOf(), 'b.jsonl'), '{"id": 2}\n');
    const again = source({});
    await again.start(position);
    const after = await again.poll(0n);
    expect(after.range).toEqual({ files: ['b.jsonl'] });
    expect(rows(after.batches)).toEqual([[2, null]]);
    expect(after.position).toEqual({ read: ['a.jsonl', 'b.jsonl'] });
  });

  it('waits while a file is still growing', async () => {
    const csv = source({ format: 'csv' });
    await csv.start(null);
    await writeFile(join(dirOf(), 'grow.csv'), '1,a\n');
    expect((await csv.poll(0n)).range).toEqual({ files: [] });
    await writeFile(join(dirOf(), 'grow.csv'), '1,a\n2,b\n');
    expect((await csv.poll(0n)).range).toEqual({ files: [] });
    const r = await csv.poll(0n);
    expect(r.range).toEqual({ files: ['grow.csv'] });
    expect(rows(r.batches)).toEqual([[1, 'a'], [2, 'b']]);
  });

  it('reads in name order, applies pattern, skips dot-files and subdirectories, reads a header per file', async () => {
    await writeFile(join(dirOf(), '2.csv'), 'name;id\nbea;20\n');
    await writeFile(join(dirOf(), '1.csv'), 'id;name\r\n10;al\r\n');
    await writeFile(join(dirOf(), 'notes.txt'), 'ignored');
    await writeFile(join(dirOf(), '.3.csv'), 'id;name\n30;hidden\n');
    await mkdir(join(dirOf(), 'sub.csv'));
    const s = source({ format: 'csv', 'csv.delimiter': ';', 'csv.header': 'true', pattern: '*.csv' });
    await s.start(null);
    const r = await s.poll(0n);
    expect(r.range).toEqual({ files: ['1.csv', '2.csv'] });
    expect(rows(r.batches)).toEqual([[10, 'al'], [20, 'bea']]);
  });

  it('fails at start when the directory is missing, telling the user to create it', async () => {
    const s = new FileSource({
      name: 'files',
      schema,
      options: { connector: 'file', path: join(dirOf(), 'nope') },
      dataDir: null,
      deadLetter: () => undefined,
      log: () => undefined,
    });
    await expect(s.start(null)).rejects.toThrow(/does not exist; create it \(mkdir -p .*nope\)/);
    await writeFile(join(dirOf(), 'plain'), '');
    const f = source({ path: join(dirOf(), 'plain') });
    await expect(f.start(null)).rejects.toThrow(/is a file, not a directory/);
  });

  it('keeps going, with a log line, when the directory disappears', async () => {
    const logs: string[] = [];
    const s = source({}, [], logs);
    await s.start(null);
    await rm(dirOf(), { recursive: true });
    expect((await s.poll(0n)).batches).toEqual([]);
    expect((await s.poll(0n)).batches).toEqual([]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/cannot list directory/);
  });
});
