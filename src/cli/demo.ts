/**
 * `npm start`: the seeds' streaming word count with no outside services. A built-in datagen
 * source emits words; a view counts them; every few seconds the top words are printed, as
 * `wordCounts.print()` does in the Spark Streaming guide.
 */
import { createEngine } from '../exec/runtime/engine.js';
import { renderRows } from './format.js';

const WORDS = ['stream', 'batch', 'epoch', 'spark', 'arrow', 'sluice', 'window', 'state', 'kafka', 'duckdb', 'query', 'view', 'join', 'sink', 'source'];

export async function runDemo(): Promise<number> {
  const engine = await createEngine({ batchIntervalMs: 1000 });
  const setup = `
    CREATE SOURCE words (word VARCHAR) WITH (
      connector = 'datagen', rows_per_second = 5000,
      fields.word.kind = 'random', fields.word.values = '${WORDS.join(',')}', seed = 7);
    CREATE MATERIALIZED VIEW word_counts AS SELECT word, count(*) AS n FROM words GROUP BY word;`;
  process.stdout.write(`sluice demo: streaming word count (batch interval 1 s)\n${setup.trim()}\n\nCtrl-C to stop.\n\n`);
  await engine.execute(setup);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await engine.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  for (;;) {
    await new Promise((r) => setTimeout(r, 3000));
    if (stopping) return 0;
    const [r] = await engine.execute('SELECT word, n FROM word_counts ORDER BY n DESC, word LIMIT 10');
    const m = engine.metrics().at(-1);
    const header = m ? `epoch ${m.epoch}: ${m.rowsIn.words ?? 0} rows in, processing ${m.processingTimeMs.toFixed(1)} ms, scheduling delay ${m.schedulingDelayMs} ms` : 'no epoch yet';
    if (r && r.kind === 'rows') process.stdout.write(`-------------------------------------------\n${header}\n${renderRows(r.columns, r.rows, 'table')}\n`);
  }
}
