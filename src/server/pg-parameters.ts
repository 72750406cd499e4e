/**
 * The run-time parameters PostgreSQL clients SHOW when they connect (drivers and GUI tools ask
 * for server_version, client_encoding, DateStyle … before their first query), with sluice's
 * fixed answers. The server installs them on the engine it serves, so `SHOW` answers them
 * after the engine's own settings and whatever a client SET.
 */

/** Parameters PostgreSQL clients SHOW when they connect, by lower-cased name, with sluice's answers. */
export const PG_PARAMETERS: Readonly<Record<string, string>> = {
  server_version: '15.0',
  server_version_num: '150000',
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  timezone: 'UTC',
  search_path: 'public',
  standard_conforming_strings: 'on',
  integer_datetimes: 'on',
  intervalstyle: 'postgres',
  transaction_isolation: 'serializable',
  default_transaction_isolation: 'serializable',
  transaction_read_only: 'off',
  is_superuser: 'on',
  max_identifier_length: '63',
  lc_collate: 'C',
  lc_ctype: 'C',
};

/** The answer to SHOW of a client parameter (lower-cased name), or undefined for any other name. */
export function pgParameter(name: string): string | undefined {
  return Object.hasOwn(PG_PARAMETERS, name) ? PG_PARAMETERS[name] : undefined;
}

/** The server's limits, fixed when it starts. */
export interface ServerLimits {
  readonly maxConnections: number;
  readonly maxMessageBytes: number;
  readonly maxInFlightBytes: number;
  readonly startupTimeoutMs: number;
}

/**
 * SHOW answers for the server's limits: max_connections and authentication_timeout as
 * PostgreSQL names them, max_message_size and max_inflight_size (sluice's own: PostgreSQL has
 * no such limits), in PostgreSQL's units (100, 64MB, 256MB, 10s).
 */
export function limitParameters(limits: ServerLimits): Readonly<Record<string, string>> {
  return {
    max_connections: String(limits.maxConnections),
    max_message_size: formatBytes(limits.maxMessageBytes),
    max_inflight_size: formatBytes(limits.maxInFlightBytes),
    authentication_timeout: limits.startupTimeoutMs % 1000 === 0 ? `${limits.startupTimeoutMs / 1000}s` : `${limits.startupTimeoutMs}ms`,
  };
}

/** A byte count as PostgreSQL shows memory settings: the largest of GB, MB, kB that divides it, else bytes (B). */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['kB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}B`;
}
