/**
 * The `sluice` command: serve, run, repl, replay, demo (COMMAND_USAGE has each one's options),
 * `sluice COMMAND --help`, `sluice --version`. Arguments are parsed strictly: a usage error names
 * the flag or argument, points at --help and exits 2.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { lineCol, SluiceError, toSluiceError } from '../common/errors.js';
import { createEngine } from '../exec/runtime/engine.js';
import { renderRows, type OutputFormat } from './format.js';
import { runDemo } from './demo.js';
import { throttledPrinter } from '../exec/runtime/progress.js';
import { defaultRoots, isLoopbackHost, serve } from './serve.js';
import { runRepl } from './repl/repl.js';

/** Each command's usage: what `sluice CMD --help` prints. */
const COMMAND_USAGE = {
  serve: `usage: sluice serve [--host H] [--port N] [--data-dir DIR] [--password P] [--batch-interval MS]
                    [--parallelism N] [--cluster NAME --kafka BROKERS [--cluster-state DIR] [--member NAME]]
                    [--allow-path DIR]... [--max-connections N] [--tls-cert PEM --tls-key PEM]
                    [--insecure] [--demo] [--http-port N | --no-http]

Runs the PostgreSQL wire server (default 127.0.0.1:6875) and the HTTP server (web UI, /api/,
/metrics; default port 4040 on the same host).

  --host H              listen address (default 127.0.0.1)
  --port N              pg-wire port (default 6875; 0 picks a free one)
  --http-port N         HTTP port (default 4040; 0 picks a free one and prints it)
  --no-http             no HTTP server
  --data-dir DIR        persist the catalog, tables and checkpoints in DIR (default: in memory)
  --password P          require SCRAM-SHA-256 authentication with this password
  --batch-interval MS   epoch length in milliseconds (default 1000)
  --parallelism N       instances of each keyed operator of new views (default 1; SET parallelism)
  --cluster NAME        join cluster NAME: views over Kafka sources run across its members, which
                        split the partitions through Kafka consumer groups (README: Scaling out)
  --kafka BROKERS       the cluster's Kafka brokers (host:port,…)
  --cluster-state DIR   a directory every member reaches, for the cluster's checkpoints
                        (default: <data dir>/../<cluster>-state)
  --member NAME         this member's name in sluice.cluster_members (default host-pid)
  --allow-path DIR      a directory file sources, sinks and tables may use (repeatable;
                        default: the data dir and the current directory)
  --max-connections N   most client connections at once
  --tls-cert PEM        TLS certificate (with --tls-key): clients may connect with sslmode=require
  --tls-key PEM         TLS private key
  --insecure            serve a non-loopback --host without --password (trust over a network)
  --demo                add the word-count demo pipeline
  -h, --help            show this help`,
  run: `usage: sluice run FILE.sql [--format table|csv|json] [--data-dir DIR] [--batch-interval MS]
                         [--allow-path DIR]...

Runs the statements of FILE.sql in order with an in-process engine and prints each query's rows;
the first error is printed as FILE:line:column: ERROR: … (SQLSTATE …) and exits 1.

  --format F            table (default), csv or json
  --data-dir DIR        persist in DIR (default: in memory)
  --batch-interval MS   epoch length in milliseconds (default 1000)
  --allow-path DIR      a directory file connectors may use (repeatable)
  -h, --help            show this help`,
  repl: `usage: sluice repl [--url postgres://127.0.0.1:6875/sluice] [--data-dir DIR]

Interactive SQL: an in-process engine, or a running server with --url.

  --url URL             connect to a server instead of running an engine in process
  --data-dir DIR        persist the in-process engine in DIR (default: in memory)
  -h, --help            show this help`,
  replay: `usage: sluice replay --data-dir DIR --epoch N [--format table|csv|json]

Re-runs committed epoch N from its checkpoint: its input ranges and every view's changes
(nothing is changed). The data dir must not be held by a running server.

  --data-dir DIR        the data dir of a stopped server
  --epoch N             the epoch to replay
  --format F            table (default), csv or json
  -h, --help            show this help`,
  demo: `usage: sluice demo

The word-count demo without a server: counts printed every few seconds until Ctrl-C.

  -h, --help            show this help`,
} as const;

