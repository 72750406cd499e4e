/**
 * Why a PostgreSQL table did not load, told as a SluiceError that names the table, the server
 * (never its password) and the PostgreSQL table, with a hint that says what to check. Failures
 * to connect are 'connection' (SQLSTATE 08000) so clients and the engine's log read them as such.
 */
import pg from 'pg';
import { SluiceError, type ErrorCategory } from '../../../common/errors.js';

/** What an error says: a SQLSTATE only when the server sent it (socket errors have codes like ECONNRESET). */
interface PgErrorFields {
  readonly code?: string;
  readonly message: string;
}

function fields(e: unknown): PgErrorFields {
  if (e instanceof pg.DatabaseError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { message: e.message || String((e as { code?: unknown }).code ?? '') };
  return { message: String(e) };
}

/**
 * The error for a failed connect (refused, timed out, unknown host, rejected login, no
 * database); `timeoutMs` is set when the attempt ran into connect_timeout.
 */
export function connectError(e: unknown, table: string, server: string, timeoutMs?: number): SluiceError {
  const { code } = fields(e);
  // pg reports a connect timeout as a terminated connection; say what happened instead.
  const message = timeoutMs !== undefined ? `no answer within connect_timeout (${timeoutMs} ms)` : fields(e).message;
  let hint = 'Check the url (or hostname and port), that the server runs, and that it accepts connections from here.';
  if (code?.startsWith('28')) hint = 'Check the user name and password (the url, or username and password), and that pg_hba.conf lets this user in.';
  else if (code === '3D000') hint = 'Check the database name (the last part of the url, or the database option).';
  else if (code === '57P03' || code === '53300') hint = 'The server is not taking connections now; the table keeps its last snapshot and the next refresh tries again.';
  // A SQLSTATE means the server answered and said no; without one it was not reached.
  const what = code !== undefined ? `PostgreSQL at ${server} refused the connection` : `cannot reach PostgreSQL at ${server}`;
  return new SluiceError('connection', `${what} to load table "${table}": ${message || code || 'connection failed'}`, { hint, cause: e });
}

/** The error for a failed snapshot query, by its SQLSTATE; `columns` lists the table's columns when known. */
export function queryError(e: unknown, table: string, pgTable: string, server: string, declared: readonly string[], columns: readonly string[] | null): SluiceError {
  const { code, message } = fields(e);
  const at = `PostgreSQL table ${pgTable} at ${server}`;
  let category: ErrorCategory = 'connection';
  let text = `cannot load table "${table}" from ${at}: ${message}`;
  let hint = 'Check that the server is reachable; the table keeps its last snapshot and the next refresh tries again.';
  if (code === '42P01' || code === '3F000') {
    category = 'undefined_table';
    text = `cannot load table "${table}": ${message} at ${server}`;
    hint = "Check the table option: names match exactly as PostgreSQL stores them (lower case unless created quoted); write 'schema.table' for a table outside the search path.";
  } else if (code === '42703') {
    category = 'undefined_column';
    text = `cannot load table "${table}": ${at} has no ${message.replace(/ does not exist$/, '')}${columns ? ` (its columns: ${columns.join(', ')})` : ''}`;
    hint = `Declare only columns the PostgreSQL table has (now ${declared.join(', ')}); names match exactly, lower case unless quoted.`;
  } else if (code === '42501') {
    text = `cannot load table "${table}": permission denied to read ${at}`;
    hint = `Grant the user SELECT on the table (GRANT SELECT ON ${pgTable} TO …), or connect as another user.`;
  } else if (code === '42846' || code === '42804') {
    category = 'datatype_mismatch';
    hint = 'Declare each column with a type its PostgreSQL column converts to (VARCHAR takes any).';
  } else if (code?.startsWith('22')) {
    category = code === '22003' ? 'numeric_out_of_range' : 'invalid_input';
    hint = 'A value does not fit its declared column type; declare a type that fits (VARCHAR takes any).';
  } else if (code === '57014' || /Query read timeout/.test(message)) {
    text = `cannot load table "${table}" from ${at}: the query did not finish within query_timeout (${message})`;
    hint = 'Raise query_timeout, or load a smaller table (a view on the server that selects what is needed).';
  } else if (code !== undefined && !code.startsWith('08') && !code.startsWith('57')) {
    category = 'internal';
    text = `cannot load table "${table}" from ${at}: ${message} (SQLSTATE ${code})`;
    hint = 'PostgreSQL refused the snapshot query; its message above says why.';
  }
  return new SluiceError(category, text, { hint, cause: e });
}

/** The error for a value that does not parse as its declared type (after the server's cast). */
export function valueError(e: unknown, table: string, column: string, value: string): SluiceError {
  const { message } = fields(e);
  return new SluiceError('invalid_input', `cannot load table "${table}": column "${column}" cannot hold '${value}' from PostgreSQL (${message})`, {
    hint: 'Declare a type that fits the column (VARCHAR takes any); sluice reads no infinite or BC dates and timestamps.',
    cause: e,
  });
}
