/**
 * The Kafka source's own broker connection for Fetch requests (Fetch v11 over plain TCP, the
 * protocol as Kafka documents it). kafkajs' connections assemble each response with
 * Buffer.concat of freshly allocated socket chunks: for a fetch of several megabytes that is a
 * new large buffer per response, and its page faults and copying cost more CPU than decoding
 * the records it holds (a 4 MB-per-partition fetch of the word-count topics: 40–70 ms of CPU,
 * mostly system time, for 8 MB). Here the socket reads straight into the response's buffer
 * (`onread` with a buffer per read: the rest of the size prefix, then the rest of the response),
 * and large responses go into buffers that are kept and reused:
 *
 *   socket ──read──► size prefix (4 bytes) ──► response buffer ──► caller (parseFetch)
 *                                              (two kept for large responses, used in turn)
 *
 * A large response's buffer is written again two large responses later, so its bytes are valid
 * until the caller's next fetch has been answered (the range reader decodes a response before it
 * awaits the next); small responses get a buffer of their own. Responses come in request order
 * on a connection. Any error (socket, timeout, a response out of order) fails the pending
 * requests and closes the connection; the next request opens a new one.
 */
import { connect, type Socket } from 'node:net';

const FETCH_API_KEY = 1;
const FETCH_VERSION = 11;
/** Responses at least this large go into the kept buffers; smaller ones are cheap to allocate. */
const REUSE_FROM = 256 * 1024;

/** One partition's wanted start offset and byte limit in a Fetch request. */
export interface FetchPartitionRequest {
  readonly partition: number;
  readonly offset: number;
  readonly maxBytes: number;
}

/** What a Fetch request asks for. */
export interface FetchRequestSpec {
  readonly topic: string;
  readonly partitions: readonly FetchPartitionRequest[];
  readonly maxBytes: number;
  readonly maxWaitMs: number;
  readonly isolationLevel: number;
}

interface Pending {
  readonly correlationId: number;
  readonly resolve: (body: Buffer) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** A Fetch v11 request with its size prefix and request header (v1). */
export function encodeFetchRequest(correlationId: number, clientId: string, spec: FetchRequestSpec): Buffer {
  const client = Buffer.from(clientId, 'utf8');
  const topic = Buffer.from(spec.topic, 'utf8');
  const size = 4 + 2 + 2 + 4 + 2 + client.length + 4 * 4 + 1 + 4 + 4 + 4 + 2 + topic.length + 4 + spec.partitions.length * 28 + 4 + 2;
  const b = Buffer.alloc(size);
  let p = b.writeInt32BE(size - 4, 0);
  p = b.writeInt16BE(FETCH_API_KEY, p);
  p = b.writeInt16BE(FETCH_VERSION, p);
  p = b.writeInt32BE(correlationId, p);
  p = b.writeInt16BE(client.length, p);
  p += client.copy(b, p);
  p = b.writeInt32BE(-1, p); // replica id: a consumer
  p = b.writeInt32BE(spec.maxWaitMs, p);
  p = b.writeInt32BE(1, p); // min bytes
  p = b.writeInt32BE(spec.maxBytes, p);
  p = b.writeInt8(spec.isolationLevel, p);
  p = b.writeInt32BE(0, p); // session id: no fetch session
  p = b.writeInt32BE(-1, p); // session epoch
  p = b.writeInt32BE(1, p); // one topic
  p = b.writeInt16BE(topic.length, p);
  p += topic.copy(b, p);
  p = b.writeInt32BE(spec.partitions.length, p);
  for (const q of spec.partitions) {
    p = b.writeInt32BE(q.partition, p);
    p = b.writeInt32BE(-1, p); // current leader epoch: unknown
    p = b.writeBigInt64BE(BigInt(q.offset), p);
    p = b.writeBigInt64BE(-1n, p); // log start offset: a consumer's
    p = b.writeInt32BE(q.maxBytes, p);
  }
  p = b.writeInt32BE(0, p); // no forgotten topics
  b.writeInt16BE(0, p); // rack id ''
  return b;
}

/** A connection to one broker that sends Fetch requests and hands back response bodies. */
export class FetchConnection {
  private socket: Socket | null = null;
  private ready: Promise<Socket> | null = null;
  private readonly queue: Pending[] = [];
  private nextCorrelationId = 1;
  /** The response being read: its size prefix (4 bytes) and then its bytes. */
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeHave = 0;
  private response: Buffer | null = null;
  private responseSize = 0;
  private responseHave = 0;
  /** The two kept buffers for large responses, and which one the next large response takes. */
  private readonly kept: (Buffer | null)[] = [null, null];
  private nextKept = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly clientId: string,
    private readonly timeoutMs: number,
    private readonly connectTimeoutMs: number,
  ) {}

