/**
 * Exactly-once across kill -9, with the real services: a producer writes known messages to a
 * Kafka topic while the real server (`sluice serve --data-dir D`) is SIGKILLed at random
 * moments and restarted on the same data dir. A Kafka source feeds an aggregate view sunk to
 * PostgreSQL (127.0.0.1:5432, database `test`) and an append-only view sunk to a Kafka topic
 * (exactly-once: a transaction per epoch). At the end the view, the PostgreSQL table and the
 * committed output topic equal the oracle: 0 rows lost, 0 duplicated.
 *
 * It runs at parallelism 1, and again at `--parallelism 2`, where the shard workers decode the
 * partitions and keep the rows (exec/parallel/parked.ts) and recovery re-reads the replayed
 * epochs into them.
 *
 * SLUICE_KILLS sets the number of kills (default 20); SLUICE_KILLS_P2 those of the parallel run
 * (default 8).
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ServerProcess } from '../crash/server-process.js';
import { brokers, createTopic, readTopic } from './kafka-helpers.js';

const KILLS = Number(process.env.SLUICE_KILLS ?? 20);
const KILLS_P2 = Number(process.env.SLUICE_KILLS_P2 ?? 8);
const KEYS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9 with a Kafka source, a PostgreSQL sink and a Kafka sink', () => {
  it.each([
    { parallelism: 1, kills: KILLS },
    { parallelism: 2, kills: KILLS_P2 },
  ])('loses and duplicates nothing over $kills kills at parallelism $parallelism', async ({ parallelism, kills }) => {
    const args = ['--batch-interval', '100', '--parallelism', String(parallelism)];
    const data = mkdtempSync(join(tmpdir(), 'sluice-kafka-crash-'));
    const input = await createTopic(3);
    const output = await createTopic(1);
    const schema = `sluice_crash_${process.pid}_p${parallelism}`;
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    const kafka = new Kafka({ brokers: brokers().split(','), clientId: 'sluice-crash-producer', logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    let server = await ServerProcess.start(data, args);
    try {
      const c0 = await server.client();
      await c0.query(`CREATE SOURCE ev (id BIGINT, k VARCHAR, v BIGINT) WITH (connector = 'kafka', topic = '${input}', brokers = '${brokers()}', format = 'json', scan_startup_mode = 'earliest')`);
      await c0.query('CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(v) AS total FROM ev GROUP BY k');
      await c0.query('CREATE MATERIALIZED VIEW passthru AS SELECT id, k, v FROM ev');
      await c0.query(`CREATE SINK to_pg FROM agg WITH (connector = 'postgres', url = 'postgres://postgres@127.0.0.1:5432/test', table = '${schema}.agg')`);
      await c0.query(`CREATE SINK to_kafka FROM passthru WITH (connector = 'kafka', topic = '${output}', brokers = '${brokers()}')`);
      await c0.end();

      let produced = 0;
      let running = true;
      const writer = (async () => {
        while (running) {
          const messages = [];
          for (let i = 0; i < 20; i++, produced++) messages.push({ key: String(produced), value: JSON.stringify({ id: produced, k: `k${produced % KEYS}`, v: produced % 11 }) });
          await producer.send({ topic: input, acks: -1, messages });
          await sleep(15);
        }
      })();

      for (let kill = 0; kill < kills; kill++) {
        await sleep(400 + Math.random() * 1600);
        await server.kill();
        server = await ServerProcess.start(data, args);
      }
      running = false;
      await writer;

      const c = await server.client();
      try {
        const deadline = Date.now() + 90_000;
        let seen = -1;
        while (Date.now() < deadline) {
          seen = Number((await c.query('SELECT coalesce(sum(n), 0) AS s FROM agg')).rows[0].s);
          if (seen >= produced) break;
          await sleep(200);
        }
        expect(seen).toBe(produced);
        const oracle: string[] = [];
        for (let k = 0; k < KEYS; k++) {
          let n = 0;
          let total = 0;
          for (let id = k; id < produced; id += KEYS) {
            n++;
            total += id % 11;
          }
          oracle.push(`k${k}:${n}:${total}`);
        }
        const view = (await c.query('SELECT k, n, total FROM agg ORDER BY k')).rows.map((r) => `${r.k}:${r.n}:${r.total}`);
        expect(view).toEqual(oracle);

        // The PostgreSQL table catches up with the view (its delivery follows the commit).
        let table: string[] = [];
        while (Date.now() < deadline) {
          table = (await admin.query(`SELECT k, n, total FROM ${schema}.agg ORDER BY k`)).rows.map((r) => `${r.k}:${r.n}:${r.total}`);
          if (JSON.stringify(table) === JSON.stringify(oracle)) break;
          await sleep(200);
        }
        expect(table).toEqual(oracle);

        // The output topic, read committed: every id exactly once.
        let ids = new Map<number, number>();
        while (Date.now() < deadline) {
          ids = new Map();
          for (const m of await readTopic(output)) {
            const id = (JSON.parse(m.value!) as { id: number }).id;
            ids.set(id, (ids.get(id) ?? 0) + 1);
          }
          if (ids.size >= produced) break;
          await sleep(500);
        }
        let lost = 0;
        for (let id = 0; id < produced; id++) if (!ids.has(id)) lost++;
        const duplicated = [...ids.values()].filter((n) => n > 1).length;
        expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
      } finally {
        await c.end();
      }
    } finally {
      await server.stop();
      await producer.disconnect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
      rmSync(data, { recursive: true, force: true });
    }
  }, 900_000);
});
