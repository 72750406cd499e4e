/**
 * The PostgreSQL oracle of the differential suites: a connection to the PostgreSQL running on
 * 127.0.0.1:5432 (database `test`, as $PGUSER, postgres or root) with a schema of the suite's
 * own on its search path, dropped again at the end, so suites running at once do not meet.
 */
import pg from 'pg';
import type { SqlType, Value } from '../src/common/types.js';
import { formatValue } from '../src/common/values.js';

/** Connects and makes `schema` (dropped first if a crashed run left it) the search path. */
export async function connectOracle(schema: string): Promise<pg.Client> {
  for (const user of [process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => !!u)) {
    const c = new pg.Client({ host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), user, database: 'test' });
    try {
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
      return c;
    } catch {
      await c.end().catch(() => undefined);
    }
  }
  throw new Error('cannot connect to PostgreSQL at 127.0.0.1:5432/test as postgres or root; start the server');
}

/** Drops the suite's schema and closes the connection (no-op without one). */
export async function closeOracle(client: pg.Client | undefined, schema: string): Promise<void> {
  if (!client) return;
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

/** The oracle's answer to `sql`: each row as the JSON of PostgreSQL's text values, sorted. */
export async function oracleRows(client: pg.Client, sql: string): Promise<string[]> {
  const r = await client.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
  return (r.rows as (string | null)[][]).map((row) => JSON.stringify(row)).sort();
}

/** A sluice row in the same form: each value as PostgreSQL's text output of its type. */
export function textRow(row: readonly Value[], types: readonly SqlType[]): string {
  return JSON.stringify(row.map((v, i) => formatValue(v, types[i]!)));
}
