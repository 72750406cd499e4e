CREATE MATERIALIZED VIEW word_counts AS
  SELECT word, count(*) AS n
  FROM lines CROSS JOIN LATERAL unnest(string_to_array(lower(line), ' ')) AS word
  WHERE word <> '' AND id > 0
  GROUP BY word
