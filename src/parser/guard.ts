/**
 * The parse guard's pre-check: one linear pass over a statement's tokens before node-sql-parser
 * sees it. node-sql-parser is a backtracking PEG parser whose time grows exponentially with
 * nested parentheses (worst when they do not balance), so unbalanced brackets, deep nesting and
 * huge statements are refused here, and the shape found decides whether the statement is cheap
 * enough to parse on the calling thread (see guarded-parse.ts).
 */
import { SluiceError } from '../common/errors.js';
import type { Statement } from './ast.js';
import { lex, type Token } from './lexer.js';
import { parseStatement } from './parse.js';

/** Deepest nesting of parentheses and brackets a statement may have (PostgreSQL has no fixed limit; 100 is far beyond hand-written SQL). */
export const MAX_NESTING = 100;

/**
 * Longest statement, in characters, given to the parser: node-sql-parser reads about 5–10 ms
 * per KiB of plain SQL, so a longer one could not be parsed within the deadline anyway.
 */
export const MAX_STATEMENT_CHARS = 1 << 20;

/**
 * Statements at most this long and nested at most {@link SYNC_MAX_DEPTH} deep are cheap: their
 * worst parse measured about 50 ms. Depth 2 at the same length reached 210 ms (CAST(CAST(…))).
 */
export const SYNC_MAX_CHARS = 1024;

/** See {@link SYNC_MAX_CHARS}. Function-call parentheses count too: CAST( and count( backtrack like bare ones. */
export const SYNC_MAX_DEPTH = 1;

/** What the pre-check learned about a statement. */
export interface StatementShape {
  /** Deepest nesting of parentheses and brackets. */
  readonly depth: number;
}

const CLOSER: Readonly<Record<string, string>> = { '(': ')', '[': ']' };

/** The hint for a statement the parser gave up on (it ran past the deadline or crashed). */
export const TOO_COMPLEX_HINT = 'Simplify the statement: fewer nested parentheses or subqueries (move them into WITH clauses or views), or shorter IN lists (a table and a join scale further).';

/**
 * Checks that a statement's parentheses and brackets balance, nest at most {@link MAX_NESTING}
 * deep, and that it is at most {@link MAX_STATEMENT_CHARS} long. `offset` is the statement's
 * 0-based place in the script; error positions are 1-based in the script, as everywhere.
 */
export function inspectStatement(stmt: string, offset: number): StatementShape {
  if (stmt.length > MAX_STATEMENT_CHARS) throw tooLong(stmt, offset);
  const open: Token[] = [];
  let depth = 0;
  for (const t of lex(stmt, offset)) {
    if (t.kind !== 'symbol') continue;
    if (t.value === '(' || t.value === '[') {
      open.push(t);
      if (open.length > MAX_NESTING) {
        throw new SluiceError('statement_too_complex', `statement is too complex: parentheses and brackets nest more than ${MAX_NESTING} deep`, {
          position: t.start + 1,
          hint: 'Flatten the expression, or move nested subqueries into WITH clauses or views.',
        });
      }
      depth = Math.max(depth, open.length);
    } else if (t.value === ')' || t.value === ']') {
      const opener = open.pop();
      if (!opener) {
        throw new SluiceError('syntax', `syntax error at or near "${t.value}"`, { position: t.start + 1, hint: `Remove this "${t.value}": there is no "${t.value === ')' ? '(' : '['}" for it to close.` });
      }
      const expected = CLOSER[opener.value]!;
      if (t.value !== expected) {
        throw new SluiceError('syntax', `syntax error at or near "${t.value}"`, { position: t.start + 1, hint: `Write "${expected}" here to close the "${opener.value}" at position ${opener.start + 1}.` });
      }
    }
  }
  const unclosed = open.pop();
  if (unclosed) {
    throw new SluiceError('syntax', `syntax error at or near "${unclosed.value}"`, { position: unclosed.start + 1, hint: `Add the "${CLOSER[unclosed.value]}" that closes this "${unclosed.value}", or remove it.` });
  }
  return { depth };
}

/**
 * Where to parse a statement: `'here'`, on the calling thread, when it is short and shallow
 * (see {@link SYNC_MAX_CHARS}), else `'worker'`. Throws what the pre-check finds in a short
 * statement and refuses an over-long one; a long statement is inspected by the worker, because
 * lexing costs 150–250 ms per MiB, too long for the main thread.
 */
export function parseSite(stmt: string, offset: number): 'here' | 'worker' {
  if (stmt.length > MAX_STATEMENT_CHARS) throw tooLong(stmt, offset);
  // An INSERT never reaches node-sql-parser (DuckDB parses it, linearly): its work here is
  // linear too, so a bulk INSERT is not sent to a worker, whose deadline a busy machine misses.
  if (/^\s*insert\s/i.test(stmt)) {
    inspectStatement(stmt, offset);
    return 'here';
  }
  if (stmt.length > SYNC_MAX_CHARS) return 'worker';
  return inspectStatement(stmt, offset).depth <= SYNC_MAX_DEPTH ? 'here' : 'worker';
}

/**
 * Parses one statement that passed {@link inspectStatement}, as `parseStatement` does, except
 * that running out of stack (a very long chain such as `1 + 1 + … + 1` recurses once per
 * operator) is 54001, as PostgreSQL's "stack depth limit exceeded" is, not an internal error.
 */
export function parseChecked(stmt: string, offset: number, whole: string): Statement {
  try {
    return parseStatement(stmt, offset, whole);
  } catch (e) {
    if (isStackOverflow(e) || (e instanceof SluiceError && isStackOverflow(e.cause))) {
      throw new SluiceError('statement_too_complex', 'statement is too complex: stack depth limit exceeded while parsing it', {
        position: offset + 1,
        hint: 'Shorten long chains of operators (a + b + …, x OR y OR …), e.g. with IN lists, or split the expression over WITH clauses or views.',
        cause: e,
      });
    }
    throw e;
  }
}

function tooLong(stmt: string, offset: number): SluiceError {
  return new SluiceError('statement_too_complex', `statement is too complex: it is ${stmt.length} characters long, the limit is ${MAX_STATEMENT_CHARS}`, {
    position: offset + 1,
    hint: "Split it into several statements; load bulk data from a file with CREATE TABLE … WITH (connector = 'file', …).",
  });
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}