  /** Sends a Fetch request; resolves to the response body (after the correlation id), valid as the header describes. */
  async fetch(spec: FetchRequestSpec): Promise<Buffer> {
    const socket = await this.open();
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`Kafka broker ${this.host}:${this.port} did not answer a fetch within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.queue.push({ correlationId, resolve, reject, timer });
      socket.write(encodeFetchRequest(correlationId, this.clientId, spec));
    });
  }

  close(): void {
    this.fail(new Error(`the fetch connection to Kafka broker ${this.host}:${this.port} was closed`));
  }

  private open(): Promise<Socket> {
    if (this.ready !== null) return this.ready;
    const ready = new Promise<Socket>((resolve, reject) => {
      const socket: Socket = connect({
        host: this.host,
        port: this.port,
        // The socket reads straight into the response (see readTarget): no copy, no chunk buffers.
        onread: { buffer: () => this.readTarget(), callback: (n: number): boolean => this.socket === socket && this.received(n) },
      });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 60_000);
      const timer = setTimeout(() => socket.destroy(new Error(`cannot connect to Kafka broker ${this.host}:${this.port} within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      // Events of a connection already replaced (after a failure) are its own business.
      socket.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
        if (this.socket === socket) this.fail(e);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        const e = new Error(`the fetch connection to Kafka broker ${this.host}:${this.port} closed`);
        reject(e);
        if (this.socket === socket) this.fail(e);
      });
    });
    this.ready = ready;
    return ready;
  }

  /** Fails every pending request and drops the connection (the next fetch opens a new one). */
  private fail(e: Error): void {
    const socket = this.socket;
    this.socket = null;
    this.ready = null;
    this.sizeHave = 0;
    this.response = null;
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    if (socket !== null && !socket.destroyed) socket.destroy();
  }

  /**
   * Where the socket's next read goes: the rest of the size prefix, or the rest of the response
   * being read. Never past the response's end, so a read never takes bytes of the next response.
   */
  private readTarget(): Uint8Array {
    const response = this.response;
    return response === null ? this.sizeBytes.subarray(this.sizeHave, 4) : response.subarray(this.responseHave, this.responseSize);
  }

  /** `n` bytes were read into the last readTarget(). */
  private received(n: number): boolean {
    const response = this.response;
    if (response === null) {
      this.sizeHave += n;
      if (this.sizeHave < 4) return true;
      const size = this.sizeBytes.readInt32BE(0);
      if (size < 4) {
        this.fail(new Error(`Kafka broker ${this.host}:${this.port} sent a response of ${size} bytes`));
        return false;
      }
      this.response = this.bufferFor(size);
      this.responseSize = size;
      this.responseHave = 0;
      return true;
    }
    this.responseHave += n;
    if (this.responseHave < this.responseSize) return true;
    this.response = null;
    this.sizeHave = 0;
    return this.deliver(response.subarray(0, this.responseSize));
  }

  private deliver(response: Buffer): boolean {
    const pending = this.queue.shift();
    const correlationId = response.readInt32BE(0);
    if (pending === undefined || pending.correlationId !== correlationId) {
      if (pending !== undefined) this.queue.unshift(pending);
      this.fail(new Error(`Kafka broker ${this.host}:${this.port} sent a response to request ${correlationId}, expected ${pending?.correlationId ?? 'none'}`));
      return false;
    }
    clearTimeout(pending.timer);
    pending.resolve(response.subarray(4));
    return true;
  }

  private bufferFor(size: number): Buffer {
    if (size < REUSE_FROM) return Buffer.allocUnsafe(size);
    const k = this.nextKept;
    this.nextKept = 1 - k;
    let b = this.kept[k] ?? null;
    if (b === null || b.length < size) {
      // Room to spare, so a slightly larger response next time does not allocate again.
      b = Buffer.allocUnsafe(Math.ceil((size * 1.25) / 65536) * 65536);
      this.kept[k] = b;
    }
    return b;
  }
}
