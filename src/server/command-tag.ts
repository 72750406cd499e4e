/**
 * CommandComplete tags: the engine's tags ('CREATE_TABLE', 'SELECT 3') in PostgreSQL's words.
 */

/** The CommandComplete tag of an engine result tag: 'CREATE_MATERIALIZED_VIEW' → 'CREATE MATERIALIZED VIEW'. */
export function commandTag(engineTag: string): string {
  return engineTag.replace(/_/g, ' ');
}

/**
 * A tag with its trailing row count replaced: a portal fetched in pieces reports the rows of the
 * last Execute, as PostgreSQL does ('SELECT 3' → 'SELECT 1').
 */
export function withRowCount(tag: string, rows: number): string {
  const m = /^(.*\D)\d+$/.exec(tag);
  return m ? `${m[1]}${rows}` : tag;
}
