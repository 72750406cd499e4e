/**
 * The words Tab completes besides object names: sluice's statements, clauses, window
 * functions, options, types and common functions. Phrases whose first word is almost always
 * followed by the same next one complete whole ('GROUP BY', 'EMIT ON WINDOW CLOSE').
 */

/** SQL keywords and phrases, upper case; completion recases them to the user's prefix. */
export const SQL_KEYWORDS: readonly string[] = [
  // statements
  'CREATE', 'SOURCE', 'TABLE', 'MATERIALIZED VIEW', 'MATERIALIZED VIEWS', 'SINK', 'DROP', 'IF EXISTS', 'IF NOT EXISTS', 'CASCADE',
  'INSERT INTO', 'VALUES', 'UPDATE', 'SET', 'DELETE FROM', 'SHOW', 'SOURCES', 'TABLES', 'SINKS', 'DESCRIBE', 'EXPLAIN',
  'FLUSH', 'SUBSCRIBE', 'BEGIN', 'COMMIT', 'ROLLBACK', 'MODEL', 'MODELS',
  // queries
  'SELECT', 'DISTINCT', 'DISTINCT ON', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'OFFSET', 'FETCH FIRST',
  'ROWS', 'WITH TIES', 'UNION', 'ALL', 'AS', 'WITH', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'OUTER', 'CROSS', 'ON', 'USING',
  'FOR SYSTEM_TIME AS OF PROCTIME()', 'AND', 'OR', 'NOT', 'NULL', 'IS', 'IN', 'BETWEEN', 'LIKE', 'ILIKE', 'CASE', 'WHEN',
  'THEN', 'ELSE', 'END', 'CAST', 'TRUE', 'FALSE', 'ASC', 'DESC', 'NULLS FIRST', 'NULLS LAST', 'FILTER', 'OVER', 'PARTITION BY',
  // streaming
  'TUMBLE', 'HOP', 'SESSION', 'WINDOW_START', 'WINDOW_END', 'WATERMARK FOR', 'EMIT ON WINDOW CLOSE', 'PROCTIME()', 'INTERVAL',
  'APPEND ONLY', 'PRIMARY KEY', 'CONNECTOR', 'FORMAT', 'SNAPSHOT', 'LATE_ROWS', 'BATCH_INTERVAL', 'RW_IMPLICIT_FLUSH',
  'WATERMARK_IDLE_TIMEOUT', 'ENABLE_WINDOW_PANES', 'LOOKUP_JOIN_STRATEGY',
  // types
  'INT', 'INTEGER', 'BIGINT', 'DOUBLE', 'DOUBLE PRECISION', 'NUMERIC', 'VARCHAR', 'TEXT', 'BOOLEAN', 'TIMESTAMP', 'DATE',
  // functions
  'COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'COALESCE', 'NULLIF', 'GREATEST', 'LEAST', 'UPPER', 'LOWER', 'LENGTH', 'SUBSTRING',
  'TRIM', 'REPLACE', 'SPLIT_PART', 'ABS', 'ROUND', 'FLOOR', 'CEIL', 'SQRT', 'POWER', 'DATE_TRUNC', 'EXTRACT', 'NOW()',
  'ROW_NUMBER()', 'PREDICT', 'PREDICT_PROBA',
];

/** Words after which a relation name is expected: completion offers names only there. */
export const RELATION_CONTEXT: ReadonlySet<string> = new Set([
  'from', 'join', 'subscribe', 'to', 'describe', 'desc', 'into', 'update', 'table', 'view', 'source', 'sink', 'model', 'exists', 'tumble', 'hop', 'session',
]);
