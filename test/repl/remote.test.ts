/** `sluice repl --url`: the same session against a pg-wire server, SUBSCRIBE stopped by a CancelRequest. */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/cli/repl/remote-backend.js';
import { runRepl } from '../../src/cli/repl/repl.js';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { removeTempDirs, startRepl } from './repl-driver.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  removeTempDirs();
});

async function server(): Promise<{ engine: Engine; url: string; srv: PgServer }> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  const srv = await startPgServer(engine, { port: 0, log: () => undefined });
  cleanups.push(async () => {
    await srv.close();
    await engine.close();
  });
  return { engine, srv, url: `postgres://repl@127.0.0.1:${srv.port}/sluice` };
}

describe('sluice repl --url', () => {
  it('creates a table and a view, inserts, flushes and selects over the wire', async () => {
    const { url } = await server();
    const r = startRepl({ url });
    r.send("CREATE TABLE t (k VARCHAR, v INT, ok BOOLEAN, seen TIMESTAMP);\nINSERT INTO t VALUES ('x', 5, true, '2024-01-02 03:04:05'), ('y', 12345, false, NULL);\n");
    r.send('CREATE MATERIALIZED VIEW m AS\n  SELECT k, v AS total, ok, seen FROM t;\nFLUSH;\nSELECT * FROM m ORDER BY k;\n');
    await r.waitFor('(2 rows)');
    const t = r.text();
    expect(t).toContain(`connected to ${url}`);
    // Full command tags (node-postgres keeps only the first word), and the same table as in process.
    expect(t).toContain('CREATE TABLE\n');
    expect(t).toContain('INSERT 0 2\n');
    expect(t).toContain('CREATE MATERIALIZED VIEW\n');
    expect(t).toContain('FLUSH\n');
    expect(t).toContain(' k | total | ok |        seen\n---+-------+----+---------------------\n x |     5 | t  | 2024-01-02 03:04:05\n y | 12345 | f  |\n(2 rows)\n');
    r.send('SELECT nope\n  FROM m;\n\\d\n\\d m\n\\timing\nSELECT 1 AS one;\n\\q\n');
    await r.done;
    const u = r.text();
    expect(u).toContain('ERROR:  column "nope" does not exist\nLINE 1: SELECT nope\n               ^\n');
    expect(u).toMatch(/ t\s+\| table\n m\s+\| materialized view\n/);
    expect(u).toMatch(/Materialized view "m"[^]* total \| integer\n ok    \| boolean\n/);
    expect(u).toMatch(/Time: \d+\.\d{3} ms/);
  });

  it('completes names from the server, refreshed after DDL', async () => {
    const { url, engine } = await server();
    await engine.execute('CREATE TABLE before_start (v INT);');
    const r = startRepl({ url, terminal: true });
    await r.waitFor('sluice=> ');
    r.send('CREATE TABLE after_start (v INT);\r');
    // The next prompt comes after the names were read again (a Tab before it completes from the old list).
    await r.waitFor(/CREATE TABLE\n[^]*sluice=> /);
    r.send('SELECT * FROM before');
    // One Tab completes a unique match; two list the choices (readline, as bash).
    await new Promise((res) => setTimeout(res, 50));
    r.send('\t');
    await r.waitFor('SELECT * FROM before_start');
    r.send(' JOIN ');
    await new Promise((res) => setTimeout(res, 50));
    r.send('\t');
    await new Promise((res) => setTimeout(res, 50));
    r.send('\t');
    await r.waitFor(/before_start\s+after_start\s+tumble\s+hop\s+session/);
    r.send('\x15\\q\r');
    await r.done;
  });

  it('streams SUBSCRIBE as lines and stops it with a CancelRequest; the connection stays usable', async () => {
    const { url, engine } = await server();
    await engine.execute("CREATE TABLE t (k VARCHAR); CREATE MATERIALIZED VIEW c AS SELECT k, count(*) AS n FROM t GROUP BY k; INSERT INTO t VALUES ('a'); FLUSH;");
    const r = startRepl({ url });
    r.send('SUBSCRIBE c;\n');
    await r.waitFor(/epoch\tweight\tk\tn\n\d+\t1\ta\t1\n/);
    await engine.execute("INSERT INTO t VALUES ('a'), ('b'); FLUSH;");
    await r.waitFor(/\t-1\ta\t1\n/);
    await r.waitFor(/\t1\ta\t2\n/);
    await r.waitFor(/\t1\tb\t1\n/);
    r.interrupt();
    await r.waitFor('subscription stopped after 4 changes');
    r.send('SELECT k, n FROM c ORDER BY k;\n');
    await r.waitFor(/ a \|\s+2\n b \|\s+1\n/);
    // A view dropped under a subscription ends it with the server's reason.
    r.send('SUBSCRIBE c WITH (snapshot = false);\n');
    await r.waitFor(/epoch\tweight\tk\tn\n$/);
    await engine.execute('DROP MATERIALIZED VIEW c;');
    await r.waitFor(/subscription ended after 0 changes: .+\n/);
    r.send('\\q\n');
    await r.done;
  });

  it('redraws a remote SUBSCRIBE in place on a terminal', async () => {
    const { url, engine } = await server();
    await engine.execute('CREATE TABLE t (k VARCHAR); CREATE MATERIALIZED VIEW c AS SELECT k, count(*) AS n FROM t GROUP BY k;');
    const r = startRepl({ url, terminal: true });
    r.send('SUBSCRIBE c;\r');
    await r.waitFor('no changes yet · 0 changes · Ctrl-C to stop');
    await engine.execute("INSERT INTO t VALUES ('a'), ('b'); FLUSH;");
    await engine.execute("INSERT INTO t VALUES ('a'); FLUSH;");
    await r.waitFor(/\x1b\[\d+A\r\x1b\[0J k \| n\n---\+---\n a \| 2\n b \| 1\n\(2 rows\)\nepoch \d+ · 4 changes/);
    r.interrupt();
    await r.waitFor('subscription stopped after 4 changes');
    r.send('\\q\r');
    await r.done;
  });

  it('never prints the password of the URL', () => {
    expect(redactUrl('postgres://ann:s3cret@127.0.0.1:6875/sluice')).toBe('postgres://ann:***@127.0.0.1:6875/sluice');
    expect(redactUrl('postgres://127.0.0.1:6875/sluice')).toBe('postgres://127.0.0.1:6875/sluice');
  });

  it('says so and exits 2 when the server cannot be reached', async () => {
    const { srv } = await server();
    const port = srv.port;
    await cleanups.pop()!();
    const output = new PassThrough();
    let text = '';
    output.on('data', (d) => (text += String(d)));
    const code = await runRepl({ url: `postgres://repl@127.0.0.1:${port}/sluice`, input: new PassThrough(), output, terminal: false, historyFile: null });
    expect(code).toBe(2);
    expect(text).toMatch(/^sluice: could not connect to postgres:\/\/repl@127\.0\.0\.1:\d+\/sluice: .*ECONNREFUSED/);
  });

  it('opens the connection again when the server dropped it', async () => {
    const { url, engine } = await server();
    const r = startRepl({ url });
    r.send('SELECT 1 AS one;\n');
    await r.waitFor('(1 row)');
    // Restarting the server on the same port closes every connection.
    const first = cleanups.pop()!;
    const port = Number(/:(\d+)\//.exec(url)![1]);
    const srv2 = await (async () => {
      await first();
      const e2 = await createEngine({ autoStart: false, log: () => undefined });
      const s2 = await startPgServer(e2, { port, log: () => undefined });
      cleanups.push(async () => {
        await s2.close();
        await e2.close();
      });
      return s2;
    })();
    expect(srv2.port).toBe(port);
    void engine;
    await new Promise((res) => setTimeout(res, 200));
    r.send('SELECT 2 AS two;\n');
    await r.waitFor('The connection to the server was lost. Attempting reset: Succeeded.');
    await r.waitFor(/ two\s*\n-----\n\s+2\n/);
    r.send('\\q\n');
    await r.done;
  });
});
