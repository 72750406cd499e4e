-- fail
CREATE MATERIALIZED VIEW x AS SELECT id FROM lines WHERE unnest(tags) = 'a'
