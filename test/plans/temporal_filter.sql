CREATE MATERIALIZED VIEW recent AS
  SELECT kind, count(*) AS n, sum(amount) AS total FROM events
  WHERE ts > now() - INTERVAL '1 hour' AND ts <= now() AND amount > 0 GROUP BY kind