type Command = keyof typeof COMMAND_USAGE;

const USAGE = `usage: sluice COMMAND [OPTIONS]

commands:
  serve     PostgreSQL wire server and web UI (default 127.0.0.1:6875, http 4040)
  run       run a SQL file with an in-process engine and print the results
  repl      interactive SQL (in process, or a server with --url)
  replay    re-run a committed epoch from a data dir's checkpoint
  demo      the word-count demo without a server

  sluice COMMAND --help     options of a command
  sluice --version          the version`;

/** The version in package.json. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A parseArgs failure as the user should read it: the flag or argument named, and where help is. */
function argsMessage(e: unknown): string {
  const err = e as { code?: string; message: string };
  const flag = /'(-[^' ]*)/.exec(err.message)?.[1];
  const arg = /argument '([^']*)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag ?? err.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag ? `option ${flag} needs a value` : err.message;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${arg ?? err.message}"`;
    default:
      return err.message;
  }
}

type ArgOptions = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends ArgOptions> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: true; options: O }>>;

/**
 * Parses a command's arguments strictly: -h/--help prints the command's usage and exits 0; an
 * unknown flag, a flag without its value or more than `positionals` arguments is a usage error
 * (exit 2).
 */
function parsing<const O extends ArgOptions>(cmd: Command, args: string[], options: O, positionals = 0): Parsed<O> {
  // --help wins over everything else on the line (before a `--`), even an unknown flag.
  const end = args.indexOf('--');
  if (args.slice(0, end < 0 ? args.length : end).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(COMMAND_USAGE[cmd] + '\n');
    process.exit(0);
  }
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options });
  } catch (e) {
    return fail(argsMessage(e), cmd);
  }
  if (parsed.positionals.length > positionals) fail(`unexpected argument "${parsed.positionals[positionals]}"`, cmd);
  return parsed;
}

/** A usage error: the message and where to find the usage, on stderr; exit 2. */
function fail(msg: string, cmd?: Command): never {
  process.stderr.write(`sluice${cmd ? ` ${cmd}` : ''}: ${msg}\nTry 'sluice ${cmd ? `${cmd} ` : ''}--help' for more information.\n`);
  process.exit(2);
}

/** Reads --tls-cert and --tls-key (both or neither). */
function tlsFiles(cmd: Command, cert: string | undefined, key: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) fail('--tls-cert and --tls-key go together', cmd);
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (e) {
    return fail(`cannot read the TLS files: ${(e as Error).message}`, cmd);
  }
}

