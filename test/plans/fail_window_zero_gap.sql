-- fail
CREATE MATERIALIZED VIEW x AS SELECT count(*) FROM SESSION(clicks, ts, INTERVAL '0 seconds') GROUP BY window_start
