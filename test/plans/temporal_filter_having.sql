CREATE MATERIALIZED VIEW active_kinds AS
  SELECT kind, max(ts) AS last_seen FROM events GROUP BY kind HAVING max(ts) + INTERVAL '10 minutes' > now()
