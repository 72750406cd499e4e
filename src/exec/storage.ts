/**
 * Storage classes: how a column of each SQL type is held in memory, which is what kernels are
 * chosen by.
 */
import type { SqlType } from '../common/types.js';

/** A physical representation of column values: typed-array kind, bitmap, UTF-8 bytes or nothing. */
export type Storage = 'i32' | 'i64' | 'f64' | 'bool' | 'utf8' | 'list' | 'null';

/** The storage class of a SQL type. */
export function storageOf(t: SqlType): Storage {
  switch (t) {
    case 'int':
    case 'date':
      return 'i32';
    case 'bigint':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
      return 'i64';
    case 'double':
      return 'f64';
    case 'boolean':
      return 'bool';
    case 'varchar':
    case 'bytea':
    case 'numeric':
    case 'jsonb':
    case 'interval':
      return 'utf8';
    case 'null':
      return 'null';
    default:
      return 'list';
  }
}
