/**
 * The Fetch connection against a fake broker on a local socket: requests encode byte for byte
 * as kafkajs encodes Fetch v11, responses are assembled whatever way the bytes are cut (size
 * prefixes split, several responses in one write, large ones in the kept buffers), and a broken
 * connection fails its requests and is opened again by the next.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../common/random.js';
import { encodeFetchRequest, FetchConnection, type FetchRequestSpec } from './fetch-connection.js';

const require = createRequire(import.meta.url);
const encodeRequest = require('kafkajs/src/protocol/request.js') as (args: unknown) => Promise<{ buffer: Buffer }>;
const fetchV11 = require('kafkajs/src/protocol/requests/fetch/v11/request.js') as (args: unknown) => unknown;

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A fake broker: `onRequest` gets each request's correlation id and the socket. */
async function broker(onRequest: (correlationId: number, socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    let held = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      held = Buffer.concat([held, d]);
      while (held.length >= 4 && held.length >= 4 + held.readInt32BE(0)) {
        const size = held.readInt32BE(0);
        onRequest(held.readInt32BE(8), socket);
        held = held.subarray(4 + size);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as { port: number }).port;
}

/** A response: size prefix, correlation id, then `body`. */
function response(correlationId: number, body: Buffer): Buffer {
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(4 + body.length, 0);
  b.writeInt32BE(correlationId, 4);
  body.copy(b, 8);
  return b;
}

function bodyOf(correlationId: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + correlationId) & 0xff;
  return b;
}

const spec: FetchRequestSpec = { topic: 'words', partitions: [{ partition: 0, offset: 5, maxBytes: 4096 }], maxBytes: 1 << 20, maxWaitMs: 500, isolationLevel: 1 };

describe('FetchConnection', () => {
  it('encodes Fetch v11 requests as kafkajs does', async () => {
    const r = seededRandom(11);
    for (let k = 0; k < 30; k++) {
      const partitions = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i) => ({ partition: i * 3, offset: Math.floor(r() * 2 ** 40), maxBytes: 1 + Math.floor(r() * 2 ** 30) }));
      const s: FetchRequestSpec = { topic: `t-é${k}`, partitions, maxBytes: 1 + Math.floor(r() * 2 ** 30), maxWaitMs: Math.floor(r() * 1000), isolationLevel: k % 2 };
      const theirs = await encodeRequest({
        correlationId: k,
        clientId: 'sluice-x',
        request: fetchV11({
          replicaId: -1, maxWaitTime: s.maxWaitMs, minBytes: 1, maxBytes: s.maxBytes, isolationLevel: s.isolationLevel,
          topics: [{ topic: s.topic, partitions: partitions.map((p) => ({ partition: p.partition, fetchOffset: String(p.offset), maxBytes: p.maxBytes })) }],
        }),
      });
      expect(encodeFetchRequest(k, 'sluice-x', s)).toEqual(theirs.buffer);
    }
  });

  it('assembles responses however the bytes are cut, small and large, several in flight', async () => {
    const r = seededRandom(5);
    const sizes = [10, 300_000, 5, 700_000, 300_000, 1, 400_000, 20];
    const port = await broker((id, socket) => {
      // Answer the last request of the round: all responses at once, in random cuts.
      if (id !== sizes.length) return;
      const all = Buffer.concat(sizes.map((n, i) => response(i + 1, bodyOf(i + 1, n))));
      let p = 0;
      const cuts: Buffer[] = [];
      while (p < all.length) {
        const n = r() < 0.3 ? 1 + Math.floor(r() * 6) : Math.floor(r() * 200_000);
        cuts.push(all.subarray(p, p + n));
        p += n;
      }
      for (const c of cuts) socket.write(c);
    });
    const c = new FetchConnection('127.0.0.1', port, 'test', 5000, 1000);
    try {
      // Each body is checked as it arrives, as the range reader decodes a response before the next.
      const checks = sizes.map((n, i) =>
        c.fetch(spec).then((body) => {
          expect(body.length).toBe(n);
          expect(body.equals(bodyOf(i + 1, n))).toBe(true);
        }),
      );
      await Promise.all(checks);
    } finally {
      c.close();
    }
  });

  it('fails its requests on a wrong correlation id or a closed connection, and opens a new one for the next', async () => {
    let mode: 'wrong' | 'close' | 'ok' = 'wrong';
    const port = await broker((id, socket) => {
      if (mode === 'wrong') socket.write(response(id + 100, bodyOf(0, 3)));
      else if (mode === 'close') socket.destroy();
      else socket.write(response(id, bodyOf(id, 4)));
    });
    const c = new FetchConnection('127.0.0.1', port, 'test', 5000, 1000);
    try {
      await expect(c.fetch(spec)).rejects.toThrow(/sent a response to request 101, expected 1/);
      mode = 'close';
      await expect(c.fetch(spec)).rejects.toThrow(/closed/);
      mode = 'ok';
      const body = await c.fetch(spec);
      expect(body.equals(bodyOf(3, 4))).toBe(true);
    } finally {
      c.close();
    }
  });

  it('fails a request the broker does not answer in time', async () => {
    const port = await broker(() => undefined);
    const c = new FetchConnection('127.0.0.1', port, 'test', 200, 1000);
    try {
      await expect(c.fetch(spec)).rejects.toThrow(/did not answer a fetch within 200 ms/);
    } finally {
      c.close();
    }
  });
});
