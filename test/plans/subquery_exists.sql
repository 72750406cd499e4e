CREATE MATERIALIZED VIEW x AS
  SELECT id, kind, amount FROM events
  WHERE EXISTS (SELECT 1 FROM t WHERE t.k = events.kind AND t.v > 0)
    AND NOT EXISTS (SELECT 1 FROM lines WHERE lines.id = events.id)
