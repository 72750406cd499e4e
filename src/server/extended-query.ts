/**
 * The extended query protocol of one session: Parse/Bind/Describe/Execute/Close over named and
 * unnamed prepared statements and portals. The engine has no prepared statements, so a statement
 * is its text plus parameter types, a portal is that text with literals bound in, and a portal's
 * result is computed once (at Describe or Execute) and then paged out by Execute's row limit.
 */
import type { Field } from '../common/types.js';
import type { StatementResult } from '../exec/runtime/engine.js';
import { splitStatements } from '../parser/index.js';
import { commandTag, withRowCount } from './command-tag.js';
import type { BodyReader } from './message-reader.js';
import type { FormatCode, MessageWriter } from './message-writer.js';
import { nullLiteral, parameterLiteral, placeholderCount, substituteParameters, type BoundText } from './parameters.js';
import { describedParamOid } from './pg-types.js';
import { errorFields, noticeFields, PgServerError, protocolViolation, relocated, warningFields } from './server-error.js';
import { isQuery, mayReturnRows } from './statement-kind.js';

/** What the extended protocol needs from its session: output, the engine, and paced row output. */
export interface QueryIO {
  readonly out: MessageWriter;
  /**
   * Runs one statement through the engine; rejects with 57014 when the session is cancelled.
   * A `probe` (learning a statement's columns) does not fail a transaction block when it errs.
   */
  run(sql: string, probe?: boolean): Promise<StatementResult[]>;
  /** An ErrorResponse was sent: a transaction block in progress fails. */
  errorSent(): void;
  /** Writes DataRows for rows[from, to), flushing and waiting for the socket as needed. */
  sendRows(result: Extract<StatementResult, { kind: 'rows' }>, from: number, to: number, formats: readonly FormatCode[]): Promise<void>;
}

interface PreparedStatement {
  readonly name: string;
  readonly sql: string;
  readonly empty: boolean;
  readonly paramOids: readonly number[];
  /** Result columns once described: null for statements without rows, undefined before. */
  columns?: readonly Field[] | null;
}

interface Portal {
  readonly name: string;
  readonly statement: PreparedStatement;
  readonly bound: BoundText;
  readonly formatCodes: readonly FormatCode[];
  result: StatementResult | null;
  cursor: number;
  done: boolean;
}

const PARAM_LIMIT = 65_535;

/** The prepared statements and portals of one session and the handlers of their messages. */
export class ExtendedQuery {
  /** Set after an error: messages are ignored until the next Sync. */
  skipping = false;
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();
  // The statement text the current message's error positions refer to.
  private errorText: string | undefined;

  constructor(private readonly io: QueryIO) {}

  /**
   * Handles one Parse ('P'), Bind ('B'), Describe ('D'), Execute ('E') or Close ('C') message.
   * A non-fatal error is sent as an ErrorResponse and starts skipping until Sync.
   */
  async handle(type: string, body: BodyReader): Promise<void> {
    if (this.skipping) return;
    this.errorText = undefined;
    try {
      switch (type) {
        case 'P':
          this.parse(body);
          break;
        case 'B':
          this.bind(body);
          break;
        case 'D':
          await this.describe(body);
          break;
        case 'E':
          await this.execute(body);
          break;
        case 'C':
          this.close(body);
          break;
      }
    } catch (e) {
      if (e instanceof PgServerError && e.fatal) throw e;
      this.io.out.errorResponse(errorFields(e, this.errorText));
      this.io.errorSent();
      this.skipping = true;
    }
  }

  /** Sync: ends the implicit transaction, which drops every portal, and stops skipping. */
  sync(): void {
    this.skipping = false;
    this.portals.clear();
  }

  /** A simple Query replaces the unnamed statement and portal. */
  dropUnnamed(): void {
    this.statements.delete('');
    this.portals.delete('');
  }

