-- The seeds' fraud-detection shape: transactions joined with a customer table and flagged by
-- rules — over the customer's limit, or in another country than the customer's.
--   bin/sluice.js run sql-examples/fraud_detection.sql
CREATE TABLE customers (id BIGINT, name VARCHAR, country VARCHAR, daily_limit DOUBLE)
  WITH (connector = 'file', path = 'sql-examples/data/tables/customers.csv', format = 'csv');

CREATE TABLE transactions (id BIGINT, customer_id BIGINT, amount DOUBLE, country VARCHAR, ts TIMESTAMP) APPEND ONLY;

CREATE MATERIALIZED VIEW flagged AS
  SELECT t.id, c.name, t.amount, t.country,
         CASE WHEN t.amount > c.daily_limit THEN 'over limit'
              WHEN t.country <> c.country THEN 'foreign country' END AS reason
  FROM transactions t JOIN customers FOR SYSTEM_TIME AS OF PROCTIME() c ON t.customer_id = c.id
  WHERE t.amount > c.daily_limit OR t.country <> c.country;

CREATE MATERIALIZED VIEW per_customer AS
  SELECT c.name, count(*) AS transactions, sum(t.amount) AS total
  FROM transactions t JOIN customers FOR SYSTEM_TIME AS OF PROCTIME() c ON t.customer_id = c.id
  GROUP BY c.name;

INSERT INTO transactions VALUES
  (1, 1, 120.0, 'NO', '2024-05-01 09:00:00'),
  (2, 2, 250.0, 'SE', '2024-05-01 09:01:00'),
  (3, 3, 80.0, 'US', '2024-05-01 09:02:00'),
  (4, 1, 40.0, 'NO', '2024-05-01 09:03:00'),
  (5, 1, 900.0, 'NO', '2024-05-01 09:04:00');
FLUSH;
SELECT * FROM flagged ORDER BY id;
SELECT * FROM per_customer ORDER BY name;
