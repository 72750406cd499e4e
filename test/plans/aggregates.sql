CREATE MATERIALIZED VIEW x AS
  SELECT g, count(*) AS c, count(DISTINCT k) AS dk, min(v) AS lo, avg(d) FILTER (WHERE d > 0) AS pos_avg
  FROM t GROUP BY g HAVING count(*) > 1
