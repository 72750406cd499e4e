/**
 * The `sluice` command.
 *   sluice run FILE.sql [--format table|csv|json] [--data-dir DIR] [--batch-interval MS]
 *   sluice demo                      word count over a built-in source, printed every few seconds
 */
import { readFileSync } from 'node:fs';
import { lineCol, SluiceError, toSluiceError } from '../common/errors.js';
import { createEngine } from '../exec/runtime/engine.js';
import { renderRows, type OutputFormat } from './format.js';
import { runDemo } from './demo.js';
import { serve } from './serve.js';
import { runRepl } from './repl/repl.js';

const USAGE = `usage:
  sluice serve [--host H] [--port N] [--data-dir DIR] [--password P] [--batch-interval MS] [--demo]
                                   PostgreSQL wire server (default 127.0.0.1:6875); --demo adds the word count
  sluice run FILE.sql [--format table|csv|json] [--data-dir DIR] [--batch-interval MS]
  sluice repl [--url postgres://127.0.0.1:6875/sluice] [--data-dir DIR]
                                   interactive SQL (in-process engine, or a server with --url)
  sluice demo                      the word-count demo without a server`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined) fail(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function fail(msg: string): never {
  process.stderr.write(`sluice: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

/** Runs a script: each statement in order; SELECT results are printed; errors exit non-zero. */
export async function runScript(file: string, format: OutputFormat, dataDir: string | null, batchIntervalMs: number | undefined): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`sluice: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  const engine = await createEngine({ dataDir, batchIntervalMs, log: (m) => process.stderr.write(`sluice: ${m}\n`) });
  try {
    const { splitStatements } = await import('../parser/index.js');
    for (const s of splitStatements(text)) {
      let results;
      try {
        // Execute each statement with its place in the file so positions map to line/column.
        results = await engine.execute(text.slice(0, s.offset).replace(/[^\n]/g, ' ') + s.text);
      } catch (e) {
        const err = toSluiceError(e);
        const where = err.position !== undefined ? lineCol(text, err.position) : lineCol(text, s.offset + 1);
        process.stderr.write(`${file}:${where.line}:${where.column}: ERROR: ${err.message} (SQLSTATE ${err.sqlstate})\n`);
        if (err.hint) process.stderr.write(`HINT: ${err.hint}\n`);
        return 1;
      }
      for (const r of results) {
        // A script prints a SUBSCRIBE's snapshot; following changes needs a live client (REPL, psql).
        if (r.kind === 'rows' || r.kind === 'subscription') process.stdout.write(renderRows(r.columns, r.rows, format) + (format === 'table' ? '\n' : ''));
        else if (r.notice) process.stderr.write(`NOTICE: ${r.notice}\n`);
      }
    }
    return 0;
  } finally {
    await engine.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const args = argv.slice();
  const cmd = args.shift();
  switch (cmd) {
    case 'run': {
      const format = (flag(args, '--format') ?? 'table') as OutputFormat;
      if (!['table', 'csv', 'json'].includes(format)) fail(`unknown format "${format}"`);
      const dataDir = flag(args, '--data-dir') ?? null;
      const bi = flag(args, '--batch-interval');
      const file = args.shift();
      if (!file) fail('run needs a FILE.sql');
      return runScript(file, format, dataDir, bi ? Number(bi) : undefined);
    }
    case 'serve': {
      const demo = args.includes('--demo');
      if (demo) args.splice(args.indexOf('--demo'), 1);
      const bi = flag(args, '--batch-interval');
      return serve({
        host: flag(args, '--host') ?? '127.0.0.1',
        port: Number(flag(args, '--port') ?? 6875),
        dataDir: flag(args, '--data-dir') ?? null,
        password: flag(args, '--password'),
        batchIntervalMs: bi ? Number(bi) : undefined,
        demo,
      });
    }
    case 'repl':
      return runRepl({ url: flag(args, '--url'), dataDir: flag(args, '--data-dir') ?? null });
    case 'demo': {
      const engine = await createEngine({});
      const stop = new AbortController();
      process.on('SIGINT', () => stop.abort());
      process.on('SIGTERM', () => stop.abort());
      await runDemo(engine, process.stdout, stop.signal);
      await engine.close();
      return 0;
    }
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    default:
      fail(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const err = e instanceof SluiceError ? e : toSluiceError(e);
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(1);
  },
);
