/**
 * The WITH options of a table with `connector = 'postgres'`:
 *
 *   url               'postgres://user:password@host:port/database?sslmode=require'; or, instead:
 *   hostname, port, username, password, database
 *                     the same parts one by one (as RisingWave's postgres-cdc takes them); without
 *                     url or hostname/port, PGHOST/PGPORT apply, then localhost:5432
 *   table             the table to load, 'name' or 'schema.name' (double-quote a part that
 *                     contains a dot); names match exactly, as PostgreSQL stores them
 *   refresh_interval  reload this often (default '5 minutes')
 *   connect_timeout   give up connecting after this long (default '5 seconds')
 *   query_timeout     give up reading the table after this long (default '1 minute')
 */
import { SluiceError } from '../../../common/errors.js';
import type { Options } from '../../../parser/ast.js';
import { OptionReader } from '../../option-reader.js';
import { readRefreshMs, readTimeoutMs } from '../timer-options.js';

/** How to connect: what the url or the separate options say; absent parts take defaults later. */
export interface PostgresServerSpec {
  /** Whether the parts came from `url` (then PGHOST/PGPORT do not apply). */
  readonly fromUrl: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** From the url's sslmode: false (disable), true (verify the certificate) or 'no-verify'. */
  readonly ssl?: boolean | 'no-verify';
}

/** Validated settings of a PostgreSQL table. */
export interface PostgresTableConfig {
  readonly server: PostgresServerSpec;
  /** The table's name parts: [table] or [schema, table], unquoted. */
  readonly table: readonly string[];
  readonly refreshMs: number;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
}

const SEPARATE = ['hostname', 'port', 'username', 'password', 'database'] as const;

/** The options that say which server to connect to (shared by PostgreSQL tables and sinks). */
export const SERVER_OPTIONS: readonly string[] = ['url', ...SEPARATE];

/** Reads and checks the options of a PostgreSQL table. */
export function readPostgresTableOptions(options: Options): PostgresTableConfig {
  const r = new OptionReader('postgres', options);
  r.checkNames([...SERVER_OPTIONS, 'table', 'refresh_interval', 'connect_timeout', 'query_timeout']);
  return {
    server: readServerSpec(r),
    table: parseTableName(r, r.required('table', 'the PostgreSQL table to load, optionally schema-qualified')),
    refreshMs: readRefreshMs(r, 300_000_000n)!,
    connectTimeoutMs: readTimeoutMs(r, 'connect_timeout', 5_000),
    queryTimeoutMs: readTimeoutMs(r, 'query_timeout', 60_000),
  };
}

/** The server from `url` or the separate options (not both). */
export function readServerSpec(r: OptionReader): PostgresServerSpec {
  const given = SEPARATE.filter((k) => r.has(k));
  if (r.has('url') && given.length > 0) {
    throw new SluiceError('invalid_parameter', `connector 'postgres' takes either url or ${SEPARATE.join('/')}, but both url and ${given.join(', ')} are given`, {
      hint: 'Put every part into the url, or drop url and give the parts as separate options.',
    });
  }
  const url = r.string('url');
  return url !== undefined ? parseUrl(r, url) : {
    fromUrl: false,
    host: nonEmpty(r, 'hostname'),
    port: r.integer('port', 1, 65535),
    user: nonEmpty(r, 'username'),
    password: r.string('password'),
    database: nonEmpty(r, 'database'),
  };
}

function nonEmpty(r: OptionReader, key: string): string | undefined {
  const v = r.string(key);
  if (v !== undefined && v.trim() === '') throw r.bad(key, 'not empty');
  return v;
}

const URL_EXAMPLE = "a URL such as 'postgres://user:password@127.0.0.1:5432/database'";

/** Splits a postgres:// URL into its parts; credentials are percent-decoded. */
function parseUrl(r: OptionReader, url: string): PostgresServerSpec {
  if (!/^postgres(ql)?:\/\//i.test(url)) throw r.bad('url', URL_EXAMPLE);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw r.bad('url', URL_EXAMPLE);
  }
  let ssl: boolean | 'no-verify' | undefined;
  for (const [key, value] of u.searchParams) {
    if (key !== 'sslmode') throw r.bad('url', `${URL_EXAMPLE}, with no parameter other than sslmode`, `it has '${key}'`);
    ssl = sslFromMode(r, value);
  }
  const decode = (s: string) => (s === '' ? undefined : decodeURIComponent(s));
  const database = decode(u.pathname.replace(/^\//, ''));
  if (database?.includes('/')) throw r.bad('url', URL_EXAMPLE, `'${database}' is not a database name`);
  return {
    fromUrl: true,
    // A bracketed IPv6 host; a percent-encoded host is a Unix socket directory, as in libpq.
    host: decode(u.hostname.replace(/^\[(.*)\]$/, '$1')),
    port: u.port === '' ? undefined : Number(u.port),
    user: decode(u.username),
    password: decode(u.password),
    database,
    ssl,
  };
}

/** libpq's sslmode values, as far as the pg client can honour them. */
function sslFromMode(r: OptionReader, mode: string): boolean | 'no-verify' {
  switch (mode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
    case 'no-verify':
      // libpq's 'require' encrypts without checking the certificate.
      return 'no-verify';
    case 'verify-ca':
    case 'verify-full':
      return true;
    default:
      throw r.bad('url', `${URL_EXAMPLE} whose sslmode is disable, prefer, require, verify-ca or verify-full`, `sslmode is '${mode}'`);
  }
}

/** Parses 'table', 'schema.table' or '"a.b"."c"' into unquoted parts. */
export function parseTableName(r: OptionReader, text: string): string[] {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  for (;;) {
    let part = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw r.bad('table', "a table name such as 'orders' or 'sales.orders'", 'a quote is not closed');
        if (s[i] === '"' && s[i + 1] === '"') {
          part += '"';
          i += 2;
        } else if (s[i] === '"') {
          i++;
          break;
        } else part += s[i++];
      }
    } else {
      while (i < s.length && s[i] !== '.') part += s[i++];
      part = part.trim();
    }
    if (part === '') throw r.bad('table', "a table name such as 'orders' or 'sales.orders'");
    parts.push(part);
    if (i >= s.length) break;
    if (s[i] !== '.') throw r.bad('table', "a table name such as 'orders' or 'sales.orders'", 'a quoted name must be followed by a dot or end');
    i++;
  }
  if (parts.length > 2) throw r.bad('table', "'table' or 'schema.table'");
  return parts;
}
