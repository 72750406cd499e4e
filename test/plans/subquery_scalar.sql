CREATE MATERIALIZED VIEW x AS
  SELECT k, (SELECT count(*) FROM lines WHERE lines.n = t.g) AS c, (SELECT max(amount) FROM events) AS top
  FROM t WHERE v > (SELECT avg(n) FROM lines WHERE lines.id = t.g)
