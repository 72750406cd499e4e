-- Streaming linear and logistic regression (the seeds' StreamingLinearRegressionWithSGD and
-- StreamingLogisticRegressionWithSGD): mini-batch SGD over each epoch's new rows.
-- Run from the project root: bin/sluice.js run sql-examples/streaming_regression.sql
SET batch_interval = '1h';

-- Two random features in [0, 1) and a little noise; 2 000 samples per epoch, 8 000 in all.
CREATE SOURCE samples (x1 DOUBLE, x2 DOUBLE, noise DOUBLE) WITH (
  connector = 'datagen', rows_per_second = 1000000, max_rows = 8000, max_batch_rows = 2000, seed = 3,
  fields.x1.kind = 'random', fields.x2.kind = 'random', fields.noise.kind = 'random');

-- y = 3·x1 − 2·x2 + 1 (+ noise): the model should find weights near 3, −2 and intercept 1.
-- The label is the column named by `label`; the other columns are the features, in order.
CREATE MODEL lin WITH (type = 'linear_regression', label = 'y', intercept = true,
    step_size = 1.0, num_iterations = 100, convergence_tol = 0)
  AS SELECT x1, x2, 3 * x1 - 2 * x2 + 1 + (noise - 0.5) * 0.1 AS y FROM samples;

-- A 0/1 label: whether x1 beats x2 (plus noise).
CREATE MODEL churn WITH (type = 'logistic_regression', label = 'y', intercept = true, step_size = 5.0)
  AS SELECT x1, x2, CASE WHEN x1 - x2 + (noise - 0.5) * 0.2 > 0 THEN 1 ELSE 0 END AS y FROM samples;

CREATE TABLE probe (id INT, x1 DOUBLE, x2 DOUBLE) APPEND ONLY;
CREATE MATERIALIZED VIEW scored AS
  SELECT id, predict(lin, x1, x2) AS y_hat, predict(churn, x1, x2) AS class, predict_proba(churn, x1, x2) AS p
  FROM probe;

FLUSH;
FLUSH;
FLUSH;
FLUSH;
SELECT feature, round(weight, 2) AS weight FROM lin ORDER BY feature;
SELECT feature, round(weight, 2) AS weight FROM churn ORDER BY feature;

INSERT INTO probe VALUES (1, 0.9, 0.1), (2, 0.1, 0.9), (3, 0.5, 0.5);
FLUSH;
SELECT id, round(y_hat, 2) AS y_hat, class, round(p, 3) AS p FROM scored ORDER BY id;
SELECT name, type, batches, points, round(last_loss, 4) AS last_loss, error FROM sluice.models ORDER BY name;
