CREATE MATERIALIZED VIEW x AS
  SELECT k, g, g IN (SELECT n FROM lines) AS listed FROM t
  WHERE g NOT IN (SELECT v FROM t t2 WHERE t2.k = 'skip') AND v IN (SELECT n FROM lines WHERE lines.line = t.note)
