CREATE MATERIALIZED VIEW zipped AS
  SELECT id, unnest(tags) AS tag, generate_series(1, n) AS i, tags[1] AS first_tag FROM lines
