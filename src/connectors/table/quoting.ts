/**
 * Quoting for the SQL text table loaders send to DuckDB and PostgreSQL, which share the
 * standard rules: identifiers in double quotes, strings in single quotes, each quote doubled.
 */

/** An identifier quoted for DuckDB or PostgreSQL: `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal for DuckDB or PostgreSQL (standard strings: backslashes are plain characters). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
