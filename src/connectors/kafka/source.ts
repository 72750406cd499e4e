/**
 * The Kafka source (`connector = 'kafka'`), the direct approach: the source itself keeps the
 * next offset of every partition and never commits to a consumer group. Each poll
 *
 *   1. reads fresh metadata (partitions added since the last poll start at their earliest
 *      offset, since everything in them arrived after the source started) and each partition's
 *      latest (last stable) offset;
 *   2. plans [next, min(latest, next + bound)) per partition, where the bound is
 *      max_rate_per_partition × seconds since the last poll (at least 1), or no bound;
 *   3. reads exactly those ranges (range-reader.ts) and only then advances, so a poll that
 *      fails reads the same offsets again at the next epoch.
 *
 * The poll's range is `{ topic, partitions: [{ partition, from, to, lag }] }`: the offsets read
 * and, as lag, how many records were already in the partition beyond `to`. `replay(range)`
 * reads a recorded range again.
 *
 * A poll takes at most max_records_per_epoch records per partition and stops reading once it
 * has max_bytes_per_epoch bytes of record batches (the ranges it reports end where it stopped).
 */
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { DeadLetter, SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { KafkaCluster, kafkaErrorText } from './cluster.js';
import { readKafkaSourceOptions, type KafkaSourceConfig } from './options.js';
import { readRanges, type PartitionRange } from './range-reader.js';
import { shardThreadsDefault } from '../../exec/parallel/remote.js';

/** One partition of a Kafka poll's range: offsets [from, to) and the records left beyond `to`. */
export interface KafkaPartitionRange extends PartitionRange {
  readonly lag: number;
}

/** The input range of one Kafka source poll. */
export interface KafkaRange {
  readonly topic: string;
  readonly partitions: readonly KafkaPartitionRange[];
}

/** Where a Kafka source stands: the next offset to read in each partition. */
export interface KafkaPosition {
  readonly topic: string;
  /** Partition number (as a string key) → next offset. */
  readonly offsets: Readonly<Record<string, number>>;
}

/** A running Kafka source. */
export class KafkaSource implements SourceConnector<KafkaPosition> {
  private readonly ctx: SourceContext;
  private readonly config: KafkaSourceConfig;
  private readonly cluster: KafkaCluster;
  /** The next offset to read, per partition. */
  private readonly next = new Map<number, number>();
  private lastPollMicros = 0n;

  constructor(ctx: SourceContext) {
    this.ctx = ctx;
    this.config = readKafkaSourceOptions(ctx.options, ctx.schema);
    this.cluster = new KafkaCluster(this.config.brokers, this.config.topic, `sluice-${ctx.name}`);
  }

  /**
   * Connects and sets each partition's next offset: from `resumeFrom` when given (a partition
   * it does not know, added since, starts at its earliest offset), else by scan_startup_mode.
   */
  async start(resumeFrom: KafkaPosition | null): Promise<void> {
    if (resumeFrom && resumeFrom.topic !== this.config.topic) {
      throw new SluiceError('invalid_parameter', `source "${this.ctx.name}" reads topic "${this.config.topic}" but its saved position is of topic "${resumeFrom.topic}"; drop and recreate the source to start over`);
    }
    try {
      await this.cluster.connect();
      const partitions = await this.cluster.partitions();
      if (resumeFrom) {
        for (const p of partitions) {
          const o = resumeFrom.offsets[String(p)];
          if (o !== undefined) this.next.set(p, o);
        }
      } else {
        for (const [p, offset] of await this.startOffsets(partitions)) this.next.set(p, offset);
      }
    } catch (e) {
      await this.cluster.disconnect().catch(() => undefined);
      if (e instanceof SluiceError) throw e;
      throw new SluiceError('connection', `source "${this.ctx.name}" cannot read Kafka topic "${this.config.topic}" from brokers ${this.config.brokers.join(',')}: ${kafkaErrorText(e)}; check that the brokers are running and the brokers option is right`, { cause: e });
    }
    this.lastPollMicros = BigInt(Date.now()) * 1000n;
  }

  currentPosition(): KafkaPosition {
    return { topic: this.config.topic, offsets: Object.fromEntries([...this.next].map(([p, o]) => [String(p), o])) };
  }

  async poll(nowMicros: bigint, maxRows = Infinity): Promise<SourceRead<KafkaPosition>> {
    try {
      return await this.pollOnce(nowMicros, maxRows);
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw new SluiceError('connection', `cannot read Kafka topic "${this.config.topic}" from brokers ${this.config.brokers.join(',')}: ${kafkaErrorText(e)}; the same offsets are read at the next epoch`, { cause: e });
    }
  }

  /** Reads a range recorded by an earlier poll again, without moving the source's positions. */
  async replay(range: KafkaRange): Promise<{ batches: Batch[]; deadLetters: DeadLetter[] }> {
    if (range.topic !== this.config.topic) {
      throw new SluiceError('invalid_parameter', `the range is of topic "${range.topic}" but source "${this.ctx.name}" reads "${this.config.topic}"; replay a range this source recorded`);
    }
    const read = await readRanges(this.cluster, this.ctx.schema, this.config, this.config.topic, range.partitions, this.fetchSizes(), (m) => this.ctx.log(m), Number.POSITIVE_INFINITY, this.decodeWorkers());
    return { batches: read.batches, deadLetters: read.deadLetters };
  }

  /** The connector contract's re-read (recovery): the batches of `replay`. */
  async reread(range: KafkaRange): Promise<Batch[]> {
    return (await this.replay(range)).batches;
  }

  async stop(): Promise<void> {
    await this.cluster.disconnect();
  }

  /**
   * The shard workers that decode the partitions' record sets (partition p in worker p mod n),
   * keeping the rows (parked.ts): the engine's parallelism, when its views' instances run in
   * worker threads; 1 decodes on the engine's thread.
   */
  private decodeWorkers(): number {
    return shardThreadsDefault() ? (this.ctx.parallelism?.() ?? 1) : 1;
  }

  private async pollOnce(nowMicros: bigint, maxRows: number): Promise<SourceRead<KafkaPosition>> {
    const partitions = await this.cluster.partitions();
    const fresh = partitions.filter((p) => !this.next.has(p));
    const earliest = await this.cluster.offsets(fresh, 'earliest');
    const latest = await this.cluster.offsets(partitions, 'latest');
    // The engine's limit (max_rate, backpressure) shared evenly over the partitions, in records.
    const paced = Math.min(this.bound(nowMicros), Math.max(1, Math.ceil(maxRows / Math.max(1, partitions.length))));
    const bound = Math.min(paced, this.config.maxRecordsPerEpoch);
    // Input left behind by max_records_per_epoch alone (not by pacing) is caught up by FLUSH.
    let more = false;
    const plan: PartitionRange[] = partitions.map((partition) => {
      const from = this.next.get(partition) ?? earliest.get(partition)!;
      if (latest.get(partition)! - from > bound && bound < paced) more = true;
      return { partition, from, to: Math.max(from, Math.min(latest.get(partition)!, from + bound)) };
    });
    const read = await readRanges(this.cluster, this.ctx.schema, this.config, this.config.topic, plan, this.fetchSizes(), (m) => this.ctx.log(m), this.config.maxBytesPerEpoch, this.decodeWorkers());
    for (const r of read.ranges) this.next.set(r.partition, r.to);
    // Input left behind by max_bytes_per_epoch is caught up by FLUSH too.
    if (read.cut) more = true;
    this.lastPollMicros = nowMicros;
    for (const d of read.deadLetters) this.ctx.deadLetter(d);
    const range: KafkaRange = {
      topic: this.config.topic,
      partitions: read.ranges.map((r) => ({ ...r, lag: Math.max(0, latest.get(r.partition)! - r.to) })),
    };
    return { batches: read.batches, range, position: this.currentPosition(), more };
  }

  /** Most records per partition this poll may take by max_rate_per_partition. */
  private bound(nowMicros: bigint): number {
    const rate = this.config.maxRatePerPartition;
    if (rate === null) return Number.POSITIVE_INFINITY;
    const elapsed = nowMicros > this.lastPollMicros ? Number(nowMicros - this.lastPollMicros) / 1e6 : 0;
    return Math.max(1, Math.floor(rate * elapsed));
  }

  private fetchSizes() {
    return { maxBytes: this.config.fetchMaxBytes, maxPartitionBytes: this.config.fetchMaxPartitionBytes };
  }

  /** Where each partition that exists at start begins, per scan_startup_mode. */
  private async startOffsets(partitions: readonly number[]): Promise<Map<number, number>> {
    const s = this.config.startup;
    switch (s.mode) {
      case 'earliest':
      case 'latest':
        return this.cluster.offsets(partitions, s.mode);
      case 'timestamp': {
        const at = await this.cluster.offsets(partitions, { timestampMillis: s.millis });
        const latest = await this.cluster.offsets(partitions, 'latest');
        // -1: no message at or after the timestamp yet, so start at the end.
        for (const [p, o] of at) if (o < 0) at.set(p, latest.get(p)!);
        return at;
      }
      case 'offsets': {
        const unknown = [...s.offsets.keys()].filter((p) => !partitions.includes(p));
        if (unknown.length > 0) {
          throw new SluiceError('invalid_parameter', `scan_startup_offsets of source "${this.ctx.name}" names partition(s) ${unknown.join(', ')}, but topic "${this.config.topic}" has partitions ${partitions.join(', ')}; list only existing partitions`);
        }
        const out = await this.cluster.offsets(partitions.filter((p) => !s.offsets.has(p)), 'earliest');
        for (const [p, o] of s.offsets) out.set(p, o);
        return out;
      }
    }
  }
}

/** The SourceFactory of `connector = 'kafka'`. */
export const createKafkaSource: SourceFactory = (ctx) => new KafkaSource(ctx);
