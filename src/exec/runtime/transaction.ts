/**
 * Transaction blocks: BEGIN … COMMIT / ROLLBACK of one session (a pg-wire connection, the REPL).
 *
 *   BEGIN          the block starts; nothing touches DuckDB yet
 *   first DML      under the engine lock: the session's own DuckDB connection begins a DuckDB
 *                  transaction and pins its snapshot; every DML of the block runs there and its
 *                  changelog (the RETURNING rows) is kept in the session, not queued for views
 *   SELECT         before the first DML: the latest committed state, as outside a block; after
 *                  it: on the session's connection, so it sees the block's own writes
 *   COMMIT         under the engine lock, in the session's DuckDB transaction: one change-log
 *                  record per statement (table_changes), then DuckDB's COMMIT, then every
 *                  changelog is queued for the views at once — the next epoch takes all of it,
 *                  an epoch never sees part of it, and a crash before the DuckDB COMMIT loses
 *                  all of it (data and log records share that transaction)
 *   ROLLBACK       DuckDB's ROLLBACK; the kept changelogs are dropped
 *
 * An error inside a block fails it (25P02 for every later statement until ROLLBACK; COMMIT then
 * rolls back). DDL, engine settings and SUBSCRIBE are refused inside a block (25001): the
 * catalog, settings and subscriptions are not transactional.
 *
 * Conflicts: DuckDB detects two transactions writing the same row, and a block writing a row
 * that a transaction committed after the block's snapshot wrote (40001 for the later writer, at
 * once, where PostgreSQL would wait for the first to end). Every write to a table runs in an
 * explicit DuckDB transaction (changeTable's or a block's): DuckDB 1.x misses that conflict on a
 * table with a primary key when the other write was an autocommit statement.
 */
import type { Batch } from '../../common/column.js';
import type { TimeZone } from '../../common/time-zone.js';
import { SluiceError } from '../../common/errors.js';
import { KIND_LABEL } from '../../catalog/index.js';
import type { Statement } from '../../parser/index.js';
import { quoteIdent } from '../duck.js';
import { applyDml, dmlResult, dmlTarget, type DmlStatement } from './dml.js';
import type { EpochRunner } from './epoch-runner.js';
import { Mutex } from './lock.js';
import { CLIENT_PARAMETERS } from './privileges.js';
import type { AdHocQueries, QueryConn } from './select.js';
import type { EngineState, StatementResult, TableRt } from './state.js';

/** ReadyForQuery's view of a session: idle, in a transaction block, in a failed block. */
export type TransactionStatus = 'idle' | 'active' | 'failed';

type TransactionStatement = Extract<Statement, { kind: 'transaction' }>;

/** One change a block made: the table and the changelog. */
interface BlockChange {
  readonly t: TableRt;
  readonly batch: Batch;
}

/**
 * A client session of the engine (`Engine.openSession`): its transaction block, if any. Pass it
 * to `Engine.execute` with every statement of the session; close it when the client leaves.
 */
export class EngineSession {
  private statusValue: TransactionStatus = 'idle';
  /** Set by BEGIN READ ONLY. */
  readOnly = false;
  /** The session's statements run one at a time (a cancelled one may still be finishing). */
  readonly lock = new Mutex();
  /** The session's DuckDB connection, opened at its first write in a block and kept. */
  conn: QueryConn | null = null;
  /** Whether a DuckDB transaction is open on `conn` (from the block's first write). */
  open = false;
  readonly changes: BlockChange[] = [];
  closed = false;

  /** Idle, in a block ('T' in ReadyForQuery), or in a failed block ('E'). */
  get status(): TransactionStatus {
    return this.statusValue;
  }

  /** An error was reported to the client: a block in progress fails, as PostgreSQL's does. */
  fail(): void {
    if (this.statusValue === 'active') this.statusValue = 'failed';
  }

  /** @internal */
  setStatus(s: TransactionStatus): void {
    this.statusValue = s;
  }
}

/** The error every statement of a failed block gets. */
export function abortedBlock(): SluiceError {
  return new SluiceError('in_failed_sql_transaction', 'current transaction is aborted, commands ignored until end of transaction block', {
    hint: 'ROLLBACK ends the block (COMMIT does too, and rolls back).',
  });
}

/** Refuses (25001) a statement that cannot run inside a transaction block. */
export function refuseInBlock(stmt: Statement): void {
  const what = blockedStatement(stmt);
  if (what === null) return;
  throw new SluiceError('active_sql_transaction', `${what} cannot run inside a transaction block`, {
    hint: stmt.kind === 'subscribe'
      ? 'A subscription streams until cancelled and sees committed changes only; run it outside BEGIN … COMMIT.'
      : 'The catalog and engine settings are not transactional; COMMIT or ROLLBACK first.',
  });
}

function blockedStatement(stmt: Statement): string | null {
  switch (stmt.kind) {
    case 'create_source':
      return 'CREATE SOURCE';
    case 'create_table':
      return 'CREATE TABLE';
    case 'create_view':
      return 'CREATE MATERIALIZED VIEW';
    case 'create_sink':
      return 'CREATE SINK';
    case 'drop':
      return `DROP ${KIND_LABEL[stmt.objectKind].toUpperCase()}`;
    case 'create_user':
      return 'CREATE USER';
    case 'alter_user':
      return 'ALTER USER';
    case 'drop_user':
      return 'DROP USER';
    case 'grant':
      return 'GRANT';
    case 'revoke':
      return 'REVOKE';
    case 'set':
      return CLIENT_PARAMETERS.has(stmt.name.toLowerCase()) ? null : `SET ${stmt.name.toLowerCase()}`;
    case 'subscribe':
      return 'SUBSCRIBE';
    case 'explain':
      return blockedStatement(stmt.statement);
    default:
      return null;
  }
}

