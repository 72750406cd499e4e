CREATE MATERIALIZED VIEW x AS
  SELECT c.user_id, c.page, v.ts AS viewed_at FROM clicks c JOIN views v
    ON c.user_id = v.user_id AND v.ts BETWEEN c.ts AND c.ts + INTERVAL '1 minute'
