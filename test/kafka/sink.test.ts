/**
 * The Kafka sink against a real broker: upserts and tombstones replay to the view; append-only
 * rows as plain messages; exactly-once delivery (a transaction per epoch with a progress record,
 * replayed epochs skipped, fenced and failed transactions invisible to read_committed readers).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { batchFromRows, type Batch } from '../../src/common/column.js';
import type { Schema } from '../../src/common/types.js';
import { KafkaSink } from '../../src/connectors/kafka/sink.js';
import { progressRecord } from '../../src/connectors/kafka/progress.js';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { brokers, createTopic, engine, onCleanup, produce, readTopic, rowTexts, uniqueTopic, type In } from './kafka-helpers.js';

/** The contents a keyed topic stands for: the last value per key, tombstones removing the key. */
function replay(messages: readonly In[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const m of messages) {
    expect(m.key).not.toBeNull();
    if (m.value === null) state.delete(m.key!);
    else state.set(m.key!, m.value);
  }
  return state;
}

/** A count view's rows as the JSON the sink writes: `{"word":…,"n":…}`. */
async function viewAsJson(e: Engine, view: string): Promise<string[]> {
  return (await e.viewRows(view)).map(([word, n]) => JSON.stringify({ word, n: Number(n) })).sort();
}

describe('kafka sink', () => {
  it('writes an updating view as upserts and tombstones that replay to its contents', async () => {
    const topic = await createTopic(3);
    const e = await engine();
    await e.execute(`CREATE TABLE words_t (word VARCHAR);
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words_t GROUP BY word;
      CREATE SINK out FROM v WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers()}', key = 'word');`);
    await e.execute(`INSERT INTO words_t VALUES ('a'), ('a'), ('b'), ('c'); FLUSH;`);
    await e.execute(`INSERT INTO words_t VALUES ('a'), ('d'); DELETE FROM words_t WHERE word = 'c'; FLUSH;`);
    await e.execute(`DELETE FROM words_t WHERE word = 'b'; INSERT INTO words_t VALUES ('c'); FLUSH;`);
    await e.execute('FLUSH');
    const messages = await readTopic(topic);
    expect([...replay(messages).values()].sort()).toEqual(await viewAsJson(e, 'v'));
    // One message per changed key and epoch: 3, then a d c(tombstone), then b(tombstone) c.
    expect(messages.length).toBe(8);
    const byKey = (k: string) => messages.filter((m) => m.key === JSON.stringify({ word: k })).map((m) => m.value);
    expect(byKey('a')).toEqual(['{"word":"a","n":2}', '{"word":"a","n":3}']);
    expect(byKey('b')).toEqual(['{"word":"b","n":1}', null]);
    expect(byKey('c')).toEqual(['{"word":"c","n":1}', null, '{"word":"c","n":1}']);
    // The same key always goes to the same partition, so its messages stay in order.
    for (const k of ['a', 'b', 'c', 'd']) expect(new Set(messages.filter((m) => m.key === JSON.stringify({ word: k })).map((m) => m.partition)).size).toBe(1);
  });

  it('carries a word count from a Kafka source to a Kafka sink, creating the sink topic', async () => {
    const input = await createTopic(2);
    const output = uniqueTopic();
    const words = Array.from({ length: 1000 }, (_, i) => `w${(i * 31) % 53}`);
    await produce(input, words.slice(0, 600).map((value) => ({ value })));
    const logged: string[] = [];
    const e = await engine((m) => logged.push(m));
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (connector = 'kafka', topic = '${input}', brokers = '${brokers()}', format = 'text');
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;
      CREATE SINK out FROM v WITH (connector = 'kafka', topic = '${output}', properties.bootstrap.server = '${brokers()}', format = 'json', key = 'word');
      FLUSH;`);
    await produce(input, words.slice(600).map((value) => ({ value })));
    await e.execute('FLUSH');
    const state = replay(await readTopic(output));
    expect([...state.values()].sort()).toEqual(await viewAsJson(e, 'v'));
    expect([...state.values()].reduce((n, v) => n + (JSON.parse(v) as { n: number }).n, 0)).toBe(1000);
    // The progress topic is created once per broker, by whichever exactly-once sink opens first.
    expect(logged.filter((l) => !l.includes('for the progress of exactly-once sinks'))).toEqual([`sink out: created Kafka topic "${output}" with the brokers' default partitions and replication`]);
  });

  it('writes append-only rows as plain messages, keyed only when asked', async () => {
    const input = await createTopic(1);
    const plain = await createTopic(1);
    const keyed = await createTopic(1);
    await produce(input, [1, 2, 3, 2].map((n) => ({ value: JSON.stringify({ payer: `u${n}`, amount: n * 10, paid_at: '2024-01-02 03:04:05' }) })));
    const e = await engine();
    await e.execute(`CREATE SOURCE pay (payer VARCHAR, amount INT, paid_at TIMESTAMP) WITH (connector = 'kafka', topic = '${input}', brokers = '${brokers()}');
      CREATE MATERIALIZED VIEW big AS SELECT payer, amount * 2 AS twice, paid_at FROM pay WHERE amount > 10;
      CREATE SINK s1 FROM big WITH (connector = 'kafka', topic = '${plain}', brokers = '${brokers()}');
      CREATE SINK s2 FROM pay WITH (connector = 'kafka', topic = '${keyed}', brokers = '${brokers()}', key = 'payer');
      FLUSH;`);
    const a = await readTopic(plain);
    expect(a.map((m) => m.key)).toEqual([null, null, null]);
    expect(a.map((m) => m.value).sort()).toEqual([
      '{"payer":"u2","twice":40,"paid_at":"2024-01-02 03:04:05"}',
      '{"payer":"u2","twice":40,"paid_at":"2024-01-02 03:04:05"}',
      '{"payer":"u3","twice":60,"paid_at":"2024-01-02 03:04:05"}',
    ]);
    const b = await readTopic(keyed);
    expect(b.map((m) => [m.key, m.value])).toEqual([1, 2, 3, 2].map((n) => [`{"payer":"u${n}"}`, `{"payer":"u${n}","amount":${n * 10},"paid_at":"2024-01-02 03:04:05"}`]));
  });

  it('CREATE SINK … AS SELECT: a word count with no view, exactly once across a restart on the same data dir', async () => {
    const input = await createTopic(2);
    const output = await createTopic(2);
    const data = mkdtempSync(join(tmpdir(), 'sluice-kafka-sinkq-'));
    onCleanup(() => rmSync(data, { recursive: true, force: true }));
    const words = Array.from({ length: 900 }, (_, i) => `w${(i * 17) % 41}`);
    await produce(input, words.slice(0, 500).map((value) => ({ value })));
    let e = await createEngine({ dataDir: data, autoStart: false, log: () => undefined });
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (connector = 'kafka', topic = '${input}', brokers = '${brokers()}', format = 'text');
      CREATE SINK out AS SELECT word, count(*) AS n FROM words GROUP BY word WITH (connector = 'kafka', topic = '${output}', brokers = '${brokers()}');
      FLUSH;`);
    await e.close();
    await produce(input, words.slice(500).map((value) => ({ value })));
    e = await createEngine({ dataDir: data, autoStart: false, log: () => undefined });
    onCleanup(() => e.close());
    await e.execute('FLUSH');
    const expected = new Map<string, number>();
    for (const w of words) expected.set(w, (expected.get(w) ?? 0) + 1);
    // The restored groups continue the counts: each word's last message is its full count.
    const state = replay(await readTopic(output));
    expect([...state.values()].sort()).toEqual([...expected].map(([word, n]) => JSON.stringify({ word, n })).sort());
  });

  it('refuses an updating input without key columns, and unknown key columns', async () => {
    const e = await engine();
    await e.execute(`CREATE TABLE t (word VARCHAR); CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM t GROUP BY word;
      CREATE MATERIALIZED VIEW u AS SELECT word FROM t WHERE word <> 'x';`);
    // u is updating and has no unique key: the sink cannot upsert without one.
    await expect(e.execute(`CREATE SINK s FROM u WITH (connector = 'kafka', topic = 'x', brokers = '${brokers()}')`)).rejects.toThrow(/writes an updating input.*add key = '<columns>'/);
    await expect(e.execute(`CREATE SINK s FROM v WITH (connector = 'kafka', topic = 'x', brokers = '${brokers()}', key = 'wurd')`)).rejects.toThrow(/option "key" of connector 'kafka' must be a list of columns of the sink's input \(word, n\), got 'wurd' \(no column "wurd"\)/);
    expect(rowTexts(await e.viewRows('v'))).toEqual([]);
    // A GROUP BY view needs no key option: its group keys are the message key.
    await e.execute(`CREATE SINK s2 FROM v WITH (connector = 'kafka', topic = 'x2', brokers = '${brokers()}')`);
  });
});

const wordSchema: Schema = [{ name: 'word', type: 'varchar' }];

/** Append-only rows of one word column. */
function words(...ws: string[]): Batch {
  return batchFromRows(['varchar'], ws.map((w) => [w]));
}

/** A Kafka sink of append-only words, closed after the test. */
function wordSink(topic: string, options: Record<string, string> = {}, log: (m: string) => void = () => undefined): KafkaSink {
  const s = new KafkaSink({ name: 'out', schema: wordSchema, options: { connector: 'kafka', topic, brokers: brokers(), ...options }, appendOnly: true, log });
  onCleanup(() => s.close());
  return s;
}

/** The words a read_committed consumer sees in the topic, in offset order. */
async function committedWords(topic: string): Promise<string[]> {
  return (await readTopic(topic)).map((m) => (JSON.parse(m.value!) as { word: string }).word);
}

/** A plain kafkajs client, for producers that play an earlier incarnation of a sink. */
function rawKafka(): Kafka {
  return new Kafka({ brokers: brokers().split(','), clientId: 'sluice-test-zombie', logLevel: logLevel.NOTHING });
}

describe('kafka sink, exactly once', () => {
  it('writes each epoch in one transaction with a progress record, and nothing for an empty epoch', async () => {
    const topic = await createTopic(1);
    const e = await engine();
    await e.execute(`CREATE TABLE words_t (word VARCHAR) APPEND ONLY;
      CREATE SINK out FROM words_t WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers()}');`);
    await e.execute(`INSERT INTO words_t VALUES ('a'), ('b'); FLUSH;`);
    await e.execute(`INSERT INTO words_t VALUES ('c'); FLUSH;`);
    await e.execute('FLUSH');
    await e.execute(`INSERT INTO words_t VALUES ('d'), ('e'), ('f'); FLUSH;`);
    expect(await committedWords(topic)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // Six messages and one commit marker per transaction: three transactions, none for the empty epoch.
    const admin = rawKafka().admin();
    await admin.connect();
    onCleanup(() => admin.disconnect());
    expect(Number((await admin.fetchTopicOffsets(topic))[0]!.high)).toBe(6 + 3);
    const progress = (await readTopic('sluice_sink_progress')).filter((m) => m.key === `sluice-sink-out-${topic}`).map((m) => JSON.parse(m.value!) as { sink: string; epoch: number });
    expect(progress.map((p) => p.sink)).toEqual(['out', 'out', 'out']);
    const epochs = progress.map((p) => p.epoch);
    expect(epochs[0]! < epochs[1]! && epochs[1]! + 1 < epochs[2]!).toBe(true);
    expect(epochs[2]).toBe(e.currentEpoch);
  });

  it('renamed, keeps its transactional id (written into its statement) and so its progress records, across a restart', async () => {
    const topic = await createTopic(1);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-rename-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const open = async () => {
      const e = await createEngine({ autoStart: false, dataDir: dir, log: () => undefined });
      onCleanup(() => e.close());
      return e;
    };
    let e = await open();
    await e.execute(`CREATE TABLE words_t (word VARCHAR) APPEND ONLY;
      CREATE SINK out FROM words_t WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers()}');`);
    await e.execute(`INSERT INTO words_t VALUES ('a'), ('b'); FLUSH;`);
    await e.execute('ALTER SINK out RENAME TO renamed');
    const [show] = await e.execute('SHOW CREATE SINK renamed');
    const id = `sluice-sink-out-${topic}`;
    expect((show as { rows: unknown[][] }).rows[0]!.at(-1)).toBe(`CREATE SINK renamed FROM words_t WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers()}', transactional_id = '${id}')`);
    await e.execute(`INSERT INTO words_t VALUES ('c'); FLUSH;`);
    await e.close();
    e = await open();
    await e.execute(`INSERT INTO words_t VALUES ('d'); FLUSH;`);
    expect(await committedWords(topic)).toEqual(['a', 'b', 'c', 'd']);
    const progress = (await readTopic('sluice_sink_progress')).filter((m) => m.key === id || m.key === `sluice-sink-renamed-${topic}`);
    expect(progress.map((m) => m.key)).toEqual([id, id, id]);
    const epochs = progress.map((m) => (JSON.parse(m.value!) as { epoch: number }).epoch);
    expect(epochs[0]! < epochs[1]! && epochs[1]! < epochs[2]!).toBe(true);
  });

  it('writes an epoch handed twice once, also after a restart, where open() returns the last committed epoch', async () => {
    const topic = await createTopic(2);
    const s = wordSink(topic);
    expect(await s.open()).toBeNull();
    await s.write(1, [words('a', 'b')]);
    await s.write(1, [words('a', 'b')]);
    await s.write(2, []);
    await s.write(3, [words('c')]);
    await s.write(2, [words('late')]);
    await s.close();
    const restarted = wordSink(topic);
    expect(await restarted.open()).toBe(3);
    await restarted.write(3, [words('c')]);
    await restarted.write(4, [words('d')]);
    expect((await committedWords(topic)).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(await wordSink(topic).open()).toBe(4);
  });

  it('leaves nothing of a fenced producer\'s open transaction, and its commit fails', async () => {
    const topic = await createTopic(1);
    const id = `sluice-test-${randomUUID()}`;
    const first = wordSink(topic, { transactional_id: id });
    await first.open();
    await first.write(1, [words('a')]);
    // An earlier incarnation died in the middle of epoch 2: its transaction holds messages and
    // the progress record but was never committed.
    const zombie = rawKafka().producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await zombie.connect();
    onCleanup(() => zombie.disconnect());
    const tx = await zombie.transaction();
    await tx.send({ topic, acks: -1, messages: [{ value: JSON.stringify({ word: 'zombie' }) }] });
    await tx.send({ topic: 'sluice_sink_progress', acks: -1, messages: [progressRecord(id, 'out', 2)] });
    const next = wordSink(topic, { transactional_id: id });
    expect(await next.open()).toBe(1);
    await expect(tx.commit()).rejects.toThrow();
    await next.write(2, [words('b')]);
    expect(await committedWords(topic)).toEqual(['a', 'b']);
    // The fenced sink's next write fails and leaves nothing; the one after it reopens (fencing
    // in turn), learns that epoch 2 is written and skips it.
    await expect(first.write(2, [words('b')])).rejects.toThrow(/could not commit epoch 2 to Kafka topic/);
    await first.write(2, [words('b')]);
    await first.write(3, [words('c')]);
    expect(await committedWords(topic)).toEqual(['a', 'b', 'c']);
  });

  it('aborts an epoch whose messages the broker refuses: nothing of it is visible, and later epochs go on', async () => {
    const topic = await createTopic(1, { 'max.message.bytes': '2000' });
    const logged: string[] = [];
    const s = wordSink(topic, {}, (m) => logged.push(m));
    await s.open();
    await expect(s.write(1, [words('small', 'x'.repeat(5000))])).rejects.toThrow(/could not commit epoch 1 to Kafka topic .*the epoch is not written and is retried/);
    await s.write(2, [words('fits')]);
    expect(await committedWords(topic)).toEqual(['fits']);
    expect(await wordSink(topic).open()).toBe(2);
  });

  it('carries an exactly-once sink\'s output to a Kafka source, which skips an aborted transaction in the same topic', async () => {
    const topic = await createTopic(1);
    const a = await engine();
    await a.execute(`CREATE TABLE words_t (word VARCHAR) APPEND ONLY;
      CREATE SINK out FROM words_t WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers()}', transactional_id = 'pipe-${topic}');
      INSERT INTO words_t VALUES ('a'), ('b'); FLUSH;`);
    const zombie = rawKafka().producer({ transactionalId: `zombie-${topic}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await zombie.connect();
    onCleanup(() => zombie.disconnect());
    const tx = await zombie.transaction();
    await tx.send({ topic, acks: -1, messages: [{ value: JSON.stringify({ word: 'aborted' }) }] });
    await tx.abort();
    await a.execute(`INSERT INTO words_t VALUES ('a'), ('c'); FLUSH;`);
    const b = await engine();
    await b.execute(`CREATE SOURCE w (word VARCHAR) WITH (connector = 'kafka', topic = '${topic}', brokers = '${brokers()}');
      CREATE MATERIALIZED VIEW n AS SELECT word, count(*) AS n FROM w GROUP BY word;
      FLUSH;`);
    expect(rowTexts(await b.viewRows('n'))).toEqual(rowTexts([['a', 2n], ['b', 1n], ['c', 1n]]));
  });

  it('finds its last epoch in a progress topic far behind other sinks\' records', async () => {
    const topic = await createTopic(1);
    const progressTopic = uniqueTopic();
    const a = wordSink(topic, { transactional_id: `a-${topic}`, progress_topic: progressTopic });
    await a.open();
    await a.write(7, [words('a')]);
    const b = wordSink(topic, { transactional_id: `b-${topic}`, progress_topic: progressTopic });
    await b.open();
    // Each transaction takes two offsets (the record and its commit marker): a's record ends
    // up 160 offsets behind the end, past the first window of 64.
    for (let n = 1; n <= 80; n++) await b.write(n, [words(`b${n}`)]);
    expect(await wordSink(topic, { transactional_id: `a-${topic}`, progress_topic: progressTopic }).open()).toBe(7);
    expect(await wordSink(topic, { transactional_id: `b-${topic}`, progress_topic: progressTopic }).open()).toBe(80);
    expect(await wordSink(topic, { transactional_id: `c-${topic}`, progress_topic: progressTopic }).open()).toBeNull();
  });

  it('keeps an idempotent producer for at_least_once, where an epoch handed again is written again', async () => {
    const topic = await createTopic(1);
    const s = wordSink(topic, { delivery: 'at_least_once' });
    expect(await s.open()).toBeNull();
    await s.write(1, [words('a')]);
    await s.write(1, [words('a')]);
    expect(await committedWords(topic)).toEqual(['a', 'a']);
  });
});
