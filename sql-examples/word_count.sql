-- The seeds' word count, SQL-first: every file dropped into the directory is read once, one
-- word per line, and the view keeps the running count per word.
-- Run from the project root: bin/sluice.js run sql-examples/word_count.sql
-- (The socket version, NetworkWordCount: connector = 'socket', host = '127.0.0.1', port = 9999,
--  fed by `nc -lk 9999`.)
CREATE SOURCE words (word VARCHAR) WITH (
  connector = 'file', path = 'sql-examples/data/words', format = 'text');

CREATE MATERIALIZED VIEW word_counts AS
  SELECT word, count(*) AS n FROM words GROUP BY word;

FLUSH;
SELECT word, n FROM word_counts ORDER BY n DESC, word LIMIT 10;
