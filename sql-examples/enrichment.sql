-- Enrich a click stream with a CSV dimension table (the seeds' stream ⋈ static dataset),
-- then count clicks per section. Run from the project root:
--   bin/sluice.js run sql-examples/enrichment.sql
CREATE SOURCE clicks (user_id BIGINT, page_id BIGINT, ts TIMESTAMP)
  WITH (connector = 'file', path = 'sql-examples/data/clicks', format = 'json');

CREATE TABLE pages (id BIGINT, path VARCHAR, section VARCHAR)
  WITH (connector = 'file', path = 'sql-examples/data/tables/pages.csv', format = 'csv');

-- A stream joined with a connector table is a lookup join: each click meets the table as of
-- its epoch. LEFT keeps clicks on unknown pages.
CREATE MATERIALIZED VIEW enriched AS
  SELECT c.user_id, c.ts, p.path, coalesce(p.section, 'unknown') AS section
  FROM clicks c LEFT JOIN pages p ON c.page_id = p.id;

CREATE MATERIALIZED VIEW per_section AS
  SELECT section, count(*) AS clicks, count(DISTINCT user_id) AS users FROM enriched GROUP BY section;

FLUSH;
SELECT * FROM per_section ORDER BY clicks DESC, section;
-- The malformed line went to the dead-letter table, with its position.
SELECT position, error FROM clicks_errors;
