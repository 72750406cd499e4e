-- fail
CREATE MATERIALIZED VIEW x AS SELECT id, now() AS seen_at FROM events
