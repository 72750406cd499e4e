/**
 * Hostile and broken clients: garbage bytes, truncated and oversized packets, clients that vanish
 * mid-query or stop reading. Each must cost only its own connection; the server and every other
 * session go on, and a fresh `pg` client still works afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgEngine, type PgServer } from '../../src/server/pg-server.js';
import { errorOf, fe, textRows, types, WireClient } from './wire-client.js';

let engine: Engine;
let server: PgServer;
const logs: string[] = [];
let slowStarted = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  // Statements mentioning 'slow_marker' take a while, so a client can leave in the middle.
  const wrapped: PgEngine = {
    catalog: engine.catalog,
    async execute(sql) {
      if (sql.includes('slow_marker')) {
        slowStarted++;
        await sleep(300);
      }
      return engine.execute(sql);
    },
  };
  server = await startPgServer(wrapped, { port: 0, maxMessageBytes: 1024 * 1024, startupTimeoutMs: 1000, log: (m) => logs.push(m) });
  await engine.execute(`CREATE TABLE t (k VARCHAR, v INT); INSERT INTO t VALUES ('a', 1)`);
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

/** A fresh `pg` client connects and queries: the server is alive and well. */
async function serverStillWorks(): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await c.connect();
  expect((await c.query(`SELECT k, v FROM t`)).rows).toEqual([{ k: 'a', v: 1 }]);
  await c.end();
}

