/**
 * Helpers for the tests against the real Kafka broker that test/global-setup.ts starts: the
 * broker address, topics with unique names, producing, reading a topic back, and engines that
 * are closed after each test.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin, type IHeaders, type Producer } from 'kafkajs';
import { afterAll, afterEach, inject } from 'vitest';
import type { Value } from '../../src/common/types.js';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';

/** The broker list of the test run's broker; throws (never skips) without one. */
export function brokers(): string {
  const b = inject('kafkaBrokers') ?? process.env.SLUICE_KAFKA_BROKERS;
  if (!b) {
    throw new Error('no Kafka broker for this test: run vitest with --globalSetup test/global-setup.ts (npm test does), or set SLUICE_KAFKA_BROKERS=127.0.0.1:<port>');
  }
  return b;
}

interface Client {
  readonly kafka: Kafka;
  readonly admin: Admin;
  producer: Producer;
}

let client: Client | null = null;

async function kafka(): Promise<Client> {
  if (client === null) {
    const k = new Kafka({ brokers: brokers().split(','), clientId: 'sluice-tests', logLevel: logLevel.NOTHING });
    const admin = k.admin();
    const producer = k.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await admin.connect();
    await producer.connect();
    client = { kafka: k, admin, producer };
  }
  return client;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  const c = client;
  client = null;
  if (c !== null) {
    await c.producer.disconnect();
    await c.admin.disconnect();
  }
});

/** An engine driven by FLUSH only, closed after the test; `log` gets its log lines. */
export async function engine(log: (message: string) => void = () => undefined, parallelism = 1): Promise<Engine> {
  const e = await createEngine({ autoStart: false, log, parallelism });
  cleanups.push(() => e.close());
  return e;
}

/** Registers a cleanup to run after the current test. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** A topic name no test has used. */
export function uniqueTopic(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

/** Creates a topic with a unique name; `config` are topic configs such as max.message.bytes. */
export async function createTopic(partitions: number, config: Record<string, string> = {}): Promise<string> {
  const { admin } = await kafka();
  const topic = uniqueTopic();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }],
  });
  return topic;
}

/** Grows a topic to `count` partitions, and waits until they have leaders. */
export async function addPartitions(topic: string, count: number): Promise<void> {
  const c = await kafka();
  await c.admin.createPartitions({ topicPartitions: [{ topic, count }] });
  for (let i = 0; ; i++) {
    const { topics } = await c.admin.fetchTopicMetadata({ topics: [topic] });
    if (topics[0]!.partitions.filter((p) => p.leader >= 0).length >= count) break;
    if (i === 100) throw new Error(`the new partitions of ${topic} got no leader in 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // kafkajs's producer silently drops messages for partitions its metadata does not list yet.
  await c.producer.disconnect();
  c.producer = c.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await c.producer.connect();
}

/** A message to produce. */
export interface Out {
  readonly value: string | Buffer | null;
  readonly key?: string | null;
  readonly partition?: number;
  readonly timestamp?: number;
  readonly headers?: IHeaders;
}

/** Produces `messages` (in calls of at most 500) and waits for the broker's acknowledgement. */
export async function produce(topic: string, messages: readonly Out[]): Promise<void> {
  const { producer } = await kafka();
  for (let i = 0; i < messages.length; i += 500) {
    const chunk = messages.slice(i, i + 500);
    const written = await producer.send({
      topic,
      acks: -1,
      messages: chunk.map((m) => ({ value: m.value, key: m.key ?? null, partition: m.partition, timestamp: m.timestamp === undefined ? undefined : String(m.timestamp), headers: m.headers })),
    });
  }
}

/** Produces `batches` in one transaction each, committing or aborting it as `commit[i]` says. */
export async function produceTransactions(topic: string, batches: readonly (readonly string[])[], commit: readonly boolean[]): Promise<void> {
  const { kafka: k } = await kafka();
  const producer = k.producer({ transactionalId: `sluice-test-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < batches.length; i++) {
      const tx = await producer.transaction();
      await tx.send({ topic, messages: batches[i]!.map((value) => ({ value, partition: 0 })) });
      if (commit[i]) await tx.commit();
      else await tx.abort();
    }
  } finally {
    await producer.disconnect();
  }
}

/** A message read back: key and value as text (null stays null), with its partition and offset. */
export interface In {
  readonly key: string | null;
  readonly value: string | null;
  readonly partition: number;
  readonly offset: number;
}

/**
 * Every message of `topic` a read_committed consumer of a fresh group sees, in offset order per
 * partition. The read ends when each partition's consumer position reaches the high watermark
 * it had at the start: batch events count, since transaction markers and aborted records take
 * offsets but deliver no message.
 */
export async function readTopic(topic: string): Promise<In[]> {
  const { kafka: k, admin } = await kafka();
  const ends = await admin.fetchTopicOffsets(topic);
  const pending = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high) - 1]));
  const got: In[] = [];
  if (pending.size === 0) return got;
  const consumer = k.consumer({ groupId: `sluice-test-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`read ${got.length} messages of ${topic} and not yet the end of partition(s) ${[...pending.keys()].join(', ')} in 30 s`)), 30_000);
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = pending.get(payload.partition);
        // An empty response (nothing stable yet: a commit returns before its markers are
        // written) reports the high watermark as its last offset, so it does not count.
        if (last !== undefined && payload.firstOffset !== null && Number(payload.lastOffset) >= last) pending.delete(payload.partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          done();
        }
      });
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({ key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? null, partition, offset: Number(message.offset) });
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Rows as sorted JSON texts, for comparing multisets of rows. */
export function rowTexts(rows: readonly (readonly Value[])[]): string[] {
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).sort();
}

/** A word → count map as the sorted rows `[word, count]` of a count view. */
export function countRows(counts: ReadonlyMap<string, number>): string[] {
  return rowTexts([...counts].map(([w, n]) => [w, BigInt(n)]));
}
