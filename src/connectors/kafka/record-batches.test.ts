/**
 * The record-batch decoder against kafkajs' own encoder and decoder: random batches (null keys
 * and values, headers with repeated keys, gzip, transactional producers, control batches,
 * aborted transactions, a partial batch at the end, a start offset inside a batch, an end
 * offset) decode to the records kafkajs decodes, minus what read_committed drops (as kafkajs'
 * consumer filters it too) and what lies outside [from, to). gzip is the codec kafkajs, and so
 * the broker here, produces; others turn to kafkajs' decoding (UnsupportedBatch).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { crc32c, decodeRecordSet, RecordColumns, recordSetEnd, UnsupportedBatch, type AbortedTransaction } from './record-batches.js';
import { seededRandom as rng } from '../../common/random.js';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (args: any) => Promise<{ buffer: Buffer }> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: any) => unknown;
const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (d: unknown) => Promise<any[]>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const Long = require('kafkajs/src/utils/long.js') as { fromNumber(n: number): unknown; fromValue(n: number): unknown };
const filterAborted = require('kafkajs/src/consumer/filterAbortedMessages.js') as <M>(args: { messages: M[]; abortedTransactions: { producerId: string; firstOffset: string }[] }) => M[];
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;


interface Built {
  readonly set: Buffer;
  readonly aborted: AbortedTransaction[];
  /** Producer ids of transactions that were aborted, and the offsets their records have. */
  readonly abortedOffsets: Set<number>;
  readonly controlOffsets: Set<number>;
  readonly lastOffset: number;
}

/** A record set of random batches, encoded by kafkajs. */
async function buildSet(r: () => number): Promise<Built> {
  const parts: Buffer[] = [];
  let offset = Math.floor(r() * 1000);
  const aborted: AbortedTransaction[] = [];
  const abortedOffsets = new Set<number>();
  const controlOffsets = new Set<number>();
  const openTxn = new Map<number, { first: number; abort: boolean }>();
  const batches = 1 + Math.floor(r() * 6);
  for (let b = 0; b < batches; b++) {
    const producer = 1 + Math.floor(r() * 3);
    const txn = openTxn.get(producer);
    // End an open transaction with its marker, sometimes.
    if (txn && r() < 0.5) {
      const marker = Buffer.alloc(4);
      marker.writeInt16BE(0, 0);
      marker.writeInt16BE(txn.abort ? 0 : 1, 2);
      const enc = await RecordBatch({
        firstOffset: Long.fromNumber(offset), firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_000, lastOffsetDelta: 0,
        transactional: true, producerId: Long.fromNumber(producer), records: [Record({ offsetDelta: 0, key: marker, value: Buffer.alloc(6) })],
      });
      // kafkajs' encoder has no control flag: set attribute bit 5 and fix the CRC.
      const buf = Buffer.from(enc.buffer);
      buf.writeInt16BE(buf.readInt16BE(21) | 0x20, 21);
      buf.writeUInt32BE(kafkajsCrc(buf.subarray(21)), 17);
      parts.push(buf);
      controlOffsets.add(offset);
      offset++;
      openTxn.delete(producer);
      continue;
    }
    const transactional = txn !== undefined || r() < 0.3;
    if (transactional && !txn) {
      const abort = r() < 0.5;
      openTxn.set(producer, { first: offset, abort });
      if (abort) aborted.push({ producerId: BigInt(producer), firstOffset: offset });
    }
    const n = 1 + Math.floor(r() * 8);
    const gap = r() < 0.2 ? 2 : 1; // compaction leaves gaps in the deltas
    const first = 1_700_000_000_000 + Math.floor(r() * 1e6);
    const records = Array.from({ length: n }, (_, i) => {
      const headers: Record<string, Buffer | Buffer[]> = {};
      if (r() < 0.3) headers.h = Buffer.from(`v${i}`);
      if (r() < 0.2) headers.rep = [Buffer.from('a'), Buffer.from('é')];
      return Record({
        offsetDelta: i * gap,
        timestampDelta: Long.fromNumber(Math.floor(r() * 5000)),
        key: r() < 0.3 ? null : Buffer.from(`k${i}`),
        value: r() < 0.1 ? null : Buffer.from(JSON.stringify({ i, s: 'x'.repeat(Math.floor(r() * 40)), u: 'é☃' })),
        headers,
      });
    });
    const enc = await RecordBatch({
      compression: r() < 0.4 ? 1 : 0,
      firstOffset: Long.fromNumber(offset), firstTimestamp: first, maxTimestamp: first + 5000, lastOffsetDelta: (n - 1) * gap,
      transactional, producerId: Long.fromValue(transactional ? producer : -1), records,
    });
    if (transactional && openTxn.get(producer)?.abort) for (let i = 0; i < n; i++) abortedOffsets.add(offset + i * gap);
    parts.push(Buffer.from(enc.buffer));
    offset += (n - 1) * gap + 1;
  }
  return { set: Buffer.concat(parts), aborted, abortedOffsets, controlOffsets, lastOffset: offset - 1 };
}

