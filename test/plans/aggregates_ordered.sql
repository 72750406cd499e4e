CREATE MATERIALIZED VIEW x AS
  SELECT g, string_agg(k, ',' ORDER BY v DESC, k) AS ks, array_agg(DISTINCT v) AS vs,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS median, mode() WITHIN GROUP (ORDER BY k) AS top,
         first_value(note ORDER BY ts) AS first_note, bool_and(v > 0) FILTER (WHERE d > 0) AS all_pos, stddev(v) AS sd
  FROM t GROUP BY g
