CREATE MATERIALIZED VIEW x AS
  SELECT page, window_start, window_end, count(*) AS n, max(user_id) AS top_user
  FROM HOP(clicks, ts, INTERVAL '10 seconds', INTERVAL '30 seconds')
  GROUP BY page, window_start, window_end EMIT ON WINDOW CLOSE
