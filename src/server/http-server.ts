/**
 * The HTTP server of `sluice serve` (default 127.0.0.1:4040): the web UI's static files from
 * `src/web/`, the JSON API under `/api/` (http-api.ts) and Prometheus metrics at `/metrics`
 * (prometheus.ts). Read-only: every route is a GET (or HEAD), nothing changes the engine.
 *
 *   GET /            ─► src/web/index.html, app.js, style.css
 *   GET /api/…       ─► engine.monitor(…) as JSON
 *   GET /metrics     ─► text format 0.0.4
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toSluiceError } from '../common/errors.js';
import type { Engine } from '../exec/runtime/engine.js';
import { apiRoute, type ApiAnswer } from './http-api.js';
import { PrometheusExporter } from './prometheus.js';

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Answer only clients on this machine (403 to others). The UI and API show view contents and
   * have no login, so a server on a network address keeps them local unless told otherwise.
   */
  readonly loopbackOnly: boolean;
}

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Where the web UI's files are (beside src/server). */
const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

/** The static files the UI consists of, by URL path: nothing else on disk is served. */
const STATIC: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/charts.js': 'charts.js',
  '/plan-graph.js': 'plan-graph.js',
  '/style.css': 'style.css',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Starts the HTTP server; resolves once it listens. */
export async function startHttpServer(engine: Engine, opts: HttpServerOptions): Promise<HttpServer> {
  const metrics = new PrometheusExporter(engine);
  const server = createServer((req, res) => {
    handle(engine, metrics, req, res, opts).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: toSluiceError(e).message }));
      else res.destroy();
    });
  });
  await listen(server, opts);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    close: async () => {
      metrics.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server, opts: HttpServerOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function handle(engine: Engine, metrics: PrometheusExporter, req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  if (opts.loopbackOnly && !isLoopbackAddress(req.socket.remoteAddress)) {
    send(res, 403, 'text/plain', 'sluice answers HTTP only on this machine (start with --insecure to allow others)\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain', 'only GET and HEAD\n');
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/metrics') {
    send(res, 200, metrics.contentType, await metrics.text());
    return;
  }
  if (url.pathname.startsWith('/api/')) {
    const answer: ApiAnswer = await apiRoute(engine, url);
    send(res, answer.status, 'application/json; charset=utf-8', JSON.stringify(answer.body, jsonValue));
    return;
  }
  const file = STATIC[url.pathname];
  if (!file) {
    send(res, 404, 'text/plain', 'not found\n');
    return;
  }
  send(res, 200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', await readFile(join(WEB_ROOT, file)));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** JSON for engine values: a bigint becomes a number when exact, otherwise its decimal text. */
function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v !== 'bigint') return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function isLoopbackAddress(a: string | undefined): boolean {
  return a !== undefined && (a === '::1' || /^(::ffff:)?127\./.test(a));
}
