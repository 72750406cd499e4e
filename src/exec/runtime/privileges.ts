/**
 * Who may run what. The superuser (the server's own user, and every in-process caller) may do
 * everything. A user made with CREATE USER may read what it was granted — SELECT and SUBSCRIBE
 * on those relations — plus catalog metadata (SHOW, DESCRIBE, pg_catalog/information_schema),
 * set its client's session parameters and change its own password. Everything else is 42501
 * naming the object and the privilege, as PostgreSQL words it.
 */
import { SluiceError } from '../../common/errors.js';
import { KIND_LABEL, SUPERUSER_NAME, type Privilege } from '../../catalog/index.js';
import type { Statement } from '../../parser/index.js';
import type { EngineState } from './state.js';

/** The user a statement runs as. */
export interface Principal {
  readonly name: string;
  readonly superuser: boolean;
  /** The database the client connected to (what current_database() says; default 'sluice'). */
  readonly database?: string;
}

/** What in-process callers (the CLI, the library API) run as. */
export const SUPERUSER: Principal = { name: SUPERUSER_NAME, superuser: true };

/**
 * Session parameters of a PostgreSQL client (drivers SET them on connect): the only SET a user
 * may run. The engine's own settings (batch_interval, statement_timeout …) are engine-wide.
 */
export const CLIENT_PARAMETERS: ReadonlySet<string> = new Set([
  'application_name', 'client_encoding', 'datestyle', 'timezone', 'time zone', 'extra_float_digits', 'search_path', 'intervalstyle',
  'client_min_messages', 'standard_conforming_strings', 'bytea_output', 'lc_messages', 'lc_monetary', 'lc_numeric', 'lc_time',
  'default_transaction_isolation', 'transaction_isolation', 'escape_string_warning', 'names',
]);

const hint = (p: Principal) => `User "${p.name}" may read (SELECT, SUBSCRIBE) the relations granted to it; the superuser grants them (GRANT SELECT ON name TO ${p.name}).`;

/** Refuses (42501) unless the principal holds `privilege` on `relation`. */
export function checkRelation(state: EngineState, principal: Principal, relation: string, privilege: Privilege, position?: number): void {
  if (principal.superuser || state.catalog.roles.holds(principal.name, privilege, relation)) return;
  const e = state.catalog.get(relation);
  const label = e ? KIND_LABEL[e.kind] : 'relation';
  throw new SluiceError('insufficient_privilege', `permission denied for ${label} ${relation}`, { position, hint: `${privilege} on ${relation} was not granted to user "${principal.name}".` });
}

/** Refuses a statement other than SELECT (which select.ts checks) the principal may not run. */
export function checkStatement(state: EngineState, principal: Principal, stmt: Statement): void {
  if (principal.superuser) return;
  const deny = (what: string, position?: number): never => {
    throw new SluiceError('insufficient_privilege', `permission denied ${what}`, { position, hint: hint(principal) });
  };
  switch (stmt.kind) {
    case 'select':
    case 'show_objects':
    case 'show_variable':
    case 'show_create':
    case 'describe':
    case 'transaction':
    // The session checks the statement inside (copy_from is a write: the engine checks it as one).
    case 'copy_to':
    case 'declare':
    case 'fetch':
    case 'close_cursor':
      return;
    case 'copy_from':
      throw new SluiceError('insufficient_privilege', `permission denied for table ${stmt.table}`, {
        position: stmt.pos,
        hint: `COPY FROM is not granted to users: only the superuser writes. ${hint(principal)}`,
      });
    case 'subscribe':
      return checkRelation(state, principal, stmt.name, 'SELECT', stmt.pos);
    case 'explain':
      if (stmt.statement.kind === 'select') {
        for (const rel of stmt.statement.relations) if (state.catalog.get(rel)) checkRelation(state, principal, rel, 'SELECT');
        return;
      }
      return checkStatement(state, principal, stmt.statement);
    case 'set':
      if (CLIENT_PARAMETERS.has(stmt.name.toLowerCase())) return;
      return deny(`to set parameter "${stmt.name.toLowerCase()}"`);
    case 'alter_user':
      if (stmt.name === principal.name) return;
      return deny(`to alter role "${stmt.name}"`, stmt.pos);
    case 'create_user':
    case 'drop_user':
      return deny(`to ${stmt.kind === 'create_user' ? 'create' : 'drop'} role "${stmt.name}"`, stmt.pos);
    case 'grant':
    case 'revoke':
      return deny(`to ${stmt.kind} privileges on ${stmt.relations.map((r) => r.name).join(', ')}`, stmt.relations[0]?.pos);
    case 'create_source':
    case 'create_table':
    case 'create_view':
    case 'create_sink':
    case 'create_model':
      return deny(`to create ${KIND_LABEL[stmt.kind.slice('create_'.length) as 'source' | 'table' | 'view' | 'sink' | 'model']} "${stmt.name}"`);
    case 'insert':
    case 'update':
    case 'delete':
      throw new SluiceError('insufficient_privilege', `permission denied for table ${stmt.table}`, {
        position: stmt.pos,
        hint: `${stmt.kind.toUpperCase()} is not granted to users: only the superuser writes. ${hint(principal)}`,
      });
    case 'alter_set':
    case 'alter_rename':
      return deny(`to alter ${KIND_LABEL[stmt.objectKind]} "${stmt.name}"`, stmt.pos);
    case 'comment':
      return deny(`to comment on ${stmt.objectKind === 'column' ? 'a column of' : KIND_LABEL[stmt.objectKind]} "${stmt.name}"`, stmt.pos);
    case 'drop':
      return deny(`to drop ${KIND_LABEL[stmt.objectKind]} "${stmt.name}"`, stmt.pos);
    case 'create_function':
      return deny(`to create function "${stmt.name}"`, stmt.pos);
    case 'drop_function':
      return deny(`to drop function "${stmt.name}"`, stmt.pos);
    case 'create_index':
      return deny(`to create an index on "${stmt.table}"`, stmt.tablePos);
    case 'drop_index':
      return deny(`to drop index "${stmt.names[0]!.name}"`, stmt.names[0]!.pos);
    case 'flush':
      return deny('to run FLUSH: only the superuser runs epochs');
    case 'replay':
      return deny('to run REPLAY: it shows the changes of every view');
    default: {
      // Every statement kind is decided above: a new one must be added there.
      const unhandled: never = stmt;
      return deny(`to run ${(unhandled as Statement).kind}`);
    }
  }
}
