CREATE MATERIALIZED VIEW tagged AS
  SELECT l.id, s.tag, s.len
  FROM lines l CROSS JOIN LATERAL (SELECT unnest(l.tags) AS tag, length(l.line) AS len) s
  WHERE 'x' = ANY(l.tags)
