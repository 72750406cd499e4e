/**
 * Shared test helpers: canonical row forms for comparing engine output with DuckDB's, schemas
 * written as SQL column lists, temporary directories removed after each test, and an engine
 * served over pg-wire with a `pg` client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach } from 'vitest';
import pg from 'pg';
import { parseTypeName, type Schema, type Value } from '../src/common/types.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../src/server/pg-server.js';

/** A schema from a column list such as `'id int, name varchar, ts timestamp'`. */
export function schemaOf(columns: string): Schema {
  return columns.split(',').map((c) => {
    const [name, ...type] = c.trim().split(/\s+/);
    return { name: name!, type: parseTypeName(type.join(' ')) };
  });
}

/** A fresh temporary directory for each test of the calling file: call `dir()` inside a test. */
export function tempDirEach(prefix: string): () => string {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/**
 * A canonical text for a value: integers exact, doubles to 9 significant digits; NUMERIC text
 * (sum(bigint) and avg of integers are NUMERIC) as the integer it is or the double it is
 * closest to, so it meets an oracle's bigint or double.
 */
export function canonical(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return v;
  if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) return canonical(Number(v));
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return Number(v.toPrecision(9)).toString();
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v);
}

export function canonicalRows(rows: readonly (readonly Value[])[]): string[] {
  return rows.map((r) => r.map(canonical).join(' | ')).sort();
}

/**
 * The parallelism a differential case runs its views at: 1, 2 or 4 (issue 16's acceptance: every
 * family answers the same at each). Part of the case, so a failure shrinks and replays with it.
 */
export const parallelismArb = fc.constantFrom(1, 2, 4);

/** An engine without its epoch timer, a pg-wire server on a free port, and a `pg` client connected to it; close() ends all three. */
export async function pgSession(): Promise<{ engine: Engine; server: PgServer; client: pg.Client; close: () => Promise<void> }> {
  const engine = await createEngine({ autoStart: false, log: () => undefined });
  const server = await startPgServer(engine, { port: 0, log: () => undefined });
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await client.connect();
  return {
    engine,
    server,
    client,
    close: async () => {
      await client.end();
      await server.close();
      await engine.close();
    },
  };
}