/** The block's part of the engine: its lock, epochs (rw_implicit_flush) and ad-hoc connections. */
export interface BlockContext {
  readonly state: EngineState;
  readonly epochs: EpochRunner;
  readonly adHoc: AdHocQueries;
}

/** BEGIN, COMMIT, ROLLBACK (and their synonyms) of a session. The caller holds the session's lock. */
export async function transactionStatement(ctx: BlockContext, session: EngineSession, stmt: TransactionStatement): Promise<StatementResult> {
  const status = session.status;
  switch (stmt.action) {
    case 'begin':
      if (status === 'failed') throw abortedBlock();
      if (status === 'active') return { kind: 'command', tag: stmt.tag, warning: { code: '25001', message: 'there is already a transaction in progress' } };
      session.setStatus('active');
      session.readOnly = stmt.readOnly;
      return { kind: 'command', tag: stmt.tag };
    case 'commit':
      if (status === 'idle') return { kind: 'command', tag: 'COMMIT', warning: noTransaction() };
      // A failed block's COMMIT rolls back, and says so in its tag, as PostgreSQL does.
      if (status === 'failed') {
        await rollbackBlock(ctx, session);
        return { kind: 'command', tag: 'ROLLBACK' };
      }
      await ctx.state.mutex.run(() => commitBlock(ctx, session));
      return { kind: 'command', tag: 'COMMIT' };
    case 'rollback':
      if (status === 'idle') return { kind: 'command', tag: 'ROLLBACK', warning: noTransaction() };
      await rollbackBlock(ctx, session);
      return { kind: 'command', tag: 'ROLLBACK' };
  }
}

const noTransaction = () => ({ code: '25P01', message: 'there is no transaction in progress' });

/**
 * A DML statement inside a block: runs in the session's DuckDB transaction (begun here, at the
 * block's first write), its changelog kept for COMMIT. The caller holds the engine lock.
 */
export async function dmlInBlock(ctx: BlockContext, session: EngineSession, stmt: DmlStatement, zone: TimeZone): Promise<StatementResult> {
  const { state } = ctx;
  if (session.readOnly) throw new SluiceError('read_only_sql_transaction', `cannot execute ${stmt.kind.toUpperCase()} in a read-only transaction`);
  const t = dmlTarget(state, stmt);
  const qc = (session.conn ??= await ctx.adHoc.sessionConnection());
  if (!session.open) {
    // DuckDB pins a transaction's snapshot when it first reads a database: touch the table now,
    // under the lock, so the snapshot is a committed state between statements and epochs.
    await state.duck.run(`BEGIN TRANSACTION; SELECT 1 FROM main.${quoteIdent(t.entry.name)} LIMIT 0`, qc.conn).catch(async (e: unknown) => {
      await state.duck.run('ROLLBACK', qc.conn).catch(() => undefined);
      throw e;
    });
    session.open = true;
  }
  // The session's own connection: its statements run in its zone (select.ts sets it before reads too).
  await state.duck.run(`SET TimeZone = '${zone.icuName}'`, qc.conn);
  const { change, count, returned } = await applyDml(state, t, stmt, qc.conn, zone);
  if (change.length) session.changes.push({ t, batch: change });
  return dmlResult(stmt, count, returned);
}

/** COMMIT of an active block; on any failure the block is rolled back and the error thrown. The caller holds the engine lock. */
async function commitBlock(ctx: BlockContext, session: EngineSession): Promise<void> {
  const { state } = ctx;
  const qc = session.conn;
  if (!session.open || !qc) {
    endBlock(session);
    return;
  }
  const conn = qc.conn;
  try {
    for (const c of session.changes) {
      const name = c.t.entry.name;
      if (state.tables.get(name) !== c.t) {
        throw new SluiceError('serialization_failure', `could not serialize access: table "${name}" was dropped during the transaction`);
      }
    }
    if (state.checkpointer) {
      let seq = state.tableSeq;
      for (const c of session.changes) await state.checkpointer.logTableChange(++seq, c.t.entry.name, c.t.entry.schema, c.batch, conn);
    }
    await state.duck.run('COMMIT', conn);
  } catch (e) {
    await state.duck.run('ROLLBACK', conn).catch(() => undefined);
    qc.loaded.clear();
    endBlock(session);
    throw e;
  }
  // Queued together, under the lock: the next epoch takes the whole block.
  for (const c of session.changes) {
    c.t.pending.push({ seq: ++state.tableSeq, batch: c.batch });
  }
  const wrote = session.changes.length > 0;
  endBlock(session);
  if (wrote && state.settings.implicitFlush) await ctx.epochs.run(Date.now());
}

/** Ends a block, undoing its writes. */
export async function rollbackBlock(ctx: BlockContext, session: EngineSession): Promise<void> {
  const qc = session.conn;
  if (session.open && qc) {
    await ctx.state.duck.run('ROLLBACK', qc.conn).catch(() => undefined);
    // Copies made inside the transaction went with it.
    qc.loaded.clear();
  }
  endBlock(session);
}

function endBlock(session: EngineSession): void {
  session.open = false;
  session.changes.length = 0;
  session.readOnly = false;
  session.setStatus('idle');
}
