/**
 * Shared test helpers: canonical row forms for comparing engine output with DuckDB's, schemas
 * written as SQL column lists, and temporary directories removed after each test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach } from 'vitest';
import { parseTypeName, type Schema, type Value } from '../src/common/types.js';

/** A schema from a column list such as `'id int, name varchar, ts timestamp'`. */
export function schemaOf(columns: string): Schema {
  return columns.split(',').map((c) => {
    const [name, ...type] = c.trim().split(/\s+/);
    return { name: name!, type: parseTypeName(type.join(' ')) };
  });
}

/** A fresh temporary directory for each test of the calling file: call `dir()` inside a test. */
export function tempDirEach(prefix: string): () => string {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/**
 * A canonical text for a value: integers exact, doubles to 9 significant digits; NUMERIC text
 * (sum(bigint) and avg of integers are NUMERIC) as the integer it is or the double it is
 * closest to, so it meets an oracle's bigint or double.
 */
export function canonical(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return v;
  if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) return canonical(Number(v));
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

/**
 * The parallelism a differential case runs its views at: 1, 2 or 4 (issue 16's acceptance: every
 * family answers the same at each). Part of the case, so a failure shrinks and replays with it.
 */
export const parallelismArb = fc.constantFrom(1, 2, 4);
