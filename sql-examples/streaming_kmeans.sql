-- Streaming k-means (the seeds' StreamingKMeans), SQL-first: a model trained epoch by epoch on
-- the new rows of a query, read like a table, and used by a view through predict().
-- Run from the project root: bin/sluice.js run sql-examples/streaming_kmeans.sql
-- Epochs run at the FLUSHes (the long batch interval keeps the timer out of the way).
SET batch_interval = '1h';

-- Points around three centers, (0.5, 0.5), (5.5, 5.5) and (10.5, 0.5): a random offset in
-- [0, 1) added to the center chosen by id % 3. 1 000 points per epoch, 3 000 in all.
CREATE SOURCE pts (id BIGINT, dx DOUBLE, dy DOUBLE) WITH (
  connector = 'datagen', rows_per_second = 1000000, max_rows = 3000, max_batch_rows = 1000, seed = 7,
  fields.id.kind = 'sequence', fields.id.start = 0, fields.dx.kind = 'random', fields.dy.kind = 'random');

-- The features are the query's columns, in order. Each epoch is one batch; the weights decay
-- by 0.8 per batch (half_life = n sets the decay from a half-life instead).
CREATE MODEL clusters WITH (type = 'kmeans', k = 3, decay_factor = 0.8,
    initial_centers = '[[0, 0], [4, 4], [9, 1]]')
  AS SELECT (id % 3) * 5 + dx AS x, CASE WHEN id % 3 = 1 THEN 5 ELSE 0 END + dy AS y FROM pts;

-- A view over the model follows it: the clusters that hold points.
CREATE MATERIALIZED VIEW live_clusters AS SELECT cluster, weight FROM clusters WHERE weight > 0;

-- predict(model, …) in epoch n uses the model as trained through epoch n − 1.
CREATE TABLE probe (id INT, x DOUBLE, y DOUBLE) APPEND ONLY;
CREATE MATERIALIZED VIEW labelled AS SELECT id, x, y, predict(clusters, x, y) AS cluster FROM probe;

FLUSH;
FLUSH;
FLUSH;
SELECT cluster, round(weight, 1) AS weight, round(x, 2) AS x, round(y, 2) AS y FROM clusters ORDER BY cluster;
SELECT count(*) AS live FROM live_clusters;

INSERT INTO probe VALUES (1, 0.4, 0.6), (2, 5.2, 5.9), (3, 10.1, 0.2);
FLUSH;
SELECT id, cluster FROM labelled ORDER BY id;
SELECT name, type, batches, points, round(last_loss, 3) AS last_loss, error FROM sluice.models;
