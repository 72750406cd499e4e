/** The REPL driven through streams: statements, \d, errors with a caret, timing, history, completion, SUBSCRIBE, --url. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Interface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { complete, runRepl } from '../src/cli/repl.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../src/server/pg-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function session(url?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-repl-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d) => (text += String(d)));
  let rl: Interface | null = null;
  const historyFile = join(dir, 'history');
  const done = runRepl({ url, input, output, terminal: false, historyFile, onInterface: (i) => (rl = i) });
  const waitFor = async (pred: (t: string) => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!pred(text) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    if (!pred(text)) throw new Error(`timed out; output so far:\n${text}`);
  };
  return { input, text: () => text, done, waitFor, historyFile, rl: () => rl! };
}

describe('sluice repl', () => {
  it('runs multi-line statements, \\d, \\timing, and shows errors with a caret', async () => {
    const s = session();
    s.input.write("CREATE TABLE t (k VARCHAR, v INT);\nINSERT INTO t VALUES ('a', 1),\n  ('b', 2);\n");
    s.input.write('CREATE MATERIALIZED VIEW m AS SELECT k, sum(v) AS total\n  FROM t GROUP BY k;\nFLUSH;\nSELECT * FROM m ORDER BY k;\n');
    await s.waitFor((t) => t.includes('(2 rows)'));
    expect(s.text()).toContain('sluice-> ');
    expect(s.text()).toMatch(/ a \|\s+1\n b \|\s+2/);
    s.input.write('\\d\n\\d m\n\\timing\nSELECT k FROM m WHERE k = \'a\';\nSELECT nope FROM m;\n\\q\n');
    await s.done;
    const t = s.text();
    expect(t).toMatch(/ m\s+\| materialized view/);
    expect(t).toMatch(/ total \| bigint/);
    expect(t).toMatch(/Time: \d+\.\d{3} ms/);
    expect(t).toContain('ERROR:  column "nope" does not exist\nLINE 1: SELECT nope FROM m\n               ^');
  });

  it('keeps history across runs', async () => {
    const a = session();
    a.input.write('SELECT 1 AS one;\n\\q\n');
    await a.done;
    expect(readFileSync(a.historyFile, 'utf8')).toContain('SELECT 1 AS one;');
    // A second run reads the same file back (readline's history, newest first).
    writeFileSync(a.historyFile, 'SELECT 2;\n', { flag: 'a' });
    const input = new PassThrough();
    const output = new PassThrough();
    let rl: Interface | null = null;
    const done = runRepl({ input, output, terminal: false, historyFile: a.historyFile, onInterface: (i) => (rl = i) });
    await new Promise((r) => setTimeout(r, 50));
    expect((rl as unknown as { history: string[] }).history.slice(0, 3)).toEqual(['SELECT 2;', '\\q', 'SELECT 1 AS one;']);
    input.write('\\q\n');
    await done;
  });

  it('completes keywords and object names in the user\'s case', () => {
    expect(complete('SELECT * FROM word', ['word_counts', 'words'])).toEqual([['word_counts', 'words'], 'word']);
    expect(complete('sel', [])[0]).toContain('select');
    expect(complete('SUB', [])[0]).toContain('SUBSCRIBE');
    expect(complete('create materialized view x as select * from tu', [])[0]).toContain('tumble');
  });

  it('streams SUBSCRIBE changes as lines until Ctrl-C', async () => {
    const s = session();
    s.input.write("CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM t;\nSUBSCRIBE c;\n");
    await s.waitFor((t) => t.includes('epoch\tweight\tn'));
    expect(s.text()).toMatch(/\n\d+\t1\t0\n/);
    s.rl().emit('SIGINT');
    await s.waitFor((t) => t.includes('subscription stopped'));
    s.input.write('\\q\n');
    await s.done;
  });

  it('redraws a live SUBSCRIBE table in place on a terminal', async () => {
    const engine: Engine = await createEngine({ autoStart: false, log: () => undefined });
    const server: PgServer = await startPgServer(engine, { port: 0, log: () => undefined });
    cleanups.push(async () => {
      await server.close();
      await engine.close();
    });
    await engine.execute('CREATE TABLE t (k VARCHAR); CREATE MATERIALIZED VIEW c AS SELECT k, count(*) AS n FROM t GROUP BY k;');
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.on('data', (d) => (text += String(d)));
    let rl: Interface | null = null;
    const dir = mkdtempSync(join(tmpdir(), 'sluice-repl-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const done = runRepl({ url: `postgres://repl@127.0.0.1:${server.port}/sluice`, input, output, terminal: true, historyFile: join(dir, 'h'), onInterface: (i) => (rl = i) });
    input.write('SUBSCRIBE c;\r');
    await new Promise((r) => setTimeout(r, 200));
    await engine.execute("INSERT INTO t VALUES ('a'), ('b'); FLUSH;");
    await new Promise((r) => setTimeout(r, 300));
    await engine.execute("INSERT INTO t VALUES ('a'); FLUSH;");
    const end = Date.now() + 5000;
    while (!/ a \|\s+2/.test(text) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(text).toMatch(/ a \|\s+2/);
    // The table was redrawn in place: cursor-up and clear-to-end escapes before the new one.
    expect(text).toMatch(/\x1b\[\d+A\x1b\[0J/);
    expect(text).toContain('Ctrl-C to stop');
    rl!.emit('SIGINT');
    const stopEnd = Date.now() + 5000;
    while (!text.includes('subscription stopped') && Date.now() < stopEnd) await new Promise((r) => setTimeout(r, 20));
    expect(text).toContain('subscription stopped');
    input.write('\\q\r');
    await done;
  });

  it('talks to a server with --url', async () => {
    const engine: Engine = await createEngine({ autoStart: false, log: () => undefined });
    const server: PgServer = await startPgServer(engine, { port: 0, log: () => undefined });
    cleanups.push(async () => {
      await server.close();
      await engine.close();
    });
    const s = session(`postgres://repl@127.0.0.1:${server.port}/sluice`);
    s.input.write("CREATE TABLE t (k VARCHAR, v INT);\nINSERT INTO t VALUES ('x', 5);\nCREATE MATERIALIZED VIEW m AS SELECT k, sum(v) AS total FROM t GROUP BY k;\nFLUSH;\nSELECT * FROM m;\nSELECT nope FROM m;\n\\d\n\\q\n");
    await s.done;
    const t = s.text();
    expect(t).toContain('connected to postgres://');
    expect(t).toMatch(/ x \|\s+5/);
    expect(t).toContain('ERROR:  column "nope" does not exist');
    expect(t).toMatch(/ m\s+\| materialized view/);
  });
});
