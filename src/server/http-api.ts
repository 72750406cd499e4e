/**
 * The JSON API under `/api/`: the monitor's figures (exec/runtime/monitor.ts) by route. Every
 * answer is read under the engine lock, so it is a committed epoch boundary.
 *
 *   /api/overview            epoch, batch interval, stable badge, sources, views, sinks, memory
 *   /api/epochs?limit=N      the last N epochs (default and most 1000), oldest first
 *   /api/epochs/N            one epoch (404 when not kept)
 *   /api/sources             sources: rate, lag per partition, rate limit, dead letters
 *   /api/views               views with their operators
 *   /api/views/NAME?sample=N one view, with up to N current rows (default 20, most 1000)
 *   /api/sinks               sinks: rows written, last delivered epoch, error
 *   /api/checkpoints         the kept checkpoints
 *   /api/memory              heap, RSS, state bytes per view
 *   /api/workers             the shard worker threads of parallel views: status, busy share, views
 *   /api/cluster             cluster mode: the cluster, this member, and every cluster view's
 *                            members with their partitions, lag and rebalances (null otherwise)
 *   /api/progress            backfills, table loads and scripts running or finished in the last
 *                            minute, with rows done, total, rate (read without the lock)
 */
import type { Engine } from '../exec/runtime/engine.js';
import type { Monitor } from '../exec/runtime/monitor.js';

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

type Route = (m: Monitor, url: URL, arg: string | null) => ApiAnswer;

const ok = (body: unknown): ApiAnswer => ({ status: 200, body });
const notFound = (what: string): ApiAnswer => ({ status: 404, body: { error: `${what} not found` } });

/** A bounded integer query parameter. */
function intParam(url: URL, name: string, dflt: number, max: number): number {
  const raw = url.searchParams.get(name);
  const n = raw === null ? dflt : Number(raw);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : dflt;
}

/** The routes by their first path segment after /api/; `arg` is the second segment, if any. */
const ROUTES: Readonly<Record<string, Route>> = {
  overview: (m) => ok(m.overview()),
  epochs: (m, url, arg) => {
    if (arg === null) return ok(m.epochs(intParam(url, 'limit', 1000, 1000)));
    const e = /^\d+$/.test(arg) ? m.epoch(Number(arg)) : null;
    return e ? ok(e) : notFound(`epoch ${arg}`);
  },
  sources: (m) => ok(m.sources()),
  views: (m, url, arg) => {
    if (arg === null) return ok(m.views());
    const v = m.viewByName(arg);
    if (!v) return notFound(`view ${arg}`);
    return ok({ ...v, sample: m.sample(arg, intParam(url, 'sample', 20, 1000)) });
  },
  sinks: (m) => ok(m.sinks()),
  checkpoints: (m) => ok(m.checkpoints()),
  workers: (m) => ok(m.workers()),
  cluster: (m) => ok(m.cluster()),
  memory: (m) => ok(m.memory()),
};

/** Answers an /api/ URL. */
export async function apiRoute(engine: Engine, url: URL): Promise<ApiAnswer> {
  const parts = url.pathname.slice('/api/'.length).split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts.length === 0 || parts.length > 2) return notFound(url.pathname);
  // Long work in progress holds the lock the other routes wait for: this one reads without it.
  if (parts[0] === 'progress' && parts.length === 1) return ok(engine.progress.list());
  const route = Object.hasOwn(ROUTES, parts[0]!) ? ROUTES[parts[0]!] : undefined;
  if (!route) return notFound(url.pathname);
  return engine.monitor((m) => route(m, url, parts[1] ?? null));
}
