/** The client parameters (server_version, client_encoding, …): the server installs them on the engine it serves. */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer } from '../../src/server/pg-server.js';
import { openInProcessBackend } from '../../src/cli/repl/in-process-backend.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function served(): Promise<{ engine: Engine; port: number }> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  const server = await startPgServer(engine, { port: 0, log: () => undefined });
  cleanups.push(async () => {
    await server.close();
    await engine.close();
  });
  return { engine, port: server.port };
}

const shown = async (engine: Engine, name: string) => {
  const [r] = await engine.execute(`SHOW ${name}`);
  return r?.kind === 'rows' ? r.rows[0]?.[0] : undefined;
};

describe('client parameters', () => {
  it('SHOW answers them through pg-wire and through engine.execute', async () => {
    const { engine, port } = await served();
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'u', database: 'sluice' });
    await c.connect();
    cleanups.push(() => c.end());
    expect((await c.query('SHOW server_version')).rows).toEqual([{ server_version: '15.0' }]);
    expect((await c.query('SHOW client_encoding')).rows).toEqual([{ client_encoding: 'UTF8' }]);
    expect(await shown(engine, 'server_version')).toBe('15.0');
    expect(await shown(engine, 'TimeZone')).toBe('UTC');
  });

  it('a SET value shows instead of the fixed answer; unknown names stay unrecognized', async () => {
    const { engine } = await served();
    await engine.execute("SET search_path = 'app'");
    expect(await shown(engine, 'search_path')).toBe('app');
    await expect(engine.execute('SHOW no_such_parameter')).rejects.toThrow(/unrecognized configuration parameter/);
    await expect(engine.execute('SHOW constructor')).rejects.toThrow(/unrecognized configuration parameter/);
  });

  it('the in-process REPL answers them too', async () => {
    const backend = await openInProcessBackend(null, () => undefined);
    cleanups.push(() => backend.close());
    const [r] = await backend.run('SHOW server_version');
    expect(r).toMatchObject({ rows: [['15.0']] });
  });
});
