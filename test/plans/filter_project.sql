CREATE MATERIALIZED VIEW x AS
  SELECT k, v * 2 AS v2, upper(note) AS shout FROM t WHERE v > 10 AND k LIKE 'a%'
