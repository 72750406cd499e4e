/**
 * The DuckDB SQL that reads a file table: the format's reader with every declared column read as
 * text, then cast by name to the declared types, so a file is read the same way whatever types
 * DuckDB would have guessed for it. Also the queries that explain a failed load.
 */
import { elementType, type Schema, type SqlType } from '../../../common/types.js';
import { quoteIdent, quoteLiteral } from '../quoting.js';
import type { FileTableConfig } from './options.js';

/** The DuckDB type a column of `type` is cast to (NUMERIC as its exact text). */
export function duckTypeName(type: SqlType): string {
  switch (type) {
    case 'boolean': return 'BOOLEAN';
    case 'int': return 'INTEGER';
    case 'bigint': return 'BIGINT';
    case 'double': return 'DOUBLE';
    case 'numeric':
    case 'varchar':
    case 'bytea':
    case 'jsonb':
    case 'null': return 'VARCHAR';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'interval': return 'INTERVAL';
    default: return `${duckTypeName(elementType(type))}[]`;
  }
}

/** The table function call that reads the file(s), every column as VARCHAR (Parquet keeps its types). */
export function readerCall(cfg: FileTableConfig, schema: Schema): string {
  const path = quoteLiteral(cfg.path);
  switch (cfg.format) {
    case 'csv': {
      // Explicit dialect and skip = 0: left to itself the sniffer may skip lines it cannot place.
      const dialect = `delim = ${quoteLiteral(cfg.csvDelimiter)}, quote = '"', escape = '"', skip = 0, all_varchar = true`;
      if (cfg.csvHeader) return `read_csv(${path}, header = true, ${dialect})`;
      return `read_csv(${path}, header = false, ${dialect}, names = [${schema.map((f) => quoteLiteral(f.name)).join(', ')}])`;
    }
    case 'parquet':
      return `read_parquet(${path})`;
    case 'json':
      // Declared keys as text: DuckDB's type guess would quote strings of mixed-type keys and
      // reformat timestamps when the column is VARCHAR.
      return `read_json(${path}, format = 'auto', columns = {${schema.map((f) => `${quoteLiteral(f.name)}: 'VARCHAR'`).join(', ')}})`;
  }
}

/** The snapshot query: the declared columns, in order, cast to their types. */
export function snapshotQuery(cfg: FileTableConfig, schema: Schema): string {
  const cols = schema.map((f) => `CAST(${quoteIdent(f.name)} AS ${duckTypeName(f.type)})`);
  return `SELECT ${cols.join(', ')} FROM ${readerCall(cfg, schema)}`;
}

/** The column names the reader sees in the file (to name the missing ones). */
export function describeQuery(cfg: FileTableConfig, schema: Schema): string {
  return `SELECT column_name FROM (DESCRIBE SELECT * FROM ${readerCall(cfg, schema)})`;
}

/** Every key of the JSON records, to tell a key absent from the file from one that is always null. */
export function jsonKeysQuery(cfg: FileTableConfig): string {
  return `SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects(${quoteLiteral(cfg.path)}, format = 'auto') ORDER BY 1`;
}

