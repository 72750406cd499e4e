/**
 * `CREATE TABLE … WITH (connector = 'file', path, format = 'csv' | 'parquet' | 'json')`: a
 * table loaded from a file (or a glob) by DuckDB's own readers, reloaded every
 * `refresh_interval` when one is given. The declared columns are read by name and cast to
 * their types, so a missing column or a bad value fails with the file named.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SluiceError } from '../../common/errors.js';
import type { Schema, SqlType } from '../../common/types.js';
import type { Options } from '../../parser/ast.js';
import type { TableLoader, TableLoaderContext } from '../api.js';
import { OptionReader } from '../option-reader.js';

export interface FileTableConfig {
  readonly path: string;
  readonly format: 'csv' | 'parquet' | 'json';
  readonly header: boolean;
  readonly delimiter: string;
  readonly refreshMs: number | null;
}

export function readFileTableOptions(options: Options): FileTableConfig {
  const r = new OptionReader('file', options);
  r.checkNames(['path', 'format', 'csv.header', 'csv.delimiter', 'refresh_interval']);
  const path = resolve(r.required('path', 'the file (or glob) the table is loaded from'));
  const format = r.choice('format', ['csv', 'parquet', 'json'] as const) ?? 'csv';
  const delimiter = r.string('csv.delimiter') ?? ',';
  if (delimiter.length !== 1) throw r.bad('csv.delimiter', 'one character');
  const refresh = r.duration('refresh_interval');
  return { path, format, header: r.boolean('csv.header') ?? true, delimiter, refreshMs: refresh === undefined ? null : Number(refresh / 1000n) };
}

const DUCK_TYPE: Record<SqlType, string> = {
  boolean: 'BOOLEAN', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', numeric: 'DOUBLE', varchar: 'VARCHAR',
  timestamp: 'TIMESTAMP', date: 'DATE', interval: 'INTERVAL', null: 'VARCHAR',
};

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The DuckDB query that reads the file as the table's columns. */
export function fileTableQuery(cfg: FileTableConfig, schema: Schema): string {
  let reader: string;
  switch (cfg.format) {
    case 'csv':
      reader = `read_csv(${literal(cfg.path)}, header = ${cfg.header}, delim = ${literal(cfg.delimiter)}, all_varchar = true)`;
      break;
    case 'parquet':
      reader = `read_parquet(${literal(cfg.path)})`;
      break;
    case 'json':
      reader = `read_json_auto(${literal(cfg.path)})`;
      break;
  }
  const cols = schema.map((f) => `CAST(${ident(f.name)} AS ${DUCK_TYPE[f.type]})`).join(', ');
  return `SELECT ${cols} FROM ${reader}`;
}

export function createFileTableLoader(ctx: TableLoaderContext): TableLoader {
  const cfg = readFileTableOptions(ctx.options);
  const sql = fileTableQuery(cfg, ctx.schema);
  return {
    refreshMs: cfg.refreshMs,
    async snapshot() {
      if (!/[*?[]/.test(cfg.path) && !existsSync(cfg.path)) {
        throw new SluiceError('invalid_parameter', `file ${cfg.path} for table "${ctx.name}" does not exist`, { hint: 'Check the path option (relative paths start at the directory sluice runs in).' });
      }
      try {
        return await ctx.query(sql);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new SluiceError('invalid_input', `cannot load table "${ctx.name}" from ${cfg.path}: ${msg}`, {
          hint: `The file must have the columns ${ctx.schema.map((f) => f.name).join(', ')} with values that fit their types.`,
          cause: e,
        });
      }
    },
    async close() {},
  };
}
