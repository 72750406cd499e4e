/**
 * Frontend message framing: bytes from the socket in, whole messages out. A declared length is
 * checked as soon as its header arrives, so a bogus length (negative, tiny, or 1 GB) is refused
 * before any memory is set aside for it.
 */
import { protocolViolation, PgServerError } from './server-error.js';

/** One frontend message: its type byte (0 for startup-phase packets, which have none) and body. */
export interface Frame {
  readonly type: number;
  readonly body: Buffer;
}

/** PostgreSQL's own limit for startup packets (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET = 10_000;

/** Messages at least this large reserve their size in the server-wide budget while in flight. */
const BUDGETED_BYTES = 64 * 1024;

/**
 * Bytes of large frontend messages in flight across all connections: a message reserves its
 * declared size when its header arrives and gives it back once it has been handled, so many
 * clients sending big messages at once cannot take the server's memory with them.
 */
export class InFlightBudget {
  private used = 0;
  constructor(readonly maxBytes: number) {}

  get inUse(): number {
    return this.used;
  }

  reserve(n: number): boolean {
    if (this.used + n > this.maxBytes) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used -= n;
  }
}

/**
 * The framing state of one connection: incoming chunks are queued without copying and cut into
 * messages on demand, so a large message arriving in many small chunks is copied once.
 */
export class FrameReader {
  /** True until the startup packet is read: startup-phase packets have no type byte. */
  startup = true;
  private chunks: Buffer[] = [];
  private head = 0;
  private total = 0;

  /** Bytes reserved in the budget for the message being received, and for the one returned last. */
  private pendingReserved = 0;
  private returnedReserved = 0;

  constructor(private readonly maxMessageBytes: number, private readonly budget: InFlightBudget | null = null) {}

  /** Gives back every reservation (the connection is gone). */
  releaseBudget(): void {
    this.budget?.release(this.pendingReserved + this.returnedReserved);
    this.pendingReserved = 0;
    this.returnedReserved = 0;
  }

  /** Bytes received and not yet returned as messages. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * The next whole message, or null when more bytes are needed. Throws a fatal 08P01
   * PgServerError when the header declares an impossible length.
   */
  next(): Frame | null {
    // Asking for the next message means the last one was handled: its bytes can go.
    if (this.returnedReserved > 0) {
      this.budget?.release(this.returnedReserved);
      this.returnedReserved = 0;
    }
    if (this.startup) {
      if (this.total < 4) return null;
      const len = this.peek(4).readInt32BE(0);
      if (len < 8 || len > MAX_STARTUP_PACKET) throw protocolViolation('invalid length of startup packet', true);
      if (this.total < len) return null;
      return { type: 0, body: this.take(len).subarray(4) };
    }
    if (this.total < 5) return null;
    const header = this.peek(5);
    const type = header[0]!;
    const len = header.readInt32BE(1);
    if (len < 4) throw protocolViolation(`invalid message length ${len}`, true);
    if (len > this.maxMessageBytes) {
      throw new PgServerError('08P01', `message of ${len} bytes exceeds the limit of ${this.maxMessageBytes} bytes`, { fatal: true });
    }
    if (this.budget && this.pendingReserved === 0 && len >= BUDGETED_BYTES) {
      if (!this.budget.reserve(len + 1)) {
        throw new PgServerError('53200', `out of memory: a message of ${len} bytes would pass the ${this.budget.maxBytes} bytes the server holds for messages in flight`, {
          fatal: true, hint: 'Retry when other clients have sent theirs, or send smaller statements.',
        });
      }
      this.pendingReserved = len + 1;
    }
    if (this.total < len + 1) return null;
    this.returnedReserved = this.pendingReserved;
    this.pendingReserved = 0;
    return { type, body: this.take(len + 1).subarray(5) };
  }

  /** The first n buffered bytes (n ≤ total), copied only when they straddle chunks. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let off = this.head;
    for (const c of this.chunks) {
      const k = Math.min(n - filled, c.length - off);
      c.copy(out, filled, off, off + k);
      filled += k;
      off = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes (n ≤ total). */
  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - filled, c.length - this.head);
      c.copy(out, filled, this.head, this.head + k);
      filled += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A cursor over one message body; reading past its end is a (non-fatal) protocol violation. */
export class BodyReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** An unsigned 16-bit count, as PostgreSQL reads parameter and format counts. */
  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw protocolViolation('invalid string in message');
    const s = decodeUtf8(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  bytes(n: number): Buffer {
    if (n < 0) throw protocolViolation('invalid length in message');
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** Checks that the whole body was read, as PostgreSQL's pq_getmsgend does. */
  end(): void {
    if (this.pos !== this.buf.length) throw protocolViolation('invalid message format');
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw protocolViolation('insufficient data left in message');
  }
}

/** Decodes UTF-8 strictly: PostgreSQL refuses invalid byte sequences rather than guessing. */
export function decodeUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new PgServerError('22021', 'invalid byte sequence for encoding "UTF8"', { category: 'invalid_input' });
  }
}
