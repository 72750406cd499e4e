/**
 * A raw PostgreSQL protocol client for tests: builds frontend messages byte by byte and reads
 * backend messages, so tests can send what drivers never would (binary parameters, row limits,
 * garbage) and see exactly what the server answers.
 */
import { connect, type Socket } from 'node:net';

/** One backend message. */
export interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** Frontend message builders. */
export const fe = {
  startup(params: Record<string, string>, version = 196608): Buffer {
    const body = Buffer.concat([i32(version), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
    return Buffer.concat([i32(body.length + 4), body]);
  },
  sslRequest: (): Buffer => Buffer.concat([i32(8), i32(80877103)]),
  gssencRequest: (): Buffer => Buffer.concat([i32(8), i32(80877104)]),
  cancel: (pid: number, secret: number): Buffer => Buffer.concat([i32(16), i32(80877102), i32(pid), i32(secret)]),
  query: (sql: string): Buffer => frame('Q', cstr(sql)),
  parse: (name: string, sql: string, oids: number[] = []): Buffer => frame('P', Buffer.concat([cstr(name), cstr(sql), i16(oids.length), ...oids.map(i32)])),
  bind(portal: string, statement: string, params: (Buffer | string | null)[], paramFormats: number[] = [], resultFormats: number[] = []): Buffer {
    const values = params.flatMap((p) => (p === null ? [i32(-1)] : [i32(Buffer.byteLength(p)), Buffer.from(p)]));
    return frame('B', Buffer.concat([cstr(portal), cstr(statement), i16(paramFormats.length), ...paramFormats.map(i16), i16(params.length), ...values, i16(resultFormats.length), ...resultFormats.map(i16)]));
  },
  describe: (kind: 'S' | 'P', name: string): Buffer => frame('D', Buffer.concat([Buffer.from(kind), cstr(name)])),
  execute: (portal: string, maxRows = 0): Buffer => frame('E', Buffer.concat([cstr(portal), i32(maxRows)])),
  close: (kind: 'S' | 'P', name: string): Buffer => frame('C', Buffer.concat([Buffer.from(kind), cstr(name)])),
  sync: (): Buffer => frame('S', Buffer.alloc(0)),
  flush: (): Buffer => frame('H', Buffer.alloc(0)),
  terminate: (): Buffer => frame('X', Buffer.alloc(0)),
  raw: frame,
};

/** A connection reading backend messages in order. */
export class WireClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  /** The single-byte answer to SSLRequest/GSSENCRequest arrives unframed; set to expect one. */
  expectByte = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Opens a TCP connection without speaking. */
  static open(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new WireClient(s)));
      s.once('error', reject);
    });
  }

  /** Opens a connection and completes a trust startup; returns the client and its startup messages. */
  static async connect(port: number, params: Record<string, string> = { user: 'test', database: 'test' }): Promise<{ client: WireClient; startup: BackendMessage[] }> {
    const client = await WireClient.open(port);
    client.send(fe.startup(params));
    const startup = await client.until('Z');
    return { client, startup };
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  /** The next unframed byte (the SSLRequest answer). */
  async byte(timeoutMs = 5000): Promise<string> {
    await this.wait(() => this.buf.length >= 1, timeoutMs);
    const c = String.fromCharCode(this.buf[0]!);
    this.buf = this.buf.subarray(1);
    return c;
  }

  /** The next message, or null when the server closed the connection. */
  async next(timeoutMs = 10_000): Promise<BackendMessage | null> {
    const ok = await this.wait(() => this.buf.length >= 5 && this.buf.length >= 1 + this.buf.readInt32BE(1), timeoutMs);
    if (!ok) return null;
    const len = this.buf.readInt32BE(1);
    const m = { type: String.fromCharCode(this.buf[0]!), body: Buffer.from(this.buf.subarray(5, 1 + len)) };
    this.buf = this.buf.subarray(1 + len);
    return m;
  }

  /** Messages up to and including the first of type `type`; throws if the connection ends first. */
  async until(type: string, timeoutMs = 10_000): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (!m) throw new Error(`connection ended before '${type}'; got ${out.map((x) => x.type).join('')}`);
      out.push(m);
      if (m.type === type) return out;
    }
  }

  /** Resolves when the server has closed the connection (true) or after the timeout (false). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    return this.wait(() => false, timeoutMs).then(() => this.closed);
  }

  end(): void {
    this.socket.destroy();
  }

  private wait(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (ready()) return finish(true);
        if (this.closed) return finish(false);
        this.waiters.push(check);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      let done = false;
      const finish = (v: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      };
      check();
    });
  }

  private wake(): void {
    const ws = this.waiters.splice(0);
    for (const w of ws) w();
  }
}

/** The fields of an ErrorResponse/NoticeResponse body by one-letter code. */
export function errorOf(m: BackendMessage): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < m.body.length && m.body[i] !== 0) {
    const code = String.fromCharCode(m.body[i]!);
    const end = m.body.indexOf(0, i + 1);
    out[code] = m.body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return out;
}

/** Column names, type OIDs and formats of a RowDescription. */
export function columnsOf(m: BackendMessage): { name: string; oid: number; size: number; format: number }[] {
  const n = m.body.readInt16BE(0);
  let at = 2;
  const cols = [];
  for (let i = 0; i < n; i++) {
    const end = m.body.indexOf(0, at);
    const name = m.body.toString('utf8', at, end);
    at = end + 1;
    const oid = m.body.readInt32BE(at + 6);
    const size = m.body.readInt16BE(at + 10);
    const format = m.body.readInt16BE(at + 16);
    at += 18;
    cols.push({ name, oid, size, format });
  }
  return cols;
}

/** The raw field values of a DataRow (null for SQL NULL). */
export function fieldsOf(m: BackendMessage): (Buffer | null)[] {
  const n = m.body.readInt16BE(0);
  let at = 2;
  const out: (Buffer | null)[] = [];
  for (let i = 0; i < n; i++) {
    const len = m.body.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(m.body.subarray(at, at + len));
      at += len;
    }
  }
  return out;
}

/** The DataRows of a message list as text. */
export function textRows(ms: readonly BackendMessage[]): (string | null)[][] {
  return ms.filter((m) => m.type === 'D').map((m) => fieldsOf(m).map((f) => (f === null ? null : f.toString('utf8'))));
}

/** The message type letters of a list, e.g. '12TDDCZ'. */
export const types = (ms: readonly BackendMessage[]): string => ms.map((m) => m.type).join('');
