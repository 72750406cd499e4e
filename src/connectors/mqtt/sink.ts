/**
 * The MQTT sink (`connector = 'mqtt'` on CREATE SINK): publishes each epoch's changes as JSON
 * messages, after the epoch commits (the engine delivers from its outbox). An append-only input
 * gives one message per row, `{"col": value, …}` (a row of weight w: w messages); an updating
 * input gives one message per change with its op, `{"op":"+"|"-", "col": value, …}`. Values are
 * encoded as the file sink writes them. `topic` may name columns, `'out/{device}'`: each row goes
 * to the topic with that column's value in place (NULL as 'null'; '+', '#' and '/' inside a value
 * become '_' so a value cannot add levels or wildcards). `qos` (default 1) and `retain` apply to
 * every message; write() resolves when the broker acknowledged all of them (QoS 1/2). At most
 * `max_inflight` (default 20) QoS 1/2 publishes are unacknowledged at a time (publish.ts: a
 * broker drops QoS 2 publishes beyond its window without telling an MQTT 3.1.1 client).
 *
 * At-least-once: MQTT keeps no record a sink could read back to learn which epochs it holds, so
 * `open()` returns null and an epoch handed again after a crash is published again.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { getValue, type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { jsonValue } from '../file/json-lines.js';
import type { SinkConnector, SinkContext, SinkFactory } from '../api.js';
import { readMqttSinkOptions, type MqttSinkConfig } from './options.js';
import { publishAll } from './publish.js';

/** One message: its topic and JSON payload. */
export interface SinkMessage {
  readonly topic: string;
  readonly payload: string;
}

/** The messages of one epoch's changes (see the module comment). */
export function sinkMessages(schema: Schema, topic: string, batches: readonly Batch[], withOp: boolean): SinkMessage[] {
  const keys = schema.map((f, j) => `${j === 0 && !withOp ? '' : ','}${JSON.stringify(f.name)}:`);
  const parts = topic.split(/(\{[^}]*\})/);
  const slots = parts.map((p) => (p.startsWith('{') && p.endsWith('}') ? schema.findIndex((f) => f.name === p.slice(1, -1)) : -1));
  const out: SinkMessage[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const w = b.weights === null ? 1 : b.weights[i]!;
      if (w === 0 || (!withOp && w < 0)) continue;
      let payload = withOp ? (w > 0 ? '{"op":"+"' : '{"op":"-"') : '{';
      for (let j = 0; j < keys.length; j++) payload += keys[j]! + jsonValue(b.columns[j]!, i);
      payload += '}';
      let t = '';
      for (let k = 0; k < parts.length; k++) {
        const s = slots[k]!;
        t += s < 0 ? parts[k]! : String(getValue(b.columns[s]!, i)).replace(/[+#/]/g, '_');
      }
      for (let c = Math.abs(w); c > 0; c--) out.push({ topic: t, payload });
    }
  }
  return out;
}

/** A running MQTT sink. */
export class MqttSink implements SinkConnector {
  private readonly config: MqttSinkConfig;
  private client: MqttClient | null = null;

  constructor(private readonly ctx: SinkContext) {
    this.config = readMqttSinkOptions(ctx.options, ctx.schema, ctx.name);
  }

  /** Connects; null: the broker cannot tell which epochs it holds (at-least-once). */
  async open(): Promise<null> {
    const c = this.config;
    this.client = await mqtt.connectAsync(c.url, { clientId: c.clientId, username: c.username, password: c.password, clean: true, reconnectPeriod: 1000, connectTimeout: 10_000 });
    this.client.on('error', (e) => this.ctx.log(`${c.url}: ${e.message}`));
    return null;
  }

  async write(_epoch: number, batches: readonly Batch[]): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('the MQTT sink is not open');
    const msgs = sinkMessages(this.ctx.schema, this.config.topic, batches, !this.ctx.appendOnly);
    const opts = { qos: this.config.qos, retain: this.config.retain };
    // QoS 0 in slices, so a big epoch does not queue every message in the client at once.
    for (let i = 0; i < msgs.length; i += 1000) await publishAll(client, msgs.slice(i, i + 1000), opts, this.config.maxInflight);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.endAsync().catch(() => undefined);
  }
}

/** The SinkFactory of `connector = 'mqtt'`. */
export const createMqttSink: SinkFactory = (ctx) => new MqttSink(ctx);
