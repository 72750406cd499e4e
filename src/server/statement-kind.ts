/**
 * What the leading keyword of a statement says about its result, for Describe: the engine has
 * no describe of its own, so a statement's columns are only known by running it. (A DML
 * statement with RETURNING is run at its portal's Describe, to say its columns; Execute then
 * sends the rows of that one run.)
 */
import { lex } from '../parser/index.js';

// Statements the engine answers with a command tag, never rows.
const COMMANDS = new Set(['create', 'declare', 'close', 'copy', 'comment', 'insert', 'update', 'delete', 'drop', 'set', 'flush', 'alter', 'reset', 'begin', 'start', 'commit', 'rollback', 'end', 'abort', 'truncate', 'discard', 'grant', 'revoke']);
// Statements that can be wrapped as a subquery to learn their columns without running them.
const QUERIES = new Set(['select', 'with', 'values', 'table', '(']);

/** The lower-cased first keyword of sql after comments and whitespace ('(' for a parenthesized query). */
export function leadingKeyword(sql: string): string {
  let i = 0;
  const n = sql.length;
  for (;;) {
    while (i < n && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
    } else if (sql.startsWith('/*', i)) {
      const e = sql.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else break;
  }
  if (sql[i] === '(') return '(';
  const m = /^[A-Za-z_]+/.exec(sql.slice(i, i + 32));
  return m ? m[0].toLowerCase() : '';
}

/** True unless the statement is one the engine answers with a command tag (DML with RETURNING gives rows too). */
export function mayReturnRows(sql: string): boolean {
  const first = leadingKeyword(sql);
  if ((first === 'insert' || first === 'update' || first === 'delete') && hasReturning(sql)) return true;
  return !COMMANDS.has(first);
}

/** Whether DML text has a RETURNING clause (the word outside strings, quotes and parentheses). */
function hasReturning(sql: string): boolean {
  if (!/\breturning\b/i.test(sql)) return false;
  let toks;
  try {
    toks = lex(sql);
  } catch {
    return false; // (The statement's own error comes from running it.)
  }
  let depth = 0;
  for (const t of toks) {
    if (t.kind === 'symbol' && t.value === '(') depth++;
    else if (t.kind === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'ident' && t.value === 'returning') return true;
  }
  return false;
}

/** True for a query (SELECT, WITH, VALUES, TABLE) that can be wrapped as a subquery. */
export function isQuery(sql: string): boolean {
  return QUERIES.has(leadingKeyword(sql));
}
