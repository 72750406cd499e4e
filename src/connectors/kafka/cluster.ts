/**
 * The Kafka cluster client of the source: partition metadata, offsets (earliest, latest, by
 * timestamp) and Fetch requests for exact offset ranges.
 *
 * kafkajs has no manual partition assignment (tulios/kafkajs#373): its consumer always joins a
 * group, and the group decides which partitions it reads and from where. The direct approach
 * needs the opposite — the engine picks each partition's range — so this file drives kafkajs's
 * own cluster object (metadata, leaders, ListOffsets, the connections) without a consumer.
 * Fetch requests go over a connection of sluice's own (fetch-connection.ts: Fetch v11, responses
 * assembled in reused buffers) and their responses are parsed here (kafkajs' decoding makes an
 * object, Longs and Buffer slices per record): each partition's record set is handed on as a
 * span of the response, which the reader decodes with record-batches.ts straight into its columns.
 * A broker without Fetch v11, or a batch in an old format or with a codec other than gzip, goes
 * back to kafkajs' fetch and decoding. That object is internal to kafkajs; this is the only file that touches
 * it, its shape is checked when a client is made, and package.json pins kafkajs 2.2.4 (the
 * last release).
 *
 * Reads use READ_COMMITTED: "latest" is the last stable offset, and records of aborted
 * transactions and control records are dropped (gaps in the offsets, never rows).
 */
import { createRequire } from 'node:module';
import { Kafka, logLevel } from 'kafkajs';
import { SluiceError } from '../../common/errors.js';
import { FetchConnection } from './fetch-connection.js';
import { decodeRecordSet, RecordColumns, recordSetEnd, UnsupportedBatch, type AbortedTransaction } from './record-batches.js';

const require = createRequire(import.meta.url);

/** A record as kafkajs decodes it from a Fetch response. */
export interface FetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | null | (Buffer | null)[] | undefined>>;
  readonly isControlRecord: boolean;
  /** Present for record batches (message format v2): where the record's batch ends. */
  readonly batchContext?: { readonly firstOffset: string; readonly lastOffsetDelta: number };
}

/** One partition of a Fetch response. */
export interface FetchedPartition {
  readonly partition: number;
  /** The partition's last stable offset at the broker when it answered. */
  readonly stableOffset: number;
  /** Records from the requested offset on, aborted transactions and control records removed (kafkajs' decoding). */
  readonly messages: readonly FetchedMessage[];
  /** The record set, not yet decoded, when sluice parsed the response itself (then `messages` is empty). */
  readonly recordSet?: RecordSet;
  /** One past the last offset the response covers (including removed records); `from` when empty. */
  readonly end: number;
}

/**
 * One partition's record set in a Fetch response: buffer[start, end), to be decoded from offset
 * `from` on, before the next fetch on the cluster has been answered (fetch-connection.ts reuses
 * its response buffers).
 */
export interface RecordSet {
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  readonly from: number;
  /** The aborted transactions the response lists for the partition, by first offset. */
  readonly aborted: readonly AbortedTransaction[];
}

/** A partition's records as message objects, whichever decoder read them (for the few readers that want objects). */
export function fetchedMessages(p: FetchedPartition): readonly FetchedMessage[] {
  const rs = p.recordSet;
  if (rs === undefined) return p.messages;
  const r = new RecordColumns();
  // A copy: the response buffer is reused by later fetches, and these objects may outlive it.
  const bytes = Buffer.from(rs.buffer.subarray(rs.start, rs.end));
  decodeRecordSet(bytes, 0, bytes.length, rs.from, Infinity, rs.aborted, r);
  const out: FetchedMessage[] = [];
  for (let i = 0; i < r.count; i++) {
    out.push({ offset: String(r.offsets[i]), timestamp: String(r.timestamps[i]), key: r.key(i), value: r.value(i), headers: r.headers(i), isControlRecord: false });
  }
  return out;
}

/** A partition's wanted start offset in a Fetch request. */
export interface FetchRequest {
  readonly partition: number;
  readonly offset: number;
}

/** Thrown by fetch() when a requested offset is no longer (or not yet) in the partition. */
export class OffsetOutOfRange extends Error {
  constructor(readonly partition: number) {
    super(`offset out of range in partition ${partition}`);
  }
}

