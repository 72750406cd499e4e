CREATE MATERIALIZED VIEW x AS
  SELECT user_id, window_start, window_end, count(*) AS n
  FROM SESSION(clicks, ts, INTERVAL '1 minute') GROUP BY user_id, window_start, window_end
