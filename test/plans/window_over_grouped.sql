CREATE MATERIALIZED VIEW x AS
  SELECT g, sum(v) AS total, rank() OVER (ORDER BY sum(v) DESC) AS r, sum(sum(v)) OVER (ORDER BY g) AS running
  FROM t GROUP BY g HAVING count(*) > 1
