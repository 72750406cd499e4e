/**
 * The demo pipeline `npm start` runs: the seeds' streaming word count with no outside
 * services. A built-in datagen source emits words; a view counts them; every few seconds the
 * top words are printed, as `wordCounts.print()` does in the Spark Streaming guide.
 */
import type { Engine } from '../exec/runtime/engine.js';
import { renderRows } from './format.js';

const WORDS = ['stream', 'batch', 'epoch', 'spark', 'arrow', 'sluice', 'window', 'state', 'kafka', 'duckdb', 'query', 'view', 'join', 'sink', 'source'];

export const DEMO_SQL = `CREATE SOURCE IF NOT EXISTS words (word VARCHAR) WITH (
  connector = 'datagen', rows_per_second = 5000,
  fields.word.kind = 'random', fields.word.values = '${WORDS.join(',')}', seed = 7);
CREATE MATERIALIZED VIEW IF NOT EXISTS word_counts AS SELECT word, count(*) AS n FROM words GROUP BY word;`;

/** Creates the demo objects and prints the top words every `everyMs` until `signal` aborts. */
export async function runDemo(engine: Engine, out: NodeJS.WritableStream, signal: AbortSignal, everyMs = 3000): Promise<void> {
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
    const header = m ? `epoch ${m.epoch}: ${m.rowsIn.words ?? 0} rows in, processing ${m.processingTimeMs.toFixed(1)} ms, scheduling delay ${m.schedulingDelayMs} ms` : 'no epoch yet';
    if (r && r.kind === 'rows') out.write(`-------------------------------------------\n${header}\n${renderRows(r.columns, r.rows, 'table')}\n`);
  }
}
