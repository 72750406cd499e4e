/**
 * Volume at QoS 1 and 2 with acknowledgements sent as soon as the WAL holds the message (no
 * SLUICE_TEST_MQTT_ACK_DELAY_MS), against the Mosquitto on 127.0.0.1:1883: a QoS 0 source, then a
 * QoS 1 and a QoS 2 source in the same engine (a data dir, so the WAL is on), and a few thousand
 * numbered messages on each topic. The QoS 2 view must hold every number exactly once, the QoS 1
 * view every number at least once (no reconnects happen here, so duplicates are reported), and
 * neither anything else.
 *
 * The publisher speaks MQTT 5 and keeps at most 20 publishes unacknowledged (publishAll):
 * Mosquitto drops QoS 2 publishes beyond its in-flight window and only an MQTT 5 client is told
 * (PUBREC reason 0x97) — that, not the source, was the "stall after 20–40 messages" of issue 11.
 * Here such a rejection would fail the publish, so every number counted as sent reached the broker.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { publishAll } from '../../src/connectors/mqtt/publish.js';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { tempDirEach } from '../helpers.js';
import { BROKER, dropSession } from './broker.js';

const N = Number(process.env.SLUICE_TEST_MQTT_MESSAGES ?? 3000);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** n → how many rows the view holds for it. */
async function counts(e: Engine, view: string): Promise<Map<number, number>> {
  const [r] = await e.execute(`SELECT n, c FROM ${view}`);
  if (r?.kind !== 'rows') throw new Error('expected rows');
  return new Map(r.rows.map((row) => [Number(row[0]), Number(row[1])]));
}

describe('MQTT source volume without acknowledgement delay (Mosquitto)', () => {
  const dir = tempDirEach('sluice-mqtt-volume-');

  it(`${N} messages at QoS 1 and at QoS 2 after a QoS 0 source: QoS 2 exactly once, QoS 1 at least once`, async () => {
    expect(process.env.SLUICE_TEST_MQTT_ACK_DELAY_MS ?? '0').toBe('0');
    const run = randomUUID();
    const topic = (q: number) => `sluice-test/${run}/q${q}`;
    const id = (q: number) => `sluice-vol-q${q}-${run}`;
    for (const q of [0, 1, 2]) cleanups.push(() => dropSession(id(q)));
    const e = await createEngine({ dataDir: dir(), batchIntervalMs: 100, log: () => undefined });
    cleanups.push(() => e.close());
    for (const q of [0, 1, 2]) {
      await e.execute(`CREATE SOURCE q${q} (n BIGINT) WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic(q)}', qos = '${q}', client_id = '${id(q)}');
        CREATE MATERIALIZED VIEW v${q} AS SELECT n, count(*) AS c FROM q${q} GROUP BY n;`);
    }
    // One publisher per topic: the broker's window counts a client's QoS 1 and 2 publishes together.
    const pubs = await Promise.all([0, 1, 2].map((q) => mqtt.connectAsync(BROKER, { clientId: `sluice-vol-pub${q}-${run}`, protocolVersion: 5, reconnectPeriod: 0 })));
    for (const p of pubs) cleanups.push(() => p.endAsync());
    const msgs = (q: number) => Array.from({ length: N }, (_, n) => ({ topic: topic(q), payload: JSON.stringify({ n }) }));
    // QoS 0 first (in the same process, as the issue reported), then QoS 1 and 2 together.
    await publishAll(pubs[0]!, msgs(0).slice(0, 200), { qos: 0 });
    await Promise.all([publishAll(pubs[1]!, msgs(1), { qos: 1 }), publishAll(pubs[2]!, msgs(2), { qos: 2 })]);

    const deadline = Date.now() + 60_000;
    let v1 = new Map<number, number>();
    let v2 = new Map<number, number>();
    while (Date.now() < deadline) {
      await e.execute('FLUSH');
      [v1, v2] = [await counts(e, 'v1'), await counts(e, 'v2')];
      if (v1.size >= N && v2.size >= N) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let any late duplicate arrive before counting.
    await new Promise((r) => setTimeout(r, 300));
    await e.execute('FLUSH');
    [v1, v2] = [await counts(e, 'v1'), await counts(e, 'v2')];

    const sent = Array.from({ length: N }, (_, n) => n);
    const lost = (v: Map<number, number>) => sent.filter((n) => !v.has(n)).length;
    const extra = (v: Map<number, number>) => [...v.keys()].filter((n) => !(n >= 0 && n < N)).length;
    const dups = (v: Map<number, number>) => [...v.values()].reduce((a, c) => a + c - 1, 0);
    console.log(`MQTT volume: ${N} per topic; QoS 1 lost ${lost(v1)} duplicates ${dups(v1)}; QoS 2 lost ${lost(v2)} duplicates ${dups(v2)}`);
    expect({ lost1: lost(v1), extra1: extra(v1), lost2: lost(v2), dup2: dups(v2), extra2: extra(v2) }).toEqual({ lost1: 0, extra1: 0, lost2: 0, dup2: 0, extra2: 0 });
  }, 180_000);
});
