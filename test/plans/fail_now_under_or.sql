-- fail
CREATE MATERIALIZED VIEW x AS SELECT id FROM events WHERE ts > now() - INTERVAL '1 hour' OR kind = 'a'
