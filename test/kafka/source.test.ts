/** The Kafka source against a real broker: word count, startup modes, rate limit, new partitions, dead letters, formats. */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/exec/runtime/engine.js';
import type { Batch } from '../../src/common/column.js';
import { parkedOf } from '../../src/exec/parallel/parked.js';
import type { KafkaRange } from '../../src/connectors/kafka/source.js';
import { addPartitions, brokers, countRows, createTopic, engine, produce, produceTransactions, rowTexts, type Out } from './kafka-helpers.js';

function kafkaWith(topic: string, extra = ''): string {
  return `connector = 'kafka', topic = '${topic}', brokers = '${brokers()}'${extra ? `, ${extra}` : ''}`;
}

/** The word counts a `word, n` view holds, as sorted rows. */
async function viewCounts(e: Engine, view: string): Promise<string[]> {
  return rowTexts(await e.viewRows(view));
}

function tally(words: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of words) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

/** The epochs that polled `source`, with its rows and range. */
function sourceEpochs(e: Engine, source: string): { epoch: number; batchTimeMs: number; rows: number; range: KafkaRange }[] {
  return e
    .metrics()
    .filter((m) => m.ranges[source] !== undefined)
    .map((m) => ({ epoch: m.epoch, batchTimeMs: m.batchTimeMs, rows: m.rowsIn[source]!, range: m.ranges[source] as KafkaRange }));
}

async function errorsOf(e: Engine, source: string): Promise<{ position: string; raw: string; error: string }[]> {
  const [r] = await e.execute(`SELECT position, raw, error FROM ${source}_errors ORDER BY position`);
  if (r?.kind !== 'rows') throw new Error('no rows');
  return r.rows.map(([position, raw, error]) => ({ position: String(position), raw: String(raw), error: String(error) }));
}

