CREATE MATERIALIZED VIEW x AS
  SELECT kind, n FROM (SELECT kind, count(*) AS n, max(amount) AS top FROM events GROUP BY kind) s
  WHERE kind <> 'test' AND n > 3
