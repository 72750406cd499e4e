/**
 * The server-wide budget for large messages in flight: a message reserves its declared size
 * when its header arrives; one that would pass the budget ends its own connection with 53200,
 * and the bytes come back once a message has been handled or its client has gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { errorOf, fe, WireClient } from './wire-client.js';

let engine: Engine;
let server: PgServer;
const MB = 1024 * 1024;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined, maxMessageBytes: 4 * MB, maxInFlightBytes: 3 * MB / 2 });
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

/** A CopyData message of `size` body bytes (ignored outside COPY), cut after `sent` bytes. */
function copyData(size: number): Buffer {
  const b = Buffer.alloc(5 + size, 0x61);
  b.write('d', 0, 'latin1');
  b.writeInt32BE(size + 4, 1);
  return b;
}

async function selectOne(c: WireClient): Promise<string> {
  c.send(fe.query('SELECT 1'));
  const msgs = await c.until('Z');
  return msgs.map((m) => m.type).join('');
}

describe('pg server: bytes in flight', () => {
  it('refuses a message that would pass the budget with 53200, and frees the budget after', async () => {
    const { client: a } = await WireClient.connect(server.port);
    const { client: b } = await WireClient.connect(server.port);
    const big = copyData(MB);
    // a's message is half sent: its megabyte is reserved.
    a.send(big.subarray(0, MB / 2));
    await new Promise((r) => setTimeout(r, 100));
    b.send(big);
    const refused = await b.next();
    expect(refused?.type).toBe('E');
    expect(errorOf(refused!).C).toBe('53200');
    expect(await b.waitClosed()).toBe(true);
    // a finishes: its message is handled and a goes on.
    a.send(big.subarray(MB / 2));
    expect(await selectOne(a)).toBe('TDCZ');
    // The budget is free again: another client's megabyte is accepted.
    const { client: c } = await WireClient.connect(server.port);
    c.send(big);
    expect(await selectOne(c)).toBe('TDCZ');
    a.end();
    c.end();
  });

  it('gives the budget back when a client vanishes mid-message', async () => {
    const { client: a } = await WireClient.connect(server.port);
    a.send(copyData(MB).subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 100));
    a.end();
    await a.waitClosed();
    await new Promise((r) => setTimeout(r, 100));
    const { client: b } = await WireClient.connect(server.port);
    b.send(copyData(MB));
    expect(await selectOne(b)).toBe('TDCZ');
    b.end();
  });
});
