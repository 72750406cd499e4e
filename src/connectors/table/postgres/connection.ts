/**
 * The pg client settings of a PostgreSQL table: the server from the options (PGHOST/PGPORT
 * only when no url is given), timeouts, a UTC text session so values arrive in one known form,
 * and the server's name for messages (never its password).
 */
import type pg from 'pg';

/** How long a graceful disconnect may take before the socket is dropped. */
const END_GRACE_MS = 2_000;
import type { PostgresServerSpec, PostgresTableConfig } from './options.js';

/** Host, port, user and database after defaults; what messages and the client use. */
export interface ResolvedServer {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly database: string | undefined;
}

/** Fills in host and port: from the options, else (without a url) PGHOST/PGPORT, else localhost:5432. */
export function resolveServer(spec: PostgresServerSpec, env: NodeJS.ProcessEnv = process.env): ResolvedServer {
  const envPort = Number(env.PGPORT);
  return {
    host: spec.host ?? (spec.fromUrl ? undefined : env.PGHOST || undefined) ?? 'localhost',
    port: spec.port ?? (!spec.fromUrl && Number.isInteger(envPort) && envPort > 0 && envPort < 65536 ? envPort : 5432),
    user: spec.user,
    database: spec.database,
  };
}

/** The server as messages name it: `host:port/database`. */
export function describeServer(server: ResolvedServer): string {
  return `${server.host}:${server.port}${server.database ? `/${server.database}` : ''}`;
}

/** The pg.Client settings for one snapshot (or a sink's connection). */
export function clientConfig(cfg: Pick<PostgresTableConfig, 'server' | 'connectTimeoutMs' | 'queryTimeoutMs'>, server: ResolvedServer): pg.ClientConfig {
  const { ssl, password } = cfg.server;
  return {
    host: server.host,
    port: server.port,
    // Unset user/password/database fall back to PGUSER/PGPASSWORD/PGDATABASE and ~/.pgpass in pg.
    user: server.user,
    password,
    database: server.database,
    ssl: ssl === 'no-verify' ? { rejectUnauthorized: false } : ssl,
    connectionTimeoutMillis: cfg.connectTimeoutMs,
    query_timeout: cfg.queryTimeoutMs,
    statement_timeout: cfg.queryTimeoutMs,
    application_name: 'sluice',
    // Fixed output styles, so the text of timestamps and intervals parses the same everywhere.
    options: '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres',
    // Every value as text: the declared column types decide how it is read.
    types: { getTypeParser: () => (v: string) => v },
  };
}

/** Ends a connection, dropping its socket when the server does not answer within a grace period. */
export async function endClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), END_GRACE_MS);
    timer.unref();
  });
  const outcome = await Promise.race([client.end().then(() => 'ended' as const, () => 'ended' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') client.connection.stream.destroy();
}
