/**
 * Reading exact offset ranges of a topic: for each partition, every record with an offset in
 * [from, to), decoded into batches per partition (in partition and offset order, so reading
 * the same ranges again gives the same batches). This is how a poll reads the ranges it planned, and how
 * a recorded epoch range is read again.
 *
 *   ranges ──► Fetch round (one request per leader) ──► advance each partition's cursor
 *                   ▲          next round in flight ◄──┘      │
 *                   └──────────────────────────────── decode this round's records
 *
 * A response's record sets are decoded (record-batches.ts, straight into each partition's
 * MessageDecoder) after the next round has been asked for, and before it is awaited: the
 * fetch connection reuses its response buffers. Gaps are normal (compaction, transaction
 * markers, aborted records): a cursor advances to the end of what a response covers, not to
 * the last record's offset plus one.
 */
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Schema } from '../../common/types.js';
import type { DeadLetter } from '../api.js';
import { OffsetOutOfRange, type FetchedMessage, type FetchedPartition, type KafkaCluster, type RecordSet } from './cluster.js';
import { MessageDecoder, type DecodeSettings } from './message-decoder.js';
import { decodeRecordSet } from './record-batches.js';
import { allOrRelease, keptParts } from '../../exec/parallel/parked.js';
import { shardPool } from '../../exec/parallel/pool.js';

/** The records of one partition an epoch read: offsets [from, to). */
export interface PartitionRange {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
  /** Offsets inside [from, to) that retention deleted before they could be read. */
  readonly deleted?: number;
}

/** What reading a set of ranges produced. */
export interface RangeRead {
  readonly batches: Batch[];
  readonly deadLetters: DeadLetter[];
  /** The ranges as read: `to` is lowered when a partition turned out shorter (truncated), or the byte budget ran out. */
  readonly ranges: PartitionRange[];
  /** True when the byte budget stopped the reading before the ranges' ends. */
  readonly cut: boolean;
}

/** Fetch sizes in bytes. */
export interface FetchSizes {
  readonly maxBytes: number;
  readonly maxPartitionBytes: number;
}

interface Cursor {
  readonly partition: number;
  readonly from: number;
  to: number;
  cur: number;
  deleted: number;
  decoder: MessageDecoder | null;
  /** With shard workers decoding: this partition's pieces, in offset order. */
  readonly pieces: Promise<Piece>[];
}

/** A piece of a partition's rows decoded apart (in a shard worker, or here for kafkajs' messages). */
interface Piece {
  readonly batches: Batch[];
  readonly deadLetters: readonly DeadLetter[];
}

interface Work {
  readonly cursor: Cursor;
  readonly messages: readonly FetchedMessage[];
  readonly recordSet: RecordSet | undefined;
  readonly start: number;
  readonly stop: number;
}

/**
 * Reads every record in `ranges` of the cluster's topic; `log` gets notes on truncation and
 * deletion. With a `budget` (bytes of record batches, for a poll; a replay reads its ranges
 * whole) the reading stops after the fetch round that reaches it, each range ending where its
 * partition's reading got to.
 */
export async function readRanges(
  cluster: KafkaCluster,
  schema: Schema,
  settings: DecodeSettings,
  topic: string,
  ranges: readonly PartitionRange[],
  sizes: FetchSizes,
  log: (message: string) => void,
  budget = Number.POSITIVE_INFINITY,
  workers = 1,
): Promise<RangeRead> {
  const cursors: Cursor[] = [...ranges]
    .sort((a, b) => a.partition - b.partition)
    .map((r) => ({ partition: r.partition, from: r.from, to: r.to, cur: r.from, deleted: 0, decoder: null, pieces: [] }));
  const decode = workers > 1 ? (w: Work) => decodeElsewhere(w, schema, settings, topic, workers) : (w: Work) => decodeInto(w, schema, settings, topic);
  const byPartition = new Map(cursors.map((c) => [c.partition, c]));
  const fetchActive = (): Promise<FetchedPartition[]> | null => {
    const active = cursors.filter((c) => c.cur < c.to);
    if (active.length === 0) return null;
    const p = cluster.fetch(active.map((c) => ({ partition: c.partition, offset: c.cur })), sizes.maxBytes, sizes.maxPartitionBytes);
    // Awaited on the next turn of the loop; this only keeps an early failure from being "unhandled".
    p.catch(() => undefined);
    return p;
  };

  let bytes = 0;
  let cut = false;
  let inflight = fetchActive();
  while (inflight !== null) {
    let results: FetchedPartition[];
    try {
      results = await inflight;
    } catch (e) {
      if (!(e instanceof OffsetOutOfRange)) throw e;
      const c = byPartition.get(e.partition);
      if (c === undefined) throw e;
      await recoverOutOfRange(cluster, topic, c, log);
      inflight = fetchActive();
      continue;
    }
    const work: Work[] = [];
    const empty: FetchedPartition[] = [];
    for (const fp of results) {
      const c = byPartition.get(fp.partition);
      if (c === undefined || c.cur >= c.to) continue;
      if (fp.end > c.cur) {
        work.push({ cursor: c, messages: fp.messages, recordSet: fp.recordSet, start: c.cur, stop: c.to });
        c.cur = Math.min(fp.end, c.to);
        bytes += fetchedBytes(fp);
      } else {
        empty.push(fp);
      }
    }
    if (work.length === 0) {
      // No partition moved, so no response was cut short by the others: what is missing is not there.
      for (const fp of empty) {
        const c = byPartition.get(fp.partition)!;
        if (fp.stableOffset <= c.cur) {
          log(`partition ${c.partition} of topic "${topic}" ends at offset ${c.cur}, before ${c.to} (the log was truncated, e.g. after a leader change); reading up to ${c.cur}`);
          c.to = c.cur;
        } else {
          c.cur = c.to;
        }
      }
      if (empty.length === 0) {
        throw new SluiceError('connection', `the brokers answered a fetch of topic "${topic}" without the partitions asked for; retrying at the next epoch`);
      }
    }
    if (bytes >= budget) {
      for (const c of cursors) {
        if (c.cur >= c.to) continue;
        c.to = c.cur;
        cut = true;
      }
    }
    inflight = fetchActive();
    for (const w of work) decode(w);
  }

  const batches: Batch[] = [];
  const deadLetters: DeadLetter[] = [];
  if (workers > 1) {
    for (const p of await allOrRelease(cursors.flatMap((c) => c.pieces), (p) => p.batches)) {
      batches.push(...p.batches);
      deadLetters.push(...p.deadLetters);
    }
  }
  for (const c of cursors) {
    if (c.decoder === null) continue;
    batches.push(...c.decoder.finish());
    deadLetters.push(...c.decoder.deadLetters);
  }
  const read = cursors.map((c) => (c.deleted > 0 ? { partition: c.partition, from: c.from, to: c.to, deleted: c.deleted } : { partition: c.partition, from: c.from, to: c.to }));
  return { batches, deadLetters, ranges: read, cut };
}

