CREATE MATERIALIZED VIEW x AS
  SELECT t.k, e.amount FROM t LEFT JOIN events e ON t.k = e.kind AND e.amount > t.d WHERE t.v > 0 AND e.id IS NULL
