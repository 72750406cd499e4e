/**
 * `sluice serve`: an engine behind the PostgreSQL wire protocol (default 127.0.0.1:6875) and the
 * HTTP server (web UI, /api/, /metrics; default port 4040 on the same host), with the demo
 * pipeline when asked (`npm start`). Both servers start and stop together; SIGINT/SIGTERM stop
 * them cleanly.
 */
import { createEngine } from '../exec/runtime/engine.js';
import { throttledPrinter } from '../exec/runtime/progress.js';
import { startPgServer } from '../server/pg-server.js';
import { startHttpServer, type HttpServer } from '../server/http-server.js';
import { SluiceError } from '../common/errors.js';
import { runDemo } from './demo.js';
import type { ClusterConfig } from '../cluster/cluster.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** The HTTP server's port (0: a free one), null: no HTTP server. */
  readonly httpPort: number | null;
  readonly dataDir: string | null;
  readonly password?: string;
  readonly demo: boolean;
  readonly batchIntervalMs?: number;
  /** --parallelism: of views created without one (default 1). */
  readonly parallelism?: number;
  /** --cluster: join a cluster (the batch interval is its tasks' too). */
  readonly cluster?: Omit<ClusterConfig, 'intervalMs'>;
  /** --allow-path directories; the engine's defaults (data dir, current directory) are kept. */
  readonly allowPaths?: readonly string[];
  readonly maxConnections?: number;
  readonly insecure?: boolean;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** The allowed roots for `--allow-path` values: the given ones plus the data dir and the current directory. */
export function defaultRoots(extra: readonly string[] | undefined, dataDir: string | null): string[] | undefined {
  if (!extra?.length) return undefined;
  return [...extra, ...(dataDir ? [dataDir] : []), process.cwd()];
}

/** Whether a listen address only accepts this machine's clients. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export async function serve(opts: ServeOptions): Promise<number> {
  const engine = await createEngine({ dataDir: opts.dataDir, batchIntervalMs: opts.batchIntervalMs, parallelism: opts.parallelism, cluster: opts.cluster ? { ...opts.cluster, intervalMs: opts.batchIntervalMs ?? 1000 } : undefined, allowPaths: defaultRoots(opts.allowPaths, opts.dataDir) });
  // Backfills and table loads that take a while show in the server's log as they go.
  engine.progress.listen(throttledPrinter((line) => process.stderr.write(`sluice: ${line}\n`), 5000, 2000));
  let server;
  try {
    server = await startPgServer(engine, { host: opts.host, port: opts.port, password: opts.password, maxConnections: opts.maxConnections, insecure: opts.insecure, tls: opts.tls });
  } catch (e) {
    await engine.close();
    throw portError(e, opts.host, opts.port, '--port N');
  }
  let http: HttpServer | null = null;
  if (opts.httpPort !== null) {
    try {
      http = await startHttpServer(engine, { host: opts.host, port: opts.httpPort, loopbackOnly: !opts.insecure });
    } catch (e) {
      await server.close();
      await engine.close();
      throw portError(e, opts.host, opts.httpPort, '--http-port N (or --no-http)');
    }
  }
  if (!isLoopbackHost(opts.host) && opts.password !== undefined && !opts.tls) {
    process.stderr.write('sluice: warning: the password crosses the network in clear text; add --tls-cert and --tls-key\n');
  }
  const pages = hugePagesNote();
  if (pages) process.stderr.write(`sluice: note: ${pages}\n`);
  const heap = oldSpaceNote();
  if (heap) process.stderr.write(`sluice: note: ${heap}\n`);
  process.stdout.write(`sluice is listening on postgres://${opts.host}:${server.port}/sluice  (psql -h ${opts.host} -p ${server.port} -U sluice sluice)\n`);
  if (http) process.stdout.write(`sluice web UI on http://${opts.host}:${http.port}/  (metrics: /metrics, JSON: /api/overview)\n`);
  const stop = new AbortController();
  const done = new Promise<void>((resolve) => {
    const shutdown = () => {
      if (stop.signal.aborted) return;
      stop.abort();
      resolve();
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  const demo = opts.demo ? runDemo(engine, process.stdout, stop.signal) : Promise.resolve();
  await done;
  await demo.catch(() => undefined);
  await http?.close();
  await server.close();
  await engine.close();
  return 0;
}

/** A listen error as the user should see it: a busy port names the flag that moves it. */
function portError(e: unknown, host: string, port: number, flag: string): unknown {
  if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') return e;
  return new SluiceError('connection', `port ${port} on ${host} is already in use`, { hint: `Stop the other server or pass ${flag} (0 picks a free port).` });
}

/**
 * A note when node was started without an initial old-generation size (as `node bin/sluice.js`
 * rather than through bin/sluice, which passes --initial-old-space-size=128): V8 then starts a
 * full collection every few MB of columns. Null otherwise, or when SLUICE_OLD_SPACE_MB=0 says
 * the user wants none.
 */
function oldSpaceNote(): string | null {
  if (process.env.SLUICE_OLD_SPACE_MB === '0') return null;
  if (process.execArgv.some((a) => a.startsWith('--initial-old-space-size='))) return null;
  return "V8 runs without an initial old-space size (bin/sluice passes node --initial-old-space-size=128; SLUICE_OLD_SPACE_MB=0 silences this): full garbage collections may run several times a second";
}

/**
 * A note when the process runs on glibc without transparent huge pages for malloc (started as
 * `node bin/sluice.js` rather than through bin/sluice, which sets them): null otherwise.
 */
function hugePagesNote(): string | null {
  if (process.platform !== 'linux' || process.env.SLUICE_HUGE_PAGES === '0') return null;
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(process.env.GLIBC_TUNABLES ?? '')) return null;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (!header?.glibcVersionRuntime) return null;
  return 'malloc runs without transparent huge pages (bin/sluice sets GLIBC_TUNABLES=glibc.malloc.hugetlb=1; SLUICE_HUGE_PAGES=0 silences this): fresh memory may cost more';
}
