/**
 * SQL types of sluice and their JS value forms. Storage (see column.ts):
 *   boolean → bit-packed Uint8Array · int, date → Int32Array · bigint, timestamp, interval →
 *   BigInt64Array (timestamps and intervals in microseconds) · double, numeric → Float64Array ·
 *   varchar → Arrow Utf8 (Int32 offsets + bytes).
 * JS values: boolean | number (int, double, numeric, date as days since 1970) |
 *   bigint (bigint, timestamp µs, interval µs) | string (varchar) | null.
 */
import { SluiceError } from './errors.js';

export type SqlType =
  | 'boolean'
  | 'int'
  | 'bigint'
  | 'double'
  | 'numeric'
  | 'varchar'
  | 'timestamp'
  | 'date'
  | 'interval'
  | 'null';

export type Value = boolean | number | bigint | string | null;

export interface Field {
  readonly name: string;
  readonly type: SqlType;
}

export type Schema = readonly Field[];

/** Parses a SQL type name (as written in DDL or a cast) into a SqlType. */
export function parseTypeName(raw: string): SqlType {
  const name = raw.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\(.*\)$/, '').trim();
  switch (name) {
    case 'bool':
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'int4':
    case 'integer':
    case 'smallint':
    case 'int2':
    case 'tinyint':
      return 'int';
    case 'bigint':
    case 'int8':
      return 'bigint';
    case 'double':
    case 'double precision':
    case 'float':
    case 'float8':
    case 'float4':
    case 'real':
      return 'double';
    case 'numeric':
    case 'decimal':
      return 'numeric';
    case 'varchar':
    case 'text':
    case 'string':
    case 'character varying':
    case 'char':
    case 'character':
    case 'jsonb':
    case 'json':
      return 'varchar';
    case 'timestamp':
    case 'timestamp without time zone':
    case 'timestamptz':
    case 'timestamp with time zone':
    case 'datetime':
      return 'timestamp';
    case 'date':
      return 'date';
    case 'interval':
      return 'interval';
    default:
      throw new SluiceError('not_supported', `type "${raw}" is not supported`, {
        hint: 'Use one of BOOLEAN, INT, BIGINT, DOUBLE, NUMERIC, VARCHAR, TIMESTAMP, DATE, INTERVAL.',
      });
  }
}

/** The name PostgreSQL clients expect for a type. */
export function typeDisplayName(t: SqlType): string {
  switch (t) {
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'integer';
    case 'bigint':
      return 'bigint';
    case 'double':
      return 'double precision';
    case 'numeric':
      return 'numeric';
    case 'varchar':
      return 'character varying';
    case 'timestamp':
      return 'timestamp without time zone';
    case 'date':
      return 'date';
    case 'interval':
      return 'interval';
    case 'null':
      return 'unknown';
  }
}

export function isNumeric(t: SqlType): boolean {
  return t === 'int' || t === 'bigint' || t === 'double' || t === 'numeric';
}

/** The common type two operands are coerced to, or null when there is none. */
export function commonType(a: SqlType, b: SqlType): SqlType | null {
  if (a === b) return a;
  if (a === 'null') return b;
  if (b === 'null') return a;
  if (isNumeric(a) && isNumeric(b)) {
    if (a === 'double' || b === 'double') return 'double';
    if (a === 'numeric' || b === 'numeric') return 'numeric';
    return 'bigint';
  }
  if ((a === 'timestamp' && b === 'date') || (a === 'date' && b === 'timestamp')) return 'timestamp';
  return null;
}

export const MICROS_PER_DAY = 86_400_000_000n;
