/**
 * Kafka's record batches (message format v2, "magic 2") decoded straight from a Fetch
 * response's record set into columns: per record its offset, timestamp and where its key,
 * value and headers lie in a buffer — no object, Long or Buffer slice per record. The format
 * (Kafka's DefaultRecordBatch):
 *
 *   batch  = baseOffset i64 · length i32 · leaderEpoch i32 · magic i8 · crc u32 (CRC-32C of
 *            what follows) · attributes i16 · lastOffsetDelta i32 · firstTimestamp i64 ·
 *            maxTimestamp i64 · producerId i64 · producerEpoch i16 · baseSequence i32 ·
 *            count i32 · records (compressed as a whole when attributes & 7 ≠ 0)
 *   record = length varint · attributes i8 · timestampDelta varlong · offsetDelta varint ·
 *            keyLength varint · key · valueLength varint · value · headerCount varint ·
 *            (keyLength varint · key · valueLength varint · value)*
 *
 * Varints are zig-zag encoded. A record set may end in a partial batch (the broker cuts at
 * the size asked for): it is left for the next fetch. Under read_committed, records of aborted
 * transactions (the response lists each aborted transaction's producer and first offset) and
 * control batches (commit/abort markers) are dropped; the offsets they cover still count as read.
 */
import { gunzipSync } from 'node:zlib';
import { SluiceError } from '../../common/errors.js';

/** An aborted transaction as a Fetch response lists it. */
export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: number;
}

/** A batch in a format this decoder does not read (magic 0/1, or a codec it has no decoder for). */
export class UnsupportedBatch extends Error {}

