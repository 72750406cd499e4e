/**
 * The engine's CPU per poll of the web UI and per Prometheus scrape (`npx tsx bench/http-cost.ts`).
 * An engine with the W1 view (filter + project over datagen) runs 1000 epochs so the epoch ring
 * is full; then a client in another process polls as fast as it can, and this process's CPU
 * (user+sys, epochs stopped) divided by the polls is the cost of one poll. What a UI at the
 * default 1 s batch interval and a scraper every 15 s cost follows from it, as a share of one core.
 */
import { spawn } from 'node:child_process';
import { createEngine } from '../src/exec/runtime/engine.js';
import { startHttpServer } from '../src/server/http-server.js';

const POLLS = Number(process.env.SLUICE_BENCH_POLLS ?? 300);

async function cpuPer(port: number, paths: readonly string[]): Promise<number> {
  const client = `(async () => { for (let i = 0; i < ${POLLS}; i++) for (const p of ${JSON.stringify(paths)}) await (await fetch('http://127.0.0.1:${port}' + p)).text(); })();`;
  const cpu0 = process.cpuUsage();
  await new Promise((resolve, reject) => spawn(process.execPath, ['-e', client], { stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve(c) : reject(new Error(`client exited ${c}`)))));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / POLLS;
}

async function main(): Promise<void> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  await engine.execute(`CREATE SOURCE bids (id BIGINT, auction BIGINT, price BIGINT) WITH (connector = 'datagen', rows_per_second = 1000000000,
      max_batch_rows = 1000, fields.id.kind = 'sequence', fields.id.start = 0, fields.price.kind = 'sequence', fields.price.start = 0, fields.price.end = 999);
    CREATE MATERIALIZED VIEW v AS SELECT id, price * 2 AS double_price, auction FROM bids WHERE price % 10 < 3`);
  for (let i = 0; i < 1000; i++) await engine.flush();
  const http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, loopbackOnly: true });
  try {
    const ui = await cpuPer(http.port, ['/api/overview', '/api/epochs?limit=300']);
    const scrape = await cpuPer(http.port, ['/metrics']);
    const share = ui / 1000 + scrape / 15_000;
    const out = { uiPollCpuMs: ui, scrapeCpuMs: scrape, shareOfOneCoreAt1sUiAnd15sScrape: share };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await http.close();
    await engine.close();
  }
}

await main();
