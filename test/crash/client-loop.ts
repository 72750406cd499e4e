/**
 * A client that keeps going across kills, for crash tests: one round of statements at a time on
 * a connection to whichever server runs now. A round that fails (the server was killed, or is not
 * up yet) drops the connection, and a new one is made 50 ms later.
 */
import type pg from 'pg';
import type { ServerProcess } from './server-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `round` over and over on a connection to `server()` (read again at each reconnect, as the
 * test restarts it) until the returned stop is called; stop resolves once the loop has ended and
 * its connection is closed. A round notes what the server acknowledged: when it throws, its
 * statement in flight is in doubt.
 */
export function runClient(server: () => ServerProcess, round: (client: pg.Client) => Promise<void>): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    let client: pg.Client | null = null;
    while (running) {
      try {
        client ??= await server().client();
        await round(client);
      } catch {
        await client?.end().catch(() => undefined);
        client = null;
        await sleep(50);
      }
    }
    await client?.end().catch(() => undefined);
  })();
  return async () => {
    running = false;
    await loop;
  };
}
