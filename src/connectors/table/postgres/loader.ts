/**
 * The loader of a table with `connector = 'postgres'`: a snapshot of a PostgreSQL table read
 * through `pg` at CREATE TABLE and every `refresh_interval` (default 5 minutes). Each snapshot
 * opens its own connection and closes it, so a server that went away and came back needs
 * nothing but the next refresh; while it is away, the engine keeps the last good snapshot.
 */
import pg from 'pg';
import type { Value } from '../../../common/types.js';
import { parseText } from '../../../common/values.js';
import type { TableLoader, TableLoaderContext } from '../../api.js';
import { clientConfig, describeServer, endClient, resolveServer } from './connection.js';
import { connectError, queryError, valueError } from './load-errors.js';
import { readPostgresTableOptions } from './options.js';
import { columnsQuery, snapshotQuery } from './query.js';

/** Creates the loader of a PostgreSQL table; its options are checked again here (the engine validated them). */
export function createPostgresTableLoader(ctx: TableLoaderContext): TableLoader {
  const cfg = readPostgresTableOptions(ctx.options);
  const server = resolveServer(cfg.server);
  const where = describeServer(server);
  const pgTable = cfg.table.join('.');
  const sql = snapshotQuery(cfg.table, ctx.schema);
  const open = new Set<pg.Client>();
  // The last failure, repeated to calls that come within as long as it took: the engine queues
  // a refresh every refresh_interval, and against a silent server each would wait out
  // connect_timeout in turn.
  let lastFailure: { error: unknown; until: number } | null = null;

  return {
    refreshMs: cfg.refreshMs,
    async snapshot(): Promise<Value[][]> {
      if (lastFailure && Date.now() < lastFailure.until) throw lastFailure.error;
      const started = Date.now();
      try {
        const rows = await load();
        lastFailure = null;
        return rows;
      } catch (e) {
        lastFailure = { error: e, until: Date.now() + (Date.now() - started) };
        throw e;
      }
    },
    async close() {
      await Promise.all([...open].map(endClient));
    },
  };

  /** One snapshot on a connection of its own. */
  async function load(): Promise<Value[][]> {
    const client = new pg.Client(clientConfig(cfg, server));
    // pg emits 'error' when an idle connection breaks; unheard, that would end the process.
    client.on('error', () => undefined);
    open.add(client);
    try {
      const started = Date.now();
      try {
        await client.connect();
      } catch (e) {
        const timedOut = !(e instanceof pg.DatabaseError) && Date.now() - started >= cfg.connectTimeoutMs;
        throw connectError(e, ctx.name, where, timedOut ? cfg.connectTimeoutMs : undefined);
      }
      let rows: (string | null)[][];
      try {
        rows = (await client.query<(string | null)[]>({ text: sql, rowMode: 'array' })).rows;
      } catch (e) {
        const columns = e instanceof pg.DatabaseError && e.code === '42703' ? await tableColumns(client, cfg.table) : null;
        throw queryError(e, ctx.name, pgTable, where, ctx.schema.map((f) => f.name), columns);
      }
      return rows.map((row) => row.map((v, i) => toValue(v, i)));
    } finally {
      open.delete(client);
      await endClient(client);
    }
  }

  function toValue(text: string | null, i: number): Value {
    if (text === null) return null;
    const field = ctx.schema[i]!;
    try {
      return parseText(text, field.type);
    } catch (e) {
      throw valueError(e, ctx.name, field.name, text);
    }
  }
}

/** The column names of the PostgreSQL table, or null when they cannot be read. */
async function tableColumns(client: pg.Client, table: readonly string[]): Promise<string[] | null> {
  try {
    return (await client.query(columnsQuery(table))).fields.map((f) => f.name);
  } catch {
    return null;
  }
}
