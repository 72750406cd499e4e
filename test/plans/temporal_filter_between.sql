CREATE MATERIALIZED VIEW last_day AS
  SELECT id, kind, ts FROM events WHERE ts BETWEEN now() - INTERVAL '1 day' AND now()
