CREATE MATERIALIZED VIEW x AS
  SELECT g, count(*) AS c, (SELECT line FROM lines WHERE lines.id = t.g) AS line
  FROM t GROUP BY g
  HAVING count(*) > ALL (SELECT n FROM lines WHERE lines.id = t.g)
