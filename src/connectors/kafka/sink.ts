/**
 * The Kafka sink (`connector = 'kafka'` on CREATE SINK): writes each epoch's changes as JSON
 * messages (change-messages.ts) with an idempotent producer (acks from all in-sync replicas,
 * one request in flight, so retries neither duplicate nor reorder within a partition).
 *
 * An updating input needs key columns (`key = 'col, …'`, or the primary key the engine passes
 * as `primaryKey` on the sink context): messages are upserts and tombstones keyed by them, so
 * writing an epoch again leaves the same last value per key (at-least-once, idempotent in
 * effect). Append-only input is written as plain messages, keyed when `key` is set.
 *
 * The producer connects at the first write, which also makes sure the topic exists (creating
 * it with the brokers' default partitions and replication if not), since a producer asked to
 * write to a missing topic would retry forever. While the brokers are unreachable a write keeps
 * retrying (the idempotent producer's rule), so the epoch waits rather than loses its output.
 */
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SinkConnector, SinkContext, SinkFactory } from '../api.js';
import { changeMessages } from './change-messages.js';
import { kafkaErrorText } from './cluster.js';
import { readKafkaSinkOptions, type KafkaSinkConfig } from './options.js';

/** Messages per produce call: kafkajs groups a call's messages by partition in quadratic time. */
const MESSAGES_PER_SEND = 1000;

/** Errors kafkajs logs while it retries them itself (topic creation, leader elections). */
const RETRIED = ['does not host this topic-partition', 'no leader for this topic-partition'];

/** A sink context that may carry the input's primary key (column names). */
type KeyedSinkContext = SinkContext & { readonly primaryKey?: readonly string[] };

/** A Kafka sink writing one topic. */
export class KafkaSink implements SinkConnector {
  private readonly ctx: SinkContext;
  private readonly config: KafkaSinkConfig;
  private readonly key: readonly number[] | null;
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | null = null;

  constructor(ctx: SinkContext) {
    this.ctx = ctx;
    this.config = readKafkaSinkOptions(ctx.options, ctx.schema);
    this.key = this.config.key ?? primaryKeyOf(ctx as KeyedSinkContext);
    if (!ctx.appendOnly && this.key === null) {
      throw new SluiceError('invalid_parameter', `sink "${ctx.name}" writes an updating input, whose rows change and disappear, and a Kafka topic can only show that as upserts by key; add key = '<columns>' to the WITH list (for a GROUP BY view, its grouping columns)`);
    }
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

  async write(_epoch: number, batches: readonly Batch[]): Promise<void> {
    const messages = changeMessages(this.ctx.schema, batches, this.key, !this.ctx.appendOnly);
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
  }

  private connect(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      try {
        await this.ensureTopic();
        await producer.connect();
      } catch (e) {
        this.producer = null;
        await producer.disconnect().catch(() => undefined);
        if (e instanceof SluiceError) throw e;
        throw new SluiceError('connection', `sink "${this.ctx.name}" cannot connect to Kafka brokers ${this.config.brokers.join(',')}: ${kafkaErrorText(e)}; check that the brokers are running and the brokers option is right`, { cause: e });
      }
      return producer;
    })();
    return this.producer;
  }

  private async ensureTopic(): Promise<void> {
    const topic = this.config.topic;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if ((await admin.listTopics()).includes(topic)) return;
      try {
        await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
      } catch (e) {
        // Another writer may have created it meanwhile.
        if ((await admin.listTopics()).includes(topic)) return;
        throw new SluiceError('connection', `sink "${this.ctx.name}" found no Kafka topic "${topic}" and could not create it: ${kafkaErrorText(e)}; create the topic, or allow this client to`, { cause: e });
      }
      this.ctx.log(`created Kafka topic "${topic}" with the brokers' default partitions and replication`);
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
