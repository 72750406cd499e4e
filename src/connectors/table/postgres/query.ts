/**
 * The PostgreSQL query of a table snapshot: the declared columns by name, each cast on the
 * server to the declared type so its text form is the one sluice parses (a timestamptz becomes
 * UTC wall time, a jsonb or uuid becomes text, a numeric fits a DOUBLE column).
 */
import { elementType, type Schema, type SqlType } from '../../../common/types.js';
import { quoteIdent } from '../quoting.js';

/** The PostgreSQL type a declared column is cast to on the server. */
export function pgTypeName(type: SqlType): string {
  switch (type) {
    case 'boolean': return 'boolean';
    case 'int': return 'integer';
    case 'bigint': return 'bigint';
    case 'double': return 'double precision';
    case 'numeric': return 'numeric';
    case 'varchar':
    case 'null': return 'text';
    case 'timestamp': return 'timestamp';
    case 'timestamptz': return 'timestamptz';
    case 'date': return 'date';
    case 'time': return 'time';
    case 'interval': return 'interval';
    case 'bytea': return 'bytea';
    case 'jsonb': return 'jsonb';
    default: return `${pgTypeName(elementType(type))}[]`;
  }
}

/** The table's name as SQL: each part quoted, so it matches exactly. */
export function qualifiedName(parts: readonly string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** SELECT of the declared columns, cast to their types, from the table. */
export function snapshotQuery(table: readonly string[], schema: Schema): string {
  const cols = schema.map((f) => `CAST(${quoteIdent(f.name)} AS ${pgTypeName(f.type)})`);
  return `SELECT ${cols.join(', ')} FROM ${qualifiedName(table)}`;
}

/** A query that returns no rows but the table's column names (to list them when one is missing). */
export function columnsQuery(table: readonly string[]): string {
  return `SELECT * FROM ${qualifiedName(table)} LIMIT 0`;
}
