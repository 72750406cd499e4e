/**
 * SQL types of sluice and their JS value forms. Storage (see column.ts):
 *   boolean → bit-packed Uint8Array · int, date → Int32Array · bigint, timestamp, timestamptz →
 *   BigInt64Array (microseconds; a timestamptz's are the UTC instant's) · double → Float64Array ·
 *   varchar → Arrow Utf8 (Int32 offsets + bytes) · bytea → Utf8 holding its hex text form (`\x0a1b`),
 *   whose string order is the bytes' order · numeric → Utf8 holding its exact canonical decimal
 *   text (`-12.50`, see decimal.ts), ordered by value, not by its bytes ·
 *   jsonb → Utf8 holding the document's canonical text (see jsonb.ts).
 * JS values: boolean | number (int, double, date as days since 1970) |
 *   bigint (bigint, timestamp µs, interval µs) | string (varchar, bytea, numeric, jsonb) | null.
 */
import { SluiceError } from './errors.js';

/** The types a column holds one value of. */
export type ScalarType =
  | 'boolean'
  | 'int'
  | 'bigint'
  | 'double'
  | 'numeric'
  | 'varchar'
  | 'timestamp'
  | 'timestamptz'
  | 'date'
  | 'time'
  | 'interval'
  | 'bytea'
  | 'jsonb'
  | 'null';

/** The element types an array can have. */
export type ElementType = 'boolean' | 'int' | 'bigint' | 'double' | 'varchar';

/** One-dimensional arrays (PostgreSQL's `int[]`, `text[]`, …): a list column (see column.ts). */
export type ArrayType = `${ElementType}[]`;

export type SqlType = ScalarType | ArrayType;

/** A JS value; an array value is a JS array of its elements' values (NULL elements as null). */
export type Value = boolean | number | bigint | string | null | readonly Value[];

/** Every array type, for exhaustive tables. */
export const ARRAY_TYPES: readonly ArrayType[] = ['boolean[]', 'int[]', 'bigint[]', 'double[]', 'varchar[]'];

export function isArrayType(t: SqlType): t is ArrayType {
  return t.endsWith('[]');
}

/** The element type of an array type. */
export function elementType(t: ArrayType): ElementType {
  return t.slice(0, -2) as ElementType;
}

/** The array type over `t`, or null when sluice has no arrays of it. */
export function arrayOf(t: SqlType): ArrayType | null {
  const a = `${t}[]`;
  return (ARRAY_TYPES as readonly string[]).includes(a) ? (a as ArrayType) : null;
}

export interface Field {
  readonly name: string;
  readonly type: SqlType;
  /** NUMERIC(precision, scale) of a table's or source's column, as declared. */
  readonly typmod?: NumericTypmod;
}

/** The precision and scale of NUMERIC(p, s). */
export interface NumericTypmod {
  readonly precision: number;
  readonly scale: number;
}

/**
 * The typmod of a NUMERIC/DECIMAL type name (`numeric(10, 2)`, `decimal(5)`), or undefined for
 * other types and an unconstrained NUMERIC. PostgreSQL's limits: precision 1–1000, scale 0–p.
 */
export function parseNumericTypmod(raw: string): NumericTypmod | undefined {
  const m = /^\s*(?:numeric|decimal)\s*\(\s*([+-]?\d+)\s*(?:,\s*([+-]?\d+)\s*)?\)\s*$/i.exec(raw);
  if (!m) return undefined;
  const precision = Number(m[1]);
  const scale = Number(m[2] ?? 0);
  if (precision < 1 || precision > 1000) throw new SluiceError('invalid_parameter', `NUMERIC precision ${precision} must be between 1 and 1000`);
  if (scale < 0 || scale > precision) throw new SluiceError('invalid_parameter', `NUMERIC scale ${scale} must be between 0 and precision ${precision}`);
  return { precision, scale };
}

export type Schema = readonly Field[];

/** Parses a SQL type name (as written in DDL or a cast) into a SqlType. */
export function parseTypeName(raw: string): SqlType {
  const lower = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  const arr = /^(.*?)\s*(\[\s*\d*\s*\])+$/.exec(lower);
  if (arr) {
    const elem = parseTypeName(arr[1]!);
    const t = arrayOf(elem);
    if (t === null || (arr[0]!.match(/\[/g) ?? []).length > 1) {
      throw new SluiceError('not_supported', `type "${raw.trim()}" is not supported`, {
        hint: 'Arrays are one-dimensional, of BOOLEAN, INT, BIGINT, DOUBLE PRECISION or VARCHAR/TEXT.',
      });
    }
    return t;
  }
  const name = lower.replace(/\(.*\)$/, '').trim();
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
      return 'varchar';
    // json is held as jsonb (as RisingWave does): the canonical document, not the text as written.
    case 'jsonb':
    case 'json':
      return 'jsonb';
    case 'timestamp':
    case 'timestamp without time zone':
    case 'datetime':
      return 'timestamp';
    case 'timestamptz':
    case 'timestamp with time zone':
      return 'timestamptz';
    case 'date':
      return 'date';
    case 'time':
    case 'time without time zone':
      return 'time';
    case 'interval':
      return 'interval';
    case 'bytea':
      return 'bytea';
    default:
      throw new SluiceError('not_supported', `type "${raw}" is not supported`, {
        hint: 'Use one of BOOLEAN, INT, BIGINT, DOUBLE, NUMERIC, VARCHAR, TIMESTAMP, TIMESTAMPTZ, DATE, TIME, INTERVAL, JSONB, BYTEA.',
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
    case 'timestamptz':
      return 'timestamp with time zone';
    case 'date':
      return 'date';
    case 'time':
      return 'time without time zone';
    case 'interval':
      return 'interval';
    case 'bytea':
      return 'bytea';
    case 'jsonb':
      return 'jsonb';
    case 'null':
      return 'unknown';
    default:
      return `${typeDisplayName(elementType(t))}[]`;
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
  // PostgreSQL's preferred datetime type: a timestamp or date meets a timestamptz as one read in the session zone.
  if ((a === 'timestamptz' && (b === 'timestamp' || b === 'date')) || (b === 'timestamptz' && (a === 'timestamp' || a === 'date'))) return 'timestamptz';
  return null;
}

export const MICROS_PER_DAY = 86_400_000_000n;
