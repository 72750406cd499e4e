-- a correlation other than an equality: the subquery over the distinct outer values it reads (its domain), joined back null-safely
CREATE MATERIALIZED VIEW x AS SELECT k FROM t WHERE EXISTS (SELECT 1 FROM lines WHERE lines.n > t.g)
