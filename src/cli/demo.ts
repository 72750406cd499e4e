/**
 * The demo pipeline `npm start` runs: the seeds' streaming word count with no outside
 * services. A built-in datagen source emits lines of words; a view splits each line into its
 * words and counts them; every few seconds the top words are printed, as `wordCounts.print()`
 * does in the Spark Streaming guide.
 */
import type { Engine } from '../exec/runtime/engine.js';
import { renderRows } from './format.js';

const LINES = [
  'a stream is a table in motion',
  'each epoch reads a batch of the stream',
  'the view keeps its state in arrow batches',
  'kafka in duckdb out',
  'a sluice window over the stream',
  'join the stream with a table',
  'every source feeds a view and every view a sink',
];

export const DEMO_SQL = `CREATE SOURCE IF NOT EXISTS lines (line VARCHAR) WITH (
  connector = 'datagen', rows_per_second = 1000,
  fields.line.kind = 'random', fields.line.values = '${LINES.join(',')}', seed = 7);
CREATE MATERIALIZED VIEW IF NOT EXISTS word_counts AS
  SELECT word, count(*) AS n FROM lines CROSS JOIN LATERAL regexp_split_to_table(line, ' ') AS word GROUP BY word;`;

/** Creates the demo objects and prints the top words every `everyMs` until `signal` aborts. */
export async function runDemo(engine: Engine, out: NodeJS.WritableStream, signal: AbortSignal, everyMs = 2000): Promise<void> {
  await engine.execute(DEMO_SQL);
  out.write(`demo: streaming word count (batch interval ${engine.batchInterval} ms)\n${DEMO_SQL}\n\n`);
  while (!signal.aborted) {
    await new Promise<void>((r) => {
      const t = setTimeout(r, everyMs);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        r();
      });
    });
    if (signal.aborted) return;
    const [r] = await engine.execute('SELECT word, n FROM word_counts ORDER BY n DESC, word LIMIT 10');
    const m = engine.metrics().at(-1);
    const header = m ? `epoch ${m.epoch}: ${m.rowsIn.lines ?? 0} lines in, processing ${m.processingTimeMs.toFixed(1)} ms, scheduling delay ${m.schedulingDelayMs} ms` : 'no epoch yet';
    if (r && r.kind === 'rows') out.write(`-------------------------------------------\n${header}\n${renderRows(r.columns, r.rows, 'table')}\n`);
  }
}
