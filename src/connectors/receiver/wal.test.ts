import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ReceiverWal } from './wal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-wal-'));
  dirs.push(d);
  return d;
}

const opts = { syncIntervalMs: 5, segmentBytes: 1 << 20 };

function payloads(wal: ReceiverWal, from = wal.start): string[] {
  return wal.read(from).map((r) => r.payload.toString('utf8'));
}

describe('receiver write-ahead log', () => {
  it('reads back what was appended, across reopen, with offsets as positions', async () => {
    const dir = tempDir();
    const wal = new ReceiverWal(dir, opts);
    const ends = ['one', 'two', 'three'].map((s) => wal.append(Buffer.from(s)));
    await wal.durable(ends[2]!);
    expect(wal.durableEnd).toBe(ends[2]);
    expect(payloads(wal)).toEqual(['one', 'two', 'three']);
    expect(payloads(wal, ends[0])).toEqual(['two', 'three']);
    expect(wal.read(ends[0]!, ends[1]).map((r) => r.payload.toString())).toEqual(['two']);
    await wal.close();
    const again = new ReceiverWal(dir, opts);
    expect(again.end).toBe(ends[2]);
    expect(payloads(again)).toEqual(['one', 'two', 'three']);
    again.append(Buffer.from('four'));
    await again.flush();
    expect(payloads(again, ends[2])).toEqual(['four']);
    await again.close();
  });

  it('groups appends into one fsync within the sync interval and resolves every waiter', async () => {
    const wal = new ReceiverWal(tempDir(), { syncIntervalMs: 20, segmentBytes: 1 << 20 });
    const waits = Array.from({ length: 100 }, (_, i) => wal.durable(wal.append(Buffer.from(`m${i}`))));
    expect(wal.durableEnd).toBe(0);
    await Promise.all(waits);
    expect(wal.read(0)).toHaveLength(100);
    await wal.close();
  });

  it('rolls segments, writes a header record into each new one, and releases whole segments below an offset', async () => {
    const dir = tempDir();
    let headers = 0;
    const wal = new ReceiverWal(dir, { syncIntervalMs: 1, segmentBytes: 100, segmentHeader: () => Buffer.from(`H${++headers}`) });
    const ends: number[] = [];
    for (let i = 0; i < 40; i++) ends.push(wal.append(Buffer.from(`record-${String(i).padStart(3, '0')}`)));
    await wal.flush();
    const bases = wal.segmentBases();
    expect(bases.length).toBeGreaterThan(4);
    expect(readdirSync(dir).filter((f) => f.endsWith('.wal'))).toHaveLength(bases.length);
    const all = payloads(wal);
    expect(all.filter((p) => p.startsWith('record'))).toHaveLength(40);
    expect(all.filter((p) => p.startsWith('H'))).toHaveLength(bases.length - 1);
    // Every segment after the first begins with its header.
    for (const b of bases.slice(1)) expect(wal.read(b)[0]!.payload.toString()).toMatch(/^H\d+$/);
    const cut = ends[25]!;
    wal.release(cut);
    expect(wal.start).toBeLessThanOrEqual(cut);
    expect(wal.segmentBases()[0]).toBe(bases.filter((b) => b <= cut).at(-1));
    expect(payloads(wal, cut).filter((p) => p.startsWith('record'))).toHaveLength(14);
    expect(() => wal.read(0)).toThrow(/no longer holds offset 0/);
    await wal.close();
    const again = new ReceiverWal(dir, { syncIntervalMs: 1, segmentBytes: 100 });
    expect(again.start).toBe(wal.segmentBases()[0]);
    expect(again.end).toBe(ends[39]);
    await again.close();
  });

  it('recovers to its last whole record when torn at any byte', async () => {
    const dir = tempDir();
    const wal = new ReceiverWal(dir, opts);
    const ends: number[] = [];
    const texts = ['alpha', '', 'a longer record with some more bytes in it', 'z'.repeat(300), 'ω unicode ✓'];
    for (const t of texts) ends.push(wal.append(Buffer.from(t)));
    await wal.close();
    const seg = join(dir, readdirSync(dir)[0]!);
    const whole = readFileSync(seg);
    for (let cut = 0; cut <= whole.length; cut++) {
      writeFileSync(seg, whole.subarray(0, cut));
      const w = new ReceiverWal(dir, opts);
      const kept = ends.filter((e) => e <= cut).length;
      expect(w.end).toBe(kept ? ends[kept - 1] : 0);
      expect(w.truncated).toBe(cut - w.end);
      expect(payloads(w)).toEqual(texts.slice(0, kept));
      expect(statSync(seg).size).toBe(w.end);
      await w.close();
    }
  });

  it('property: random records torn at a random byte, or with a random byte flipped, reopen to a prefix and keep appending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 60 }), { minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.boolean(),
        async (texts, at, flip) => {
          const dir = tempDir();
          const wal = new ReceiverWal(dir, opts);
          const ends = texts.map((t) => wal.append(Buffer.from(t)));
          await wal.close();
          const seg = join(dir, readdirSync(dir)[0]!);
          const size = statSync(seg).size;
          const pos = at % (size + 1);
          if (flip && pos < size) {
            const b = readFileSync(seg);
            b[pos] = b[pos]! ^ 0x5a;
            writeFileSync(seg, b);
          } else {
            truncateSync(seg, pos);
          }
          const w = new ReceiverWal(dir, opts);
          // Torn or flipped at byte `pos`: the records wholly before pos survive, the rest is cut.
          const kept = ends.filter((e) => e <= pos).length;
          expect(w.end).toBe(kept ? ends[kept - 1] : 0);
          expect(payloads(w)).toEqual(texts.slice(0, kept));
          w.append(Buffer.from('after'));
          await w.close();
          const w2 = new ReceiverWal(dir, opts);
          expect(payloads(w2)).toEqual([...texts.slice(0, kept), 'after']);
          await w2.close();
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 60 },
    );
  });
});