interface RawPartition {
  partition: number;
  highWatermark: string;
  lastStableOffset?: string;
  abortedTransactions?: unknown[];
  messages: FetchedMessage[];
}

interface InternalBroker {
  versions?: Record<number, { minVersion: number; maxVersion: number }>;
  connectionPool?: { host?: unknown; port?: unknown; ssl?: unknown; sasl?: unknown };
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: RawPartition[] }[] }>;
}

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number | null; partitionErrorCode: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<InternalBroker>;
  fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[]; fromBeginning?: boolean; fromTimestamp?: number }[]): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

type FilterAborted = (args: { messages: FetchedMessage[]; abortedTransactions: unknown[] }) => FetchedMessage[];

const READ_COMMITTED = 1;
const FETCH_API_KEY = 1;

type ErrorFromCode = (code: number) => Error;
const CLUSTER_METHODS = ['connect', 'disconnect', 'addTargetTopic', 'refreshMetadata', 'findTopicPartitionMetadata', 'findLeaderForPartitions', 'findBroker', 'fetchTopicsOffset'];


function internalsChanged(what: string): SluiceError {
  return new SluiceError('internal', `the installed kafkajs does not have the internals the Kafka source uses (${what}); install kafkajs 2.2.4 (npm install kafkajs@2.2.4)`);
}

/** The message of a kafkajs error, with the broker-side error type when there is one. */
export function kafkaErrorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const type = (e as { type?: unknown }).type;
  return typeof type === 'string' && !e.message.includes(type) ? `${e.message} (${type})` : e.message;
}

/** A connection to one Kafka cluster for reading one topic. */
export class KafkaCluster {
  private readonly cluster: InternalCluster;
  /** kafkajs' own filter of aborted transactions' messages (require caches the module). */
  private readonly filterAborted: FilterAborted;
  private readonly topic: string;
  private readonly brokers: readonly string[];

