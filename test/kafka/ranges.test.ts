/** The Kafka source's recorded epoch ranges: contiguous, and read back they give exactly each epoch's rows. */
import { describe, expect, it } from 'vitest';
import { batchRows } from '../../src/common/column.js';
import type { Schema, Value } from '../../src/common/types.js';
import { KafkaSource, type KafkaRange } from '../../src/connectors/kafka/source.js';
import { brokers, createTopic, engine, onCleanup, produce, rowTexts } from './kafka-helpers.js';

describe('kafka source ranges', () => {
  it('re-reads each recorded epoch range into exactly the rows that epoch had', async () => {
    const topic = await createTopic(3);
    const options = { connector: 'kafka', topic, brokers: brokers(), max_rate_per_partition: '300' };
    const schema: Schema = [
      { name: 'word', type: 'varchar' },
      { name: 'n', type: 'int' },
      { name: '_partition', type: 'int' },
      { name: '_offset', type: 'bigint' },
    ];
    const message = (i: number) => ({ key: `k${i % 11}`, value: i % 97 === 0 ? `{"word":` : JSON.stringify({ word: `w${i % 13}`, n: i }) });
    await produce(topic, Array.from({ length: 3000 }, (_, i) => message(i)));

    const e = await engine();
    const withList = Object.entries(options).map(([k, v]) => `${k} = '${v}'`).join(', ');
    await e.execute(`CREATE SOURCE src (word VARCHAR, n INT, _partition INT, _offset BIGINT) WITH (${withList});
      CREATE MATERIALIZED VIEW raw AS SELECT word, n, _partition, _offset FROM src;`);
    const seen = new Map<number, Value[][]>();
    e.subscribe('raw', (changes) => {
      for (const c of changes) {
        expect(c.weight).toBe(1);
        const rows = seen.get(c.epoch) ?? [];
        rows.push(c.row);
        seen.set(c.epoch, rows);
      }
    });
    // At 300 rows/s per partition the 3 600 records take several epochs even when the first
    // poll comes late on a busy machine (the bound grows with the time since the last poll).
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 30));
      await e.execute('FLUSH');
      // Later messages land while the source is catching up.
      if (i === 0) await produce(topic, Array.from({ length: 600 }, (_, j) => message(3000 + j)));
      if ((e.stats().sources.src?.rows ?? 0) + (e.stats().sources.src?.deadLetters ?? 0) >= 3600) break;
    }

    const epochs = e.metrics().filter((m) => m.ranges.src !== undefined);
    expect(epochs.reduce((n, m) => n + m.rowsIn.src!, 0) + e.stats().sources.src!.deadLetters).toBe(3600);
    expect(epochs.filter((m) => m.rowsIn.src! > 0).length).toBeGreaterThanOrEqual(3);

    // An independent reader of the same topic, as recovery would use.
    const replayer = new KafkaSource({ name: 'replay', schema, options, dataDir: null, deadLetter: () => undefined, log: () => undefined });
    await replayer.start(null);
    onCleanup(() => replayer.stop());
    const next = new Map<number, number>();
    let deadTotal = 0;
    for (const m of epochs) {
      const range = m.ranges.src as KafkaRange;
      for (const p of range.partitions) {
        // Contiguous: each epoch starts where the previous one stopped.
        expect(p.from).toBe(next.get(p.partition) ?? 0);
        next.set(p.partition, p.to);
      }
      const again = await replayer.replay(range);
      const rows = again.batches.flatMap((b) => batchRows(b));
      expect(rows.length).toBe(m.rowsIn.src);
      expect(rowTexts(rows)).toEqual(rowTexts(seen.get(m.epoch) ?? []));
      // Every row carries its own position, and it lies inside the recorded range.
      for (const [, , partition, offset] of rows) {
        const p = range.partitions.find((x) => x.partition === partition)!;
        expect(Number(offset)).toBeGreaterThanOrEqual(p.from);
        expect(Number(offset)).toBeLessThan(p.to);
      }
      deadTotal += again.deadLetters.length;
    }
    expect(deadTotal).toBe(e.stats().sources.src!.deadLetters);
    expect(deadTotal).toBe(Array.from({ length: 3600 }, (_, i) => i).filter((i) => i % 97 === 0).length);
    expect([...next.values()].reduce((a, b) => a + b, 0)).toBe(3600);
  });

  it('started from a position a poll returned, a fresh source reads exactly the records after it', async () => {
    const topic = await createTopic(2);
    const options = { connector: 'kafka', topic, brokers: brokers(), scan_startup_mode: 'earliest' };
    const schema: Schema = [{ name: 'n', type: 'int' }, { name: '_partition', type: 'int' }, { name: '_offset', type: 'bigint' }];
    const ctx = (name: string) => ({ name, schema, options, dataDir: null, deadLetter: () => undefined, log: () => undefined });
    await produce(topic, Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ n: i }) })));
    const first = new KafkaSource(ctx('first'));
    await first.start(null);
    onCleanup(() => first.stop());
    const a = await first.poll(BigInt(Date.now()) * 1000n);
    const seenFirst = a.batches.flatMap((b) => batchRows(b)).map((r) => r[0]);
    expect(seenFirst.length).toBe(200);
    const position = JSON.parse(JSON.stringify(a.position));
    await produce(topic, Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ n: 200 + i }) })));
    const resumed = new KafkaSource(ctx('resumed'));
    await resumed.start(position);
    onCleanup(() => resumed.stop());
    const b = await resumed.poll(BigInt(Date.now()) * 1000n);
    const rows = b.batches.flatMap((x) => batchRows(x));
    expect(rows.map((r) => r[0]).sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i));
    for (const p of (b.range as KafkaRange).partitions) expect(p.from).toBe(position.offsets[String(p.partition)]);
    await expect(new KafkaSource(ctx('other')).start({ topic: 'another', offsets: {} })).rejects.toThrow(/saved position is of topic "another"/);
  });
});
