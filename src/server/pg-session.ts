/**
 * One client connection speaking PostgreSQL protocol 3.0: startup (SSL/GSS refusal, cancel
 * requests, protocol negotiation), authentication (trust or SCRAM-SHA-256), then simple and
 * extended queries. Each session reads and writes its own socket at its own pace: a slow reader
 * only waits for its own socket's 'drain', never blocks other sessions.
 */
import type { Socket } from 'node:net';
import { UTC } from '../common/time-zone.js';
import type { SessionZone } from '../exec/runtime/settings.js';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Engine, EngineSession, Principal, StatementResult, Subscription } from '../exec/runtime/engine.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import { toSluiceError } from '../common/errors.js';
import type { CopyBatch } from '../exec/runtime/bulk-load.js';
import { parseSqlGuarded, splitStatements, type CopyOptions, type Statement } from '../parser/index.js';
import { commandTag } from './command-tag.js';
import { copyHeader, copyLine, CopyReader } from './copy-format.js';
import { CopyColumnReader } from './copy-columns.js';
import { SluiceError } from '../common/errors.js';
import { KIND_LABEL } from '../catalog/index.js';
import { Cursors } from './cursors.js';
import { leadingKeyword } from './statement-kind.js';
import { SubscriptionFeed } from './subscription-feed.js';
import { ExtendedQuery, type QueryIO } from './extended-query.js';
import { BodyReader, FrameReader, type Frame, type InFlightBudget } from './message-reader.js';
import { MessageWriter, type FormatCode } from './message-writer.js';
import { psqlCatalogResult } from './psql-catalog.js';
import { SCRAM_SHA_256, ScramExchange, type ScramVerifier } from './scram.js';
import { errorFields, noticeFields, PgServerError, protocolViolation, queryCanceled, relocated, warningFields } from './server-error.js';
import { throttledPrinter } from '../exec/runtime/progress.js';

/**
 * The part of the engine the server uses; `setParameterSource`, when there, takes the client
 * parameters SHOW answers (see pg-parameters.ts).
 */
export type PgEngine = Pick<Engine, 'execute' | 'catalog'> & Partial<Pick<Engine, 'setParameterSource' | 'progress' | 'openSession' | 'closeSession' | 'copyInto'>>;

