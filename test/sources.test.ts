/** Sources through the whole engine: dead letters, new files, the socket word count. */
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { canonicalRows } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function engine(): Promise<Engine> {
  const e = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [tmpdir()] });
  cleanups.push(() => e.close());
  return e;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-src-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function rows(e: Engine, sql: string): Promise<string[]> {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error('no rows');
  return canonicalRows(r.rows);
}

describe('sources in the engine', () => {
  it('sends malformed JSON lines and CSV rows to <source>_errors and goes on', async () => {
    const dir = tempDir();
    const csvDir = tempDir();
    writeFileSync(join(dir, 'a.jsonl'), '{"user":"ann","amount":5}\n{"user":"bob","amount":\n{"user":"cyd","amount":"lots"}\n{"user":"ann","amount":7}\n');
    writeFileSync(join(csvDir, 'a.csv'), 'ann,1\nbob,x\ncyd\nann,2\n');
    const e = await engine();
    await e.execute(`
      CREATE SOURCE pay (user VARCHAR, amount INT) WITH (connector = 'file', path = '${dir}', format = 'json');
      CREATE SOURCE paycsv (user VARCHAR, amount INT) WITH (connector = 'file', path = '${csvDir}', format = 'csv');
      CREATE MATERIALIZED VIEW totals AS SELECT user, sum(amount) AS total, count(*) AS n FROM pay GROUP BY user;
      CREATE MATERIALIZED VIEW totals_csv AS SELECT user, sum(amount) AS total FROM paycsv GROUP BY user;
      FLUSH;`);
    expect(await rows(e, 'SELECT * FROM totals')).toEqual(['"ann" | 12 | 2']);
    expect(await rows(e, 'SELECT * FROM totals_csv')).toEqual(['"ann" | 3']);
    const [errs] = await e.execute('SELECT position, raw, error FROM pay_errors ORDER BY position');
    expect(errs!.kind === 'rows' && errs!.rows.map((r) => r[0])).toEqual(['a.jsonl:2', 'a.jsonl:3']);
    expect(errs!.kind === 'rows' && String(errs!.rows[1]![1])).toContain('lots');
    const [csvErrs] = await e.execute('SELECT position FROM paycsv_errors ORDER BY position');
    expect(csvErrs!.kind === 'rows' && csvErrs!.rows.map((r) => r[0])).toEqual(['a.csv:2', 'a.csv:3']);
    expect(e.stats().sources.pay).toMatchObject({ rows: 2, deadLetters: 2 });
    expect(e.metrics().at(-1)!.deadLetters).toBe(4);
    // The stream goes on: a new file is picked up, the bad ones are not read again.
    writeFileSync(join(dir, '.b.tmp'), '{"user":"bob","amount":1}\n');
    renameSync(join(dir, '.b.tmp'), join(dir, 'b.jsonl'));
    await e.execute('FLUSH');
    await e.execute('FLUSH');
    expect(await rows(e, 'SELECT * FROM totals')).toEqual(['"ann" | 12 | 2', '"bob" | 1 | 1']);
    expect(e.metrics().flatMap((m) => ((m.ranges.pay as { files?: string[] } | undefined)?.files ?? []))).toEqual(['a.jsonl', 'b.jsonl']);
  });

  it('counts words from a socket (NetworkWordCount) and retains recent epochs for SELECT', async () => {
    const clients: Socket[] = [];
    const server = createServer((s) => clients.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      for (const c of clients) c.destroy();
      server.close(() => r());
    }));
    const port = (server.address() as { port: number }).port;
    const e = await engine();
    await e.execute(`CREATE SOURCE lines (word VARCHAR) WITH (connector = 'socket', host = '127.0.0.1', port = ${port});
      CREATE MATERIALIZED VIEW wc AS SELECT word, count(*) AS n FROM lines GROUP BY word;`);
    const deadline = Date.now() + 10_000;
    while (clients.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    clients[0]!.write('to\nbe\nor\nnot\nto\nbe\n');
    let got: string[] = [];
    while (Date.now() < deadline) {
      await e.execute('FLUSH');
      got = await rows(e, 'SELECT * FROM wc');
      if (got.length === 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(got).toEqual(['"be" | 2', '"not" | 1', '"or" | 1', '"to" | 2']);
    expect(await rows(e, 'SELECT count(*) FROM lines')).toEqual(['6']);
  });

  it('generates rows with datagen at a rate and caps a batch', async () => {
    const e = await engine();
    await e.execute(`CREATE SOURCE g (id BIGINT, v INT) WITH (connector = 'datagen', rows_per_second = 1000000000,
        max_rows = 2500, max_batch_rows = 1000, fields.id.kind = 'sequence', fields.id.start = 1);
      CREATE MATERIALIZED VIEW s AS SELECT count(*) AS n, sum(id) AS total FROM g;`);
    for (let i = 0; i < 4; i++) await e.execute('FLUSH');
    expect(await rows(e, 'SELECT * FROM s')).toEqual(['2500 | 3126250']);
    expect(e.metrics().map((m) => m.rowsIn.g ?? 0).filter((n) => n > 0)).toEqual([1000, 1000, 500]);
  });

  it('refuses unknown connectors and options with a clear error', async () => {
    const e = await engine();
    await expect(e.execute("CREATE SOURCE x (a INT) WITH (connector = 'nope')")).rejects.toThrow(/connector/);
    await expect(e.execute("CREATE SOURCE x (a INT) WITH (connector = 'datagen', rows_per_sec = 5)")).rejects.toMatchObject({ sqlstate: '22023' });
    await expect(e.execute("CREATE SOURCE x (a INT)")).rejects.toMatchObject({ sqlstate: '22023' });
  });
});