describe('kafka source', () => {
  it('counts words over a 3-partition topic exactly as produced, across epochs', async () => {
    const topic = await createTopic(3);
    const vocabulary = ['to', 'be', 'or', 'not', 'that', 'is', 'the', 'question', 'ü', ''];
    const produced: string[] = [];
    const batch = (n: number, seed: number): Out[] =>
      Array.from({ length: n }, (_, i) => {
        const word = vocabulary[(i * 7 + seed * 13 + ((i * i) % 5)) % vocabulary.length]!;
        produced.push(word);
        // Keys spread the words over the partitions as a real producer would.
        return { key: `k${(i + seed) % 17}`, value: word };
      });
    await produce(topic, batch(2000, 1));
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (${kafkaWith(topic, "format = 'text'")});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;
      FLUSH;`);
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(produced)));
    await produce(topic, batch(1500, 2));
    await e.execute('FLUSH');
    await e.execute('FLUSH');
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(produced)));
    const epochs = sourceEpochs(e, 'words');
    expect(epochs.reduce((n, x) => n + x.rows, 0)).toBe(3500);
    // All three partitions got data, and the last epoch found nothing left behind.
    const last = epochs.at(-1)!.range;
    expect(last.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(last.partitions.every((p) => p.to > 0 && p.lag === 0 && p.from === p.to)).toBe(true);
    expect(e.stats().sources.words).toMatchObject({ rows: 3500, deadLetters: 0 });
  });

  it('decodes the partitions in the shard workers at parallelism 2 and 3: the rows, dead letters and metadata of one thread', async () => {
    const topic = await createTopic(3);
    const messages: Out[] = Array.from({ length: 3000 }, (_, i) => ({
      key: i % 11 === 0 ? null : `k${i % 13}`,
      // Every 97th message is malformed JSON: a dead letter at its partition and offset.
      value: i % 97 === 5 ? `{"id": ${i}, "name": ` : JSON.stringify({ id: i, name: `n${i % 7}`, amount: (i % 50) / 4 }),
      partition: i % 3,
      timestamp: 1_700_000_000_000 + i,
      ...(i % 5 === 0 ? { headers: { h: `v${i}` } } : {}),
    }));
    await produce(topic, messages);
    // Transactions on partition 0: the aborted one's records are skipped (read_committed).
    await produceTransactions(topic, [['{"id": -1, "name": "committed"}'], ['{"id": -2, "name": "aborted"}']], [true, false]);
    await produce(topic, messages.slice(0, 900).map((m) => ({ ...m, value: m.value === null ? null : String(m.value).replace('"id": ', '"id": 1') })));
    const results: unknown[] = [];
    for (const parallelism of [1, 2, 3]) {
      const e = await engine(() => undefined, parallelism);
      await e.execute(`CREATE SOURCE bids (id BIGINT, name VARCHAR, amount DOUBLE, _key VARCHAR, _partition INT, _offset BIGINT, _timestamp TIMESTAMP, _headers VARCHAR)
          WITH (${kafkaWith(topic, "format = 'json', max_records_per_epoch = '700'")});
        CREATE MATERIALIZED VIEW by_name AS SELECT name, count(*) AS n, sum(id) AS s, sum(amount) AS a FROM bids GROUP BY name;
        CREATE MATERIALIZED VIEW every AS SELECT * FROM bids WHERE id % 10 = 3;`);
      // Epochs of at most 700 records a partition, until the backlog is read.
      for (let k = 0; k < 6; k++) await e.execute('FLUSH');
      // At parallelism > 1 the workers that decoded the record sets keep the rows (parked.ts).
      const retained = (e as unknown as { state: { sources: Map<string, { retained: { batches: Batch[] }[] }> } }).state.sources.get('bids')!.retained.flatMap((r) => r.batches);
      expect(retained.length).toBeGreaterThan(0);
      expect(retained.every((b) => (parkedOf(b) !== undefined) === parallelism > 1)).toBe(true);
      const [adHoc] = await e.execute('SELECT count(*), sum(id), count(_key), count(_headers), max(_offset) FROM bids');
      results.push({
        byName: rowTexts(await e.viewRows('by_name')),
        every: rowTexts(await e.viewRows('every')),
        errors: await errorsOf(e, 'bids'),
        adHoc: adHoc?.kind === 'rows' ? adHoc.rows : null,
      });
      await e.close();
    }
    const [one, two, three] = results as { byName: string[]; every: string[]; errors: unknown[] }[];
    expect(one!.byName.length).toBe(8);
    expect(one!.errors.length).toBeGreaterThan(30);
    expect(one!.every.length).toBeGreaterThan(300);
    expect(two).toEqual(one);
    expect(three).toEqual(one);
  }, 120_000);

  it("with scan_startup_mode 'latest' sees only messages produced after CREATE SOURCE", async () => {
    const topic = await createTopic(2);
    await produce(topic, ['old', 'old', 'old', 'old'].map((value, i) => ({ value, partition: i % 2 })));
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (${kafkaWith(topic, "format = 'text', scan_startup_mode = 'latest'")});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;`);
    await produce(topic, ['new', 'new', 'newer'].map((value, i) => ({ value, partition: i % 2 })));
    await e.execute('FLUSH');
    expect(await viewCounts(e, 'v')).toEqual(countRows(new Map([['new', 2], ['newer', 1]])));
    expect(sourceEpochs(e, 'words')[0]!.range.partitions.map((p) => [p.from, p.to])).toEqual([[2, 4], [2, 3]]);
  });

  it("starts at a timestamp or at given offsets ('timestamp', 'offsets')", async () => {
    const topic = await createTopic(2);
    const t0 = Date.now() - 60_000;
    await produce(topic, Array.from({ length: 10 }, (_, i) => ({ value: `w${i}`, partition: i % 2, timestamp: t0 + i * 1000 })));
    const e = await engine();
    await e.execute(`
      CREATE SOURCE by_time (word VARCHAR) WITH (${kafkaWith(topic, `format = 'text', scan_startup_mode = 'timestamp', scan_startup_timestamp_millis = '${t0 + 6000}'`)});
      CREATE SOURCE by_offset (word VARCHAR) WITH (${kafkaWith(topic, "format = 'text', scan_startup_mode = 'offsets', scan_startup_offsets = '0:4'")});
      CREATE MATERIALIZED VIEW vt AS SELECT word, count(*) AS n FROM by_time GROUP BY word;
      CREATE MATERIALIZED VIEW vo AS SELECT word, count(*) AS n FROM by_offset GROUP BY word;
      FLUSH;`);
    // Partition 0 holds w0 w2 w4 w6 w8, partition 1 holds w1 w3 w5 w7 w9.
    expect(await viewCounts(e, 'vt')).toEqual(countRows(tally(['w6', 'w7', 'w8', 'w9'])));
    expect(await viewCounts(e, 'vo')).toEqual(countRows(tally(['w8', 'w1', 'w3', 'w5', 'w7', 'w9'])));
  });

  it('bounds the rows of each epoch by max_rate_per_partition × seconds since the last poll', async () => {
    const topic = await createTopic(2);
    await produce(topic, Array.from({ length: 600 }, (_, i) => ({ value: `w${i % 7}`, partition: i % 2 })));
    const rate = 400;
    const e = await engine();
    const created = Date.now();
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (${kafkaWith(topic, `format = 'text', max_rate_per_partition = '${rate}'`)});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;`);
    for (let i = 0; i < 200 && (e.stats().sources.words?.rows ?? 0) < 600; i++) {
      await new Promise((r) => setTimeout(r, 40));
      await e.execute('FLUSH');
    }
    const epochs = sourceEpochs(e, 'words');
    expect(epochs.reduce((n, x) => n + x.rows, 0)).toBe(600);
    let previousMs = created;
    for (const x of epochs) {
      // batchTimeMs is T_n rounded down to the millisecond, hence the +1.
      const bound = 2 * Math.max(1, Math.floor((rate * (x.batchTimeMs - previousMs + 1)) / 1000));
      expect(x.rows).toBeLessThanOrEqual(bound);
      previousMs = x.batchTimeMs;
    }
    // The limit did bite: the backlog took several epochs, and the ranges showed the lag.
    expect(epochs.filter((x) => x.rows > 0).length).toBeGreaterThanOrEqual(3);
    expect(epochs.some((x) => x.range.partitions.some((p) => p.lag > 0))).toBe(true);
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(Array.from({ length: 600 }, (_, i) => `w${i % 7}`))));
  });

  it('takes at most max_records_per_epoch per partition per epoch, and one FLUSH catches up the backlog', async () => {
    const topic = await createTopic(2);
    await produce(topic, Array.from({ length: 500 }, (_, i) => ({ value: `w${i % 7}`, partition: i % 2 })));
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (${kafkaWith(topic, "format = 'text', max_records_per_epoch = '40'")});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;
      FLUSH;`);
    const epochs = sourceEpochs(e, 'words').filter((x) => x.rows > 0);
    expect(epochs.reduce((n, x) => n + x.rows, 0)).toBe(500);
    for (const x of epochs) for (const p of x.range.partitions) expect(p.to - p.from).toBeLessThanOrEqual(40);
    expect(epochs.length).toBeGreaterThanOrEqual(7);
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(Array.from({ length: 500 }, (_, i) => `w${i % 7}`))));
  });

  it('stops an epoch once it has max_bytes_per_epoch bytes of record batches, and one FLUSH catches up the backlog', async () => {
    const topic = await createTopic(2);
    // Many small sends: many record batches, so a fetch of 1 KB per partition takes only some.
    const words = Array.from({ length: 400 }, (_, i) => `w${i % 7}-${'x'.repeat(40)}`);
    for (let i = 0; i < words.length; i += 10) await produce(topic, words.slice(i, i + 10).map((value, k) => ({ value, partition: k % 2 })));
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (${kafkaWith(topic, "format = 'text', max_bytes_per_epoch = '2000', fetch.max_partition_bytes = '1024'")});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;
      FLUSH;`);
    const epochs = sourceEpochs(e, 'words').filter((x) => x.rows > 0);
    expect(epochs.reduce((n, x) => n + x.rows, 0)).toBe(400);
    // 400 values of ~45 bytes in batches of 5 per partition: well over 2 000 bytes, so many epochs,
    // each of about one fetch round (two partitions × at most a batch over 1 KB).
    expect(epochs.length).toBeGreaterThanOrEqual(5);
    for (const x of epochs) expect(x.rows).toBeLessThanOrEqual(80);
    // The ranges are contiguous: each epoch starts where the previous one stopped.
    for (const p of [0, 1]) {
      const ranges = epochs.map((x) => x.range.partitions.find((q) => q.partition === p)!).filter((q) => q.to > q.from);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.from).toBe(ranges[i - 1]!.to);
    }
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(words)));
  });

  it('picks up partitions added while running and loses nothing written to them', async () => {
    const topic = await createTopic(1);
    const produced: string[] = [];
    const send = async (n: number, partition: number) => {
      const words = Array.from({ length: n }, (_, i) => `p${partition}w${i % 3}`);
      produced.push(...words);
      await produce(topic, words.map((value) => ({ value, partition })));
    };
    await send(50, 0);
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR) WITH (${kafkaWith(topic, "format = 'text'")});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;
      FLUSH;`);
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(produced)));
    await addPartitions(topic, 3);
    // Written before the source has seen the new partitions: must still be read from offset 0.
    await send(30, 1);
    await send(20, 2);
    await send(10, 0);
    await e.execute('FLUSH');
    await send(5, 2);
    await e.execute('FLUSH');
    expect(await viewCounts(e, 'v')).toEqual(countRows(tally(produced)));
    const epochs = sourceEpochs(e, 'words');
    const grown = epochs.find((x) => x.range.partitions.length === 3)!;
    expect(grown.range.partitions.map((p) => [p.partition, p.from])).toEqual([[0, 50], [1, 0], [2, 0]]);
    expect(e.stats().sources.words!.rows).toBe(115);
  });

  it('sends malformed JSON and a 2 MB message to <source>_errors and keeps the view right', async () => {
    const topic = await createTopic(1, { 'max.message.bytes': String(4 << 20) });
    const big = JSON.stringify({ word: 'x'.repeat(2 << 20) });
    await produce(topic, [
      { value: '{"word":"to"}' },
      { value: '{"word": "be"' },
      { value: '{"word":"to"}' },
      { value: big },
      { value: '[1, 2]' },
      { value: '{"word":"be","n":"many"}' },
      { value: null },
      { value: '   ' },
      { value: '{"WORD":"or"}' },
    ]);
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR, n INT) WITH (${kafkaWith(topic)});
      CREATE MATERIALIZED VIEW v AS SELECT word, count(*) AS n FROM words GROUP BY word;
      FLUSH;`);
    expect(await viewCounts(e, 'v')).toEqual(countRows(new Map([['to', 2], ['or', 1]])));
    const errors = await errorsOf(e, 'words');
    expect(errors.map((x) => x.position)).toEqual([`${topic}/0/1`, `${topic}/0/3`, `${topic}/0/4`, `${topic}/0/5`]);
    expect(errors[0]!.error).toMatch(/^invalid JSON/);
    expect(errors[1]!.error).toMatch(/larger than max_message_bytes \(1048576\)/);
    expect(errors[1]!.raw.length).toBe(1000);
    expect(errors[1]!.raw.startsWith('{"word":"xxx')).toBe(true);
    expect(errors[2]!.error).toBe('expected a JSON object, got an array');
    expect(errors[3]!.error).toMatch(/^column "n":/);
    expect(e.stats().sources.words).toMatchObject({ rows: 3, deadLetters: 4 });
    // The stream goes on after the bad records.
    await produce(topic, [{ value: '{"word":"to"}' }]);
    await e.execute('FLUSH');
    expect(await viewCounts(e, 'v')).toEqual(countRows(new Map([['to', 3], ['or', 1]])));
  });

  it('reads many newline-separated JSON records per message, and CSV', async () => {
    const topic = await createTopic(1);
    await produce(topic, [
      { value: '{"word":"a","n":1}\n{"word":"b","n":2}\n\n{"word":"a","n":3}\n' },
      { value: '{"word":"c","n":4}\r\n{"word":oops}\r\n{"word":"c","n":5}' },
    ]);
    const csvTopic = await createTopic(1);
    await produce(csvTopic, [{ value: 'a,1\n' }, { value: '"b, with comma",2' }, { value: 'c' }, { value: 'd,x' }, { value: 'e,"5"' }]);
    const e = await engine();
    await e.execute(`
      CREATE SOURCE nd (word VARCHAR, n INT) WITH (${kafkaWith(topic, "many_per_message = 'true'")});
      CREATE SOURCE cs (word VARCHAR, n INT) WITH (${kafkaWith(csvTopic, "format = 'csv'")});
      CREATE MATERIALIZED VIEW vn AS SELECT word, sum(n) AS s FROM nd GROUP BY word;
      CREATE MATERIALIZED VIEW vc AS SELECT word, n FROM cs;
      FLUSH;`);
    expect(await viewCounts(e, 'vn')).toEqual(rowTexts([['a', 4n], ['b', 2n], ['c', 9n]]));
    expect((await errorsOf(e, 'nd')).map((x) => [x.position, x.raw])).toEqual([[`${topic}/0/1:2`, '{"word":oops}']]);
    expect(await viewCounts(e, 'vc')).toEqual(rowTexts([['a', 1], ['b, with comma', 2], ['e', 5]]));
    expect((await errorsOf(e, 'cs')).map((x) => [x.position, x.error.slice(0, 24)])).toEqual([
      [`${csvTopic}/0/2`, 'expected 2 fields, got 1'],
      [`${csvTopic}/0/3`, 'column "n": invalid inpu'],
    ]);
  });

  it('fills the metadata columns _key, _partition, _offset, _timestamp, _headers', async () => {
    const topic = await createTopic(2);
    const ts = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    await produce(topic, [
      { value: '{"word":"a"}', key: 'k1', partition: 1, timestamp: ts, headers: { source: 'test', tag: ['x', 'y'] } },
      { value: '{"word":"b"}', partition: 0, timestamp: ts + 1 },
    ]);
    const e = await engine();
    await e.execute(`CREATE SOURCE s (word VARCHAR, _key VARCHAR, _partition INT, _offset BIGINT, _timestamp TIMESTAMP, _headers VARCHAR) WITH (${kafkaWith(topic)});
      CREATE MATERIALIZED VIEW v AS SELECT word, _key, _partition, _offset, _timestamp, _headers FROM s;
      FLUSH;`);
    expect(rowTexts(await e.viewRows('v'))).toEqual(rowTexts([
      ['a', 'k1', 1, 0n, BigInt(ts) * 1000n, '{"source":"test","tag":["x","y"]}'],
      ['b', null, 0, 0n, BigInt(ts + 1) * 1000n, '{}'],
    ]));
    await expect(e.execute(`CREATE SOURCE bad (word VARCHAR, _offset INT) WITH (${kafkaWith(topic)})`)).rejects.toThrow(/metadata column "_offset" must be bigint/);
  });

  it('reads only committed transactions, stepping over aborted records and transaction markers', async () => {
    const topic = await createTopic(1);
    await produceTransactions(topic, [['a', 'b', 'c'], ['x', 'y'], ['d']], [true, false, true]);
    const e = await engine();
    await e.execute(`CREATE SOURCE words (word VARCHAR, _offset BIGINT) WITH (${kafkaWith(topic, "format = 'text'")});
      CREATE MATERIALIZED VIEW v AS SELECT word, _offset FROM words;
      FLUSH;`);
    // Offsets: a b c (0-2), commit marker (3), x y (4-5), abort marker (6), d (7), commit marker (8).
    expect(rowTexts(await e.viewRows('v'))).toEqual(rowTexts([['a', 0n], ['b', 1n], ['c', 2n], ['d', 7n]]));
    expect(sourceEpochs(e, 'words')[0]!.range.partitions).toEqual([{ partition: 0, from: 0, to: 9, lag: 0 }]);
    await e.execute('FLUSH');
    expect(sourceEpochs(e, 'words')[1]!.range.partitions).toEqual([{ partition: 0, from: 9, to: 9, lag: 0 }]);
  });

  it('fails CREATE SOURCE at once for a missing topic or unreachable brokers', async () => {
    const e = await engine();
    await expect(e.execute(`CREATE SOURCE s (word VARCHAR) WITH (${kafkaWith('no-such-topic-sluice')})`)).rejects.toThrow(/Kafka topic "no-such-topic-sluice" does not exist on brokers .*; create it/);
    await expect(e.execute("CREATE SOURCE s (word VARCHAR) WITH (connector = 'kafka', topic = 't', brokers = '127.0.0.1:1')")).rejects.toThrow(/cannot read Kafka topic "t" from brokers 127\.0\.0\.1:1: .*check that the brokers are running/);
  });
});
