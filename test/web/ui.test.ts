/**
 * The web UI in a real headless Chromium (Debian's `chromium`, driven by playwright-core): an
 * engine runs epochs on its timer over a datagen source, and the page must show charts with
 * data, the epochs table with each epoch's input ranges, a view's plan graph with its operators,
 * and keep updating as epochs run. A failing test leaves a screenshot (its path is in the
 * failure message). `SLUICE_UI_SCREENSHOTS=1` also writes the README's screenshots to docs/.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startHttpServer, type HttpServer } from '../../src/server/http-server.js';

const CHROMIUM = '/usr/bin/chromium';
const docs = join(import.meta.dirname, '..', '..', 'docs');
const shots = mkdtempSync(join(tmpdir(), 'sluice-ui-shots-'));

let engine: Engine;
let http: HttpServer;
let browser: Browser;
let page: Page;
let dataDir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-ui-'));
  engine = await createEngine({ dataDir, batchIntervalMs: 250, log: () => undefined });
  await engine.execute(`
    CREATE SOURCE bids (auction BIGINT, price INT, bidder VARCHAR) WITH (connector = 'datagen', rows_per_second = 4000,
      fields.auction.kind = 'random', fields.auction.start = 1, fields.auction.end = 20,
      fields.price.kind = 'random', fields.price.start = 1, fields.price.end = 500, fields.bidder.length = 6);
    CREATE MATERIALIZED VIEW top_auctions AS
      SELECT auction, count(*) AS bids, max(price) AS best FROM bids WHERE price > 100 GROUP BY auction;`);
  http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, loopbackOnly: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page) {
    const file = join(shots, `${ctx.task.name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    ctx.task.result.errors?.push({ message: `screenshot: ${file}` } as never);
  }
});

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await engine?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${http.port}`;
const shownEpoch = async () => Number(await page.locator('#epoch').textContent());

describe('web UI in headless Chromium', () => {
  it('renders the overview charts with data and the epochs table with input ranges', async () => {
    await page.goto(`${base()}/`);
    // Wait until the charts have a few epochs.
    await page.waitForFunction(() => Number(document.querySelector('#chart-processing svg')?.getAttribute('data-points') ?? 0) >= 4, null, { timeout: 20_000 });
    for (const id of ['input-rate', 'processing', 'delay', 'rows-out']) {
      const chart = page.locator(`#chart-${id} svg`);
      await expect(chart.locator('path.series').count()).resolves.toBeGreaterThan(0);
      // The path has as many points as the chart says, and its text names the figures.
      expect(await chart.getAttribute('role')).toBe('img');
      expect(await chart.locator('desc').textContent()).toMatch(/over \d+ epochs\./);
    }
    expect(await page.locator('#chart-input-rate svg path.series').getAttribute('data-series')).toBe('bids');
    expect(await page.locator('#chart-input-rate desc').textContent()).toMatch(/bids: [\d.]+ ?K? rows\/s at epoch \d+/);
    // The batch interval is drawn as a line with its label.
    expect(await page.locator('#chart-processing .ref-label').textContent()).toBe('batch interval 250 ms');
    expect(await page.locator('#badge').textContent()).toMatch(/^(stable|unstable)$/);

    const rows = page.locator('#epochs tbody tr');
    expect(await rows.count()).toBeGreaterThan(2);
    const first = rows.first();
    expect(Number(await first.getAttribute('data-epoch'))).toBeGreaterThan(1);
    // datagen's range is a row range: [from, to).
    expect(await first.locator('td.ranges').textContent()).toMatch(/^bids: rows \[\d+, \d+\)$/);
    if (process.env.SLUICE_UI_SCREENSHOTS) await page.screenshot({ path: join(docs, 'ui-overview.png'), fullPage: true });
  });

  it('updates as epochs run', async () => {
    const before = await shownEpoch();
    const newest = Number(await page.locator('#epochs tbody tr').first().getAttribute('data-epoch'));
    await page.waitForFunction((n) => Number(document.getElementById('epoch')?.textContent) >= n + 3, before, { timeout: 20_000 });
    await page.waitForFunction((n) => Number(document.querySelector('#epochs tbody tr')?.getAttribute('data-epoch')) > n, newest, { timeout: 20_000 });
    expect(await shownEpoch()).toBeGreaterThan(before);
  });

  it('opens an epoch\'s details from the epochs table', async () => {
    await page.goto(`${base()}/#/epochs`);
    await page.locator('#epochs tbody tr').nth(1).waitFor();
    const n = await page.locator('#epochs tbody tr').nth(1).getAttribute('data-epoch');
    // The table redraws as epochs run: find the row by its epoch, not its place.
    await page.locator(`#epochs tbody tr[data-epoch="${n}"] td`).nth(1).click();
    await page.waitForURL(`**/#/epochs/${n}`);
    await page.locator('#epoch-details').waitFor();
    expect(await page.locator('h1').textContent()).toBe(`Epoch ${n}`);
    expect(await page.locator('main').textContent()).toMatch(/bids: rows \[\d+, \d+\)/);
  });

  it('shows a view\'s plan as a graph of its operators with their figures, its SQL and sample rows', async () => {
    await page.goto(`${base()}/#/views/top_auctions`);
    const ops = page.locator('svg.plan g[role="listitem"]');
    await ops.first().waitFor({ timeout: 10_000 });
    const names = await ops.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-operator')));
    expect(names).toEqual(expect.arrayContaining(['ScanExec', 'FilterExec', 'HashAggExec']));
    // Each box carries its figures as text; the aggregate shows its state.
    const agg = page.locator('svg.plan g[data-operator="HashAggExec"]');
    expect(await agg.getAttribute('aria-label')).toMatch(/HashAggExec top_auctions\/[\d.]+: [\d.]+ K? ?rows in, [\d.]+ K? ?rows out in the last epoch .*; state \d+ rows, [\d.]+ K? ?B/);
    expect(await agg.locator('text').allTextContents()).toContain('HashAggExec');
    // Edges connect the boxes: one fewer than operators.
    expect(await page.locator('svg.plan line.edge').count()).toBe(names.length - 1);
    expect(await page.locator('pre.sql').textContent()).toContain('GROUP BY auction');
    expect(await page.locator('#view-facts').textContent()).toMatch(/^\d+ rows · state/);
    await page.waitForFunction(() => document.querySelectorAll('main table:last-of-type tbody tr td:not(.empty)').length > 0, null, { timeout: 10_000 });
    if (process.env.SLUICE_UI_SCREENSHOTS) await page.screenshot({ path: join(docs, 'ui-view.png'), fullPage: true });
  });

  it('shows sources, memory, the shard worker threads and the checkpoints of the data dir', async () => {
    // Its instances run in shard worker threads (the default).
    await engine.execute('CREATE MATERIALIZED VIEW by_bidder WITH (parallelism = 2) AS SELECT bidder, count(*) AS n FROM bids GROUP BY bidder');
    await page.goto(`${base()}/#/sources`);
    await page.locator('#sources tbody tr').first().waitFor();
    expect(await page.locator('#sources tbody tr').first().textContent()).toContain('datagen');
    await page.goto(`${base()}/#/system`);
    await page.locator('#memory').waitFor();
    expect(await page.locator('#memory').textContent()).toMatch(/resident set \(RSS\)[\d.]+ M B/);
    expect(await page.locator('#memory').textContent()).toContain('state of view top_auctions');
    await page.waitForFunction(() => document.querySelectorAll('#checkpoints tbody tr td:not(.empty)').length > 0, null, { timeout: 10_000 });
    // The parallel view's two instances, one in each of the first two workers.
    await page.waitForFunction(() => [...document.querySelectorAll('#workers tbody tr')].filter((r) => /running/.test(r.textContent ?? '') && /by_bidder/.test(r.textContent ?? '')).length >= 2, null, { timeout: 20_000 });
    await engine.execute('DROP MATERIALIZED VIEW by_bidder');
  });

  it('shows a running backfill with its progress bar, and its end', async () => {
    await engine.execute('CREATE TABLE wide (k int, x bigint)');
    await engine.execute('INSERT INTO wide SELECT (i % 5000)::int, i FROM generate_series(1, 1000000) g(i)');
    await page.goto(`${base()}/`);
    await page.locator('#main h1').waitFor();
    const creating = engine.execute('CREATE MATERIALIZED VIEW wide_keys AS SELECT k, count(*) AS n, sum(x) AS s FROM wide GROUP BY k');
    // The banner polls /api/progress every second, which answers while the backfill holds the lock.
    const seen = await page.waitForFunction(() => {
      const li = document.querySelector('#work li.running[data-name="wide_keys"]');
      return li ? { text: li.textContent, max: li.querySelector('progress')?.getAttribute('max') } : null;
    }, null, { timeout: 20_000, polling: 100 });
    const running = (await seen.jsonValue())!;
    expect(running.text).toMatch(/^Backfill of view wide_keys\s+[\d.]+ [KM]? ?of 1\.00 M rows \(\d+ %\)/);
    expect(running.max).toBe('1000000');
    await creating;
    await page.locator('#work li.done[data-name="wide_keys"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#work li.done[data-name="wide_keys"]').textContent()).toMatch(/1\.00 M of 1\.00 M rows \(100 %\) · done in [\d.]+ s/);
  });
});
