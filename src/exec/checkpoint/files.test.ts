import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirEach } from '../../../test/helpers.js';
import { CorruptFileError, FramedLog, readBlobFile, writeBlobFile } from './files.js';

const dir = tempDirEach('sluice-files-');

describe('FramedLog', () => {
  it('reads back what was appended, across reopenings', () => {
    const path = join(dir(), 'log');
    const a = new FramedLog<{ n: number }>(path);
    a.append({ n: 1 });
    a.append({ n: 2 });
    a.close();
    const b = new FramedLog<{ n: number }>(path);
    expect(b.records).toEqual([{ n: 1 }, { n: 2 }]);
    b.append({ n: 3 });
    b.close();
    expect(new FramedLog<{ n: number }>(path).records).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('cuts a torn or corrupted tail, at every length of the last record', () => {
    const path = join(dir(), 'log');
    const a = new FramedLog<{ s: string }>(path);
    a.append({ s: 'first' });
    a.close();
    const good = readFileSync(path);
    const b = new FramedLog<{ s: string }>(path);
    b.append({ s: 'second record' });
    b.close();
    const full = readFileSync(path);
    for (let cut = good.length; cut < full.length; cut++) {
      writeFileSync(path, full.subarray(0, cut));
      const c = new FramedLog<{ s: string }>(path);
      expect(c.records).toEqual([{ s: 'first' }]);
      expect(c.truncated).toBe(cut - good.length);
      c.append({ s: 'after' });
      c.close();
      expect(new FramedLog<{ s: string }>(path).records).toEqual([{ s: 'first' }, { s: 'after' }]);
    }
    // A flipped byte inside the second record's payload fails its checksum.
    const flipped = Buffer.from(full);
    flipped[full.length - 2] = flipped[full.length - 2]! ^ 1;
    writeFileSync(path, flipped);
    expect(new FramedLog<{ s: string }>(path).records).toEqual([{ s: 'first' }]);
  });

  it('rewrite keeps only the given records', () => {
    const path = join(dir(), 'log');
    const a = new FramedLog<number>(path);
    for (let i = 0; i < 5; i++) a.append(i);
    a.rewrite([3, 4]);
    a.append(5);
    a.close();
    expect(new FramedLog<number>(path).records).toEqual([3, 4, 5]);
    appendFileSync(path, 'junk');
    expect(new FramedLog<number>(path).records).toEqual([3, 4, 5]);
  });
});

describe('blob files', () => {
  it('round-trip the header and blobs; any damaged byte is detected and named', () => {
    const path = join(dir(), 'state.bin');
    const blobs = [new Uint8Array([1, 2, 3]), new Uint8Array([]), new Uint8Array([9, 8])];
    writeBlobFile(path, blobs, (refs) => ({ refs }));
    const f = readBlobFile<{ refs: { offset: number; length: number }[] }>(path);
    expect(f.header.refs.map((r) => [...f.blob(r)])).toEqual([[1, 2, 3], [], [9, 8]]);
    const bytes = readFileSync(path);
    for (let i = 0; i < bytes.length; i++) {
      const bad = Buffer.from(bytes);
      bad[i] = bad[i]! ^ 0x10;
      writeFileSync(path, bad);
      expect(() => readBlobFile(path)).toThrow(CorruptFileError);
    }
    writeFileSync(path, bytes.subarray(0, bytes.length - 1));
    expect(() => readBlobFile(path)).toThrow(/state\.bin is damaged: checksum mismatch/);
    expect(() => readBlobFile(join(dir(), 'missing.bin'))).toThrow(/missing\.bin is damaged: it is missing/);
  });
});
