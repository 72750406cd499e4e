-- fail
CREATE MATERIALIZED VIEW x AS SELECT user_id, window_start FROM SESSION(clicks, ts, INTERVAL '1 minute')
