/**
 * TLS: with a certificate and key the server answers SSLRequest with 'S' and speaks TLS, so a
 * password (SCRAM) and every query cross the network encrypted; without them it answers 'N'.
 * The certificate is made for the test with openssl.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

const run = promisify(execFile);
let dir: string;
let engine: Engine;
let server: PgServer;
let cert: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'));
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined, password: 's3cret', tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pg server: TLS', () => {
  it('serves a client that requires TLS and verifies the certificate', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u', password: 's3cret', database: 'sluice', ssl: { ca: cert, rejectUnauthorized: true } });
    await c.connect();
    const socket = (c as unknown as { connection: { stream: { encrypted?: boolean; getProtocol?: () => string } } }).connection.stream;
    expect(socket.encrypted).toBe(true);
    expect(socket.getProtocol?.()).toMatch(/^TLSv1\.[23]$/);
    expect((await c.query('SELECT 41 + 1 AS x')).rows).toEqual([{ x: 42 }]);
    await c.end();
  });

  it('still refuses a wrong password over TLS', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u', password: 'nope', database: 'sluice', ssl: { ca: cert } });
    const err = await c.connect().then(() => null, (e: { code?: string }) => e);
    expect(err?.code).toBe('28P01');
  });

  it('psql with sslmode=require connects and reports TLS', async () => {
    // Asynchronously: the server runs in this process and must answer while psql waits.
    const { stdout } = await run('psql', ['-X', '-At', '-c', 'SELECT 1', '-c', '\\conninfo', `host=127.0.0.1 port=${server.port} user=u dbname=sluice sslmode=require`], {
      env: { ...process.env, PGPASSWORD: 's3cret' }, timeout: 20_000,
    });
    expect(stdout.split('\n')[0]).toBe('1');
    expect(stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
  });

  it('answers N to SSLRequest when no certificate is configured', async () => {
    const plain = await startPgServer(engine, { port: 0, log: () => undefined });
    try {
      const c = new pg.Client({ host: '127.0.0.1', port: plain.port, user: 'u', database: 'sluice', ssl: { rejectUnauthorized: false } });
      const err = await c.connect().then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/does not support SSL/);
    } finally {
      await plain.close();
    }
  });
});
