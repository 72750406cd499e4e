-- The seeds' word count, SQL-first: `lines.flatMap(_.split(" "))`, then a count per word.
-- Every file dropped into the directory is read once, one line per row; each line is split
-- into its words (unnest of string_to_array), and the view keeps the running count per word.
-- Incremental both ways: a line that arrives adds its words, and on a table (DELETE FROM
-- lines …) a deleted line retracts exactly its words.
-- Run from the project root: bin/sluice.js run sql-examples/word_count.sql
-- (The socket version, NetworkWordCount: connector = 'socket', host = '127.0.0.1', port = 9999,
--  fed by `nc -lk 9999`.)
-- A script moves in epochs at its FLUSHes: the long batch interval keeps the timer from running
-- an epoch (which would read the files before any view exists) while the view is created.
SET batch_interval = '1h';

CREATE SOURCE lines (line VARCHAR) WITH (
  connector = 'file', path = 'sql-examples/data/lines', format = 'text');

CREATE MATERIALIZED VIEW word_counts AS
  SELECT word, count(*) AS n
  FROM lines CROSS JOIN LATERAL unnest(string_to_array(lower(line), ' ')) AS word
  WHERE word <> ''
  GROUP BY word;

FLUSH;
SELECT word, n FROM word_counts ORDER BY n DESC, word LIMIT 10;
