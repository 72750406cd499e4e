-- A filtered projection over a generated stream of bids: 1000 deterministic rows, of which
-- the view keeps the expensive ones, with the price converted and the auction bucketed.
CREATE SOURCE bids (id BIGINT, auction INT, price INT) WITH (
  connector = 'datagen', rows_per_second = 1000000, max_rows = 1000,
  fields.id.kind = 'sequence', fields.id.start = 1,
  fields.auction.kind = 'random', fields.auction.start = 1, fields.auction.end = 20,
  fields.price.kind = 'sequence', fields.price.start = 1, fields.price.end = 100, seed = 42);

CREATE MATERIALIZED VIEW expensive AS
  SELECT id, auction % 5 AS bucket, price, round(price * 0.908, 2) AS price_eur,
         CASE WHEN price >= 99 THEN 'top' ELSE 'high' END AS band
  FROM bids
  WHERE price > 95;

FLUSH;
SELECT count(*) AS rows, min(price) AS lowest, sum(price) AS total FROM expensive;
SELECT id, bucket, price, price_eur, band FROM expensive ORDER BY id LIMIT 5;
