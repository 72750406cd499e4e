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
