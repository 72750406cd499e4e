/**
 * JSON-lines encoding of a changelog for the file sink: one object per change,
 * `{"op":"+"|"-", <column>: <value>, …}` in schema order. A row of weight w is written |w|
 * times, '+' for positive and '-' for negative weights. Values: booleans and numbers as JSON
 * (BIGINT as a number when it is a safe integer, else as a string so no digit is lost; NaN and
 * ±Infinity as strings), TIMESTAMP as 'YYYY-MM-DD HH:MM:SS[.ffffff]', DATE and INTERVAL as
 * PostgreSQL prints them, NULL as null. A column named "op" would repeat the key; readers
 * taking the last key then see the column.
 */
import { getBit, getString, isValid, type Batch, type Column } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { formatDate, formatTimestamp } from '../../common/values.js';
import { formatInterval } from '../../common/interval.js';

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The JSON text of row i of column c. */
export function jsonValue(c: Column, i: number): string {
  if (!isValid(c, i)) return 'null';
  switch (c.type) {
    case 'boolean':
      return getBit(c.values as Uint8Array, i) ? 'true' : 'false';
    case 'int':
      return String((c.values as Int32Array)[i]);
    case 'date':
      return `"${formatDate((c.values as Int32Array)[i]!)}"`;
    case 'numeric':
      // The exact decimal as a JSON number.
      return getString(c, i);
    case 'double': {
      const v = (c.values as Float64Array)[i]!;
      return Number.isFinite(v) ? String(v) : `"${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}"`;
    }
    case 'bigint': {
      const v = (c.values as BigInt64Array)[i]!;
      return v >= -SAFE && v <= SAFE ? String(v) : `"${v}"`;
    }
    case 'timestamp':
      return `"${formatTimestamp((c.values as BigInt64Array)[i]!)}"`;
    // The instant, ISO 8601 with its UTC offset (a sink has no session zone).
    case 'timestamptz':
      return `"${formatTimestamp((c.values as BigInt64Array)[i]!).replace(' ', 'T')}+00:00"`;
    case 'interval':
      return JSON.stringify(formatInterval(getString(c, i)));
    case 'varchar':
      return JSON.stringify(getString(c, i));
    case 'null':
      return 'null';
    default: {
      const o = c.offsets!;
      const parts: string[] = [];
      for (let k = o[i]!; k < o[i + 1]!; k++) parts.push(jsonValue(c.child!, k));
      return `[${parts.join(',')}]`;
    }
  }
}

/** Appends the JSON lines (each ending in '\n') of `batches` to `out`; returns the line count. */
export function encodeJsonLines(schema: Schema, batches: readonly Batch[], out: string[]): number {
  const keys = schema.map((f) => `,${JSON.stringify(f.name)}:`);
  let lines = 0;
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const w = b.weights === null ? 1 : b.weights[i]!;
      if (w === 0) continue;
      let line = w > 0 ? '{"op":"+"' : '{"op":"-"';
      for (let j = 0; j < keys.length; j++) line += keys[j]! + jsonValue(b.columns[j]!, i);
      line += '}\n';
      for (let k = Math.abs(w); k > 0; k--) out.push(line);
      lines += Math.abs(w);
    }
  }
  return lines;
}
