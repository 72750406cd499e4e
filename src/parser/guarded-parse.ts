/**
 * The guarded way to parse client SQL. Every statement passes the pre-check (guard.ts); a
 * short, shallow one is parsed right here, any other by a parse worker under a deadline. So a
 * pathological statement costs its sender a 54001 after at most the deadline instead of
 * stalling every client and every epoch, and the event loop is never held for long.
 */
import type { Statement } from './ast.js';
import { parseChecked, parseSite } from './guard.js';
import { scanInsertValues, type ScannedInsert } from './insert-values.js';
import { splitStatements } from './lexer.js';
import { ParsePool } from './parse-pool.js';

// A script of many cheap statements still lets other work run this often, in ms.
const YIELD_EVERY_MS = 20;

// One pool per process: workers are a process resource, shared by every engine and session.
// It starts no worker until a statement needs one.
const pool = new ParsePool();

/**
 * Parses a script of one or more statements, as `parseSql` does, without blocking the event
 * loop: 42601 for unbalanced brackets, 54001 for nesting deeper than 100, a statement longer
 * than 1 MiB, or one whose parse takes longer than 1 s. Positions are relative to `text`.
 */
export async function parseSqlGuarded(text: string): Promise<Statement[]> {
  const bulk = scanInsertValues(text);
  if (bulk) return [insertStatement(bulk, text)];
  const out: Statement[] = [];
  let since = performance.now();
  for (const s of splitStatements(text)) {
    if (parseSite(s.text, s.offset) === 'worker') {
      out.push(await pool.parse(s.text, s.offset));
      since = performance.now();
      continue;
    }
    out.push(parseChecked(s.text, s.offset, text));
    if (performance.now() - since > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
  return out;
}

/**
 * Starts the shared parse workers now, so that the first statement that needs one does not
 * wait for it to load the parser (about 0.5 s). Resolves when they are ready.
 */
export function warmParser(): Promise<void> {
  return pool.warm();
}

/** What the shared parse workers are doing (for diagnostics). */
export function parseDiagnostics(): string {
  return pool.describe();
}

/** The statement of a script that is one bulk INSERT of literals (its size is not limited: the scan is linear). */
export function insertStatement(bulk: ScannedInsert, text: string): Statement {
  return { kind: 'insert', table: bulk.table, text: bulk.statement, pos: bulk.pos, offset: text.length - text.trimStart().length, values: bulk.values };
}