/** What every session shares: the engine, settings, and the server's registry of sessions. */
export interface SessionContext {
  readonly engine: PgEngine;
  /** The superuser's verifier; set when a password is required (then users authenticate with theirs). */
  readonly verifier: ScramVerifier | null;
  readonly serverVersion: string;
  readonly maxMessageBytes: number;
  /** Bytes of large messages in flight across all sessions, bounded. */
  readonly inFlight: InFlightBudget;
  /** Set when the server offers TLS (answers SSLRequest with 'S'). */
  readonly tls: SecureContext | null;
  readonly startupTimeoutMs: number;
  /** Most changes a SUBSCRIBE may have waiting for its client before it is dropped. */
  readonly subscribeQueueRows: number;
  /** How often a running statement's progress is sent as a NOTICE (and after how long the first). */
  readonly progressNoticeMs: number;
  readonly log: (message: string) => void;
  /** Registers a session; returns its BackendKeyData. */
  register(session: PgSession): { pid: number; secret: number };
  unregister(session: PgSession): void;
  /** Handles a CancelRequest: cancels the session with that key, if any. */
  cancel(pid: number, secret: number): void;
  /**
   * Decides whether a session that sent its startup packet may go on: null to admit it, or
   * the fatal error to close it with (too many connections, a remote client without a password).
   */
  admit(session: PgSession, remoteAddress: string | undefined): PgServerError | null;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 3;
// Output is written to the socket whenever this much is pending, so big results stream.
/** Rows of COPY FROM STDIN converted and inserted at a time. */
const COPY_BATCH_ROWS = 50_000;

/** What COPY FROM STDIN's data goes through: text pieces in, batches of rows out. */
interface CopyCollector {
  push(text: string): void;
  end(): void;
  /** Rows in the batch so far. */
  readonly length: number;
  take(): CopyBatch['rows'];
}

/**
 * The text format into known columns is parsed straight into columns (copy-columns.ts); CSV,
 * or a column list the table does not have (the load reports it), row by row.
 */
function copyCollector(o: CopyOptions, schema: Schema, columns: readonly string[] | null): CopyCollector {
  const types = (columns ?? schema.map((f) => f.name)).map((c) => schema.find((f) => f.name === c)?.type);
  if (o.format === 'text' && o.delimiter.length === 1 && types.length > 0 && types.every((t) => t !== undefined) && new Set(columns ?? []).size === (columns?.length ?? 0)) {
    return new CopyColumnReader(o, types as SqlType[], COPY_BATCH_ROWS);
  }
  const reader = new CopyReader(o);
  let rows: (string | null)[][] = [];
  return {
    push: (text) => {
      for (const r of reader.push(text)) rows.push(r);
    },
    end: () => {
      for (const r of reader.end()) rows.push(r);
    },
    get length() {
      return rows.length;
    },
    take: () => {
      const out = rows;
      rows = [];
      return out;
    },
  };
}
const FLUSH_BYTES = 64 * 1024;
// While a message is being handled, reading stops once this much more input is queued.
const PAUSE_BYTES = 1024 * 1024;
// How long a closing connection may take to deliver its last message.
const CLOSE_GRACE_MS = 2000;

type Phase = 'startup' | 'auth' | 'ready' | 'closed';

/** One client connection and its protocol state. */
export class PgSession implements QueryIO {
  readonly pid: number;
  readonly secret: number;
  readonly out = new MessageWriter();
  /** The session's TimeZone: SET TIME ZONE changes it (the engine reads it), results print timestamptz in it. */
  private readonly zone: SessionZone = { zone: UTC };
  private phase: Phase = 'startup';
  private readonly reader: FrameReader;
  private readonly extended: ExtendedQuery;
  private pumping = false;
  /** Set while COPY FROM STDIN waits for the client's next message. */
  private frameWaiter: (() => void) | null = null;
  private scram: ScramExchange | null = null;
  private user = '';
  /**
   * Who the session runs as: a user made with CREATE USER when the startup packet names one,
   * otherwise the superuser (the server's own user, authenticated by --password).
   */
  private principal: Principal = { name: '', superuser: true };
  /** The verifier this session authenticates against. */
  private authVerifier: ScramVerifier | null = null;
  private applicationName = '';
  private startupTimer: NodeJS.Timeout | null;
  // Cancel state: a CancelRequest only acts while a message is being handled.
  private busy = false;
  private cancelRequested = false;
  private abortInFlight: ((e: Error) => void) | null = null;
  /** Inside BEGIN … COMMIT/ROLLBACK (ReadyForQuery says 'T'; cursors may be declared). */
  private readonly cursors: Cursors;

  /** The connection: the TCP socket, or the TLS socket over it after an SSLRequest. */
  private socket: Socket;
  /** The engine's session of this connection: its transaction block (null for engines without blocks). */
  private readonly txn: EngineSession | null;

  constructor(socket: Socket, private readonly ctx: SessionContext) {
    this.socket = socket;
    this.txn = ctx.engine.openSession?.() ?? null;
    this.reader = new FrameReader(ctx.maxMessageBytes, ctx.inFlight);
    this.extended = new ExtendedQuery(this);
    this.cursors = new Cursors(ctx.subscribeQueueRows);
    ({ pid: this.pid, secret: this.secret } = ctx.register(this));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // 'close' follows every socket error; the error itself needs no handling beyond that.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
    this.startupTimer = setTimeout(() => {
      void this.closeWith(new PgServerError('08006', 'canceling authentication due to timeout', { fatal: true }));
    }, ctx.startupTimeoutMs);
    this.startupTimer.unref();
  }

  get subscribeQueueRows(): number {
    return this.ctx.subscribeQueueRows;
  }

  /** Cancels the statement this session is running, as a CancelRequest asks. */
  cancel(): void {
    if (!this.busy || this.phase !== 'ready') return;
    this.cancelRequested = true;
    this.abortInFlight?.(queryCanceled());
  }

