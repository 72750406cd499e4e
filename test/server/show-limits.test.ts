/**
 * The server's limits are visible with SHOW (PostgreSQL's names where it has them) and cannot
 * be SET: they are fixed when the server starts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { formatBytes } from '../../src/server/pg-parameters.js';

let engine: Engine;
let server: PgServer;
let client: pg.Client;

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined, maxConnections: 7, maxMessageBytes: 8 * 1024 * 1024, maxInFlightBytes: 1536 * 1024, startupTimeoutMs: 2500 });
  client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u', database: 'sluice' });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await server?.close();
  await engine?.close();
});

describe('SHOW of the server limits', () => {
  it.each([
    ['max_connections', '7'],
    ['max_message_size', '8MB'],
    ['max_inflight_size', '1536kB'],
    ['authentication_timeout', '2500ms'],
  ])('SHOW %s', async (name, value) => {
    expect((await client.query(`SHOW ${name}`)).rows).toEqual([{ [name]: value }]);
  });

  it('refuses SET of a limit with 55P02, and SHOW still answers the real value', async () => {
    const e = await client.query('SET max_connections = 1000').catch((x: pg.DatabaseError) => x);
    expect(e).toMatchObject({ code: '55P02', message: 'parameter "max_connections" cannot be changed without restarting the server' });
    expect((await client.query('SHOW max_connections')).rows).toEqual([{ max_connections: '7' }]);
  });

  it('shows the defaults in PostgreSQL units', () => {
    expect([formatBytes(64 * 1024 * 1024), formatBytes(256 * 1024 * 1024), formatBytes(2 ** 30), formatBytes(1000)]).toEqual(['64MB', '256MB', '1GB', '1000B']);
  });
});
