/**
 * CREATE USER / ALTER USER / DROP USER, GRANT and REVOKE: changes to the catalog's users, which
 * persist with it. A password becomes a SCRAM verifier at once and is not kept.
 */
import { SluiceError } from '../../common/errors.js';
import { scramVerifier } from '../../common/scram-verifier.js';
import { KIND_LABEL } from '../../catalog/index.js';
import type { Statement } from '../../parser/index.js';
import type { EngineState, StatementResult } from './state.js';

type UserStatement = Extract<Statement, { kind: 'create_user' | 'alter_user' | 'drop_user' | 'grant' | 'revoke' }>;

/** Runs a user or privilege statement (the caller checked the principal may). */
export function executeUserStatement(state: EngineState, stmt: UserStatement): StatementResult {
  const { roles } = state.catalog;
  switch (stmt.kind) {
    case 'create_user':
      roles.create(stmt.name, scramVerifier(stmt.password));
      return { kind: 'command', tag: 'CREATE ROLE' };
    case 'alter_user':
      roles.setVerifier(stmt.name, scramVerifier(stmt.password));
      return { kind: 'command', tag: 'ALTER ROLE' };
    case 'drop_user':
      if (!roles.has(stmt.name) && stmt.ifExists) return { kind: 'command', tag: 'DROP ROLE', notice: `role "${stmt.name}" does not exist, skipping` };
      roles.drop(stmt.name);
      return { kind: 'command', tag: 'DROP ROLE' };
    case 'grant':
    case 'revoke': {
      if (!roles.has(stmt.user)) throw new SluiceError('undefined_object', `role "${stmt.user}" does not exist`, { position: stmt.userPos });
      for (const r of stmt.relations) {
        const e = state.catalog.get(r.name);
        if (!e) throw new SluiceError('undefined_table', `relation "${r.name}" does not exist`, { position: r.pos });
        if (e.kind === 'sink') throw new SluiceError('not_supported', `cannot grant SELECT on ${KIND_LABEL[e.kind]} "${r.name}": a sink is not read`, { position: r.pos });
      }
      for (const r of stmt.relations) (stmt.kind === 'grant' ? roles.grant(stmt.user, r.name) : roles.revoke(stmt.user, r.name));
      return { kind: 'command', tag: stmt.kind.toUpperCase() };
    }
  }
}