/** CRC-32C tables for slicing by 8: table k (at k × 256) advances a byte through k more zero bytes. */
const CRC32C_TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC-32C (Castagnoli) of buf[start, end), eight bytes a step. */
export function crc32c(buf: Uint8Array, start: number, end: number): number {
  const t = CRC32C_TABLES;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^ t[1536 + ((c >>> 8) & 0xff)]! ^ t[1280 + ((c >>> 16) & 0xff)]! ^ t[1024 + (c >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^ t[512 + buf[i + 5]!]! ^ t[256 + buf[i + 6]!]! ^ t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The records of one partition's record set, a column per field. */
export class RecordColumns {
  count = 0;
  /** The buffers the positions below point into: the record set, then any decompressed batches. */
  readonly buffers: Buffer[] = [];
  buffer = new Int32Array(0);
  offsets = new Float64Array(0);
  timestamps = new Float64Array(0);
  /** Start of the key/value in its buffer, and its length (-1: null). */
  keyStart = new Int32Array(0);
  keyLength = new Int32Array(0);
  valueStart = new Int32Array(0);
  valueLength = new Int32Array(0);
  /** Start of the record's header section (its count varint) in its buffer. */
  headerStart = new Int32Array(0);
  /** One past the last offset the decoded batches cover (dropped records included); -1 when none. */
  end = -1;

  /** Room for `n` more records (a batch's count, known before its records are read). */
  reserve(n: number): void {
    if (this.count + n > this.offsets.length) this.grow(this.count + n);
  }

  private grow(need = 0): void {
    const cap = Math.max(64, this.offsets.length * 2, need);
    const g = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    const i32 = (n: number) => new Int32Array(n);
    const f64 = (n: number) => new Float64Array(n);
    this.buffer = g(this.buffer, i32);
    this.offsets = g(this.offsets, f64);
    this.timestamps = g(this.timestamps, f64);
    this.keyStart = g(this.keyStart, i32);
    this.keyLength = g(this.keyLength, i32);
    this.valueStart = g(this.valueStart, i32);
    this.valueLength = g(this.valueLength, i32);
    this.headerStart = g(this.headerStart, i32);
  }

  /** Record i's value as UTF-8 text ('' for null). */
  valueText(i: number): string {
    const len = this.valueLength[i]!;
    if (len <= 0) return '';
    const s = this.valueStart[i]!;
    return this.buffers[this.buffer[i]!]!.toString('utf8', s, s + len);
  }

  /** Record i's key bytes, or null. */
  key(i: number): Buffer | null {
    const len = this.keyLength[i]!;
    if (len < 0) return null;
    const s = this.keyStart[i]!;
    return this.buffers[this.buffer[i]!]!.subarray(s, s + len);
  }

  /** Record i's value bytes, or null. */
  value(i: number): Buffer | null {
    const len = this.valueLength[i]!;
    if (len < 0) return null;
    const s = this.valueStart[i]!;
    return this.buffers[this.buffer[i]!]!.subarray(s, s + len);
  }

  /** Record i's headers as kafkajs gives them: a repeated key's values as an array. */
  headers(i: number): Record<string, Buffer | null | (Buffer | null)[]> {
    const buf = this.buffers[this.buffer[i]!]!;
    const r = new Reader(buf, this.headerStart[i]!);
    const n = r.varint();
    const out: Record<string, Buffer | null | (Buffer | null)[]> = {};
    for (let k = 0; k < n; k++) {
      const kl = r.varint();
      const name = buf.toString('utf8', r.pos, r.pos + kl);
      r.pos += kl;
      const vl = r.varint();
      const v = vl < 0 ? null : buf.subarray(r.pos, r.pos + vl);
      if (vl > 0) r.pos += vl;
      const prev = out[name];
      out[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return out;
  }

  push(buffer: number, offset: number, timestamp: number, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headerStart: number): void {
    if (this.count === this.offsets.length) this.grow();
    const i = this.count++;
    this.buffer[i] = buffer;
    this.offsets[i] = offset;
    this.timestamps[i] = timestamp;
    this.keyStart[i] = keyStart;
    this.keyLength[i] = keyLength;
    this.valueStart[i] = valueStart;
    this.valueLength[i] = valueLength;
    this.headerStart[i] = headerStart;
  }
}

/** A cursor over a buffer reading Kafka's zig-zag varints. */
class Reader {
  constructor(public buf: Buffer, public pos: number) {}

  /** A zig-zag varint that fits 32 bits. */
  varint(): number {
    const b = this.buf;
    let raw = 0;
    let shift = 0;
    for (;;) {
      const x = b[this.pos++];
      if (x === undefined) throw corrupt('a varint runs past the end of its batch');
      raw |= (x & 0x7f) << shift;
      if (x < 0x80) break;
      shift += 7;
      if (shift > 28) throw corrupt('a varint is longer than 5 bytes');
    }
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** A zig-zag varlong, as a number (exact up to 2^53, which timestamps and deltas stay within). */
  varlong(): number {
    const b = this.buf;
    let raw = 0;
    let scale = 1;
    for (let k = 0; ; k++) {
      const x = b[this.pos++];
      if (x === undefined) throw corrupt('a varlong runs past the end of its batch');
      raw += (x & 0x7f) * scale;
      if (x < 0x80) break;
      scale *= 128;
      if (k >= 9) throw corrupt('a varlong is longer than 10 bytes');
    }
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
}

/** The big-endian int64 at `at` as a number (exact below 2^53: offsets and timestamps). */
function int64At(b: Buffer, at: number): number {
  return b.readInt32BE(at) * 4294967296 + b.readUInt32BE(at + 4);
}

function corrupt(what: string): SluiceError {
  return new SluiceError('connection', `corrupt Kafka record batch: ${what}; the fetch is retried at the next epoch`);
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * Decodes the record batches in rs[start, end) into `out`, keeping records at `from` or later;
 * `aborted` (sorted by first offset) names the aborted transactions the response reported.
 * Throws UnsupportedBatch for a batch in message format 0/1 or compressed with a codec other
 * than gzip, and a connection error for a batch whose CRC does not match.
 */
export function decodeRecordSet(rs: Buffer, start: number, end: number, from: number, aborted: readonly AbortedTransaction[], out: RecordColumns): void {
  const main = out.buffers.push(rs) - 1;
  const abortedProducers = new Set<bigint>();
  const reader = new Reader(rs, start);
  let nextAborted = 0;
  let pos = start;
  while (pos + 17 <= end) {
    const baseOffset = int64At(rs, pos);
    const length = rs.readInt32BE(pos + 8);
    const batchEnd = pos + 12 + length;
    if (batchEnd > end) break; // partial batch at the end of the response
    const magic = rs.readInt8(pos + 16);
    if (magic !== 2) throw new UnsupportedBatch(`record batch with magic ${magic}`);
    if (length < 49) throw corrupt(`batch length ${length} is too short`);
    const crc = rs.readUInt32BE(pos + 17);
    if (crc32c(rs, pos + 21, batchEnd) !== crc) throw corrupt(`CRC-32C mismatch in the batch at offset ${baseOffset}`);
    const attributes = rs.readInt16BE(pos + 21);
    const lastOffsetDelta = rs.readInt32BE(pos + 23);
    const firstTimestamp = int64At(rs, pos + 27);
    const maxTimestamp = int64At(rs, pos + 35);
    const count = rs.readInt32BE(pos + 57);
    const lastOffset = baseOffset + lastOffsetDelta;
    out.end = Math.max(out.end, lastOffset + 1);
    pos = batchEnd;
    // Aborted transactions that have begun by this batch's end.
    while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= lastOffset) abortedProducers.add(aborted[nextAborted++]!.producerId);
    const control = (attributes & 0x20) !== 0;
    const transactional = (attributes & 0x10) !== 0;
    // Read only where it matters (a bigint per batch is garbage per message at one per batch).
    const producerId = control || transactional ? rs.readBigInt64BE(pos - length - 12 + 43) : -1n;
    if (control) {
      // A control batch holds the marker that ends a transaction: an aborted one's records stop here.
      abortedProducers.delete(producerId);
      continue;
    }
    if (transactional && abortedProducers.has(producerId)) continue;
    if (lastOffset < from) continue;
    const codec = attributes & 7;
    let buf = rs;
    let bufIndex = main;
    let p = batchEnd - length - 12 + 61; // the records, after the 61-byte batch header
    let stop = batchEnd;
    if (codec !== 0) {
      if (codec !== 1) throw new UnsupportedBatch(`record batch compressed with ${CODECS[codec] ?? `codec ${codec}`}`);
      buf = gunzipSync(rs.subarray(p, batchEnd));
      bufIndex = out.buffers.push(buf) - 1;
      p = 0;
      stop = buf.length;
    }
    const logAppendTime = (attributes & 0x08) !== 0;
    out.reserve(count);
    const r = reader;
    r.buf = buf;
    r.pos = p;
    for (let k = 0; k < count; k++) {
      const len = r.varint();
      const recEnd = r.pos + len;
      if (len < 0 || recEnd > stop) throw corrupt(`record ${k} of the batch at offset ${baseOffset} runs past the batch`);
      r.pos++; // attributes (unused)
      const tsDelta = r.varlong();
      const offsetDelta = r.varint();
      const keyLength = r.varint();
      const keyStart = r.pos;
      if (keyLength > 0) r.pos += keyLength;
      const valueLength = r.varint();
      const valueStart = r.pos;
      if (valueLength > 0) r.pos += valueLength;
      const headerStart = r.pos;
      r.pos = recEnd;
      const offset = baseOffset + offsetDelta;
      if (offset < from) continue;
      out.push(bufIndex, offset, logAppendTime ? maxTimestamp : firstTimestamp + tsDelta, keyStart, keyLength, valueStart, valueLength, headerStart);
    }
  }
}
