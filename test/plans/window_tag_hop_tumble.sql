CREATE MATERIALIZED VIEW x AS
  SELECT h.user_id, h.window_start, h.window_end, t.window_start AS tumble_start, count(*) AS n
  FROM HOP(clicks, ts, INTERVAL '1 minute', INTERVAL '5 minutes') h
  JOIN TUMBLE(views, ts, INTERVAL '1 minute', INTERVAL '10 seconds') t ON h.user_id = t.user_id AND h.window_start = t.window_start
  GROUP BY h.user_id, h.window_start, h.window_end, t.window_start
