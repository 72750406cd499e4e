/**
 * The Kafka sink (`connector = 'kafka'` on CREATE SINK): writes each epoch's changes as JSON
 * messages (change-messages.ts).
 *
 * An updating input needs key columns (`key = 'col, …'`, or the primary key the engine passes
 * as `primaryKey` on the sink context): messages are upserts and tombstones keyed by them.
 * Append-only input is written as plain messages, keyed when `key` is set.
 *
 * Delivery (the `delivery` option):
 *   - exactly_once (default): a transactional producer with a stable transactional id writes
 *     each epoch in one transaction that also holds the sink's progress record (progress.ts).
 *     `open()` first initialises the producer id, which fences an older producer with the same
 *     id and aborts its open transaction, then reads the last committed epoch with
 *     read_committed isolation. Epochs at or below it are skipped, so a read_committed consumer
 *     sees every epoch once. A failed write aborts its transaction and drops the producer; the
 *     next write opens again, so an epoch whose commit did land before the error is not
 *     written twice.
 *   - at_least_once: an idempotent producer (acks from all in-sync replicas, one request in
 *     flight, so retries neither duplicate nor reorder within a partition); `open()` returns
 *     null and an epoch handed again is written again (upserts by key make that harmless for
 *     an updating input; append-only rows are duplicated).
 *
 * `open()` also makes sure the topic exists (creating it with the brokers' default partitions
 * and replication if not), since a producer asked to write to a missing topic would retry
 * forever; exactly-once sinks likewise create their compacted progress topic.
 */
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SinkConnector, SinkContext, SinkFactory } from '../api.js';
import { changeMessages, type ChangeMessage } from './change-messages.js';
import { KafkaCluster, kafkaErrorText } from './cluster.js';
import { defaultTransactionalId, readKafkaSinkOptions, type KafkaSinkConfig } from './options.js';
import { lastCommittedEpoch, progressRecord } from './progress.js';

/** Messages per produce call: kafkajs groups a call's messages by partition in quadratic time. */
const MESSAGES_PER_SEND = 1000;

/** Errors kafkajs logs while it retries them itself (topic creation, leader elections). */
const RETRIED = ['does not host this topic-partition', 'no leader for this topic-partition'];

/** A sink context that may carry the input's primary key (column names). */
type KeyedSinkContext = SinkContext & { readonly primaryKey?: readonly string[] };

/** An open transactional producer and the last epoch the topic holds from this sink. */
interface Transactional {
  readonly producer: Producer;
  last: number | null;
}

/** Where an exactly-once sink's transactions go besides its topic. */
interface ExactlyOnce {
  readonly transactionalId: string;
  readonly progressTopic: string;
}

/** A Kafka sink writing one topic. */
export class KafkaSink implements SinkConnector {
  private readonly ctx: SinkContext;
  private readonly config: KafkaSinkConfig;
  private readonly key: readonly number[] | null;
  private readonly kafka: Kafka;
  /** The transactional id and progress topic of an exactly-once sink; null for at-least-once. */
  private readonly exactlyOnce: ExactlyOnce | null;
  private producer: Promise<Producer> | null = null;
  private transactional: Promise<Transactional> | null = null;

  constructor(ctx: SinkContext) {
    this.ctx = ctx;
    this.config = readKafkaSinkOptions(ctx.options, ctx.schema);
    this.key = this.config.key ?? primaryKeyOf(ctx as KeyedSinkContext);
    if (!ctx.appendOnly && this.key === null) {
      throw new SluiceError('invalid_parameter', `sink "${ctx.name}" writes an updating input, whose rows change and disappear, and a Kafka topic can only show that as upserts by key; add key = '<columns>' to the WITH list (for a GROUP BY view, its grouping columns)`);
    }
    const d = this.config.delivery;
    this.exactlyOnce = d.mode === 'exactly_once' ? { transactionalId: d.transactionalId ?? defaultTransactionalId(ctx.name, this.config.topic), progressTopic: d.progressTopic } : null;
    this.kafka = new Kafka({
      brokers: [...this.config.brokers],
      clientId: `sluice-${ctx.name}`,
      logLevel: logLevel.ERROR,
      logCreator: () => ({ log }) => {
        const error = typeof log.error === 'string' ? log.error : '';
        if (!RETRIED.some((t) => error.includes(t))) ctx.log(`kafka: ${log.message}${error ? `: ${error}` : ''}`);
      },
    });
  }

  async open(): Promise<number | null> {
    if (this.exactlyOnce === null) {
      await this.connect();
      return null;
    }
    return (await this.openTransactional(this.exactlyOnce)).last;
  }