/** The bytes a fetched partition holds: its record set, or its message values when kafkajs decoded it. */
function fetchedBytes(fp: FetchedPartition): number {
  const rs = fp.recordSet;
  if (rs !== undefined) return rs.end - rs.start;
  let n = 0;
  for (const m of fp.messages) n += m.value === null ? 0 : m.value.length;
  return n;
}

/**
 * Decodes a fetched partition's records in shard worker `partition mod workers`, which keeps the
 * rows (the engine's thread gets handles, parked.ts): the record set's bytes are copied out of
 * the response (whose buffer the next fetch reuses) and moved to the worker. Messages kafkajs
 * decoded (no record set) are decoded here, as a piece of their own in the partition's order.
 */
function decodeElsewhere(w: Work, schema: Schema, settings: DecodeSettings, topic: string, workers: number): void {
  const c = w.cursor;
  const rs = w.recordSet;
  if (rs === undefined) {
    const alone: Cursor = { ...c, decoder: null, pieces: [] };
    decodeInto({ ...w, cursor: alone }, schema, settings, topic);
    c.pieces.push(Promise.resolve({ batches: alone.decoder?.finish() ?? [], deadLetters: alone.decoder?.deadLetters ?? [] }));
    return;
  }
  const bytes = new Uint8Array(rs.end - rs.start);
  bytes.set(rs.buffer.subarray(rs.start, rs.end));
  const shard = c.partition % workers;
  // Only what decoding reads of the source's settings (not its brokers or credentials).
  const decoding: DecodeSettings = { format: settings.format, manyPerMessage: settings.manyPerMessage, layout: settings.layout, maxMessageBytes: settings.maxMessageBytes };
  const task = { kind: 'kafka' as const, schema, settings: decoding, topic, partition: c.partition, bytes, from: w.start, to: w.stop, aborted: rs.aborted };
  const piece = shardPool()
    .runTask(shard, task, [bytes.buffer])
    .then((r): Piece => ({ batches: keptParts(shard, r, schema.map((f) => f.type)), deadLetters: r.deadLetters }));
  // Awaited at the end of readRanges; this only keeps an early failure from being "unhandled".
  piece.catch(() => undefined);
  c.pieces.push(piece);
}

function decodeInto(w: Work, schema: Schema, settings: DecodeSettings, topic: string): void {
  const c = w.cursor;
  c.decoder ??= new MessageDecoder(schema, settings, topic, c.partition, Math.min(c.to - c.from, 1 << 16));
  const d = c.decoder;
  const rs = w.recordSet;
  if (rs !== undefined) {
    // Straight from the response into the decoder's columns, record by record.
    decodeRecordSet(rs.buffer, rs.start, rs.end, w.start, w.stop, rs.aborted, d);
    return;
  }
  const ms = w.messages;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    const offset = Number(m.offset);
    // Compressed batches start before the requested offset; a response may run past the range.
    if (offset < w.start) continue;
    if (offset >= w.stop) break;
    d.add(m, offset);
  }
}

/** A fetch offset left the partition's log: skip what retention deleted, or stop at a truncated end. */
async function recoverOutOfRange(cluster: KafkaCluster, topic: string, c: Cursor, log: (message: string) => void): Promise<void> {
  const [earliest, latest] = await Promise.all([cluster.offsets([c.partition], 'earliest'), cluster.offsets([c.partition], 'latest')]);
  const low = earliest.get(c.partition)!;
  const high = latest.get(c.partition)!;
  if (c.cur < low) {
    const skip = Math.min(low, c.to) - c.cur;
    log(`offsets ${c.cur}..${c.cur + skip - 1} of partition ${c.partition} of topic "${topic}" were deleted by retention before they were read; ${skip} record(s) skipped`);
    c.deleted += skip;
    c.cur += skip;
  } else if (c.cur >= high) {
    log(`partition ${c.partition} of topic "${topic}" ends at offset ${high}, before ${c.to} (the log was truncated); reading up to ${c.cur}`);
    c.to = c.cur;
  } else {
    throw new SluiceError('connection', `offset ${c.cur} of partition ${c.partition} of topic "${topic}" was out of range but lies within ${low}..${high}; retrying at the next epoch`);
  }
}
