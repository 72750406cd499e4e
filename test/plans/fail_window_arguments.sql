-- fail
CREATE MATERIALIZED VIEW x AS SELECT count(*) FROM HOP(clicks, ts, INTERVAL '1 minute') GROUP BY window_start
