/**
 * The REPL backend over a sluice server (`sluice repl --url postgres://…`): one node-postgres
 * connection with every value read as text (pg-text.ts turns it into what is printed), the
 * full CommandComplete tags, server notices, SUBSCRIBE streamed row by row and stopped with a
 * CancelRequest, and a new connection when the old one was lost.
 */
import type { EventEmitter } from 'node:events';
import pg from 'pg';
import { SluiceError } from '../../common/errors.js';
import type { Field } from '../../common/types.js';
import type { LiveSink, LiveStream, MessageSink, RelationKind, ReplBackend, ReplRelation, ReplResult } from './backend.js';
import { sendCancelRequest } from './cancel-request.js';
import { fieldFromPg, rowFromPgText } from './pg-text.js';

/** The SHOW statements that list the catalog, and the kind each lists. */
const LISTINGS: readonly [string, RelationKind][] = [
  ['SHOW SOURCES', 'source'],
  ['SHOW TABLES', 'table'],
  ['SHOW MATERIALIZED VIEWS', 'materialized view'],
  ['SHOW SINKS', 'sink'],
  ['SHOW MODELS', 'model'],
];

/** How long a stopped SUBSCRIBE may take to end before its connection is given up. */
const STOP_TIMEOUT_MS = 5000;

/** The error (earlier servers: the notice) that ends a SUBSCRIBE when its view was dropped. */
const ENDED_NOTICE = /^subscription ended: (.*)$/s;

interface PgSessionKey {
  readonly processID: number;
  readonly secretKey: number;
}

/** A connection URL fit to print: its password, if any, replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Connects to a server; throws (a pg or network error) when it cannot. */
export async function connectRemoteBackend(url: string, onMessage: MessageSink): Promise<ReplBackend> {
  const remote = new RemoteBackend(url, onMessage);
  await remote.connect();
  // Names for Tab completion from the start; a failure here only leaves them empty until DDL.
  await remote.refreshNames().catch(() => undefined);
  return remote;
}

class RemoteBackend implements ReplBackend {
  readonly description: string;
  private client: pg.Client | null = null;
  private lost = false;
  /** CommandComplete tags of the statement in flight, in order. */
  private tags: string[] = [];
  private busy = false;
  /** Set while a SUBSCRIBE streams: takes the notice that says why the server ended it. */
  private onEndedNotice: ((reason: string) => void) | null = null;
  private cachedNames: string[] = [];

  constructor(private readonly url: string, private readonly onMessage: MessageSink) {
    this.description = `connected to ${redactUrl(url)}`;
  }

  async connect(): Promise<void> {
    // Every type as text: values print as the server wrote them (see pg-text.ts).
    const client = new pg.Client({ connectionString: this.url, types: { getTypeParser: () => (v: string) => v }, application_name: 'sluice repl' });
    client.on('error', () => {
      // Reported by the statement that was running; the next one connects again.
      this.lost = true;
    });
    client.on('end', () => {
      if (this.client === client) this.lost = true;
    });
    client.on('notice', (n) => {
      const ended = ENDED_NOTICE.exec(n.message ?? '');
      if (ended && this.onEndedNotice) this.onEndedNotice(ended[1]!);
      else this.onMessage(n.severity ?? 'NOTICE', n.message ?? '');
    });
    await client.connect();
    (client.connection as unknown as EventEmitter).on('commandComplete', (msg: { text: string }) => this.tags.push(msg.text));
    this.client = client;
    this.lost = false;
  }

  /** The connection, opened again if it was lost (as psql resets a broken connection). */
  private async session(): Promise<pg.Client> {
    if (this.client && !this.lost) return this.client;
    const old = this.client;
    this.client = null;
    old?.end().catch(() => undefined);
    try {
      await this.connect();
    } catch (e) {
      this.lost = true;
      throw new SluiceError('connection', `the connection to the server was lost and could not be opened again: ${(e as Error).message}`, { hint: `Is the server at ${redactUrl(this.url)} running?` });
    }
    this.onMessage('', 'The connection to the server was lost. Attempting reset: Succeeded.');
    return this.client!;
  }

