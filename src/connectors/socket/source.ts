/**
 * The socket source (`connector = 'socket'`): connects as a TCP client to host:port and reads
 * newline-delimited records (Spark's NetworkWordCount feed, e.g. `nc -lk 9999`). Lines are
 * buffered between polls; each poll decodes everything buffered and reports the range
 * `{ lines: n }`. Dead letters carry the position `<host>:<port>:<n>`, n counting lines since
 * start().
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
 *
 * Known limit: lines received but not yet polled are lost if the engine stops; a TCP feed has
 * no offsets to replay from.
 */
import { createConnection, type Socket } from 'node:net';
import type { Batch } from '../../common/column.js';
import type { SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { createDecoder, type Decoder } from '../formats/index.js';
import { LineSplitter } from '../formats/lines.js';
import { readSocketOptions, type SocketSourceConfig } from './options.js';

/** The input range of one socket poll: how many lines it took. */
export interface SocketRange {
  readonly lines: number;
}

/** Lines of one connection waiting for a poll. */
interface Pending {
  readonly decoder: Decoder;
  readonly lines: string[];
  /** Source-wide number of the first line. */
  readonly firstLine: number;
}

const INITIAL_BACKOFF_MS = 100;
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 1000;

/** A running socket source. */
export class SocketSource implements SourceConnector {
  private readonly ctx: SourceContext;
  private readonly config: SocketSourceConfig;
  private readonly address: string;
  private socket: Socket | null = null;
  private pending: Pending[] = [];
  private buffered = 0;
  private linesSeen = 0;
  private paused = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = INITIAL_BACKOFF_MS;

  constructor(ctx: SourceContext) {
    this.ctx = ctx;
    this.config = readSocketOptions(ctx.options, ctx.schema);
    this.address = `${this.config.host}:${this.config.port}`;
  }

  /**
   * Resolves after the first connection attempt, whether or not it succeeded. There is no
   * position to resume from: lines sent while no one listened are gone (see the README).
   */
  start(): Promise<void> {
    this.stopped = false;
    return this.connect();
  }

  async poll(_nowMicros: bigint): Promise<SourceRead> {
    const taken = this.pending;
    this.pending = [];
    this.buffered = 0;
    if (this.paused) {
      this.paused = false;
      this.socket?.resume();
    }
    const batches: Batch[] = [];
    let lines = 0;
    for (const p of taken) {
      const { batch, deadLetters } = p.decoder.decode(p.lines, (i) => `${this.address}:${p.firstLine + i}`);
      for (const d of deadLetters) this.ctx.deadLetter(d);
      if (batch.length > 0) batches.push(batch);
      lines += p.lines.length;
    }
    return { batches, range: { lines } satisfies SocketRange, position: null };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Promise<void> {
    return new Promise((attemptDone) => {
      const sock = createConnection({ host: this.config.host, port: this.config.port });
      this.socket = sock;
      const decoder = createDecoder(this.config.format, this.ctx.schema);
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
      sock.on('data', (chunk: Buffer) => this.take(decoder, splitter, text.decode(chunk, { stream: true }), false));
      sock.on('error', (err) => {
        lastError = err;
      });
      sock.on('close', () => {
        this.take(decoder, splitter, text.decode(), true);
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

  /** Splits received text into lines of the connection's pending group; `end` flushes the tail. */
  private take(decoder: Decoder, splitter: LineSplitter, chunk: string, end: boolean): void {
    let last = this.pending[this.pending.length - 1];
    if (last === undefined || last.decoder !== decoder) {
      last = { decoder, lines: [], firstLine: this.linesSeen + 1 };
      this.pending.push(last);
    }
    let n = chunk === '' ? 0 : splitter.push(chunk, last.lines);
    if (end) n += splitter.flush(last.lines);
    if (last.lines.length === 0) this.pending.pop();
    this.linesSeen += n;
    this.buffered += n;
    if (!end && !this.paused && this.buffered >= this.config.maxBufferedLines && this.socket !== null) {
      this.paused = true;
      this.socket.pause();
    }
  }
}

/** The SourceFactory of `connector = 'socket'`. */
export const createSocketSource: SourceFactory = (ctx) => new SocketSource(ctx);
