CREATE MATERIALIZED VIEW parts AS
  SELECT l.id, p.part, p.pos
  FROM lines l LEFT JOIN LATERAL regexp_split_to_table(l.line, '\s+') WITH ORDINALITY AS p(part, pos) ON true
