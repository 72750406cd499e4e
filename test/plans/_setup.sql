CREATE TABLE t (k VARCHAR, g INT, v INT, d DOUBLE, ts TIMESTAMP, note VARCHAR);
CREATE TABLE events (id BIGINT, kind VARCHAR, amount DOUBLE, ts TIMESTAMP) APPEND ONLY;
CREATE MATERIALIZED VIEW per_kind AS SELECT kind, count(*) AS n, sum(amount) AS total FROM events GROUP BY kind;
CREATE SOURCE bids (id BIGINT, price BIGINT, ts TIMESTAMP) WITH (connector = 'datagen', rows_per_second = 1);
CREATE TABLE clicks (user_id INT, page VARCHAR, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5 seconds') APPEND ONLY;
CREATE TABLE views (user_id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5 seconds') APPEND ONLY;
CREATE TABLE lines (id INT, line VARCHAR, tags VARCHAR[], n INT);
