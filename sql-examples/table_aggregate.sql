-- An aggregate over a table that changes: the view follows every INSERT, UPDATE and DELETE.
-- Run: npx sluice run sql-examples/table_aggregate.sql   (or: bin/sluice.js run …)
CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR, amount DOUBLE, status VARCHAR);

CREATE MATERIALIZED VIEW revenue AS
  SELECT customer,
         count(*) AS orders,
         sum(amount) AS total,
         max(amount) AS largest,
         count(*) FILTER (WHERE status = 'open') AS open_orders
  FROM orders
  WHERE status <> 'cancelled'
  GROUP BY customer;

INSERT INTO orders VALUES
  (1, 'ann', 30.0, 'open'),
  (2, 'bob', 12.5, 'open'),
  (3, 'ann', 99.0, 'shipped'),
  (4, 'cyd', 5.0, 'open');
FLUSH;
SELECT * FROM revenue ORDER BY customer;

-- ann's big order is cancelled, bob's ships, cyd's order goes away.
UPDATE orders SET status = 'cancelled' WHERE id = 3;
UPDATE orders SET status = 'shipped', amount = amount + 2.5 WHERE id = 2;
DELETE FROM orders WHERE customer = 'cyd';
FLUSH;
SELECT * FROM revenue ORDER BY customer;