  private parse(body: BodyReader): void {
    const name = body.cstring();
    const sql = body.cstring();
    const nTypes = body.uint16();
    const oids: number[] = [];
    for (let i = 0; i < nTypes; i++) oids.push(body.int32());
    body.end();
    if (name !== '' && this.statements.has(name)) {
      throw new PgServerError('42P05', `prepared statement "${name}" already exists`, { category: 'duplicate_object' });
    }
    const parts = splitStatements(sql);
    if (parts.length > 1) throw new PgServerError('42601', 'cannot insert multiple commands into a prepared statement', { category: 'syntax' });
    const count = Math.max(placeholderCount(sql), nTypes);
    if (count > PARAM_LIMIT) throw protocolViolation(`prepared statements can have at most ${PARAM_LIMIT} parameters`);
    const paramOids = Array.from({ length: count }, (_, i) => oids[i] ?? 0);
    this.statements.set(name, { name, sql, empty: parts.length === 0, paramOids });
    this.io.out.parseComplete();
  }

  private bind(body: BodyReader): void {
    const portalName = body.cstring();
    const statementName = body.cstring();
    const paramFormats = formatCodes(body);
    const nParams = body.uint16();
    const values: (Buffer | null)[] = [];
    for (let i = 0; i < nParams; i++) {
      const len = body.int32();
      values.push(len === -1 ? null : body.bytes(len));
    }
    const resultFormats = formatCodes(body);
    body.end();
    const st = this.statement(statementName);
    if (nParams !== st.paramOids.length) {
      throw protocolViolation(`bind message supplies ${nParams} parameters, but prepared statement "${statementName}" requires ${st.paramOids.length}`);
    }
    if (paramFormats.length > 1 && paramFormats.length !== nParams) {
      throw protocolViolation(`bind message has ${paramFormats.length} parameter formats but ${nParams} parameters`);
    }
    if (portalName !== '' && this.portals.has(portalName)) {
      throw new PgServerError('42P03', `portal "${portalName}" already exists`, { category: 'duplicate_object' });
    }
    const literals = values.map((v, i) => parameterLiteral(v, paramFormats.length === 1 ? paramFormats[0]! : (paramFormats[i] ?? 0), st.paramOids[i]!, i));
    const bound = substituteParameters(st.sql, literals);
    this.portals.set(portalName, { name: portalName, statement: st, bound, formatCodes: resultFormats, result: null, cursor: 0, done: false });
    this.io.out.bindComplete();
  }

  private async describe(body: BodyReader): Promise<void> {
    const kind = String.fromCharCode(body.byte());
    const name = body.cstring();
    body.end();
    const out = this.io.out;
    if (kind === 'S') {
      const st = this.statement(name);
      this.errorText = st.sql;
      out.parameterDescription(st.paramOids.map(describedParamOid));
      const cols = await this.statementColumns(st);
      if (cols) out.rowDescription(cols, cols.map(() => 0));
      else out.noData();
      return;
    }
    if (kind === 'P') {
      const portal = this.portal(name);
      this.errorText = portal.statement.sql;
      // Commands are not run ahead of their Execute: their side effects belong to it.
      if (portal.statement.empty || !mayReturnRows(portal.bound.text)) {
        out.noData();
        return;
      }
      const r = await this.resultOf(portal);
      if (r.kind === 'rows') out.rowDescription(r.columns, resolveFormats(portal.formatCodes, r.columns.length));
      else out.noData();
      return;
    }
    throw protocolViolation(`invalid DESCRIBE message subtype ${kind.charCodeAt(0)}`);
  }

  private async execute(body: BodyReader): Promise<void> {
    const name = body.cstring();
    const maxRows = body.int32();
    body.end();
    const portal = this.portal(name);
    this.errorText = portal.statement.sql;
    const out = this.io.out;
    if (portal.statement.empty) {
      out.emptyQueryResponse();
      return;
    }
    const wasDone = portal.done;
    let r = await this.resultOf(portal);
    // The extended protocol answers SUBSCRIBE with its snapshot only; stream with a simple query.
    if (r.kind === 'subscription') {
      r.listen(() => undefined, () => undefined)();
      r = { kind: 'rows', tag: `SELECT ${r.rows.length}`, columns: r.columns, rows: r.rows };
    }
    if (r.kind === 'command') {
      if (r.warning && !wasDone) out.noticeResponse(warningFields(r.warning));
      if (r.notice && !wasDone) out.noticeResponse(noticeFields(r.notice));
      out.commandComplete(commandTag(r.tag));
      portal.done = true;
      return;
    }
    const formats = resolveFormats(portal.formatCodes, r.columns.length);
    const from = portal.cursor;
    const to = maxRows > 0 ? Math.min(r.rows.length, from + maxRows) : r.rows.length;
    await this.io.sendRows(r, from, to, formats);
    portal.cursor = to;
    if (to < r.rows.length) {
      out.portalSuspended();
      return;
    }
    out.commandComplete(from === 0 && !wasDone ? commandTag(r.tag) : withRowCount(commandTag(r.tag), to - from));
    portal.done = true;
  }

