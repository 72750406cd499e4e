/**
 * A file source with a backlog of thousands of small files (what a restarted server finds after
 * a producer went on writing): each poll used to stat every unread file, and the rate controller
 * took that listing for the cost of the rows read, so it throttled the source to about one file
 * per epoch. The backlog must go in a bounded number of epochs, counted, not timed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../src/exec/runtime/engine.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const FILES = 2000;
const ROWS = 50;

describe('file source backlog', () => {
  it(`drains ${FILES} small files in a bounded number of epochs with backpressure on`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-backlog-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const e = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [tmpdir()] });
    cleanups.push(() => e.close());
    // A short interval, so the listing of the whole backlog outweighs it as at 100 ms in the crash test with more files.
    await e.execute(`SET batch_interval = '50ms'`);
    await e.execute(`CREATE SOURCE ev (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${dir}', format = 'json');
      CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n, sum(id) AS s FROM ev`);
    // Caught up on an empty directory, then the backlog arrives.
    await e.execute('FLUSH');
    let id = 0;
    for (let f = 0; f < FILES; f++) {
      let text = '';
      for (let r = 0; r < ROWS; r++, id++) text += `{"id":${id},"k":"k${id % 7}"}\n`;
      writeFileSync(join(dir, `f-${String(f).padStart(6, '0')}.json`), text);
    }
    const total = FILES * ROWS;
    const count = async () => Number((await e.viewRows('n'))[0]?.[0] ?? 0);
    const epochsBefore = e.metrics().length;
    let flushes = 0;
    // FLUSH ends an epoch the rate limit cut short, so this loops once per limited epoch.
    while ((await count()) < total && flushes < 500) {
      await e.execute('FLUSH');
      flushes++;
    }
    const epochs = e.metrics().slice(epochsBefore).filter((m) => (m.rowsIn.ev ?? 0) > 0).length;
    expect(await count()).toBe(total);
    expect((await e.viewRows('n'))[0]?.[1]).toBe(String((total * (total - 1)) / 2));
    // About 30 epochs on the 2-core test machine (a few thousand rows each); throttled to a file
    // per epoch it took one per file (940 epochs before the fix).
    expect(epochs).toBeLessThanOrEqual(400);
  }, 120_000);
});
