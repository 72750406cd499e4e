/**
 * The WITH options of a sink with `connector = 'postgres'`:
 *
 *   url               'postgres://user:password@host:port/database?sslmode=require'; or, instead:
 *   hostname, port, username, password, database
 *                     the same parts one by one; without url or hostname/port, PGHOST/PGPORT
 *                     apply, then localhost:5432 (as for PostgreSQL tables)
 *   table             the table to write, 'name' or 'schema.name' (created if missing)
 *   schema            the table's schema, when `table` does not name one (default: the
 *                     connection's current schema, normally public)
 *   connect_timeout   give up connecting after this long (default '5 seconds')
 *   query_timeout     give up an epoch's transaction statement after this long (default '1 minute')
 *   progress_key      the sink's key in the progress table (default: the sink's name); ALTER SINK
 *                     … RENAME TO sets it to the old name, so the renamed sink keeps its progress
 */
import { SluiceError } from '../../common/errors.js';
import type { Options } from '../../parser/ast.js';
import { OptionReader } from '../option-reader.js';
import { parseTableName, readServerSpec, SERVER_OPTIONS, type PostgresServerSpec } from '../table/postgres/options.js';
import { readTimeoutMs } from '../table/timer-options.js';

/** Validated settings of a PostgreSQL sink. */
export interface PostgresSinkConfig {
  readonly server: PostgresServerSpec;
  /** The schema of the table, or null for the connection's current schema. */
  readonly schema: string | null;
  readonly table: string;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  /** The sink's row in the progress table, when not its name. */
  readonly progressKey: string | null;
}

/** Reads and checks the options of a PostgreSQL sink. */
export function readPostgresSinkOptions(options: Options): PostgresSinkConfig {
  const r = new OptionReader('postgres', options);
  r.checkNames([...SERVER_OPTIONS, 'table', 'schema', 'connect_timeout', 'query_timeout', 'progress_key']);
  const server = readServerSpec(r);
  const parts = parseTableName(r, r.required('table', 'the PostgreSQL table to write, optionally schema-qualified'));
  const schemaOption = r.string('schema');
  if (schemaOption !== undefined && schemaOption.trim() === '') throw r.bad('schema', 'a schema name');
  if (schemaOption !== undefined && parts.length === 2) {
    throw new SluiceError('invalid_parameter', `${r.subject} got a schema both in table ('${parts.join('.')}') and in option "schema"; give it in one place`);
  }
  return {
    server,
    schema: parts.length === 2 ? parts[0]! : schemaOption ?? null,
    table: parts[parts.length - 1]!,
    connectTimeoutMs: readTimeoutMs(r, 'connect_timeout', 5_000),
    queryTimeoutMs: readTimeoutMs(r, 'query_timeout', 60_000),
    progressKey: r.string('progress_key') ?? null,
  };
}