  private close(body: BodyReader): void {
    const kind = String.fromCharCode(body.byte());
    const name = body.cstring();
    body.end();
    if (kind === 'S') {
      const st = this.statements.get(name);
      this.statements.delete(name);
      // Closing a statement closes the portals made from it.
      if (st) for (const [n, p] of this.portals) if (p.statement === st) this.portals.delete(n);
    } else if (kind === 'P') this.portals.delete(name);
    else throw protocolViolation(`invalid CLOSE message subtype ${kind.charCodeAt(0)}`);
    this.io.out.closeComplete();
  }

  private statement(name: string): PreparedStatement {
    const st = this.statements.get(name);
    if (!st) throw new PgServerError('26000', name === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${name}" does not exist`, { category: 'invalid_parameter' });
    return st;
  }

  private portal(name: string): Portal {
    const p = this.portals.get(name);
    if (!p) throw new PgServerError('34000', `portal "${name}" does not exist`, { category: 'invalid_parameter' });
    return p;
  }

  private async resultOf(portal: Portal): Promise<StatementResult> {
    if (portal.result) return portal.result;
    try {
      const results = await this.io.run(portal.bound.text);
      portal.result = results[0] ?? { kind: 'command', tag: 'EMPTY' };
      return portal.result;
    } catch (e) {
      throw relocated(e, (p) => portal.bound.originalPosition(p));
    }
  }

  /**
   * The result columns of a statement, learned without parameter values: a query is wrapped in
   * `SELECT * FROM (…) LIMIT 0` with typed NULLs for its parameters; other statements that may
   * return rows (SHOW, DESCRIBE, EXPLAIN) are cheap enough to run.
   */
  private async statementColumns(st: PreparedStatement): Promise<readonly Field[] | null> {
    if (st.columns !== undefined) return st.columns;
    const part = splitStatements(st.sql)[0];
    if (part === undefined || !mayReturnRows(part.text)) return (st.columns = null);
    const text = part.text;
    const bound = substituteParameters(text, st.paramOids.map(nullLiteral));
    let r: StatementResult | undefined;
    if (isQuery(text)) {
      try {
        r = (await this.io.run(`SELECT * FROM (${bound.text}) AS sluice_describe LIMIT 0`, true))[0];
      } catch (e) {
        if (e instanceof PgServerError) throw e;
        // The wrapped form can fail where the statement itself does not; try that below.
      }
    }
    if (!r) {
      try {
        r = (await this.io.run(bound.text))[0];
      } catch (e) {
        throw relocated(e, (p) => bound.originalPosition(p) + part.offset);
      }
    }
    st.columns = r && r.kind === 'rows' ? r.columns : null;
    return st.columns;
  }
}

function formatCodes(body: BodyReader): FormatCode[] {
  const n = body.uint16();
  const codes: FormatCode[] = [];
  for (let i = 0; i < n; i++) {
    const c = body.int16();
    if (c !== 0 && c !== 1) throw new PgServerError('22023', `unsupported format code: ${c}`, { category: 'invalid_parameter' });
    codes.push(c);
  }
  return codes;
}

/** Per-column formats from Bind's result format codes: none → text, one → all, else one each. */
function resolveFormats(codes: readonly FormatCode[], columns: number): FormatCode[] {
  if (codes.length === 0) return new Array<FormatCode>(columns).fill(0);
  if (codes.length === 1) return new Array<FormatCode>(columns).fill(codes[0]!);
  if (codes.length !== columns) throw protocolViolation(`bind message has ${codes.length} result formats but query has ${columns} columns`);
  return [...codes];
}