  /** Closes the connection at once (server shutdown). */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Answers 'S' and speaks TLS from the next byte on: the client's handshake, then its startup
   * packet, arrive through the TLS socket. Close handling stays on the TCP socket beneath.
   */
  private startTls(context: SecureContext): void {
    const raw = this.socket;
    raw.removeAllListeners('data');
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    secure.on('data', (chunk: Buffer) => this.onData(chunk));
    // A failed handshake closes the TCP socket, and that 'close' ends the session.
    secure.on('error', () => raw.destroy());
    this.socket = secure;
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.reader.push(chunk);
    if (this.frameWaiter) this.frameWaiter();
    if (!this.pumping) void this.pump();
    else if (this.reader.buffered > PAUSE_BYTES) this.socket.pause();
  }

  private onClose(): void {
    this.phase = 'closed';
    this.reader.releaseBudget();
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.ctx.unregister(this);
    this.frameWaiter?.();
    this.cursors.close(null);
    this.extended.sync();
    // A client that vanished mid-query stops the wait for its result; the result is dropped.
    this.abortInFlight?.(new PgServerError('08006', 'connection closed by the client'));
    // A transaction block in progress is rolled back (once its running statement, if any, ends).
    if (this.txn) void this.ctx.engine.closeSession?.(this.txn).catch((e: unknown) => this.ctx.log(`connection ${this.pid}: ${toSluiceError(e).message}`));
  }

  /** ReadyForQuery's transaction status: idle, in a transaction block, in a failed block. */
  private transactionStatus(): 'I' | 'T' | 'E' {
    const s = this.txn?.status ?? 'idle';
    return s === 'idle' ? 'I' : s === 'active' ? 'T' : 'E';
  }

  /** An ErrorResponse went to the client: a transaction block in progress fails, as PostgreSQL's does. */
  errorSent(): void {
    this.txn?.fail();
  }

