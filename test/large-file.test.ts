/**
 * A 200 MB JSON-lines file (generated in a temp dir) is read completely, in many epochs of at
 * most max_bytes_per_epoch, with memory that does not grow with the file: the whole file is
 * never in memory (scripts/large-file.ts runs the same with 2 GB).
 */
import { describe, expect, it } from 'vitest';
import { readLargeFile } from './large-file.js';

describe('a file larger than an epoch', () => {
  it('is read completely in bounded epochs with bounded memory', async () => {
    const maxBytes = 16 << 20;
    const r = await readLargeFile(200 << 20, maxBytes);
    expect(r.counted).toBe(BigInt(r.lines));
    expect(r.sum).toBe(r.expectedSum);
    expect(r.epochs).toBeGreaterThanOrEqual(Math.floor(r.fileBytes / maxBytes));
    // An epoch holds at most max_bytes_per_epoch of lines (plus one line); lines vary in length
    // by a few bytes around the average.
    expect(r.maxRowsPerEpoch).toBeLessThanOrEqual(Math.ceil((1.1 * maxBytes) / r.bytesPerLine));
    // Far less than the file: a few epochs of columns and the recent epochs kept for SELECT.
    expect(r.peakRssGrowthMb).toBeLessThan(180);
  }, 300_000);
});
