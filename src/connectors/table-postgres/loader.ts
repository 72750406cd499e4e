/**
 * `CREATE TABLE … WITH (connector = 'postgres', url, table, refresh_interval)`: a snapshot of a
 * PostgreSQL table through `pg`, taken at CREATE and every `refresh_interval` (default 5
 * minutes). Values arrive as text and are parsed into the declared types. An unreachable server
 * fails the snapshot with a clear 08xxx error; the engine then keeps the last good snapshot.
 */
import pg from 'pg';
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { parseText } from '../../common/values.js';
import type { Options } from '../../parser/ast.js';
import type { TableLoader, TableLoaderContext } from '../api.js';
import { OptionReader } from '../option-reader.js';

export interface PostgresTableConfig {
  readonly url: string;
  readonly table: string;
  readonly refreshMs: number;
  readonly connectTimeoutMs: number;
}

export function readPostgresTableOptions(options: Options): PostgresTableConfig {
  const r = new OptionReader('postgres', options);
  r.checkNames(['url', 'table', 'refresh_interval', 'connect_timeout']);
  const url = r.required('url', "the server, like 'postgres://user@127.0.0.1:5432/db'");
  if (!/^postgres(ql)?:\/\//.test(url)) throw r.bad('url', "a postgres:// URL such as 'postgres://user@127.0.0.1:5432/db'");
  const table = r.required('table', 'the table to load, optionally schema-qualified');
  const refresh = r.duration('refresh_interval') ?? 300_000_000n;
  const timeout = r.duration('connect_timeout') ?? 5_000_000n;
  return { url, table, refreshMs: Number(refresh / 1000n), connectTimeoutMs: Number(timeout / 1000n) };
}

const ident = (s: string) => s.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.');

/** The server part of a URL, without credentials, for error messages. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the server';
  }
}

export function createPostgresTableLoader(ctx: TableLoaderContext): TableLoader {
  const cfg = readPostgresTableOptions(ctx.options);
  const sql = `SELECT ${ctx.schema.map((f) => ident(f.name)).join(', ')} FROM ${ident(cfg.table)}`;
  return {
    refreshMs: cfg.refreshMs,
    async snapshot(): Promise<Value[][]> {
      // Every value as text: the declared column types decide how it is read.
      const client = new pg.Client({ connectionString: cfg.url, connectionTimeoutMillis: cfg.connectTimeoutMs, types: { getTypeParser: () => (v: string) => v } });
      try {
        await client.connect();
      } catch (e) {
        await client.end().catch(() => undefined);
        throw new SluiceError('connection', `cannot reach PostgreSQL at ${where(cfg.url)} to load table "${ctx.name}": ${(e as Error).message}`, {
          hint: 'Check the url option and that the server runs and accepts this user.',
          cause: e,
        });
      }
      try {
        const r = await client.query({ text: sql, rowMode: 'array' });
        return (r.rows as (string | null)[][]).map((row) => row.map((v, i) => (v === null ? null : parseText(v, ctx.schema[i]!.type))));
      } catch (e) {
        const err = e as Error & { code?: string };
        if (err instanceof SluiceError) throw err;
        const category = err.code === '42P01' ? 'undefined_table' : err.code === '42703' ? 'undefined_column' : 'connection';
        throw new SluiceError(category, `cannot load table "${ctx.name}" from ${cfg.table} at ${where(cfg.url)}: ${err.message}`, {
          hint: category === 'connection' ? 'Check that the server is reachable.' : `The PostgreSQL table must have the columns ${ctx.schema.map((f) => f.name).join(', ')}.`,
          cause: e,
        });
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async close() {},
  };
}
