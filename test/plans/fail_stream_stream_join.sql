-- fail
CREATE MATERIALIZED VIEW x AS SELECT a.id FROM bids a JOIN bids b ON a.id = b.id