  async run(sql: string): Promise<ReplResult[]> {
    const client = await this.session();
    this.tags = [];
    this.busy = true;
    try {
      const r = (await client.query({ text: sql, rowMode: 'array' })) as pg.QueryResult | pg.QueryResult[];
      const list = Array.isArray(r) ? r : [r];
      return list.map((res, i) => toReplResult(res, this.tags[i]));
    } finally {
      this.busy = false;
    }
  }

  subscribe(sql: string, sink: LiveSink): LiveStream {
    let stopping = false;
    let endReason: string | null = null;
    let settle: (reason: string | null) => void = () => undefined;
    let fail: (e: unknown) => void = () => undefined;
    const done = new Promise<string | null>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    let columns: Field[] = [];
    const query = new LiveQuery({ text: sql, rowMode: 'array' }, (fields) => {
      columns = fields.map((f) => fieldFromPg(f.name, f.dataTypeID));
      sink.columns(columns);
    });
    query.on('row', (row: unknown[]) => {
      if (!stopping) sink.rows([rowFromPgText(row, columns)]);
    });
    query.on('error', (e: Error & { code?: string }) => {
      const ended = ENDED_NOTICE.exec(e.message);
      if (e.code === '57014') settle(stopping ? null : 'canceled by the server');
      // The server ends a SUBSCRIBE with this error when its view is dropped.
      else if (ended) settle(ended[1]!);
      else fail(e);
    });
    query.on('end', () => settle(endReason ?? 'the server ended it'));
    this.onEndedNotice = (reason) => (endReason = reason);
    void done.finally(() => {
      this.onEndedNotice = null;
      this.busy = false;
    }).catch(() => undefined);
    this.busy = true;
    this.session().then(
      (client) => client.query(query),
      (e) => fail(e),
    );
    return {
      done,
      stop: async () => {
        if (stopping) return done.then(() => undefined, () => undefined);
        stopping = true;
        await this.sendCancel();
        const timedOut = await Promise.race([
          done.then(() => false, () => false),
          new Promise<boolean>((r) => setTimeout(() => r(true), STOP_TIMEOUT_MS).unref()),
        ]);
        if (timedOut) {
          // The server did not answer the cancel: drop the connection, the next statement opens a new one.
          this.lost = true;
          this.client?.end().catch(() => undefined);
          settle(null);
        }
      },
    };
  }

  async cancel(): Promise<void> {
    if (this.busy) await this.sendCancel();
  }

  private async sendCancel(): Promise<void> {
    const c = this.client;
    if (!c || this.lost) return;
    const key = c as unknown as PgSessionKey;
    await sendCancelRequest(c.host, c.port, key.processID, key.secretKey);
  }

  async relations(): Promise<ReplRelation[]> {
    const out: ReplRelation[] = [];
    for (const [sql, kind] of LISTINGS) {
      const [r] = await this.run(sql);
      if (r?.kind === 'rows') for (const row of r.rows) out.push({ name: String(row[0]), kind });
    }
    this.cachedNames = out.map((r) => r.name);
    return out;
  }

  names(): readonly string[] {
    return this.cachedNames;
  }

  async refreshNames(): Promise<void> {
    await this.relations();
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c && !this.lost) await c.end().catch(() => undefined);
  }
}

/** A result of the simple query protocol, with the tag the server sent (pg keeps only its first word). */
function toReplResult(r: pg.QueryResult, tag: string | undefined): ReplResult {
  const fullTag = tag ?? [r.command, r.rowCount].filter((x) => x !== null && x !== undefined).join(' ');
  if (!r.fields?.length) return { kind: 'command', tag: fullTag };
  const columns = r.fields.map((f) => fieldFromPg(f.name, f.dataTypeID));
  return { kind: 'rows', tag: fullTag, columns, rows: (r.rows as unknown[][]).map((row) => rowFromPgText(row, columns)) };
}

/** A streamed query that reports its RowDescription, so a live table has a header before any row. */
class LiveQuery extends pg.Query {
  constructor(config: pg.QueryArrayConfig, private readonly onFields: (fields: { name: string; dataTypeID: number }[]) => void) {
    super(config);
  }

  handleRowDescription(msg: { fields: { name: string; dataTypeID: number }[] }): void {
    (pg.Query.prototype as unknown as { handleRowDescription(m: unknown): void }).handleRowDescription.call(this, msg);
    this.onFields(msg.fields);
  }
}