describe('record batches', () => {
  it('CRC-32C matches kafkajs', () => {
    const r = rng(3);
    for (let k = 0; k < 50; k++) {
      const b = Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)));
      expect(crc32c(b, 0, b.length)).toBe(kafkajsCrc(b) >>> 0);
    }
  });

  it('decodes random batches as kafkajs does, read_committed', async () => {
    const r = rng(42);
    for (let round = 0; round < 150; round++) {
      const built = await buildSet(r);
      const theirs = (await decodeMessages(new Decoder(lengthPrefixed(built.set)))) as { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown>; isControlRecord: boolean }[];
      const firstOffset = Number(theirs[0]!.offset);
      const from = r() < 0.3 ? firstOffset + Math.floor(r() * 4) : firstOffset;
      // A partial batch at the end is left alone.
      const cut = r() < 0.3 ? built.set.length - 1 - Math.floor(r() * 20) : built.set.length;
      const ours = new RecordColumns();
      const end = decodeRecordSet(built.set, 0, cut, from, Infinity, built.aborted, ours);
      expect(recordSetEnd(built.set, 0, cut)).toBe(end);
      const complete = cut === built.set.length;
      const expected = theirs.filter((m) => !m.isControlRecord && !built.abortedOffsets.has(Number(m.offset)) && Number(m.offset) >= from);
      // kafkajs' consumer drops the same records (its filter of aborted transactions, then control records).
      const abortedTransactions = built.aborted.map((a) => ({ producerId: String(a.producerId), firstOffset: String(a.firstOffset) }));
      const kept = filterAborted({ messages: theirs, abortedTransactions }).filter((m) => !m.isControlRecord && Number(m.offset) >= from);
      expect(kept.map((m) => m.offset)).toEqual(expected.map((m) => m.offset));
      if (complete) {
        expect(ours.count).toBe(expected.length);
        expect(end).toBe(built.lastOffset + 1);
      }
      for (let i = 0; i < ours.count; i++) {
        const m = expected[i]!;
        expect(ours.offsets[i]).toBe(Number(m.offset));
        expect(ours.timestamps[i]).toBe(Number(m.timestamp));
        expect(ours.key(i)).toEqual(m.key);
        expect(ours.value(i)).toEqual(m.value);
        expect(ours.valueText(i)).toBe(m.value === null ? '' : m.value.toString('utf8'));
        expect(ours.headers(i)).toEqual(m.headers);
      }
      // An upper bound: the same records below it, and batches from it on not read at all.
      const to = from + Math.floor(r() * (built.lastOffset + 2 - from));
      const below = new RecordColumns();
      const belowEnd = decodeRecordSet(built.set, 0, cut, from, to, built.aborted, below);
      expect(Array.from(below.offsets.subarray(0, below.count))).toEqual(Array.from(ours.offsets.subarray(0, ours.count)).filter((o) => o < to));
      if (belowEnd >= 0) expect(belowEnd).toBeLessThanOrEqual(end);
    }
  });

  it('refuses a corrupted batch by its CRC, and reports formats it does not read', async () => {
    const built = await buildSet(rng(9));
    const bad = Buffer.from(built.set);
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0xff;
    expect(() => decodeRecordSet(bad, 0, bad.length, 0, Infinity, [], new RecordColumns())).toThrow(SluiceError);
    const old = Buffer.from(built.set);
    old.writeInt8(1, 16);
    expect(() => decodeRecordSet(old, 0, old.length, 0, Infinity, [], new RecordColumns())).toThrow(UnsupportedBatch);
    expect(() => recordSetEnd(old, 0, old.length)).toThrow(UnsupportedBatch);
    // Another codec (snappy): the header walk already sends the fetch to kafkajs' decoding.
    const snappy = Buffer.from(built.set);
    snappy.writeInt16BE((snappy.readInt16BE(21) & ~7) | 2, 21);
    expect(() => recordSetEnd(snappy, 0, snappy.length)).toThrow(/snappy/);
    // A batch length too short to hold a header is corrupt, not a loop that never advances.
    const short = Buffer.from(built.set);
    short.writeInt32BE(-12, 8);
    expect(() => recordSetEnd(short, 0, short.length)).toThrow(SluiceError);
    expect(() => decodeRecordSet(short, 0, short.length, 0, Infinity, [], new RecordColumns())).toThrow(SluiceError);
  });
});

function lengthPrefixed(b: Buffer): Buffer {
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}