function intFlag(cmd: Command, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) fail(`${name} takes a whole number, not "${v}"`, cmd);
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
  // The script is one session: BEGIN … COMMIT in it is a transaction block.
  const session = engine.openSession();
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
        results = await engine.execute(text.slice(0, s.offset).replace(/[^\n]/g, ' ') + s.text, { session });
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
        else if (r.kind === 'command' && r.warning) process.stderr.write(`WARNING: ${r.warning.message}\n`);
      }
      progress.update(++done);
    }
    return 0;
  } finally {
    progress.finish();
    await engine.closeSession(session);
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
      const { values, positionals } = parsing('run', args, {
        format: { type: 'string', default: 'table' },
        'data-dir': { type: 'string' },
        'batch-interval': { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
      }, 1);
      const format = values.format as OutputFormat;
      if (!['table', 'csv', 'json'].includes(format)) fail(`unknown format "${format}" (table, csv or json)`, 'run');
      const file = positionals[0];
      if (!file) fail('run needs a FILE.sql', 'run');
      return runScript(file, format, values['data-dir'] ?? null, intFlag('run', '--batch-interval', values['batch-interval']), values['allow-path']);
    }
    case 'replay': {
      const { values } = parsing('replay', args, {
        'data-dir': { type: 'string' },
        epoch: { type: 'string' },
        format: { type: 'string', default: 'table' },
      });
      const format = values.format as OutputFormat;
      if (!['table', 'csv', 'json'].includes(format)) fail(`unknown format "${format}" (table, csv or json)`, 'replay');
      if (!values['data-dir'] || values.epoch === undefined) fail('replay needs --data-dir DIR and --epoch N', 'replay');
      return replayCommand(values['data-dir'], intFlag('replay', '--epoch', values.epoch)!, format);
    }
    case 'serve': {
      const { values } = parsing('serve', args, {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '6875' },
        'http-port': { type: 'string' },
        'no-http': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        password: { type: 'string' },
        'batch-interval': { type: 'string' },
        parallelism: { type: 'string' },
        cluster: { type: 'string' },
        kafka: { type: 'string' },
        'cluster-state': { type: 'string' },
        member: { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
        'max-connections': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        insecure: { type: 'boolean', default: false },
        demo: { type: 'boolean', default: false },
      });
      if (values.password === undefined && !values.insecure && !isLoopbackHost(values.host)) {
        fail(`--host ${values.host} would let anyone on the network in without a password; pass --password P (or --insecure on an isolated network)`, 'serve');
      }
      if (values['no-http'] && values['http-port'] !== undefined) fail('--http-port and --no-http exclude each other', 'serve');
      if ((values.cluster === undefined) !== (values.kafka === undefined)) fail('--cluster NAME and --kafka BROKERS go together', 'serve');
      if (values.cluster !== undefined && !/^[A-Za-z0-9_.-]+$/.test(values.cluster)) fail(`--cluster ${values.cluster}: a cluster name has only letters, digits, '_', '.' and '-' (it names Kafka topics)`, 'serve');
      if (values.cluster !== undefined && values['cluster-state'] === undefined && values['data-dir'] === undefined) fail('--cluster needs --cluster-state DIR (or a --data-dir, beside which it goes)', 'serve');
      const cluster = values.cluster === undefined ? undefined : {
        name: values.cluster,
        brokers: values.kafka!.split(',').map((b) => b.trim()).filter(Boolean),
        stateDir: values['cluster-state'] ?? join(dirname(resolve(values['data-dir']!)), `${values.cluster}-state`),
        member: values.member,
      };
      return serve({
        cluster,
        host: values.host,
        port: intFlag('serve', '--port', values.port)!,
        httpPort: values['no-http'] ? null : intFlag('serve', '--http-port', values['http-port'] ?? '4040')!,
        dataDir: values['data-dir'] ?? null,
        password: values.password,
        batchIntervalMs: intFlag('serve', '--batch-interval', values['batch-interval']),
        parallelism: intFlag('serve', '--parallelism', values.parallelism),
        allowPaths: values['allow-path'],
        maxConnections: intFlag('serve', '--max-connections', values['max-connections']),
        tls: tlsFiles('serve', values['tls-cert'], values['tls-key']),
        insecure: values.insecure,
        demo: values.demo,
      });
    }
    case 'repl': {
      const { values } = parsing('repl', args, { url: { type: 'string' }, 'data-dir': { type: 'string' } });
      return runRepl({ url: values.url, dataDir: values['data-dir'] ?? null });
    }
    case 'demo': {
      parsing('demo', args, {});
      const engine = await createEngine({});
      const stop = new AbortController();
      process.on('SIGINT', () => stop.abort());
      process.on('SIGTERM', () => stop.abort());
      await runDemo(engine, process.stdout, stop.signal);
      await engine.close();
      return 0;
    }
    case '--help':
    case '-h':
    case 'help': {
      const topic = args[0];
      if (topic !== undefined && !(topic in COMMAND_USAGE)) fail(`unknown command "${topic}"`);
      process.stdout.write((topic === undefined ? USAGE : COMMAND_USAGE[topic as Command]) + '\n');
      return 0;
    }
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`sluice ${version()}\n`);
      return 0;
    case undefined:
      process.stderr.write(USAGE + '\n');
      return 2;
    default:
      fail(cmd.startsWith('-') ? `unknown option ${cmd}` : `unknown command "${cmd}"`);
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
