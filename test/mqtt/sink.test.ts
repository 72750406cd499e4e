/**
 * The MQTT sink against the Mosquitto on 127.0.0.1:1883: JSON rows of an append-only view on a
 * topic built from a column, JSON changes with their op for an updating view, and option errors.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { BROKER } from './broker.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function engine(): Promise<Engine> {
  const e = await createEngine({ dataDir: null, autoStart: false, log: () => undefined });
  cleanups.push(() => e.close());
  return e;
}

/** Subscribes to `filter` and collects `topic payload` lines. */
async function listen(filter: string, qos: 1 | 2 = 1): Promise<string[]> {
  const got: string[] = [];
  const c = await mqtt.connectAsync(BROKER, { clientId: `sub-${randomUUID()}`, reconnectPeriod: 0 });
  cleanups.push(() => c.endAsync());
  c.on('message', (t, p) => got.push(`${t} ${p.toString()}`));
  await c.subscribeAsync(filter, { qos });
  return got;
}

async function until(cond: () => boolean): Promise<void> {
  const t = Date.now();
  while (!cond() && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 20));
}

describe('MQTT sink (Mosquitto)', () => {
  it('publishes the rows of an append-only view as JSON to a topic built from a column', async () => {
    const base = `sluice-test/${randomUUID()}`;
    const got = await listen(`${base}/#`);
    const e = await engine();
    await e.execute(`CREATE TABLE t (k VARCHAR, n INT, ts TIMESTAMP) APPEND ONLY;
      CREATE MATERIALIZED VIEW v AS SELECT k, n, ts FROM t WHERE n > 0;
      CREATE SINK s FROM v WITH (connector = 'mqtt', url = '${BROKER}', topic = '${base}/{k}', qos = '1');
      INSERT INTO t VALUES ('a', 1, '2024-01-02 03:04:05'), ('b/c', 2, NULL), ('a', -1, NULL), ('a', 3, NULL);
      FLUSH;`);
    await until(() => got.length >= 3);
    expect(got.sort()).toEqual([
      `${base}/a {"k":"a","n":1,"ts":"2024-01-02 03:04:05"}`,
      `${base}/a {"k":"a","n":3,"ts":null}`,
      `${base}/b_c {"k":"b/c","n":2,"ts":null}`,
    ]);
  });

  it('publishes the changes of an updating view with their op', async () => {
    const topic = `sluice-test/${randomUUID()}`;
    const got = await listen(topic);
    const e = await engine();
    await e.execute(`CREATE TABLE t (k VARCHAR, n INT);
      CREATE MATERIALIZED VIEW v AS SELECT k, sum(n) AS s FROM t GROUP BY k;
      CREATE SINK s FROM v WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic}', qos = '2');
      INSERT INTO t VALUES ('a', 1); FLUSH;`);
    await until(() => got.length >= 1);
    await e.execute(`INSERT INTO t VALUES ('a', 2); FLUSH;`);
    await until(() => got.length >= 3);
    expect(got).toHaveLength(3);
    expect(got[0]).toBe(`${topic} {"op":"+","k":"a","s":1}`);
    expect(got.slice(1).sort()).toEqual([`${topic} {"op":"+","k":"a","s":3}`, `${topic} {"op":"-","k":"a","s":1}`]);
  });

  it('publishes an epoch of many rows at QoS 2 completely (at most max_inflight unacknowledged: the broker drops QoS 2 publishes beyond its window)', async () => {
    const topic = `sluice-test/${randomUUID()}`;
    const got = await listen(topic, 2);
    const e = await engine();
    const n = 500;
    await e.execute(`CREATE TABLE t (n INT) APPEND ONLY;
      CREATE SINK s FROM t WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic}', qos = '2');
      INSERT INTO t SELECT * FROM generate_series(1, ${n}); FLUSH;`);
    await until(() => got.length >= n);
    await new Promise((r) => setTimeout(r, 200));
    const want = Array.from({ length: n }, (_, i) => `${topic} {"n":${i + 1}}`);
    expect([...got].sort()).toEqual(want.sort());
  });

  it('refuses a topic with wildcards or naming a missing column', async () => {
    const e = await engine();
    await e.execute('CREATE TABLE t (k VARCHAR)');
    await expect(e.execute(`CREATE SINK s FROM t WITH (connector = 'mqtt', url = '${BROKER}', topic = 'a/+')`)).rejects.toThrow(/must be a topic without wildcards/);
    await expect(e.execute(`CREATE SINK s FROM t WITH (connector = 'mqtt', url = '${BROKER}', topic = 'a/{nope}')`)).rejects.toThrow(/no column "nope"; columns are k/);
  });
});
