/**
 * The socket source (`connector = 'socket'`): connects as a TCP client to host:port and reads
 * newline-delimited records (Spark's NetworkWordCount feed, e.g. `nc -lk 9999`). Each chunk of
 * complete lines received is appended to the source's receiver log (receiver-log.ts) as one
 * record `<connection> <first line>\n<lines joined by \n>`; each poll takes the logged records and
 * decodes them, reporting the WAL range `{ from, to, records }`. Dead letters carry the position
 * `<host>:<port>:<n>`, n counting lines over the source's life (continued across restarts with a
 * data dir).
 *
 * With a data dir the log is a write-ahead log: lines received and logged survive a crash
 * (kill -9) — after a restart the lines logged but not in a committed epoch go to the next
 * epoch, and recovery re-reads logged epochs from it. Lines the kernel held unread, and a line
 * the server had not finished, are lost with the process. Without a data dir lines live in
 * memory until polled.
 *
 * When the connection fails or the server goes away the source logs it and reconnects, waiting
 * 100 ms and doubling the wait up to `reconnect.max_backoff`; the wait starts over after a
 * connection that lasted at least a second. A line the server did not finish before closing
 * counts as a line. Each connection gets a fresh decoder (so a CSV header is read per
 * connection). start() does not fail when the server is down: it logs and keeps trying, like a
 * server that comes up after the query.
 *
 * Backpressure: once `max_buffered_lines` lines wait for a poll, the source stops reading the
 * socket (TCP flow control then slows the sender) until the next poll takes them.
 */