/** A deterministic pseudo-random byte source (xorshift32). */
function randomBytes(seed: number, n: number): Buffer {
  let x = seed || 1;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('pg server: robustness', () => {
  it('closes connections that send random bytes before startup', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const c = await WireClient.open(server.port);
      c.send(randomBytes(seed, 1 + (seed * 37) % 300));
      // Either the server closes it (bad length or protocol) or it waits for more bytes, in
      // which case the startup timeout closes it; hanging up ourselves must be fine too.
      if (!(await c.waitClosed(seed % 2 ? 1500 : 50))) c.end();
    }
    await serverStillWorks();
  });

  it('survives random messages after a good startup', async () => {
    for (let seed = 100; seed < 130; seed++) {
      const { client: c } = await WireClient.connect(server.port);
      const junk = randomBytes(seed, 400);
      // Start with a plausible type and small length, so the body is what is random.
      junk.write('PBDEQCH'[seed % 7]!, 0, 'latin1');
      junk.writeInt32BE(4 + (seed % 60), 1);
      c.send(junk);
      c.send(fe.sync());
      await c.waitClosed(200);
      c.end();
    }
    await serverStillWorks();
  });

  it('refuses a truncated startup packet without crashing', async () => {
    const whole = fe.startup({ user: 'test', database: 'test' });
    const c = await WireClient.open(server.port);
    c.send(whole.subarray(0, 6));
    c.socket.end();
    expect(await c.waitClosed()).toBe(true);
    // Left open, a half-sent startup packet is closed by the startup timeout.
    const d = await WireClient.open(server.port);
    d.send(whole.subarray(0, whole.length - 3));
    expect(await d.waitClosed(3000)).toBe(true);
    await serverStillWorks();
  });

  it('answers a 1 GB or negative declared length with FATAL 08P01 and allocates nothing for it', async () => {
    const before = process.memoryUsage().arrayBuffers;
    for (const len of [1 << 30, -5, 2, 2 * 1024 * 1024]) {
      const { client: c } = await WireClient.connect(server.port);
      const head = Buffer.alloc(5);
      head.write('Q', 0, 'latin1');
      head.writeInt32BE(len, 1);
      c.send(Buffer.concat([head, Buffer.from('SELECT 1')]));
      const m = await c.next();
      expect(m?.type).toBe('E');
      expect(errorOf(m!)).toMatchObject({ S: 'FATAL', C: '08P01' });
      expect(await c.waitClosed()).toBe(true);
    }
    for (const len of [1 << 30, -1, 3]) {
      const c = await WireClient.open(server.port);
      const b = Buffer.alloc(8);
      b.writeInt32BE(len, 0);
      b.writeInt32BE(196608, 4);
      c.send(b);
      const m = await c.next();
      expect(errorOf(m!)).toMatchObject({ S: 'FATAL', C: '08P01', M: 'invalid length of startup packet' });
      expect(await c.waitClosed()).toBe(true);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    await serverStillWorks();
  });

  it('refuses unknown protocol versions, missing user names and unknown message types', async () => {
    let c = await WireClient.open(server.port);
    c.send(fe.startup({ user: 'test' }, 2 << 16));
    expect(errorOf((await c.next())!)).toMatchObject({ S: 'FATAL', C: '0A000' });
    c = await WireClient.open(server.port);
    c.send(fe.startup({ database: 'test' }));
    expect(errorOf((await c.next())!)).toMatchObject({ S: 'FATAL', C: '28000' });
    // A startup packet whose parameter list has no terminator.
    c = await WireClient.open(server.port);
    const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from('user\0te')]);
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length + 4);
    c.send(Buffer.concat([len, body]));
    expect(errorOf((await c.next())!)).toMatchObject({ S: 'FATAL', C: '08P01' });
    const { client: d } = await WireClient.connect(server.port);
    d.send(fe.raw('!', Buffer.from('x')));
    expect(errorOf((await d.next())!)).toMatchObject({ S: 'FATAL', C: '08P01' });
    expect(await d.waitClosed()).toBe(true);
    await serverStillWorks();
  });

  it('answers SSLRequest and GSSENCRequest with N and goes on in the clear', async () => {
    const c = await WireClient.open(server.port);
    c.send(fe.gssencRequest());
    expect(await c.byte()).toBe('N');
    c.send(fe.sslRequest());
    expect(await c.byte()).toBe('N');
    c.send(fe.startup({ user: 'test', database: 'test' }));
    const startup = await c.until('Z');
    expect(startup[0]!.type).toBe('R');
    expect(startup.some((m) => m.type === 'K')).toBe(true);
    c.send(fe.query(`SELECT v FROM t`));
    expect(textRows(await c.until('Z'))).toEqual([['1']]);
    c.send(fe.terminate());
    expect(await c.waitClosed()).toBe(true);
  });

  it('negotiates a newer minor protocol version down to 3.0', async () => {
    const c = await WireClient.open(server.port);
    c.send(fe.startup({ user: 'test', '_pq_.future_option': 'x' }, (3 << 16) | 2));
    const ms = await c.until('Z');
    expect(ms[0]!.type).toBe('v');
    expect(ms[0]!.body.readInt32BE(0)).toBe(3 << 16);
    expect(ms[0]!.body.readInt32BE(4)).toBe(1);
    c.end();
  });

  it('drops the result of a client that vanished mid-query', async () => {
    const started = slowStarted;
    const { client: c } = await WireClient.connect(server.port);
    c.send(fe.query(`SELECT 'slow_marker' AS m`));
    while (slowStarted === started) await sleep(5);
    c.end();
    await sleep(400);
    await serverStillWorks();
  });

  it('keeps serving others while one client does not read a large result', async () => {
    const { client: slow } = await WireClient.connect(server.port);
    slow.socket.pause();
    slow.send(fe.query(`SELECT i, repeat('x', 200) AS s FROM range(100000) r(i)`));
    await sleep(300);
    const other = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
    await other.connect();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) expect((await other.query(`SELECT v FROM t`)).rows).toEqual([{ v: 1 }]);
    expect(Date.now() - t0).toBeLessThan(5000);
    await other.end();
    slow.socket.resume();
    const ms = await slow.until('Z', 30_000);
    expect(types(ms.slice(-2))).toBe('CZ');
    expect(ms.filter((m) => m.type === 'D').length).toBe(100_000);
    slow.end();
  });

  it('logs nothing as an internal error', () => {
    expect(logs.filter((l) => /internal/.test(l))).toEqual([]);
  });
});
