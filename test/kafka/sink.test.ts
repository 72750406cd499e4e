/** The Kafka sink against a real broker: upserts and tombstones replay to the view; append-only rows as plain messages. */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/exec/runtime/engine.js';
import { brokers, createTopic, engine, produce, readTopic, rowTexts, uniqueTopic, type In } from './kafka-helpers.js';

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
    expect(logged).toEqual([`sink out: created Kafka topic "${output}" with the brokers' default partitions and replication`]);
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
