-- Word count over a Kafka topic, the direct approach: each epoch, sluice picks the offset range
-- of every partition itself, reads exactly that range and records it with the epoch.
--
-- Start a broker on port 9092 and put lines of text into topic "lines", one line per message:
--   scripts/kafka.sh start --port 9092
--   java -cp "$HOME/.cache/sluice/kafka/libs/*" \
--     kafka.tools.ConsoleProducer --bootstrap-server 127.0.0.1:9092 --topic lines < README.md
-- then run: bin/sluice.js run sql-examples/kafka_word_count.sql
-- (stop the broker with: scripts/kafka.sh stop --port 9092)
CREATE SOURCE lines (line VARCHAR) WITH (
  connector = 'kafka', topic = 'lines', brokers = '127.0.0.1:9092',
  format = 'text', scan_startup_mode = 'earliest');

-- Each line split into its words (the seeds' flatMap): any run of characters other than letters
-- separates words.
CREATE MATERIALIZED VIEW word_counts AS
  SELECT word, count(*) AS n
  FROM lines CROSS JOIN LATERAL regexp_split_to_table(lower(line), '[^a-z]+') AS word
  WHERE word <> ''
  GROUP BY word;

-- The counts go back to Kafka as upserts keyed by word (topic "word_counts"): reading that topic
-- and keeping the last value per key gives the view.
CREATE SINK word_counts_out FROM word_counts WITH (
  connector = 'kafka', topic = 'word_counts', brokers = '127.0.0.1:9092', key = 'word');

FLUSH;
SELECT word, n FROM word_counts ORDER BY n DESC, word LIMIT 10;
