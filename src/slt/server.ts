/** A fresh engine behind a pg-wire server on a free port, for one sqllogictest file. */
import { createEngine } from '../exec/runtime/engine.js';
import { startPgServer } from '../server/pg-server.js';

export async function startSltServer(): Promise<{ port: number; stop: () => Promise<void> }> {
  const engine = await createEngine({ batchIntervalMs: 100, log: () => undefined });
  const server = await startPgServer(engine, { host: '127.0.0.1', port: 0 });
  return {
    port: server.port,
    stop: async () => {
      await server.close();
      await engine.close();
    },
  };
}
