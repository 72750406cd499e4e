-- fail
CREATE MATERIALIZED VIEW x AS SELECT t.k FROM t JOIN events e ON t.k = e.kind
