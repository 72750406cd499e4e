/**
 * Columnar appends into DuckDB: a batch's typed arrays are copied into DuckDB data chunks a
 * vector (2048 rows) at a time — fixed-width values and validity bitmaps as byte copies, text as
 * UTF-8 bytes straight from the column, exact NUMERIC as scaled integers into a DECIMAL vector —
 * instead of one appender call (and one DuckDB value, and for DECIMAL one text cast) per value.
 *
 * Measured (scratch profile of a restart serving `SELECT count(*)` over a 1 M-group view): the
 * per-value appender spent ~8 µs per NUMERIC value casting its text, two thirds of the restart.
 *
 * Only column types with a layout known here take this path (`chunkable`); the caller keeps the
 * per-value appender for the rest (intervals, arrays).
 */
import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import type { Batch, Column } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { SqlType } from '../common/types.js';

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK = duckdb.vector_size();

/** How one column is written (by the DuckDB column type and the sluice type). */
type Writer = (vec: duckdb.Vector, col: Column, from: number, n: number) => void;

function copyFixed(width: number): Writer {
  return (vec, col, from, n) => {
    const v = col.values;
    duckdb.copy_data_to_vector(vec, 0, v.buffer as ArrayBuffer, v.byteOffset + from * width, n * width);
  };
}

/** Booleans: sluice packs bits, DuckDB holds a byte per value. */
const writeBoolean: Writer = (vec, col, from, n) => {
  const bytes = new Uint8Array(n);
  const bits = col.values as Uint8Array;
  for (let i = 0; i < n; i++) {
    const k = from + i;
    bytes[i] = (bits[k >> 3]! >> (k & 7)) & 1;
  }
  duckdb.copy_data_to_vector(vec, 0, bytes.buffer, 0, n);
};

/** The bytes of a DuckDB string (duckdb_string_t), and the longest one held inline. */
const STRING_T = 16;
const INLINE_MAX = 12;

/**
 * Text (varchar, jsonb, bytea's hex, numeric into VARCHAR): each value's UTF-8 bytes as they are.
 * Strings of up to 12 bytes are written inline into the vector's string_t array (length, bytes,
 * zero padding: duckdb.h's duckdb_string_t) in one copy; longer ones one call each.
 */
const writeText: Writer = (vec, col, from, n) => {
  const offsets = col.offsets!;
  const bytes = col.values as Uint8Array;
  const valid = col.validity;
  const inline = new Uint8Array(n * STRING_T);
  const lengths = new DataView(inline.buffer);
  const long: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = from + i;
    if (valid !== null && ((valid[k >> 3]! >> (k & 7)) & 1) === 0) continue;
    const a = offsets[k]!;
    const len = offsets[k + 1]! - a;
    if (len > INLINE_MAX) {
      long.push(i);
      continue;
    }
    const at = i * STRING_T;
    lengths.setUint32(at, len, true);
    for (let p = 0; p < len; p++) inline[at + 4 + p] = bytes[a + p]!;
  }
  duckdb.copy_data_to_vector(vec, 0, inline.buffer, 0, n * STRING_T);
  for (const i of long) duckdb.vector_assign_string_element_len(vec, i, bytes.subarray(offsets[from + i]!, offsets[from + i + 1]!));
};

/**
 * A NUMERIC column (canonical text: optional '-', digits, optional '.' and digits) into a
 * DECIMAL(p, s) vector of `width` bytes: the value times 10^s, rounded half away from zero when
 * it has more fraction digits than s.
 */
function writeDecimal(width: 2 | 4 | 8 | 16, scale: number): Writer {
  return (vec, col, from, n) => {
    const offsets = col.offsets!;
    const bytes = col.values as Uint8Array;
    const valid = col.validity;
    const out = new DataView(new ArrayBuffer(n * width));
    for (let i = 0; i < n; i++) {
      const k = from + i;
      if (valid !== null && ((valid[k >> 3]! >> (k & 7)) & 1) === 0) continue;
      const v = scaledInteger(bytes, offsets[k]!, offsets[k + 1]!, scale);
      const at = i * width;
      if (width === 16) {
        out.setBigUint64(at, BigInt.asUintN(64, v), true);
        out.setBigInt64(at + 8, BigInt.asIntN(64, v >> 64n), true);
      } else if (width === 8) out.setBigInt64(at, v, true);
      else if (width === 4) out.setInt32(at, Number(v), true);
      else out.setInt16(at, Number(v), true);
    }
    duckdb.copy_data_to_vector(vec, 0, out.buffer, 0, n * width);
  };
}

