/**
 * Backend message encoding: one growable buffer per connection that messages are appended to
 * and that the session takes and writes to the socket at flush points.
 */
import type { Field, Value } from '../common/types.js';
import { UTC, type TimeZone } from '../common/time-zone.js';
import { typeOid, typeSize } from './pg-types.js';
import { writeBinaryValue, writeTextValue } from './result-encoding.js';
import type { ErrorFields } from './server-error.js';

/** Format code of a column or parameter: 0 text, 1 binary. */
export type FormatCode = 0 | 1;

/** Transaction status of ReadyForQuery: idle, in a transaction block, in a failed block. */
export type TransactionStatus = 'I' | 'T' | 'E';

const INITIAL = 16 * 1024;
// A buffer that grew for one huge result is not kept around for the connection's life.
const KEEP = 1024 * 1024;

/**
 * The encoder of PostgreSQL v3 backend messages. Primitive writers (int16, cstring, …) are public
 * for the value encoders; each message method writes one whole message.
 */
export class MessageWriter {
  private buf = Buffer.allocUnsafe(INITIAL);
  private len = 0;
  private start = -1;

  /** Bytes encoded and not yet taken. */
  get size(): number {
    return this.len;
  }

  /** Returns the encoded bytes and empties the writer. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    if (this.buf.length > KEEP) this.buf = Buffer.allocUnsafe(INITIAL);
    return out;
  }

  /** Appends raw bytes outside any message (the one-byte SSLRequest answer). */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.len);
    this.len += 4;
    return this;
  }

  int64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.len);
    this.len += 8;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
    return this;
  }

  /** A NUL-terminated UTF-8 string; a NUL inside it would end the string early, so it is dropped. */
  cstring(s: string): this {
    this.utf8(s.includes('\0') ? s.replaceAll('\0', '') : s);
    return this.int8(0);
  }

  /** UTF-8 bytes of s without terminator. */
  utf8(s: string): this {
    this.ensure(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
    return this;
  }

  /** An int32 length followed by the UTF-8 bytes of s (a DataRow field or SASL payload). */
  sizedUtf8(s: string): this {
    this.ensure(4 + s.length * 3);
    const at = this.len;
    this.len += 4;
    const n = this.buf.write(s, this.len, 'utf8');
    this.len += n;
    this.buf.writeInt32BE(n, at);
    return this;
  }

  /** Starts a message of type `type`; end() fills in its length. */
  begin(type: string): this {
    this.ensure(5);
    this.buf[this.len] = type.charCodeAt(0);
    this.start = this.len + 1;
    this.len += 5;
    return this;
  }

  end(): this {
    this.buf.writeInt32BE(this.len - this.start, this.start);
    this.start = -1;
    return this;
  }

  authentication(code: number, payload?: string): this {
    this.begin('R').int32(code);
    if (payload !== undefined) this.utf8(payload);
    return this.end();
  }

  /** AuthenticationSASL listing the mechanisms offered. */
  authenticationSasl(mechanisms: readonly string[]): this {
    this.begin('R').int32(10);
    for (const m of mechanisms) this.cstring(m);
    return this.int8(0).end();
  }

  parameterStatus(name: string, value: string): this {
    return this.begin('S').cstring(name).cstring(value).end();
  }

  backendKeyData(pid: number, secret: number): this {
    return this.begin('K').int32(pid).int32(secret).end();
  }

  negotiateProtocolVersion(minor: number, unrecognized: readonly string[]): this {
    this.begin('v').int32((3 << 16) | minor).int32(unrecognized.length);
    for (const o of unrecognized) this.cstring(o);
    return this.end();
  }

  readyForQuery(status: TransactionStatus): this {
    return this.begin('Z').int8(status.charCodeAt(0)).end();
  }

  rowDescription(columns: readonly Field[], formats: readonly FormatCode[]): this {
    this.begin('T').int16(columns.length);
    columns.forEach((c, i) => {
      this.cstring(c.name).int32(0).int16(0).int32(typeOid(c.type)).int16(typeSize(c.type)).int32(-1).int16(formats[i] ?? 0);
    });
    return this.end();
  }

  /** The session's TimeZone, which text output prints timestamptz values in. */
  zone: TimeZone = UTC;

  dataRow(row: readonly Value[], columns: readonly Field[], formats: readonly FormatCode[]): this {
    this.begin('D').int16(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const v = row[i] ?? null;
      if (v === null) this.int32(-1);
      else if (formats[i] === 1) writeBinaryValue(this, v, columns[i]!.type);
      else writeTextValue(this, v, columns[i]!.type, this.zone);
    }
    return this.end();
  }

  /** CopyOutResponse ('H') or CopyInResponse ('G'): text format, every column text. */
  copyResponse(kind: 'out' | 'in', columns: number): this {
    this.begin(kind === 'out' ? 'H' : 'G').int8(0).int16(columns);
    for (let i = 0; i < columns; i++) this.int16(0);
    return this.end();
  }

  /** CopyData: one row of COPY's text or CSV output (its line end included). */
  copyData(line: string): this {
    return this.begin('d').utf8(line).end();
  }

  copyDone(): this {
    return this.begin('c').end();
  }

  parameterDescription(oids: readonly number[]): this {
    this.begin('t').int16(oids.length);
    for (const o of oids) this.int32(o);
    return this.end();
  }

  commandComplete(tag: string): this {
    return this.begin('C').cstring(tag).end();
  }

  emptyQueryResponse(): this {
    return this.begin('I').end();
  }

  parseComplete(): this {
    return this.begin('1').end();
  }

  bindComplete(): this {
    return this.begin('2').end();
  }

  closeComplete(): this {
    return this.begin('3').end();
  }

  noData(): this {
    return this.begin('n').end();
  }

  portalSuspended(): this {
    return this.begin('s').end();
  }

  errorResponse(fields: ErrorFields): this {
    return this.fields('E', fields);
  }

  noticeResponse(fields: ErrorFields): this {
    return this.fields('N', fields);
  }

  private fields(type: string, fields: ErrorFields): this {
    this.begin(type);
    for (const [code, value] of fields) this.int8(code.charCodeAt(0)).cstring(value);
    return this.int8(0).end();
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
