import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchRows, type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import type { DeadLetter, SourceContext } from '../api.js';
import { FileSource, type FilePosition, type FileRange } from './source.js';
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

describe('file source: bounded epochs and chunks', () => {
  /** Polls until the source has nothing left, restarting it from its position after every `restartEvery` polls. */
  async function drain(options: Record<string, string>, restartEvery = Infinity, dead: DeadLetter[] = []) {
    let s = source(options, dead);
    await s.start(null);
    const reads: { range: FileRange; rows: unknown[][] }[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = await s.poll(0n);
      if ((r.range as FileRange).files.length === 0) break;
      reads.push({ range: r.range as FileRange, rows: rows(r.batches) });
      if ((i + 1) % restartEvery === 0) {
        const position = JSON.parse(JSON.stringify(r.position)) as FilePosition;
        await s.stop();
        s = source(options, dead);
        await s.start(position);
      }
    }
    return { s, reads };
  }

  const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i, name: 'n'.repeat(i % 37) }));

  it('takes at most max_bytes_per_epoch of lines per epoch, resumes inside a file from its position, and re-reads each range exactly', async () => {
    await writeFile(join(dirOf(), 'a.jsonl'), lines.slice(0, 150).join('\n') + '\n');
    await writeFile(join(dirOf(), 'b.jsonl'), lines.slice(150).join('\n'));
    const { s, reads } = await drain({ max_bytes_per_epoch: '700' }, 3);
    expect(reads.length).toBeGreaterThan(10);
    for (const r of reads) {
      const bytes = Object.values(r.range.parts ?? {}).reduce((a, p) => a + p.to - p.from, 0);
      // The budget, or over it by less than one line (a line is never split).
      expect(bytes).toBeLessThan(700 + Math.max(...lines.map((l) => l.length + 1)));
    }
    expect(reads.flatMap((r) => r.rows)).toEqual(lines.map((_, i) => [i, 'n'.repeat(i % 37) || null].map((v, k) => (k === 1 && i % 37 === 0 ? '' : v))));
    // Recovery: each logged range gives the same rows again.
    for (const r of reads) expect(rows(await s.reread(JSON.parse(JSON.stringify(r.range)) as FileRange))).toEqual(r.rows);
  });

  it('grows a read until a line fits, and numbers lines across chunks', async () => {
    const text = ['{"id": 1}', '{"id": "x"}', '', '{"id": 3, "name": "' + 'y'.repeat(300) + '"}', 'oops', '{"id": 5}'].join('\r\n');
    await writeFile(join(dirOf(), 'a.jsonl'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    const dead: DeadLetter[] = [];
    const { reads } = await drain({ max_bytes_per_epoch: '5' }, 2, dead);
    expect(reads.flatMap((r) => r.rows)).toEqual([[1, null], [3, 'y'.repeat(300)], [5, null]]);
    expect(dead.map((d) => [d.position, d.raw])).toEqual([['a.jsonl:2', '{"id": "x"}'], ['a.jsonl:5', 'oops']]);
  });

  it('takes at most max_files_per_epoch files per epoch', async () => {
    for (let i = 0; i < 5; i++) await writeFile(join(dirOf(), `${i}.jsonl`), `{"id": ${i}}\n`);
    const { reads } = await drain({ max_files_per_epoch: '2' });
    expect(reads.map((r) => r.range)).toEqual([{ files: ['0.jsonl', '1.jsonl'] }, { files: ['2.jsonl', '3.jsonl'] }, { files: ['4.jsonl'] }]);
  });

  it('says when it left ready input for later, but not when the engine limited the rows', async () => {
    for (let i = 0; i < 3; i++) await writeFile(join(dirOf(), `${i}.jsonl`), `{"id": ${i}}\n{"id": ${i}}\n`);
    const s = source({ max_files_per_epoch: '1' });
    await s.start(null);
    expect((await s.poll(0n)).more).toBe(true);
    expect((await s.poll(0n, 1)).more).toBe(false);
    const last = await s.poll(0n);
    expect(last.more).toBe(false);
    expect(rows(last.batches)).toEqual([[2, null], [2, null]]);
  });

  it('stats only a window of the unread files in name order, and says there is more past it', async () => {
    for (let i = 0; i < 7; i++) await writeFile(join(dirOf(), `${i}.jsonl`), `{"id": ${i}}\n`);
    const s = source({ max_files_per_epoch: '1' });
    await s.start(null);
    const got: { files: readonly string[]; more: boolean | undefined }[] = [];
    for (let k = 0; k < 10; k++) {
      const r = await s.poll(0n);
      expect(r.listingMs).toBeGreaterThanOrEqual(0);
      got.push({ files: (r.range as FileRange).files, more: r.more });
    }
    // A window of two files (this epoch's and the next one's), each seen by two listings before it is read.
    expect(got.slice(0, 8)).toEqual([...Array.from({ length: 6 }, (_, i) => ({ files: [`${i}.jsonl`], more: true })), { files: ['6.jsonl'], more: false }, { files: [], more: false }]);
    // A file that sorts before the window is seen on the next poll and read on the one after.
    await writeFile(join(dirOf(), '00.jsonl'), '{"id": 100}\n');
    const seen = await s.poll(0n);
    expect([(seen.range as FileRange).files, seen.more]).toEqual([[], false]);
    const read = await s.poll(0n);
    expect(rows(read.batches)).toEqual([[100, null]]);
  });

  it('reads a CSV header again when it resumes inside a file', async () => {
    await writeFile(join(dirOf(), 'a.csv'), 'name,id\n' + Array.from({ length: 30 }, (_, i) => `n${i},${i}`).join('\n') + '\n');
    const { reads } = await drain({ format: 'csv', 'csv.header': 'true', max_bytes_per_epoch: '40' }, 1);
    expect(reads.flatMap((r) => r.rows)).toEqual(Array.from({ length: 30 }, (_, i) => [i, `n${i}`]));
  });

  it('copies text lines as bytes when they are UTF-8, and replaces invalid bytes as a string decode does', async () => {
    const textSchema = [{ name: 'line', type: 'varchar' as const }];
    const bad = Buffer.from([0x61, 0xff, 0x62]);
    await writeFile(join(dirOf(), 'a.txt'), Buffer.concat([Buffer.from('héllo\r\n\nwörld\n'), bad, Buffer.from('\nlast')]));
    const s = new FileSource({ name: 't', schema: textSchema, options: { connector: 'file', path: dirOf(), format: 'text' }, dataDir: null, deadLetter: () => undefined, log: () => undefined });
    await s.start(null);
    const got = rows((await s.poll(0n)).batches).map((r) => r[0] as string);
    expect(got).toEqual(['héllo', '', 'wörld', 'a\ufffdb', 'last']);
    expect(got.every((x) => isUtf8(Buffer.from(x)))).toBe(true);
  });

  it('turns a file it cannot read into a dead letter with the reason, once, and goes on', async () => {
    // A directory where the position says a file is being read: open works, read fails (EISDIR).
    await mkdir(join(dirOf(), 'd.jsonl'));
    await writeFile(join(dirOf(), 'e.jsonl'), '{"id": 7}\n');
    const dead: DeadLetter[] = [];
    const s = source({}, dead);
    await s.start({ read: [], current: { file: 'd.jsonl', offset: 0, line: 0 } });
    const r = await s.poll(0n);
    expect(rows(r.batches)).toEqual([[7, null]]);
    expect(r.range).toEqual({ files: ['e.jsonl'] });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.position).toBe('d.jsonl');
    expect(dead[0]!.error).toMatch(/^cannot read file .*d\.jsonl: EISDIR/);
    expect(r.position).toEqual({ read: ['d.jsonl', 'e.jsonl'] });
    expect((await s.poll(0n)).range).toEqual({ files: [] });
    expect(dead).toHaveLength(1);
  });
});
