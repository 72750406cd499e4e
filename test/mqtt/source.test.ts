/**
 * The MQTT source against the Mosquitto broker on 127.0.0.1:1883 (anonymous access): decoding
 * with metadata columns, dead letters with topic and position, wildcards, many_per_message, the
 * persistent session (messages published while the engine is down arrive after it restarts on
 * its data dir), and option errors. Each test uses fresh topics and client ids and removes its
 * broker sessions afterwards.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { tempDirEach } from '../helpers.js';
import { BROKER, dropSession } from './broker.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function publisher(): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(BROKER, { clientId: `pub-${randomUUID()}`, reconnectPeriod: 0 });
  cleanups.push(() => c.endAsync());
  return c;
}

async function engine(dataDir: string | null = null): Promise<Engine> {
  const e = await createEngine({ dataDir, autoStart: false, log: () => undefined });
  cleanups.push(() => e.close());
  return e;
}

async function rows(e: Engine, sql: string): Promise<unknown[][]> {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error('expected rows');
  return r.rows;
}

/** FLUSHes until `sql` returns `n` rows (or 10 s pass); returns them. */
async function waitRows(e: Engine, sql: string, n: number): Promise<unknown[][]> {
  const deadline = Date.now() + 10_000;
  let got: unknown[][] = [];
  while (Date.now() < deadline) {
    await e.execute('FLUSH');
    got = await rows(e, sql);
    if (got.length >= n) break;
    await new Promise((r) => setTimeout(r, 30));
  }
  return got;
}