  constructor(brokers: readonly string[], topic: string, clientId: string) {
    this.topic = topic;
    this.brokers = brokers;
    this.clientId = clientId;
    const kafka = new Kafka({
      brokers: [...brokers],
      clientId,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      // Few, short retries: a poll that fails is simply tried again at the next epoch.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
    const create = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
    if (typeof create !== 'function') throw internalsChanged('Kafka createCluster');
    this.cluster = create({ metadataMaxAge: 300_000, allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED }) as InternalCluster;
    for (const m of CLUSTER_METHODS) {
      if (typeof (this.cluster as unknown as Record<string, unknown>)[m] !== 'function') throw internalsChanged(`Cluster.${m}`);
    }
    this.filterAborted = require('kafkajs/src/consumer/filterAbortedMessages.js') as FilterAborted;
    this.errorFromCode = (require('kafkajs/src/protocol/error.js') as { createErrorFromCode: ErrorFromCode }).createErrorFromCode;
  }

  private readonly clientId: string;
  /** Our own fetch connections, by broker node id. */
  private readonly connections = new Map<string, FetchConnection>();
  private readonly errorFromCode: ErrorFromCode;
  /** Set when a broker sent a batch our decoder does not read: kafkajs decodes from then on. */
  private kafkajsDecoding = false;

  /**
   * Our own fetch connection to a broker, when it speaks Fetch v11 over plain TCP (this client
   * is made without TLS or SASL, so its brokers do); null sends the fetch through kafkajs.
   */
  private connection(nodeId: string, broker: InternalBroker): FetchConnection | null {
    if (this.kafkajsDecoding) return null;
    const v = broker.versions?.[FETCH_API_KEY];
    if (v === undefined || v.maxVersion < 11 || v.minVersion > 11) return null;
    const pool = broker.connectionPool;
    if (pool === undefined || typeof pool.host !== 'string' || typeof pool.port !== 'number' || pool.ssl || pool.sasl) return null;
    let c = this.connections.get(nodeId);
    // A broker that moved (new metadata for the same node id) gets a new connection.
    if (c !== undefined && (c.host !== pool.host || c.port !== pool.port)) {
      c.close();
      c = undefined;
    }
    if (c === undefined) {
      c = new FetchConnection(pool.host, pool.port, this.clientId, 30_000, 3000);
      this.connections.set(nodeId, c);
    }
    return c;
  }

  /**
   * A Fetch v11 round on one broker over our own connection, its response parsed by sluice:
   * each partition's record set is handed on undecoded (record-batches.ts decodes it).
   */
  private async fetchOwn(connection: FetchConnection, partitions: readonly number[], wanted: ReadonlyMap<number, number>, maxBytes: number, maxPartitionBytes: number): Promise<FetchedPartition[]> {
    const body = await connection.fetch({
      topic: this.topic,
      partitions: partitions.map((partition) => ({ partition, offset: wanted.get(partition)!, maxBytes: maxPartitionBytes })),
      maxBytes,
      // Only data the partition already holds is requested, so the broker never needs to wait.
      maxWaitMs: 500,
      isolationLevel: READ_COMMITTED,
    });
    return this.parseFetch(body, wanted);
  }

  /** Fetch response v11: throttle, error, session, then per topic and partition a header and a record set. */
  private parseFetch(b: Buffer, wanted: ReadonlyMap<number, number>): FetchedPartition[] {
    let p = 4;
    const top = b.readInt16BE(p);
    if (top !== 0) throw this.errorFromCode(top);
    p += 6;
    const out: FetchedPartition[] = [];
    const topics = b.readInt32BE(p);
    p += 4;
    for (let t = 0; t < topics; t++) {
      p += 2 + b.readInt16BE(p);
      const parts = b.readInt32BE(p);
      p += 4;
      for (let k = 0; k < parts; k++) {
        const partition = b.readInt32BE(p);
        const code = b.readInt16BE(p + 4);
        const highWatermark = Number(b.readBigInt64BE(p + 6));
        const lastStable = Number(b.readBigInt64BE(p + 14));
        p += 30;
        const n = b.readInt32BE(p);
        p += 4;
        const aborted: AbortedTransaction[] = [];
        for (let a = 0; a < n; a++, p += 16) aborted.push({ producerId: b.readBigInt64BE(p), firstOffset: Number(b.readBigInt64BE(p + 8)) });
        aborted.sort((x, y) => x.firstOffset - y.firstOffset);
        p += 4; // preferred read replica
        const size = b.readInt32BE(p);
        p += 4;
        const start = p;
        if (size > 0) p += size;
        if (code === 1) throw new OffsetOutOfRange(partition);
        if (code !== 0) throw this.errorFromCode(code);
        const from = wanted.get(partition);
        if (from === undefined) continue;
        // Only the batch headers are read here; the records are decoded by whoever reads them.
        const end = size > 0 ? recordSetEnd(b, start, start + size) : -1;
        const recordSet = { buffer: b, start, end: start + Math.max(0, size), from, aborted };
        out.push({ partition, stableOffset: lastStable >= 0 ? lastStable : highWatermark, messages: [], recordSet, end: Math.max(from, end) });
      }
    }
    return out;
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async disconnect(): Promise<void> {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
    await this.cluster.disconnect();
  }

  /** The topic's partitions, from fresh metadata; throws SluiceError when the topic does not exist. */
  async partitions(): Promise<number[]> {
    try {
      await this.cluster.addTargetTopic(this.topic);
      await this.cluster.refreshMetadata();
    } catch (e) {
      const type = (e as { type?: unknown }).type;
      if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw new SluiceError('invalid_parameter', `Kafka topic "${this.topic}" does not exist on brokers ${this.brokers.join(',')}; create it (kafka-topics.sh --create --topic ${this.topic} …) or fix the topic option`, { cause: e });
      }
      throw e;
    }
    return this.cluster.findTopicPartitionMetadata(this.topic).map((p) => p.partitionId).sort((a, b) => a - b);
  }

  /** The earliest offset, the latest (last stable) offset, or the first offset at or after a timestamp, per partition. */
  async offsets(partitions: readonly number[], at: 'earliest' | 'latest' | { readonly timestampMillis: number }): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (partitions.length === 0) return out;
    const query = { topic: this.topic, partitions: partitions.map((partition) => ({ partition })) };
    const spec = at === 'earliest' ? { fromBeginning: true } : at === 'latest' ? { fromBeginning: false } : { fromTimestamp: at.timestampMillis };
    const res = await this.cluster.fetchTopicsOffset([{ ...query, ...spec }]);
    for (const t of res) for (const p of t.partitions) out.set(p.partition, Number(p.offset));
    for (const p of partitions) {
      if (!out.has(p)) throw new SluiceError('connection', `the brokers returned no offset for partition ${p} of topic "${this.topic}"; retrying at the next epoch`);
    }
    return out;
  }

  /**
   * One Fetch round: a request to each partition leader (in parallel) for the given start
   * offsets. Partitions may come back empty when a response filled up with other partitions.
   * Rounds on one cluster run one after another (a poll and a REPLAY may share it): a round's
   * record sets are then decoded before another round can be answered into the connection's
   * reused buffers, even when one round waits for a second broker.
   */
  fetch(requests: readonly FetchRequest[], maxBytes: number, maxPartitionBytes: number): Promise<FetchedPartition[]> {
    const round = this.lastRound.then(() => this.fetchRound(requests, maxBytes, maxPartitionBytes));
    this.lastRound = round.catch(() => undefined);
    return round;
  }

  private lastRound: Promise<unknown> = Promise.resolve();

  private async fetchRound(requests: readonly FetchRequest[], maxBytes: number, maxPartitionBytes: number): Promise<FetchedPartition[]> {
    const wanted = new Map(requests.map((r) => [r.partition, r.offset]));
    const leaders = this.cluster.findLeaderForPartitions(this.topic, [...wanted.keys()]);
    const missing = [...wanted.keys()].filter((p) => !Object.values(leaders).some((ps) => ps.includes(p)));
    if (missing.length > 0) {
      throw new SluiceError('connection', `partition(s) ${missing.join(', ')} of topic "${this.topic}" have no leader in the cluster metadata; retrying at the next epoch`);
    }
    const rounds = Object.entries(leaders).map(async ([nodeId, partitions]) => {
      const broker = await this.cluster.findBroker({ nodeId });
      const connection = this.connection(nodeId, broker);
      if (connection !== null) {
        try {
          return await this.fetchOwn(connection, partitions, wanted, maxBytes, maxPartitionBytes);
        } catch (e) {
          if (!(e instanceof UnsupportedBatch)) throw e;
          // Message format 0/1 or a codec we do not decode: kafkajs decodes this cluster's fetches.
          this.kafkajsDecoding = true;
        }
      }
      let response;
      try {
        response = await broker.fetch({
          isolationLevel: READ_COMMITTED,
          // Only data the partition already holds is requested, so the broker never needs to wait.
          maxWaitTime: 500,
          minBytes: 1,
          maxBytes,
          topics: [{ topic: this.topic, partitions: partitions.map((partition) => ({ partition, fetchOffset: String(wanted.get(partition)), maxBytes: maxPartitionBytes })) }],
        });
      } catch (e) {
        if ((e as { name?: unknown }).name === 'KafkaJSOffsetOutOfRange') throw new OffsetOutOfRange(Number((e as { partition?: unknown }).partition));
        throw e;
      }
      return response.responses.flatMap((t) => t.partitions.map((p) => this.partitionOf(p, wanted.get(p.partition)!)));
    });
    return (await Promise.all(rounds)).flat();
  }

  private partitionOf(p: RawPartition, from: number): FetchedPartition {
    const raw = p.messages;
    let end = from;
    const last = raw.length > 0 ? raw[raw.length - 1]! : undefined;
    if (last !== undefined) {
      // A record batch may end after its last surviving record (compaction, control records).
      const ctx = last.batchContext;
      const batchEnd = ctx !== undefined && typeof ctx.lastOffsetDelta === 'number' ? Number(ctx.firstOffset) + ctx.lastOffsetDelta + 1 : Number(last.offset) + 1;
      end = Math.max(from, batchEnd, Number(last.offset) + 1);
    }
    const aborted = p.abortedTransactions ?? [];
    let messages = aborted.length > 0 ? this.filterAborted({ messages: raw, abortedTransactions: aborted }) : raw;
    if (messages.some((m) => m.isControlRecord)) messages = messages.filter((m) => !m.isControlRecord);
    const lso = Number(p.lastStableOffset ?? -1);
    return { partition: p.partition, stableOffset: lso >= 0 ? lso : Number(p.highWatermark), messages, end };
  }
}