import { createConnection, type Socket } from 'node:net';
import type { Batch } from '../../common/column.js';
import type { SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { createDecoder, type Decoder } from '../formats/index.js';
import { LineSplitter } from '../formats/lines.js';
import { ReceiverLog, type ReceiverRange } from '../receiver/receiver-log.js';
import type { WalRecord } from '../receiver/wal.js';
import { readSocketOptions, type SocketSourceConfig } from './options.js';

/** The input range of one socket poll: WAL offsets and how many records (chunks of lines). */
export type SocketRange = ReceiverRange;

/** One logged chunk of lines. */
interface LineRecord {
  readonly conn: number;
  readonly firstLine: number;
  readonly lines: string[];
}

function encodeLines(conn: number, firstLine: number, lines: readonly string[]): Buffer {
  return Buffer.from(`${conn} ${firstLine}\n${lines.join('\n')}`, 'utf8');
}

/** Lines in a logged record (the newlines after its header line, plus one). */
function lineCount(r: WalRecord): number {
  let n = 0;
  for (let i = r.payload.indexOf(10); i >= 0; i = r.payload.indexOf(10, i + 1)) n++;
  return n;
}

function decodeLines(r: WalRecord): LineRecord {
  const text = r.payload.toString('utf8');
  const nl = text.indexOf('\n');
  const [conn, first] = text.slice(0, nl).split(' ').map(Number);
  return { conn: conn!, firstLine: first!, lines: text.slice(nl + 1).split('\n') };
}

const INITIAL_BACKOFF_MS = 100;
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 1000;

/** A running socket source. */
export class SocketSource implements SourceConnector {
  private readonly ctx: SourceContext;
  private readonly config: SocketSourceConfig;
  private readonly address: string;
  private readonly log: ReceiverLog;
  private socket: Socket | null = null;
  /** Lines logged and not yet polled. */
  private buffered = 0;
  private linesSeen = 0;
  /** Number of the current connection (decoders are per connection). */
  private conn = 0;
  private readonly decoders = new Map<number, Decoder>();
  private paused = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = INITIAL_BACKOFF_MS;

  constructor(ctx: SourceContext) {
    this.ctx = ctx;
    this.config = readSocketOptions(ctx.options, ctx.schema);
    this.address = `${this.config.host}:${this.config.port}`;
    this.log = new ReceiverLog(ctx, { syncIntervalMs: this.config.walSyncIntervalMs });
  }

  /**
   * Opens the log (with a WAL: the lines logged after `resumeFrom` go to the next poll) and
   * resolves after the first connection attempt, whether or not it succeeded. Lines sent while
   * no one listened are gone (see the README).
   */
  start(resumeFrom: number | null = null): Promise<void> {
    this.stopped = false;
    this.decoders.clear();
    const all = this.log.open(resumeFrom);
    const last = all.length ? decodeLines(all[all.length - 1]!) : null;
    this.linesSeen = last ? last.firstLine + last.lines.length - 1 : this.linesSeen;
    this.conn = last ? last.conn + 1 : this.conn + 1;
    this.buffered = 0;
    for (const r of all) if (r.offset >= (resumeFrom ?? 0)) this.buffered += decodeLines(r).lines.length;
    return this.connect();
  }

  async poll(_nowMicros: bigint, maxRows = Infinity): Promise<SourceRead<number>> {
    const { records, range } = await this.log.take(maxRows, lineCount);
    const batches = this.decode(records, true);
    this.buffered = Math.max(0, this.buffered - this.linesIn);
    if (this.paused && this.buffered < this.config.maxBufferedLines) {
      this.paused = false;
      this.socket?.resume();
    }
    return { batches, range, position: this.log.position() };
  }

  /** Recovery: the lines of a logged range, decoded again (dead letters are not reported twice). */
  async reread(range: unknown): Promise<readonly Batch[]> {
    return this.decode(this.log.reread(range as SocketRange), false);
  }

  currentPosition(): number | null {
    return this.log.position();
  }

  async commit(_epoch: number, retainFrom: number | null): Promise<void> {
    this.log.release(retainFrom);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.destroy();
    this.socket = null;
    await this.log.close();
  }

  async discard(): Promise<void> {
    await this.log.discard();
  }

  /** Lines in the records of the last decode call. */
  private linesIn = 0;

  /** Decodes logged records into batches, one decoder per connection. */
  private decode(records: readonly WalRecord[], report: boolean): Batch[] {
    const batches: Batch[] = [];
    this.linesIn = 0;
    for (const r of records) {
      const rec = decodeLines(r);
      let decoder = this.decoders.get(rec.conn);
      if (!decoder) {
        decoder = createDecoder(this.config.format, this.ctx.schema);
        this.decoders.set(rec.conn, decoder);
      }
      const { batch, deadLetters } = decoder.decode(rec.lines, (i) => `${this.address}:${rec.firstLine + i}`);
      if (report) for (const d of deadLetters) this.ctx.deadLetter(d);
      if (batch.length > 0) batches.push(batch);
      this.linesIn += rec.lines.length;
    }
    return batches;
  }

  private connect(): Promise<void> {
    return new Promise((attemptDone) => {
      const sock = createConnection({ host: this.config.host, port: this.config.port });
      this.socket = sock;
      const conn = this.conn++;
      const text = new TextDecoder('utf-8');
      const splitter = new LineSplitter();
      let connectedAt = -1;
      let lastError: Error | null = null;

      sock.on('connect', () => {
        connectedAt = Date.now();
        sock.setKeepAlive(true);
        this.ctx.log(`connected to ${this.address}`);
        attemptDone();
      });
      sock.on('data', (chunk: Buffer) => this.take(conn, splitter, text.decode(chunk, { stream: true }), false));
      sock.on('error', (err) => {
        lastError = err;
      });
      sock.on('close', () => {
        this.take(conn, splitter, text.decode(), true);
        if (this.socket === sock) this.socket = null;
        this.paused = false;
        attemptDone();
        if (this.stopped) return;
        if (connectedAt >= 0 && Date.now() - connectedAt >= STABLE_MS) this.backoffMs = INITIAL_BACKOFF_MS;
        const wait = Math.min(this.backoffMs, this.config.maxBackoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, this.config.maxBackoffMs);
        const why = lastError ? `: ${lastError.message}` : '';
        this.ctx.log(
          connectedAt >= 0
            ? `connection to ${this.address} closed${why}; reconnecting in ${wait} ms`
            : `cannot connect to ${this.address}${why}; retrying in ${wait} ms (is the server running?)`,
        );
        this.timer = setTimeout(() => {
          this.timer = null;
          if (!this.stopped) void this.connect();
        }, wait);
      });
    });
  }

  /** Splits received text into lines and logs the complete ones as one record; `end` flushes the tail. */
  private take(conn: number, splitter: LineSplitter, chunk: string, end: boolean): void {
    const lines: string[] = [];
    if (chunk !== '') splitter.push(chunk, lines);
    if (end) splitter.flush(lines);
    if (lines.length === 0) return;
    if (this.stopped) return;
    this.log.append(encodeLines(conn, this.linesSeen + 1, lines));
    this.linesSeen += lines.length;
    this.buffered += lines.length;
    if (!end && !this.paused && this.buffered >= this.config.maxBufferedLines && this.socket !== null) {
      this.paused = true;
      this.socket.pause();
    }
  }
}

/** The SourceFactory of `connector = 'socket'`. */
export const createSocketSource: SourceFactory = (ctx) => new SocketSource(ctx);