describe('MQTT source (Mosquitto)', () => {
  const dir = tempDirEach('sluice-mqtt-');

  it('decodes JSON messages of a wildcard subscription with metadata columns; malformed payloads go to <source>_errors with topic and position', async () => {
    const base = `sluice-test/${randomUUID()}`;
    const id = `sluice-t-${randomUUID()}`;
    cleanups.push(() => dropSession(id));
    const e = await engine();
    await e.execute(`CREATE SOURCE m (device VARCHAR, temp DOUBLE, _topic VARCHAR, _qos INT, _retained BOOLEAN, _received_at TIMESTAMP)
      WITH (connector = 'mqtt', url = '${BROKER}', topic = '${base}/+/temp', qos = '1', client_id = '${id}');
      CREATE MATERIALIZED VIEW v AS SELECT device, temp, _topic, _qos, _retained, _received_at FROM m`);
    const p = await publisher();
    const before = Date.now();
    await p.publishAsync(`${base}/a/temp`, JSON.stringify({ device: 'a', temp: 21.5 }), { qos: 1 });
    await p.publishAsync(`${base}/b/temp`, '{"device": "b", "temp": ', { qos: 1 });
    await p.publishAsync(`${base}/c/temp`, JSON.stringify({ device: 'c', temp: 'warm' }), { qos: 0 });
    await p.publishAsync(`${base}/d/other`, JSON.stringify({ device: 'd', temp: 1 }), { qos: 1 });
    await p.publishAsync(`${base}/e/temp`, JSON.stringify({ device: 'e', temp: -3 }), { qos: 0 });
    const got = await waitRows(e, 'SELECT device, temp, _topic, _qos, _retained, _received_at FROM v ORDER BY device', 2);
    expect(got.map((r) => r.slice(0, 5))).toEqual([
      ['a', 21.5, `${base}/a/temp`, 1, false],
      ['e', -3, `${base}/e/temp`, 0, false],
    ]);
    const at = Number((got[0]![5] as bigint) / 1000n);
    expect(at).toBeGreaterThanOrEqual(before - 5);
    expect(at).toBeLessThanOrEqual(Date.now());
    const errs = await waitRows(e, 'SELECT position, raw, error FROM m_errors ORDER BY position', 2);
    expect(errs).toHaveLength(2);
    expect(errs[0]![0]).toMatch(new RegExp(`^${base}/b/temp@\\d+$`));
    expect(errs[0]![1]).toBe('{"device": "b", "temp": ');
    expect(errs[0]![2]).toMatch(/invalid JSON/);
    expect(errs[1]![0]).toMatch(new RegExp(`^${base}/c/temp@\\d+$`));
  });

  it('splits many_per_message CSV messages into rows, positions naming the line', async () => {
    const topic = `sluice-test/${randomUUID()}`;
    const id = `sluice-t-${randomUUID()}`;
    cleanups.push(() => dropSession(id));
    const e = await engine();
    await e.execute(`CREATE SOURCE m (k VARCHAR, n INT) WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic}', qos = '2', client_id = '${id}', format = 'csv', many_per_message = 'true');
      CREATE MATERIALIZED VIEW v AS SELECT k, sum(n) AS s FROM m GROUP BY k`);
    const p = await publisher();
    await p.publishAsync(topic, 'a,1\nb,2\na,x\na,4\n', { qos: 2 });
    expect(await waitRows(e, 'SELECT k, s FROM v ORDER BY k', 2)).toEqual([['a', 5n], ['b', 2n]]);
    const errs = await waitRows(e, 'SELECT position FROM m_errors', 1);
    expect(errs[0]![0]).toMatch(new RegExp(`^${topic}@\\d+:3$`));
  });

  it('keeps its session: messages published while the engine is down arrive after a restart on the data dir, once', async () => {
    const topic = `sluice-test/${randomUUID()}`;
    const id = `sluice-t-${randomUUID()}`;
    cleanups.push(() => dropSession(id));
    const data = dir();
    const e1 = await createEngine({ dataDir: data, autoStart: false, log: () => undefined });
    await e1.execute(`CREATE SOURCE m (n INT) WITH (connector = 'mqtt', url = '${BROKER}', topic = '${topic}', qos = '1', client_id = '${id}');
      CREATE MATERIALIZED VIEW v AS SELECT count(*) AS c, sum(n) AS s FROM m`);
    const p = await publisher();
    for (let i = 1; i <= 5; i++) await p.publishAsync(topic, JSON.stringify({ n: i }), { qos: 1 });
    expect(await waitRows(e1, 'SELECT c, s FROM v WHERE c >= 5', 1)).toEqual([[5n, 15n]]);
    await e1.close();
    for (let i = 6; i <= 10; i++) await p.publishAsync(topic, JSON.stringify({ n: i }), { qos: 1 });
    const e2 = await engine(data);
    expect(await waitRows(e2, 'SELECT c, s FROM v WHERE c >= 10', 1)).toEqual([[10n, 55n]]);
  });

  it('refuses bad options with the option named', async () => {
    const e = await engine();
    await expect(e.execute(`CREATE SOURCE m (n INT) WITH (connector = 'mqtt', topic = 't')`)).rejects.toThrow(/needs option "url"/);
    await expect(e.execute(`CREATE SOURCE m (n INT) WITH (connector = 'mqtt', url = '${BROKER}', topic = 'a/#/b')`)).rejects.toThrow(/option "topic" of connector 'mqtt' must be a topic filter with '#' only as its last level/);
    await expect(e.execute(`CREATE SOURCE m (n INT) WITH (connector = 'mqtt', url = '${BROKER}', topic = 't', qos = '3')`)).rejects.toThrow(/option "qos" of connector 'mqtt' must be an integer between 0 and 2/);
    await expect(e.execute(`CREATE SOURCE m (n INT, _qos VARCHAR) WITH (connector = 'mqtt', url = '${BROKER}', topic = 't')`)).rejects.toThrow(/metadata column "_qos" must be integer, not character varying/);
    await expect(e.execute(`CREATE SOURCE m (n INT) WITH (connector = 'mqtt', url = '${BROKER}', topic = 't', bogus = '1')`)).rejects.toMatchObject({ category: 'invalid_parameter' });
  });
});