/** The decimal text bytes [start, end) as an integer scaled by 10^scale. */
export function scaledInteger(bytes: Uint8Array, start: number, end: number, scale: number): bigint {
  let p = start;
  const neg = bytes[p] === 45; // '-'
  if (neg || bytes[p] === 43) p++;
  // Digits accumulate in a double while exact (< 2^53), then in a bigint.
  let acc = 0;
  let big: bigint | null = null;
  let frac = -1;
  let roundUp = false;
  for (; p < end; p++) {
    const c = bytes[p]!;
    if (c === 46) { // '.'
      frac = 0;
      continue;
    }
    if (frac >= 0) {
      if (frac === scale) {
        roundUp = c >= 53; // '5'
        break;
      }
      frac++;
    }
    const d = c - 48;
    if (d < 0 || d > 9) throw new SluiceError('invalid_input', `invalid input syntax for type numeric: "${new TextDecoder().decode(bytes.subarray(start, end))}"`);
    if (big === null) {
      // acc * 10 + 9 stays below 2^53 while acc < 9e14.
      if (acc < 9e14) acc = acc * 10 + d;
      else big = BigInt(acc) * 10n + BigInt(d);
    } else big = big * 10n + BigInt(d);
  }
  let v = big ?? BigInt(acc);
  for (let f = Math.max(frac, 0); f < scale; f++) v *= 10n;
  if (roundUp) v += 1n;
  return neg ? -v : v;
}

/** The writer for a column, or null when this path does not know its layout. */
function writerFor(duckType: DuckDBType, type: SqlType): Writer | null {
  switch (duckType.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return type === 'boolean' ? writeBoolean : null;
    case DuckDBTypeId.INTEGER:
      return type === 'int' ? copyFixed(4) : null;
    case DuckDBTypeId.DATE:
      return type === 'date' ? copyFixed(4) : null;
    case DuckDBTypeId.BIGINT:
      return type === 'bigint' ? copyFixed(8) : null;
    case DuckDBTypeId.TIMESTAMP:
      return type === 'timestamp' ? copyFixed(8) : null;
    case DuckDBTypeId.TIMESTAMP_TZ:
      return type === 'timestamptz' ? copyFixed(8) : null;
    case DuckDBTypeId.DOUBLE:
      return type === 'double' ? copyFixed(8) : null;
    case DuckDBTypeId.VARCHAR:
      return type === 'varchar' || type === 'numeric' || type === 'jsonb' || type === 'bytea' || type === 'null' ? writeText : null;
    case DuckDBTypeId.DECIMAL: {
      if (type !== 'numeric') return null;
      const { width, scale } = duckType as unknown as { width: number; scale: number };
      return writeDecimal(width <= 4 ? 2 : width <= 9 ? 4 : width <= 18 ? 8 : 16, scale);
    }
    default:
      return null;
  }
}

/**
 * The writers for every column of `appender`'s table given the sluice types, or null when one
 * column has no columnar writer (the caller appends value by value then).
 */
export function chunkWriters(appender: DuckDBAppender, types: readonly SqlType[]): { writers: Writer[]; duckTypes: DuckDBType[] } | null {
  if (appender.columnCount !== types.length) return null;
  const writers: Writer[] = [];
  const duckTypes: DuckDBType[] = [];
  for (let j = 0; j < types.length; j++) {
    const dt = appender.columnType(j);
    const w = writerFor(dt, types[j]!);
    if (!w) return null;
    writers.push(w);
    duckTypes.push(dt);
  }
  return { writers, duckTypes };
}

/** Appends `batches` (append-only rows; weights are ignored) through data chunks. */
export function appendChunks(appender: DuckDBAppender, plan: { writers: Writer[]; duckTypes: DuckDBType[] }, batches: readonly Batch[]): void {
  const { writers, duckTypes } = plan;
  const chunk = DuckDBDataChunk.create(duckTypes);
  const raw = chunk.chunk;
  const vectors = writers.map((_, j) => duckdb.data_chunk_get_vector(raw, j));
  for (const b of batches) {
    for (let from = 0; from < b.length; from += CHUNK) {
      const n = Math.min(CHUNK, b.length - from);
      duckdb.data_chunk_reset(raw);
      for (let j = 0; j < writers.length; j++) {
        const col = b.columns[j]!;
        const vec = vectors[j]!;
        writers[j]!(vec, col, from, n);
        if (col.validity !== null) {
          // Arrow's LSB bitmap is DuckDB's validity mask byte for byte (from is a multiple of 8).
          duckdb.vector_ensure_validity_writable(vec);
          const v = col.validity;
          duckdb.copy_data_to_vector_validity(vec, 0, v.buffer as ArrayBuffer, v.byteOffset + (from >> 3), (n + 7) >> 3);
        }
      }
      duckdb.data_chunk_set_size(raw, n);
      appender.appendDataChunk(chunk);
    }
  }
}