  async write(epoch: number, batches: readonly Batch[]): Promise<void> {
    if (this.exactlyOnce !== null) return this.writeTransaction(this.exactlyOnce, epoch, batches);
    const messages = this.messages(batches);
    if (messages.length === 0) return;
    const producer = await this.connect();
    for (let i = 0; i < messages.length; i += MESSAGES_PER_SEND) {
      await producer.send({ topic: this.config.topic, acks: -1, messages: messages.slice(i, i + MESSAGES_PER_SEND) });
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    if (p !== null) await (await p.catch(() => null))?.disconnect();
    await this.dropTransactional();
  }

  /** Writes epoch n and its progress record in one transaction, unless the topic holds n already. */
  private async writeTransaction(eo: ExactlyOnce, epoch: number, batches: readonly Batch[]): Promise<void> {
    const t = await this.openTransactional(eo);
    if (t.last !== null && epoch <= t.last) return;
    const messages = this.messages(batches);
    // An epoch without messages leaves nothing to repeat; a replay of it writes nothing either.
    if (messages.length === 0) return;
    const tx = await t.producer.transaction();
    try {
      for (let i = 0; i < messages.length; i += MESSAGES_PER_SEND) {
        await tx.send({ topic: this.config.topic, acks: -1, messages: messages.slice(i, i + MESSAGES_PER_SEND) });
      }
      await tx.send({ topic: eo.progressTopic, acks: -1, messages: [progressRecord(eo.transactionalId, this.ctx.name, epoch)] });
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => undefined);
      // The commit may have landed before the error: the next write opens again and reads the truth.
      await this.dropTransactional();
      throw new SluiceError('connection', `sink "${this.ctx.name}" could not commit epoch ${epoch} to Kafka topic "${this.config.topic}": ${kafkaErrorText(e)}; the epoch is not written and is retried`, { cause: e });
    }
    t.last = epoch;
  }

  private messages(batches: readonly Batch[]): ChangeMessage[] {
    return changeMessages(this.ctx.schema, batches, this.key, !this.ctx.appendOnly);
  }

  /** Opens the transactional producer once: topics, producer id (fencing), last committed epoch. */
  private openTransactional(eo: ExactlyOnce): Promise<Transactional> {
    this.transactional ??= (async () => {
      const producer = this.kafka.producer({ transactionalId: eo.transactionalId, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      try {
        await this.ensureTopic(this.config.topic, false);
        await this.ensureTopic(eo.progressTopic, true);
        await producer.connect();
        // Initialises the producer id: an older producer with this id is fenced and its open
        // transaction aborted (or its commit completed) before the progress is read.
        await (await producer.transaction()).abort();
        return { producer, last: await this.readProgress(eo) };
      } catch (e) {
        this.transactional = null;
        await producer.disconnect().catch(() => undefined);
        throw this.connectError(e);
      }
    })();
    return this.transactional;
  }

  private async dropTransactional(): Promise<void> {
    const t = this.transactional;
    this.transactional = null;
    if (t !== null) await (await t.catch(() => null))?.producer.disconnect().catch(() => undefined);
  }

  private async readProgress(eo: ExactlyOnce): Promise<number | null> {
    const cluster = new KafkaCluster(this.config.brokers, eo.progressTopic, `sluice-${this.ctx.name}-progress`);
    await cluster.connect();
    try {
      return await lastCommittedEpoch(cluster, eo.transactionalId);
    } finally {
      await cluster.disconnect().catch(() => undefined);
    }
  }

  private connect(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      try {
        await this.ensureTopic(this.config.topic, false);
        await producer.connect();
      } catch (e) {
        this.producer = null;
        await producer.disconnect().catch(() => undefined);
        throw this.connectError(e);
      }
      return producer;
    })();
    return this.producer;
  }

  private connectError(e: unknown): SluiceError {
    if (e instanceof SluiceError) return e;
    return new SluiceError('connection', `sink "${this.ctx.name}" cannot connect to Kafka brokers ${this.config.brokers.join(',')}: ${kafkaErrorText(e)}; check that the brokers are running and the brokers option is right`, { cause: e });
  }

  /** Makes sure `topic` exists; a progress topic is created compacted with one partition. */
  private async ensureTopic(topic: string, progress: boolean): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if ((await admin.listTopics()).includes(topic)) return;
      const spec = progress ? { topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : { topic };
      try {
        await admin.createTopics({ topics: [spec], waitForLeaders: true });
      } catch (e) {
        // Another writer may have created it meanwhile.
        if ((await admin.listTopics()).includes(topic)) return;
        throw new SluiceError('connection', `sink "${this.ctx.name}" found no Kafka topic "${topic}" and could not create it: ${kafkaErrorText(e)}; create the topic, or allow this client to`, { cause: e });
      }
      this.ctx.log(progress
        ? `created Kafka topic "${topic}" (compacted, one partition) for the progress of exactly-once sinks`
        : `created Kafka topic "${topic}" with the brokers' default partitions and replication`);
    } finally {
      await admin.disconnect();
    }
  }
}

function primaryKeyOf(ctx: KeyedSinkContext): number[] | null {
  const pk = ctx.primaryKey;
  if (pk === undefined || pk.length === 0) return null;
  const idx = pk.map((n) => ctx.schema.findIndex((f) => f.name === n));
  return idx.every((j) => j >= 0) ? idx : null;
}

/** The SinkFactory of `connector = 'kafka'`. */
export const createKafkaSink: SinkFactory = (ctx) => new KafkaSink(ctx);
