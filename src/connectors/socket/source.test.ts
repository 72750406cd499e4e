import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import type { DeadLetter, SourceContext } from '../api.js';
import { walDir } from '../receiver/receiver-log.js';
import { SocketSource, type SocketRange } from './source.js';

const words: Schema = [{ name: 'line', type: 'varchar' }];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A line server: records each accepted connection so the test can write to it or drop it. */
async function lineServer(): Promise<{ server: Server; port: number; conns: Socket[] }> {
  const conns: Socket[] = [];
  const server = createServer((c) => conns.push(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { server, port: (server.address() as AddressInfo).port, conns };
}

function source(port: number, options: Record<string, string> = {}, schema: Schema = words, dataDir: string | null = null) {
  const logs: string[] = [];
  const dead: DeadLetter[] = [];
  const ctx: SourceContext = {
    name: 'lines',
    schema,
    options: { connector: 'socket', host: '127.0.0.1', port: String(port), ...options },
    dataDir,
    deadLetter: (d) => dead.push(d),
    log: (m) => logs.push(m),
  };
  const s = new SocketSource(ctx);
  cleanups.push(() => s.stop());
  return { s, logs, dead };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Polls until `n` rows arrived in total; returns them. */
async function pollRows(s: SocketSource, n: number): Promise<{ rows: unknown[][]; lines: number }> {
  const rows: unknown[][] = [];
  let lines = 0;
  const t = Date.now();
  while (rows.length < n) {
    if (Date.now() - t > 5000) throw new Error(`timed out with ${rows.length} of ${n} rows`);
    const r = await s.poll(0n);
    lines += (r.range as { records: number }).records;
    for (const b of r.batches) rows.push(...batchRows(b));
    await new Promise((res) => setTimeout(res, 10));
  }
  return { rows, lines };
}

describe('socket source', () => {
  it('reads lines between polls, including lines split across packets', async () => {
    const { port, conns } = await lineServer();
    const { s, logs } = source(port);
    await s.start();
    await until(() => conns.length === 1, 'the connection');
    expect(logs).toEqual([`connected to 127.0.0.1:${port}`]);
    conns[0]!.write('the quick brown\r\nfox ju');
    await new Promise((r) => setTimeout(r, 30));
    conns[0]!.write('mps\n\nover\n');
    const { rows, lines } = await pollRows(s, 4);
    expect(rows).toEqual([['the quick brown'], ['fox jumps'], [''], ['over']]);
    expect(lines).toBeGreaterThanOrEqual(2);
  });

  it('reconnects with backoff when the server drops the connection, keeping the unfinished line', async () => {
    const { port, conns } = await lineServer();
    const { s, logs } = source(port);
    await s.start();
    await until(() => conns.length === 1, 'the first connection');
    conns[0]!.end('one\ntwo without newline');
    expect((await pollRows(s, 2)).rows).toEqual([['one'], ['two without newline']]);
    await until(() => conns.length === 2, 'the reconnection');
    conns[1]!.write('three\n');
    expect((await pollRows(s, 1)).rows).toEqual([['three']]);
    expect(logs[0]).toBe(`connected to 127.0.0.1:${port}`);
    expect(logs[1]).toMatch(new RegExp(`^connection to 127.0.0.1:${port} closed; reconnecting in 100 ms$`));
    expect(logs[2]).toBe(`connected to 127.0.0.1:${port}`);
  });

  it('keeps retrying while no server listens, then connects when one comes up', async () => {
    const probe = await lineServer();
    const port = probe.port;
    await new Promise<void>((r) => probe.server.close(() => r()));
    const { s, logs } = source(port, { 'reconnect.max_backoff': '200 milliseconds' });
    await s.start();
    expect(logs[0]).toMatch(new RegExp(`^cannot connect to 127.0.0.1:${port}: .*ECONNREFUSED.*; retrying in 100 ms`));
    await until(() => logs.length >= 3, 'more retries');
    expect(logs[1]).toMatch(/retrying in 200 ms/);
    expect(logs[2]).toMatch(/retrying in 200 ms/);
    const conns: Socket[] = [];
    const server = createServer((c) => {
      conns.push(c);
      c.write('late\n');
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    });
    expect((await pollRows(s, 1)).rows).toEqual([['late']]);
    expect(logs.at(-1)).toBe(`connected to 127.0.0.1:${port}`);
  });

  it('decodes JSON lines with dead letters positioned by host, port and line', async () => {
    const { port, conns } = await lineServer();
    const schema: Schema = [
      { name: 'word', type: 'varchar' },
      { name: 'n', type: 'int' },
    ];
    const { s, dead } = source(port, { format: 'json' }, schema);
    await s.start();
    await until(() => conns.length === 1, 'the connection');
    conns[0]!.write('{"word":"a","n":1}\n{"word":\n{"word":"b","n":"2"}\n');
    expect((await pollRows(s, 2)).rows).toEqual([['a', 1], ['b', 2]]);
    expect(dead.map((d) => d.position)).toEqual([`127.0.0.1:${port}:2`]);
    expect(dead[0]!.error).toMatch(/^invalid JSON/);
  });

  it('pauses reading at max_buffered_lines and resumes after a poll', async () => {
    const { port, conns } = await lineServer();
    const { s } = source(port, { max_buffered_lines: '10' });
    await s.start();
    await until(() => conns.length === 1, 'the connection');
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i}`);
    conns[0]!.write(lines.join('\n') + '\n');
    const { rows } = await pollRows(s, lines.length);
    expect(rows.map((r) => r[0])).toEqual(lines);
  });

  it('with a data dir, logs lines to its WAL: a restart from a position hands over what was logged after it, and ranges re-read exactly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-socket-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const { port, conns } = await lineServer();
    const first = source(port, {}, words, dataDir);
    await first.s.start(null);
    await until(() => conns.length === 1, 'the connection');
    conns[0]!.write('a\nb\n');
    const p1 = await pollRows(first.s, 2);
    const r1 = await first.s.poll(0n);
    const pos = r1.position!;
    expect(typeof pos).toBe('number');
    conns[0]!.write('c\nd\n');
    await new Promise((r) => setTimeout(r, 100));
    // Stopped before polling c and d (as a crash would): they are in the WAL.
    await first.s.stop();
    expect(p1.rows).toEqual([['a'], ['b']]);
    const second = source(port, {}, words, dataDir);
    await second.s.start(pos);
    const r2 = await second.s.poll(0n);
    expect(r2.batches.flatMap((b) => batchRows(b))).toEqual([['c'], ['d']]);
    const range = r2.range as SocketRange;
    expect(range.from).toBe(pos);
    expect((await second.s.reread(range)).flatMap((b) => batchRows(b))).toEqual([['c'], ['d']]);
    expect((await second.s.reread({ from: 0, to: pos, records: 1 })).flatMap((b) => batchRows(b))).toEqual([['a'], ['b']]);
    await second.s.stop();
    await second.s.discard();
    expect(existsSync(walDir(dataDir, 'lines'))).toBe(false);
  });
});
