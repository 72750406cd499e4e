/**
 * Coercion of a parsed JSON value to a column type: the rules by which a JSON record "fits the
 * schema". Strings always go through parseText (so '42', '2024-01-01 10:00' and '5 minutes'
 * work for any type); numbers and booleans are taken as they are when the type allows.
 */
import { microsInterval } from '../../common/interval.js';
import { SluiceError } from '../../common/errors.js';
import { elementType, typeDisplayName, type SqlType, type Value } from '../../common/types.js';
import { parseText } from '../../common/values.js';
import { numericText } from '../../common/decimal.js';
import { canonicalJsonb, quoteJsonString } from '../../common/jsonb.js';

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63;

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function mismatch(v: unknown, type: SqlType): SluiceError {
  const shown = typeof v === 'object' ? JSON.stringify(v) : String(v);
  const short = shown.length > 60 ? shown.slice(0, 57) + '...' : shown;
  return new SluiceError('datatype_mismatch', `expected ${typeDisplayName(type)}, got JSON ${kindOf(v)} ${short}`);
}

/**
 * Converts one JSON value to `type`. JSON null (or an absent field, passed as undefined) is
 * NULL. Throws SluiceError when the value does not fit: wrong kind, fractional or out-of-range
 * integer, unparsable string.
 */
export function coerceJson(v: unknown, type: SqlType): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return type === 'varchar' ? v : type === 'jsonb' ? quoteJsonString(v) : parseText(v, type);
  switch (type) {
    case 'varchar':
      // Nested objects and arrays are kept as their JSON text (a JSONB column holds the document).
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw mismatch(v, type);
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw mismatch(v, type);
      if (v < -2147483648 || v > 2147483647) throw new SluiceError('numeric_out_of_range', `value ${v} is out of range for type integer`);
      return v;
    case 'bigint':
      // Integers beyond 2^53 have already lost digits in JSON.parse; send them as strings.
      if (typeof v !== 'number' || !Number.isInteger(v)) throw mismatch(v, type);
      if (v < INT64_MIN || v >= INT64_LIMIT) throw new SluiceError('numeric_out_of_range', `value ${v} is out of range for type bigint`);
      return BigInt(v);
    case 'double':
      if (typeof v !== 'number') throw mismatch(v, type);
      return v;
    case 'numeric':
      // JSON.parse has made the number a double: its 15 significant digits, as PostgreSQL's float8 → numeric.
      if (typeof v !== 'number') throw mismatch(v, type);
      return numericText(v);
    case 'timestamp':
    case 'timestamptz':
      // A number is epoch milliseconds (what Date.now() and most JSON producers emit).
      if (typeof v !== 'number' || !Number.isFinite(v)) throw mismatch(v, type);
      if (Math.abs(v * 1000) >= INT64_LIMIT) throw new SluiceError('numeric_out_of_range', `epoch milliseconds ${v} are out of range for type timestamp`);
      return BigInt(Math.round(v * 1000));
    case 'interval':
      // A number is seconds, the same as parseInterval reads a bare number.
      if (typeof v !== 'number' || !Number.isFinite(v)) throw mismatch(v, type);
      if (Math.abs(v * 1e6) >= INT64_LIMIT) throw new SluiceError('numeric_out_of_range', `${v} seconds are out of range for type interval`);
      return microsInterval(BigInt(Math.round(v * 1e6)));
    case 'date':
    case 'time':
    case 'bytea':
      throw mismatch(v, type);
    case 'jsonb':
      // Any JSON value fits; a string is the JSON string (not a document to parse).
      return canonicalJsonb(JSON.stringify(v));
    case 'null':
      return null;
    default:
      if (!Array.isArray(v)) throw mismatch(v, type);
      return v.map((x: unknown) => coerceJson(x, elementType(type)));
  }
}

/**
 * A JSON record's keys folded to lower case (column names are case-insensitive); the first of
 * several case-variants wins, in the object's key order.
 */
export function foldKeys(rec: Record<string, unknown>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const k of Object.keys(rec)) {
    const lk = k.toLowerCase();
    if (!m.has(lk)) m.set(lk, rec[k]);
  }
  return m;
}
