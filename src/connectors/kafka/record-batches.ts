/**
 * Kafka's record batches (message format v2, "magic 2") decoded straight from a Fetch
 * response's record set: each record is handed to a RecordSink (the source's message decoder,
 * which writes its columns) as its offset, timestamp and where its key, value and headers lie in
 * a buffer — no object, Long or Buffer slice per record. The format
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

/** CRC-32C tables for slicing by 16: table k (at k × 256) advances a byte through k more zero bytes. */
const CRC32C_TABLES = (() => {
  const t = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC-32C (Castagnoli) of buf[start, end), as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start: number, end: number): number {
  return crc32cInt(buf, start, end) >>> 0;
}

/**
 * CRC-32C of buf[start, end) as a signed 32-bit integer, sixteen bytes a step, then eight, then
 * one. Signed, because the unsigned value of a CRC above 2^31 is not a small integer to V8: the
 * optimized code, expecting one, was thrown away again and again ("lost precision"), which made
 * the check 4–5 times slower in the engine than in a micro-benchmark. With a record batch per
 * message every batch's ~50 bytes are checked on their own; sixteen bytes a step took a 61-byte
 * CRC from 87 to 72 ns in a micro-benchmark.
 */
function crc32cInt(buf: Uint8Array, start: number, end: number): number {
  const t = CRC32C_TABLES;
  let c = -1;
  let i = start;
  for (; i + 16 <= end; i += 16) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      t[3840 + (c & 0xff)]! ^ t[3584 + ((c >>> 8) & 0xff)]! ^ t[3328 + ((c >>> 16) & 0xff)]! ^ t[3072 + (c >>> 24)]! ^
      t[2816 + buf[i + 4]!]! ^ t[2560 + buf[i + 5]!]! ^ t[2304 + buf[i + 6]!]! ^ t[2048 + buf[i + 7]!]! ^
      t[1792 + buf[i + 8]!]! ^ t[1536 + buf[i + 9]!]! ^ t[1280 + buf[i + 10]!]! ^ t[1024 + buf[i + 11]!]! ^
      t[768 + buf[i + 12]!]! ^ t[512 + buf[i + 13]!]! ^ t[256 + buf[i + 14]!]! ^ t[buf[i + 15]!]!;
  }
  if (i + 8 <= end) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^ t[1536 + ((c >>> 8) & 0xff)]! ^ t[1280 + ((c >>> 16) & 0xff)]! ^ t[1024 + (c >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^ t[512 + buf[i + 5]!]! ^ t[256 + buf[i + 6]!]! ^ t[buf[i + 7]!]!;
    i += 8;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c ^ -1;
}

/**
 * Where decodeRecordSet hands each record it keeps: its offset and timestamp, and where its
 * key and value (length -1: null) and its header section (the count varint) lie in `buf`, the
 * record set or a decompressed batch. The positions are valid only during the call.
 */
export interface RecordSink {
  record(buf: Buffer, offset: number, timestamp: number, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headerStart: number): void;
}

/** The records of a record set as columns, for readers that want them after decoding (tests, the sink's progress reader). */
export class RecordColumns implements RecordSink {
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

  private grow(): void {
    const cap = Math.max(64, this.offsets.length * 2);
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.buffer = i32(this.buffer);
    this.offsets = f64(this.offsets);
    this.timestamps = f64(this.timestamps);
    this.keyStart = i32(this.keyStart);
    this.keyLength = i32(this.keyLength);
    this.valueStart = i32(this.valueStart);
    this.valueLength = i32(this.valueLength);
    this.headerStart = i32(this.headerStart);
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
    return recordHeaders(this.buffers[this.buffer[i]!]!, this.headerStart[i]!);
  }

  record(buf: Buffer, offset: number, timestamp: number, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headerStart: number): void {
    if (this.count === this.offsets.length) this.grow();
    const bufs = this.buffers;
    if (bufs.length === 0 || bufs[bufs.length - 1] !== buf) bufs.push(buf);
    const i = this.count++;
    this.buffer[i] = bufs.length - 1;
    this.offsets[i] = offset;
    this.timestamps[i] = timestamp;
    this.keyStart[i] = keyStart;
    this.keyLength[i] = keyLength;
    this.valueStart[i] = valueStart;
    this.valueLength[i] = valueLength;
    this.headerStart[i] = headerStart;
  }
}

/** The headers of the record whose header section starts at buf[at], as kafkajs gives them: a repeated key's values as an array. */
export function recordHeaders(buf: Buffer, at: number): Record<string, Buffer | null | (Buffer | null)[]> {
  const r = new Reader(buf, at);
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

/** A cursor over a buffer reading Kafka's zig-zag varints. */
class Reader {
  constructor(public buf: Buffer, public pos: number) {}

  /** A zig-zag varint that fits 32 bits. */
  varint(): number {
    const b = this.buf;
    const first = b[this.pos]!;
    // One byte (-64..63) is the common case: lengths of short keys and values, small deltas.
    if (first < 0x80) {
      this.pos++;
      return (first >>> 1) ^ -(first & 1);
    }
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
    const first = b[this.pos]!;
    if (first < 0x80) {
      this.pos++;
      return (first >>> 1) ^ -(first & 1);
    }
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

/*
 * Big-endian integers read byte by byte: Buffer's readInt32BE and friends check their
 * arguments on every call, which with a batch per message was a good part of the decoding.
 * The callers have checked that the bytes lie inside the buffer.
 */
function int32At(b: Buffer, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

function int16At(b: Buffer, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16)) >> 16;
}

/** The big-endian int64 at `at` as a number (exact below 2^53: offsets and timestamps). */
function int64At(b: Buffer, at: number): number {
  return int32At(b, at) * 4294967296 + (int32At(b, at + 4) >>> 0);
}

function corrupt(what: string): SluiceError {
  return new SluiceError('connection', `corrupt Kafka record batch: ${what}; the fetch is retried at the next epoch`);
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The 61-byte header of a batch: where its fields lie after its base offset. */
const BATCH_HEADER = 61;
const AT_LENGTH = 8;
const AT_MAGIC = 16;
const AT_CRC = 17;
const AT_ATTRIBUTES = 21;
const AT_LAST_OFFSET_DELTA = 23;
const AT_FIRST_TIMESTAMP = 27;
const AT_MAX_TIMESTAMP = 35;
const AT_PRODUCER_ID = 43;
const AT_COUNT = 57;

/**
 * One past the last offset the complete batches in rs[start, end) cover, or -1 when there is
 * none: a walk over the batch headers only, so a reader can move on (and ask for the next
 * offsets) before it decodes. Throws UnsupportedBatch for a batch this decoder does not read
 * (message format 0/1, a codec other than gzip), so the caller can turn to another decoder.
 */
export function recordSetEnd(rs: Buffer, start: number, end: number): number {
  let last = -1;
  let pos = start;
  while (pos + BATCH_HEADER <= end) {
    const length = int32At(rs, pos + AT_LENGTH);
    const batchEnd = pos + 12 + length;
    if (batchEnd > end) break;
    if (length < BATCH_HEADER - 12) throw corrupt(`batch length ${length} is too short`);
    const magic = rs[pos + AT_MAGIC]!;
    if (magic !== 2) throw new UnsupportedBatch(`record batch with magic ${magic}`);
    const codec = rs[pos + AT_ATTRIBUTES + 1]! & 7;
    if (codec > 1) throw new UnsupportedBatch(`record batch compressed with ${CODECS[codec] ?? `codec ${codec}`}`);
    last = int64At(rs, pos) + int32At(rs, pos + AT_LAST_OFFSET_DELTA);
    pos = batchEnd;
  }
  return last < 0 ? -1 : last + 1;
}

/**
 * Decodes the record batches in rs[start, end) and hands `out` each record with an offset in
 * [from, to); batches that start at `to` or later are not read. `aborted` (sorted by first
 * offset) names the aborted transactions the response reported. Returns one past the last
 * offset of the batches read (dropped records included), or -1 when none was. Throws
 * UnsupportedBatch for a batch in message format 0/1 or compressed with a codec other than
 * gzip, and a connection error for a batch whose CRC does not match.
 */
export function decodeRecordSet(rs: Buffer, start: number, end: number, from: number, to: number, aborted: readonly AbortedTransaction[], out: RecordSink): number {
  // Producers with an aborted transaction under way; only made when the response lists one.
  const abortedProducers = aborted.length > 0 ? new Set<bigint>() : null;
  const reader = new Reader(rs, start);
  let covered = -1;
  let nextAborted = 0;
  let pos = start;
  while (pos + BATCH_HEADER <= end) {
    const baseOffset = int64At(rs, pos);
    if (baseOffset >= to) break;
    const length = int32At(rs, pos + AT_LENGTH);
    const batchEnd = pos + 12 + length;
    if (batchEnd > end) break; // partial batch at the end of the response
    const magic = rs[pos + AT_MAGIC]!;
    if (magic !== 2) throw new UnsupportedBatch(`record batch with magic ${magic}`);
    if (length < BATCH_HEADER - 12) throw corrupt(`batch length ${length} is too short`);
    if (crc32cInt(rs, pos + AT_ATTRIBUTES, batchEnd) !== int32At(rs, pos + AT_CRC)) throw corrupt(`CRC-32C mismatch in the batch at offset ${baseOffset}`);
    const attributes = rs[pos + AT_ATTRIBUTES + 1]!; // the low byte holds every flag read here
    const lastOffset = baseOffset + int32At(rs, pos + AT_LAST_OFFSET_DELTA);
    covered = lastOffset + 1;
    const batchStart = pos;
    pos = batchEnd;
    const control = (attributes & 0x20) !== 0;
    const transactional = (attributes & 0x10) !== 0;
    if (abortedProducers !== null) {
      // Aborted transactions that have begun by this batch's end.
      while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= lastOffset) abortedProducers.add(aborted[nextAborted++]!.producerId);
      // Read only where it matters (a bigint per batch is garbage per message at one per batch).
      if (control || transactional) {
        const producerId = rs.readBigInt64BE(batchStart + AT_PRODUCER_ID);
        // A control batch holds the marker that ends a transaction: an aborted one's records stop here.
        if (control) abortedProducers.delete(producerId);
        else if (abortedProducers.has(producerId)) continue;
      }
    }
    if (control || lastOffset < from) continue;
    const codec = attributes & 7;
    let buf = rs;
    let p = batchStart + BATCH_HEADER;
    let stop = batchEnd;
    if (codec !== 0) {
      if (codec !== 1) throw new UnsupportedBatch(`record batch compressed with ${CODECS[codec] ?? `codec ${codec}`}`);
      buf = gunzipSync(rs.subarray(p, batchEnd));
      p = 0;
      stop = buf.length;
    }
    const timestamp = int64At(rs, batchStart + (attributes & 0x08 ? AT_MAX_TIMESTAMP : AT_FIRST_TIMESTAMP));
    // Log-append time: every record has the batch's max timestamp, whatever its delta says.
    const deltas = (attributes & 0x08) === 0;
    const count = int32At(rs, batchStart + AT_COUNT);
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
      if (offset < from || offset >= to) continue;
      out.record(buf, offset, deltas ? timestamp + tsDelta : timestamp, keyStart, keyLength, valueStart, valueLength, headerStart);
    }
  }
  return covered;
}
