/**
 * Reads one generated JSON-lines file of a given size through a file source and a count/sum
 * view, FLUSH (which takes it in bounded epochs), and reports what it took: epochs, the largest
 * epoch, peak RSS growth over the run (sampled every 20 ms). Used by test/large-file.test.ts
 * (200 MB) and scripts/large-file.ts (2 GB, run by hand: `npx tsx scripts/large-file.ts`).
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/exec/runtime/engine.js';

export interface LargeFileReport {
  readonly fileBytes: number;
  readonly lines: number;
  readonly counted: bigint;
  readonly sum: bigint;
  readonly expectedSum: bigint;
  readonly epochs: number;
  readonly maxRowsPerEpoch: number;
  readonly bytesPerLine: number;
  readonly baseRssMb: number;
  readonly peakRssGrowthMb: number;
  readonly seconds: number;
}

/** One line of the file: ~150 bytes of JSON whose `v` sums to a known total. */
function line(i: number): string {
  return `{"id":${i},"v":${i % 1000},"name":"item-${i % 9973}","url":"https://example.com/path/${i % 997}/page.html","at":"2026-01-02 03:04:05.${String(i % 1000).padStart(3, '0')}"}\n`;
}

async function writeFile(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  let i = 0;
  while (written < bytes) {
    let chunk = '';
    while (chunk.length < 1 << 20) chunk += line(i++);
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return i;
}

export async function readLargeFile(bytes: number, maxBytesPerEpoch: number): Promise<LargeFileReport> {
  const root = mkdtempSync(join(tmpdir(), 'sluice-large-file-'));
  try {
    const dir = join(root, 'in');
    mkdirSync(dir);
    const lines = await writeFile(join(dir, 'big.jsonl'), bytes);
    const fileBytes = statSync(join(dir, 'big.jsonl')).size;
    let expectedSum = 0n;
    for (let i = 0; i < lines; i++) expectedSum += BigInt(i % 1000);
    const engine = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [root] });
    try {
      await engine.execute('SET backpressure = false');
      await engine.execute(`CREATE SOURCE big (id BIGINT, v BIGINT, name VARCHAR, url VARCHAR, at TIMESTAMP)
        WITH (connector = 'file', path = '${dir}', format = 'json', max_bytes_per_epoch = '${maxBytesPerEpoch}')`);
      await engine.execute('CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n, sum(v) AS s FROM big');
      global.gc?.();
      const base = process.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const t0 = performance.now();
      await engine.execute('FLUSH');
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const [row] = await engine.viewRows('c');
      const perEpoch = engine.metrics().map((m) => m.rowsIn.big ?? 0).filter((n) => n > 0);
      return {
        fileBytes,
        lines,
        counted: row![0] as bigint,
        // sum(bigint) is NUMERIC, as in PostgreSQL: its exact text.
        sum: BigInt(row![1] as string),
        expectedSum,
        epochs: perEpoch.length,
        maxRowsPerEpoch: Math.max(...perEpoch),
        bytesPerLine: fileBytes / lines,
        baseRssMb: Math.round(base / 2 ** 20),
        peakRssGrowthMb: Math.round((peak - base) / 2 ** 20),
        seconds,
      };
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
