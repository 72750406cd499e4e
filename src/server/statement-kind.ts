/**
 * What the leading keyword of a statement says about its result, for Describe: the engine has
 * no describe of its own, so a statement's columns are only known by running it.
 */

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

/** True unless the statement is one the engine answers with a command tag. */
export function mayReturnRows(sql: string): boolean {
  return !COMMANDS.has(leadingKeyword(sql));
}

/** True for a query (SELECT, WITH, VALUES, TABLE) that can be wrapped as a subquery. */
export function isQuery(sql: string): boolean {
  return QUERIES.has(leadingKeyword(sql));
}