  /** Handles queued messages one at a time, in order, until more bytes are needed. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.phase !== 'closed') {
        const frame = this.reader.next();
        if (!frame) break;
        await this.dispatch(frame);
      }
    } catch (e) {
      if (this.phase !== 'closed') {
        const fatal = e instanceof PgServerError && e.fatal ? e : internalFatal(e);
        if (fatal.code === 'XX000') this.ctx.log(`connection ${this.pid}: ${fatal.message}`);
        await this.closeWith(fatal);
      }
    } finally {
      this.pumping = false;
      if (this.phase !== 'closed' && this.socket.isPaused()) this.socket.resume();
    }
  }

  private async dispatch(frame: Frame): Promise<void> {
    const body = new BodyReader(frame.body);
    if (this.phase === 'startup' || this.phase === 'auth') {
      try {
        return await (this.phase === 'startup' ? this.startup(body) : this.authenticate(frame.type, body));
      } catch (e) {
        // Before the session is ready every error ends the connection.
        if (e instanceof PgServerError && !e.fatal) throw new PgServerError(e.code, e.message, { fatal: true, category: e.category });
        throw e;
      }
    }
    const type = String.fromCharCode(frame.type);
    this.busy = true;
    try {
      switch (type) {
        case 'Q':
          if (!this.extended.skipping) await this.simpleQuery(body);
          return;
        case 'P':
        case 'B':
        case 'D':
        case 'E':
        case 'C':
          await this.extended.handle(type, body);
          if (this.out.size >= FLUSH_BYTES) await this.flush();
          return;
        case 'H':
          await this.flush();
          return;
        case 'S':
          this.extended.sync();
          this.cancelRequested = false;
          this.out.readyForQuery(this.transactionStatus());
          await this.flush();
          return;
        case 'X':
          this.phase = 'closed';
          this.socket.end();
          return;
        case 'F':
          this.out.errorResponse(errorFields(new PgServerError('0A000', 'the function call protocol is not supported', { category: 'not_supported' })));
          this.errorSent();
          this.out.readyForQuery(this.transactionStatus());
          await this.flush();
          return;
        case 'd':
        case 'c':
        case 'f':
          // Copy messages outside COPY are ignored, as PostgreSQL does.
          return;
        default:
          throw protocolViolation(`invalid frontend message type ${frame.type}`, true);
      }
    } finally {
      this.busy = false;
    }
  }

  private async startup(body: BodyReader): Promise<void> {
    const code = body.int32();
    if (code === SSL_REQUEST && this.ctx.tls && !(this.socket instanceof TLSSocket)) {
      body.end();
      this.out.raw(Buffer.from('S'));
      await this.flush();
      this.startTls(this.ctx.tls);
      return;
    }
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      body.end();
      // No (more) encryption is offered; the client goes on with a startup packet.
      this.out.raw(Buffer.from('N'));
      await this.flush();
      return;
    }
    if (code === CANCEL_REQUEST) {
      const pid = body.int32();
      const secret = body.int32();
      this.ctx.cancel(pid, secret);
      this.phase = 'closed';
      this.socket.end();
      return;
    }
    const major = code >>> 16;
    const minor = code & 0xffff;
    if (major !== PROTOCOL_3) {
      throw new PgServerError('0A000', `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`, { fatal: true, category: 'not_supported' });
    }
    const params = new Map<string, string>();
    for (;;) {
      const key = body.cstring();
      if (key === '') break;
      params.set(key, body.cstring());
    }
    const unrecognized = [...params.keys()].filter((k) => k.startsWith('_pq_.'));
    if (minor > 0 || unrecognized.length) this.out.negotiateProtocolVersion(0, unrecognized);
    const user = params.get('user');
    if (!user) throw new PgServerError('28000', 'no PostgreSQL user name specified in startup packet', { fatal: true });
    this.user = user;
    this.applicationName = params.get('application_name') ?? '';
    const refusal = this.ctx.admit(this, this.socket.remoteAddress);
    if (refusal) throw refusal;
    this.reader.startup = false;
    const userVerifier = this.ctx.engine.catalog.roles.verifier(user);
    this.principal = { name: user, superuser: userVerifier === undefined, database: params.get('database') ?? user };
    if (this.ctx.verifier) {
      this.authVerifier = userVerifier ?? this.ctx.verifier;
      this.phase = 'auth';
      this.out.authenticationSasl([SCRAM_SHA_256]);
      await this.flush();
      return;
    }
    await this.ready();
  }

  private async authenticate(type: number, body: BodyReader): Promise<void> {
    if (String.fromCharCode(type) !== 'p') throw protocolViolation(`expected SASL response, got message type ${type}`, true);
    const verifier = this.authVerifier!;
    if (!this.scram) {
      const mechanism = body.cstring();
      if (mechanism !== SCRAM_SHA_256) throw new PgServerError('28000', 'client selected an invalid SASL authentication mechanism', { fatal: true });
      const len = body.int32();
      const clientFirst = body.bytes(len).toString('utf8');
      body.end();
      this.scram = new ScramExchange(verifier);
      this.out.authentication(11, this.scram.start(clientFirst));
      await this.flush();
      return;
    }
    const serverFinal = this.scram.finish(body.rest().toString('utf8'));
    if (serverFinal === null) {
      throw new PgServerError('28P01', `password authentication failed for user "${this.user}"`, { fatal: true, category: 'connection' });
    }
    this.out.authentication(12, serverFinal);
    await this.ready();
  }

  /** Completes startup: AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery. */
  private async ready(): Promise<void> {
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.startupTimer = null;
    this.phase = 'ready';
    const out = this.out.authentication(0);
    const status: [string, string][] = [
      ['server_version', this.ctx.serverVersion],
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['IntervalStyle', 'postgres'],
      ['TimeZone', 'UTC'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
      ['is_superuser', this.principal.superuser ? 'on' : 'off'],
      ['session_authorization', this.user],
      ['default_transaction_read_only', 'off'],
      ['in_hot_standby', 'off'],
      ['application_name', this.applicationName],
    ];
    for (const [k, v] of status) out.parameterStatus(k, v);
    out.backendKeyData(this.pid, this.secret).readyForQuery('I');
    await this.flush();
  }

  private async simpleQuery(body: BodyReader): Promise<void> {
    let text = '';
    let offset = 0;
    try {
      text = body.cstring();
      body.end();
      this.extended.dropUnnamed();
      const parts = splitStatements(text);
      if (parts.length === 0) this.out.emptyQueryResponse();
      // PostgreSQL parses the whole string before running any of it: a syntax error in the
      // third statement means the first two do not run either.
      if (parts.length > 1) await parseSqlGuarded(text);
      for (const part of parts) {
        offset = part.offset;
        if (leadingKeyword(part.text) === 'copy') await this.copy(part.text);
        else for (const r of await this.run(part.text)) await this.sendResult(r);
      }
    } catch (e) {
      if (e instanceof PgServerError && e.fatal) throw e;
      this.out.errorResponse(errorFields(e, text, offset));
      this.errorSent();
    } finally {
      this.cancelRequested = false;
    }
    this.out.readyForQuery(this.transactionStatus());
    await this.flush();
  }

  private async sendResult(r: StatementResult): Promise<void> {
    if (r.kind === 'subscription') return this.streamSubscription(r, null);
    if (r.kind === 'command') {
      if (r.warning) this.out.noticeResponse(warningFields(r.warning));
      if (r.notice) this.out.noticeResponse(noticeFields(r.notice));
      this.out.commandComplete(commandTag(r.tag));
      return;
    }
    const formats = new Array<FormatCode>(r.columns.length).fill(0);
    this.out.rowDescription(r.columns, formats);
    await this.sendRows(r, 0, r.rows.length, formats);
    this.out.commandComplete(commandTag(r.tag));
  }

  /**
   * SUBSCRIBE (as rows) or COPY (SUBSCRIBE …) TO STDOUT (as CopyData lines, which psql prints as
   * they come): the snapshot, then every change, until the client cancels or leaves, falls too
   * far behind, or the view is dropped (each an error).
   */
  private async streamSubscription(r: Subscription, copy: CopyOptions | null): Promise<void> {
    const feed = new SubscriptionFeed(r, this.ctx.subscribeQueueRows);
    const formats = new Array<FormatCode>(r.columns.length).fill(0);
    if (copy) {
      this.out.copyResponse('out', r.columns.length);
      if (copy.header) this.out.copyData(copyHeader(r.columns, copy));
    } else this.out.rowDescription(r.columns, formats);
    const { aborted, done } = this.abortable();
    try {
      await this.flush();
      for (;;) {
        for (const row of await feed.take(null, null, aborted)) {
          if (copy) this.out.copyData(copyLine(row, r.columns, copy));
          else this.out.dataRow(row, r.columns, formats);
        }
        await this.flush();
        if (this.cancelRequested) throw queryCanceled();
        if (this.phase === 'closed') return;
      }
    } finally {
      feed.close();
      done();
    }
  }

  /**
   * The extended protocol's Execute of a SUBSCRIBE portal: DataRows as changes come, up to
   * `maxRows` (0: until cancelled). Returns how many were sent.
   */
  async streamFeed(feed: SubscriptionFeed, formats: readonly FormatCode[], maxRows: number): Promise<number> {
    const { aborted, done } = this.abortable();
    let sent = 0;
    try {
      while (maxRows === 0 || sent < maxRows) {
        // What came before (ParseComplete, BindComplete, rows) is sent before waiting for changes.
        if (feed.ready === 0) await this.flush();
        const rows = await feed.take(maxRows === 0 ? null : maxRows - sent, null, aborted);
        for (const row of rows) this.out.dataRow(row, feed.columns, formats);
        sent += rows.length;
        await this.flush();
        if (this.cancelRequested) throw queryCanceled();
        if (this.phase === 'closed') break;
      }
      return sent;
    } finally {
      done();
    }
  }

  /** A promise that rejects when the client cancels or leaves, until `done`. */
  private abortable(): { aborted: Promise<never>; done: () => void } {
    const aborted = new Promise<never>((_, reject) => {
      this.abortInFlight = reject;
    });
    aborted.catch(() => undefined);
    return { aborted, done: () => (this.abortInFlight = null) };
  }

  /**
   * COPY … TO STDOUT: a query's rows, a relation's, or a SUBSCRIBE's changes as they come, in
   * text or CSV. COPY … FROM STDIN: see copyIn.
   */
  private async copy(sql: string): Promise<void> {
    const [stmt] = await parseSqlGuarded(sql);
    if (stmt?.kind === 'copy_from') return this.copyIn(stmt);
    if (stmt?.kind !== 'copy_to') throw new PgServerError('42601', 'expected a COPY statement', { category: 'syntax' });
    let r: StatementResult | undefined;
    if (stmt.query) {
      r = (await this.runInner(stmt.query.text, stmt.query.offset))[0];
    } else {
      const rel = stmt.relation!;
      const columns = rel.columns ? rel.columns.map(quoteName).join(', ') : '*';
      try {
        r = (await this.run(`SELECT ${columns} FROM ${quoteName(rel.name)}`))[0];
      } catch (e) {
        // The statement run is not the client's: errors point at the relation's name.
        throw relocated(e, () => rel.pos);
      }
    }
    if (!r || r.kind === 'command') throw new PgServerError('42601', 'COPY takes a query that returns rows', { category: 'syntax' });
    if (r.kind === 'subscription') return this.streamSubscription(r, stmt.options);
    const o = stmt.options;
    this.out.copyResponse('out', r.columns.length);
    if (o.header) this.out.copyData(copyHeader(r.columns, o));
    for (const row of r.rows) {
      this.out.copyData(copyLine(row, r.columns, o));
      if (this.out.size >= FLUSH_BYTES) {
        await this.flush();
        if (this.cancelRequested) throw queryCanceled();
        if (this.phase === 'closed') return;
      }
    }
    this.out.copyDone();
    this.out.commandComplete(`COPY ${r.rows.length}`);
  }

  /**
   * COPY table [(columns)] FROM STDIN: CopyInResponse, then the client's CopyData until
   * CopyDone (or CopyFail), read as text or CSV, inserted in one change of the table.
   */
  private async copyIn(stmt: Extract<Statement, { kind: 'copy_from' }>): Promise<void> {
    const e = this.ctx.engine.catalog.get(stmt.table);
    if (!e) throw new SluiceError('undefined_table', `relation "${stmt.table}" does not exist`, { position: stmt.pos });
    if (e.kind !== 'table') throw new SluiceError('not_supported', `cannot copy to ${KIND_LABEL[e.kind]} "${stmt.table}"`, { position: stmt.pos, hint: 'COPY FROM STDIN loads tables.' });
    if (!this.ctx.engine.copyInto) throw new PgServerError('0A000', 'COPY FROM STDIN is not available here', { category: 'not_supported' });
    const width = stmt.columns?.length ?? e.schema.length;
    this.out.copyResponse('in', width);
    await this.flush();
    const input = { ended: false };
    let n: number;
    try {
      n = await this.ctx.engine.copyInto(stmt.table, stmt.columns, this.copyBatches(copyCollector(stmt.options, e.schema, stmt.columns), stmt.options.header, input), this.principal);
    } catch (err) {
      // The client sends its data to the end whatever happened: read it before answering.
      while (!input.ended && !(err instanceof PgServerError && err.fatal)) {
        const frame = await this.nextFrame();
        if (!frame || frame.type === 0x63 || frame.type === 0x66) input.ended = true;
      }
      throw err;
    }
    this.out.commandComplete(`COPY ${n}`);
  }

  /**
   * The rows of COPY FROM STDIN in batches of at most {@link COPY_BATCH_ROWS}, as the client's
   * CopyData arrives (the socket is paused while the load is behind, so memory stays bounded),
   * until CopyDone; CopyFail or malformed data is an error once the client has sent everything.
   */
  private async *copyBatches(reader: CopyCollector, header: boolean, input: { ended: boolean }): AsyncGenerator<CopyBatch> {
    const decoder = new TextDecoder('utf-8');
    let firstLine = header ? 2 : 1;
    let failure: unknown = null;
    for (;;) {
      const frame = await this.nextFrame();
      if (!frame) {
        input.ended = true;
        throw new PgServerError('08006', 'connection closed by the client during COPY');
      }
      const type = String.fromCharCode(frame.type);
      if (type === 'd') {
        if (failure) continue;
        try {
          reader.push(decoder.decode(frame.body, { stream: true }));
        } catch (err) {
          failure = err;
        }
        if (reader.length >= COPY_BATCH_ROWS) {
          const n = reader.length;
          yield { rows: reader.take(), firstLine };
          firstLine += n;
        }
      } else if (type === 'c') break;
      else if (type === 'f') {
        input.ended = true;
        throw new PgServerError('57014', `COPY from stdin failed: ${new BodyReader(frame.body).cstring()}`, { category: 'query_canceled' });
      } else if (type === 'H' || type === 'S') continue;
      else throw protocolViolation(`unexpected message type 0x${frame.type.toString(16)} during COPY from stdin`);
    }
    input.ended = true;
    try {
      if (!failure) {
        reader.push(decoder.decode());
        reader.end();
      }
    } catch (err) {
      failure = err;
    }
    if (failure) throw new PgServerError('22P04', `COPY data: ${(failure as Error).message}`, { category: 'bad_copy_file_format' });
    yield { rows: reader.take(), firstLine };
  }

  /** The client's next message, waiting for it (null once the connection is closed). */
  private async nextFrame(): Promise<Frame | null> {
    for (;;) {
      const f = this.reader.next();
      if (f) {
        if (this.socket.isPaused() && this.reader.buffered < PAUSE_BYTES) this.socket.resume();
        return f;
      }
      if (this.phase === 'closed') return null;
      if (this.socket.isPaused()) this.socket.resume();
      await new Promise<void>((resolve) => (this.frameWaiter = resolve));
      this.frameWaiter = null;
    }
  }

  /** Runs a statement that stands inside another at `offset`: its errors point into the outer text. */
  private async runInner(text: string, offset: number, outsideBlock = false): Promise<StatementResult[]> {
    try {
      return outsideBlock ? await this.execute(text, false, false) : await this.run(text);
    } catch (e) {
      throw relocated(e, (p) => p + offset);
    }
  }

  /** DECLARE, FETCH and CLOSE: the session's cursors. */
  private async cursorStatement(stmt: Extract<Statement, { kind: 'declare' | 'fetch' | 'close_cursor' }>): Promise<StatementResult> {
    switch (stmt.kind) {
      case 'declare': {
        if (this.txn?.status === 'failed') throw new PgServerError('25P02', 'current transaction is aborted, commands ignored until end of transaction block', { category: 'in_failed_sql_transaction' });
        if (this.txn?.status !== 'active') throw new PgServerError('25P01', 'DECLARE CURSOR can only be used in transaction blocks', { category: 'syntax', hint: 'Run BEGIN first; COMMIT or ROLLBACK closes the cursor.' });
        if (this.cursors.has(stmt.name)) throw new PgServerError('42P03', `cursor "${stmt.name}" already exists`, { category: 'duplicate_object' });
        // A cursor over SUBSCRIBE streams committed changes, outside the block (as Materialize's
        // does); a cursor over a SELECT reads inside it, so it sees the block's own writes.
        const [r] = await this.runInner(stmt.query.text, stmt.query.offset, leadingKeyword(stmt.query.text) === 'subscribe');
        this.cursors.declare(stmt.name, r ?? { kind: 'command', tag: 'EMPTY' });
        return { kind: 'command', tag: 'DECLARE CURSOR' };
      }
      case 'fetch': {
        const { aborted, done } = this.abortable();
        try {
          return await this.cursors.fetch(stmt, aborted);
        } finally {
          done();
        }
      }
      case 'close_cursor':
        this.cursors.close(stmt.name);
        return { kind: 'command', tag: stmt.name === null ? 'CLOSE CURSOR ALL' : 'CLOSE CURSOR' };
    }
  }

  /** Runs one statement; a CancelRequest or the client leaving abandons the wait for it. */
  async run(sql: string, probe = false): Promise<StatementResult[]> {
    if (this.cancelRequested) throw queryCanceled();
    if (this.phase === 'closed') throw new PgServerError('08006', 'connection closed by the client');
    const verb = leadingKeyword(sql);
    if (verb === 'declare' || verb === 'fetch' || verb === 'close') {
      const [stmt] = await parseSqlGuarded(sql);
      if (stmt?.kind === 'declare' || stmt?.kind === 'fetch' || stmt?.kind === 'close_cursor') return [await this.cursorStatement(stmt)];
    }
    if (verb === 'copy') {
      throw new PgServerError('0A000', 'COPY is supported with the simple query protocol only', { category: 'not_supported', hint: 'Send COPY as a simple query (psql, or a driver\'s query without parameters).' });
    }
    const results = await this.execute(sql, probe);
    // Cursors live as long as their transaction block: COMMIT or ROLLBACK closes them.
    if ((this.txn?.status ?? 'idle') === 'idle') this.cursors.close(null);
    return results;
  }

  /** Runs one statement through the engine (or the psql catalog answers). */
  private async execute(sql: string, probe = false, inBlock = true): Promise<StatementResult[]> {
    const catalogAnswer = psqlCatalogResult(sql, this.ctx.engine.catalog);
    if (catalogAnswer && this.txn?.status === 'failed') throw new PgServerError('25P02', 'current transaction is aborted, commands ignored until end of transaction block', { category: 'in_failed_sql_transaction' });
    if (catalogAnswer) return [catalogAnswer];
    // A cancel stops the engine's statement (an ad-hoc query is interrupted in DuckDB) and
    // stops waiting for it at once; whatever it still returns is dropped.
    const cancel = new AbortController();
    // Long work the statement starts (a view's backfill, a table's load) reports its progress
    // as NOTICEs every few seconds, which psql and the REPL print as they come.
    const stopProgress = this.ctx.engine.progress?.listen(throttledPrinter((line) => {
      this.out.noticeResponse(noticeFields(line));
      void this.flush();
    }, this.ctx.progressNoticeMs, this.ctx.progressNoticeMs)) ?? (() => undefined);
    const zoneBefore = this.zone.zone;
    const running = this.ctx.engine.execute(sql, { signal: cancel.signal, principal: this.principal, session: inBlock ? this.txn ?? undefined : undefined, probe, zone: this.zone });
    running.catch(() => undefined);
    const aborted = new Promise<never>((_, reject) => {
      this.abortInFlight = (e) => {
        cancel.abort(e);
        reject(e);
      };
    });
    try {
      return await Promise.race([running, aborted]);
    } finally {
      stopProgress();
      this.abortInFlight = null;
      // PostgreSQL reports a changed TimeZone to the client (drivers print timestamptz with it).
      if (this.zone.zone !== zoneBefore) this.out.parameterStatus('TimeZone', this.zone.zone.name);
      this.out.zone = this.zone.zone;
    }
  }

  async sendRows(result: Extract<StatementResult, { kind: 'rows' }>, from: number, to: number, formats: readonly FormatCode[]): Promise<void> {
    for (let i = from; i < to; i++) {
      this.out.dataRow(result.rows[i]!, result.columns, formats);
      if (this.out.size >= FLUSH_BYTES) {
        await this.flush();
        if (this.cancelRequested) throw queryCanceled();
        if (this.phase === 'closed') return;
      }
    }
  }

  /** Writes pending output; resolves once the socket takes more (or is gone). */
  private async flush(): Promise<void> {
    if (this.out.size === 0) return;
    const data = this.out.take();
    if (this.socket.destroyed || !this.socket.writable) return;
    if (this.socket.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Sends a FATAL error and closes the connection; the client gets a short grace to read it. */
  private async closeWith(err: PgServerError): Promise<void> {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (this.startupTimer) clearTimeout(this.startupTimer);
    this.out.errorResponse(errorFields(err));
    const data = this.out.take();
    if (this.socket.destroyed) return;
    this.socket.end(data);
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}

function internalFatal(e: unknown): PgServerError {
  return new PgServerError('XX000', `internal error: ${toSluiceError(e).message}`, { fatal: true, category: 'internal' });
}

/** A name as a quoted identifier. */
function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
