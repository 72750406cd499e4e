/** Shared test helpers: canonical row forms for comparing engine output with DuckDB's. */
import type { Value } from '../src/common/types.js';

/** A canonical text for a value: integers exact, doubles to 9 significant digits. */
export function canonical(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return Number(v.toPrecision(9)).toString();
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v);
}

export function canonicalRows(rows: readonly (readonly Value[])[]): string[] {
  return rows.map((r) => r.map(canonical).join(' | ')).sort();
}
