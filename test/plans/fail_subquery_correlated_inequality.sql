-- fail: a correlation other than an equality
CREATE MATERIALIZED VIEW x AS SELECT k FROM t WHERE EXISTS (SELECT 1 FROM lines WHERE lines.n > t.g)
