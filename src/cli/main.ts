/**
 * The `sluice` command.
 *   sluice run FILE.sql [--format table|csv|json] [--data-dir DIR] [--batch-interval MS]
 *   sluice demo                      word count over a built-in source, printed every few seconds
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lineCol, SluiceError, toSluiceError } from '../common/errors.js';
import { createEngine } from '../exec/runtime/engine.js';
import { renderRows, type OutputFormat } from './format.js';
import { runDemo } from './demo.js';
import { throttledPrinter } from '../exec/runtime/progress.js';
import { defaultRoots, isLoopbackHost, serve } from './serve.js';
import { runRepl } from './repl/repl.js';

const USAGE = `usage:
  sluice serve [--host H] [--port N] [--data-dir DIR] [--password P] [--batch-interval MS]
               [--allow-path DIR]... [--max-connections N] [--tls-cert PEM --tls-key PEM]
               [--insecure] [--demo] [--http-port N | --no-http]
                                   PostgreSQL wire server (default 127.0.0.1:6875) and the web UI,
                                   /api/ and /metrics (default port 4040; 0 picks a free one);
                                   --demo adds the word count
  sluice run FILE.sql [--format table|csv|json] [--data-dir DIR] [--batch-interval MS] [--allow-path DIR]...
  sluice repl [--url postgres://127.0.0.1:6875/sluice] [--data-dir DIR]
                                   interactive SQL (in-process engine, or a server with --url)
  sluice replay --data-dir DIR --epoch N [--format table|csv|json]
                                   re-run committed epoch N from its checkpoint: its input
                                   ranges and every view's changes (nothing is changed)
  sluice demo                      the word-count demo without a server

  --allow-path DIR   a directory file sources, sinks and tables may use (repeatable;
                     default: the data dir and the current directory)
  --insecure         serve a non-loopback --host without --password (trust over a network)`;

/** Runs a strict `parseArgs`: an unknown flag, a missing value or a stray argument is a usage error. */
function parsing<T extends { positionals: string[] }>(parse: () => T, positionals = 0): T {
  let parsed: T;
  try {
    parsed = parse();
  } catch (e) {
    return fail((e as Error).message);
  }
  if (parsed.positionals.length > positionals) fail(`unexpected argument "${parsed.positionals[positionals]}"`);
  return parsed;
}

function fail(msg: string): never {
  process.stderr.write(`sluice: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

/** Reads --tls-cert and --tls-key (both or neither). */
function tlsFiles(cert: string | undefined, key: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) fail('--tls-cert and --tls-key go together');
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (e) {
    return fail(`cannot read the TLS files: ${(e as Error).message}`);
  }
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail(`${name} takes a whole number, not "${v}"`);
  return Number(v);
}

/** Runs a script: each statement in order; SELECT results are printed; errors exit non-zero. */
export async function runScript(file: string, format: OutputFormat, dataDir: string | null, batchIntervalMs: number | undefined, allowPaths?: readonly string[]): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`sluice: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  const engine = await createEngine({ dataDir, batchIntervalMs, allowPaths: defaultRoots(allowPaths, dataDir), log: (m) => process.stderr.write(`sluice: ${m}\n`) });
  // Progress of the script (statement i of n) and of the backfills and loads it starts, on
  // stderr every second once a piece of work has taken more than a second.
  engine.progress.listen(throttledPrinter((line) => process.stderr.write(`sluice: ${line}\n`)));
  const { splitStatements } = await import('../parser/index.js');
  const statements = splitStatements(text);
  const progress = engine.progress.start('script', file, 'statements', statements.length);
  let done = 0;
  try {
    for (const s of statements) {
      let results;
      try {
        // Execute each statement with its place in the file so positions map to line/column.
        results = await engine.execute(text.slice(0, s.offset).replace(/[^\n]/g, ' ') + s.text);
      } catch (e) {
        const err = toSluiceError(e);
        const where = err.position !== undefined ? lineCol(text, err.position) : lineCol(text, s.offset + 1);
        process.stderr.write(`${file}:${where.line}:${where.column}: ERROR: ${err.message} (SQLSTATE ${err.sqlstate})\n`);
        if (err.hint) process.stderr.write(`HINT: ${err.hint}\n`);
        progress.finish(err.message);
        return 1;
      }
      for (const r of results) {
        // A script prints a SUBSCRIBE's snapshot; following changes needs a live client (REPL, psql).
        if (r.kind === 'rows' || r.kind === 'subscription') process.stdout.write(renderRows(r.columns, r.rows, format) + (format === 'table' ? '\n' : ''));
        else if (r.notice) process.stderr.write(`NOTICE: ${r.notice}\n`);
      }
      progress.update(++done);
    }
    return 0;
  } finally {
    progress.finish();
    await engine.close();
  }
}

/**
 * `sluice replay --data-dir D --epoch N`: opens the data dir (recovering it, without running
 * epochs) and prints REPLAY EPOCH N. A data dir a running server holds is refused by DuckDB's
 * lock; then use REPLAY EPOCH N (or \\replay N in `sluice repl --url`) on that server.
 */
async function replayCommand(dataDir: string, epoch: number, format: OutputFormat): Promise<number> {
  let engine;
  try {
    engine = await createEngine({ dataDir, autoStart: false, log: (m) => process.stderr.write(`sluice: ${m}\n`) });
  } catch (e) {
    const err = toSluiceError(e);
    const busy = /lock/i.test(err.message);
    process.stderr.write(`sluice replay: ${err.message}\n${busy ? 'A running server holds this data dir: run REPLAY EPOCH N through psql, or \\replay N in sluice repl --url.\n' : ''}`);
    return 1;
  }
  try {
    const [r] = await engine.execute(`REPLAY EPOCH ${epoch}`);
    if (r?.kind === 'rows') process.stdout.write(renderRows(r.columns, r.rows, format) + (format === 'table' ? '\n' : ''));
    return 0;
  } catch (e) {
    process.stderr.write(`sluice replay: ${toSluiceError(e).message}\n`);
    return 1;
  } finally {
    await engine.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'run': {
      const { values, positionals } = parsing(() => parseArgs({ args, strict: true, allowPositionals: true, options: {
        format: { type: 'string', default: 'table' },
        'data-dir': { type: 'string' },
        'batch-interval': { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
      } }), 1);
      const format = values.format as OutputFormat;
      if (!['table', 'csv', 'json'].includes(format)) fail(`unknown format "${format}"`);
      const file = positionals[0];
      if (!file) fail('run needs a FILE.sql');
      return runScript(file, format, values['data-dir'] ?? null, intFlag('--batch-interval', values['batch-interval']), values['allow-path']);
    }
    case 'replay': {
      const { values } = parsing(() => parseArgs({ args, strict: true, allowPositionals: false, options: {
        'data-dir': { type: 'string' },
        epoch: { type: 'string' },
        format: { type: 'string', default: 'table' },
      } }));
      const format = values.format as OutputFormat;
      if (!['table', 'csv', 'json'].includes(format)) fail(`unknown format "${format}"`);
      if (!values['data-dir'] || values.epoch === undefined) fail('replay needs --data-dir DIR and --epoch N');
      return replayCommand(values['data-dir'], intFlag('--epoch', values.epoch)!, format);
    }
    case 'serve': {
      const { values } = parsing(() => parseArgs({ args, strict: true, allowPositionals: true, options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '6875' },
        'http-port': { type: 'string' },
        'no-http': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        password: { type: 'string' },
        'batch-interval': { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
        'max-connections': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        insecure: { type: 'boolean', default: false },
        demo: { type: 'boolean', default: false },
      } }));
      if (values.password === undefined && !values.insecure && !isLoopbackHost(values.host)) {
        fail(`--host ${values.host} would let anyone on the network in without a password; pass --password P (or --insecure on an isolated network)`);
      }
      if (values['no-http'] && values['http-port'] !== undefined) fail('--http-port and --no-http exclude each other');
      return serve({
        host: values.host,
        port: intFlag('--port', values.port)!,
        httpPort: values['no-http'] ? null : intFlag('--http-port', values['http-port'] ?? '4040')!,
        dataDir: values['data-dir'] ?? null,
        password: values.password,
        batchIntervalMs: intFlag('--batch-interval', values['batch-interval']),
        allowPaths: values['allow-path'],
        maxConnections: intFlag('--max-connections', values['max-connections']),
        tls: tlsFiles(values['tls-cert'], values['tls-key']),
        insecure: values.insecure,
        demo: values.demo,
      });
    }
    case 'repl': {
      const { values } = parsing(() => parseArgs({ args, strict: true, allowPositionals: true, options: { url: { type: 'string' }, 'data-dir': { type: 'string' } } }));
      return runRepl({ url: values.url, dataDir: values['data-dir'] ?? null });
    }
    case 'demo': {
      parsing(() => parseArgs({ args, strict: true, allowPositionals: true, options: {} }));
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
