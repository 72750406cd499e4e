/**
 * Publishing many messages with a bounded number in flight.
 *
 * mqtt.js sends every publish it is given at once; MQTT 3.1.1 has no flow control, and a broker
 * keeps a per-client window of unfinished QoS 1/2 publishes (Mosquitto's `max_inflight_messages`,
 * default 20, which it advertises to MQTT 5 clients as Receive Maximum). Mosquitto answers a QoS 2
 * PUBLISH beyond that window with a PUBREC carrying reason 0x97 (quota exceeded) and drops the
 * message; an MQTT 3.1.1 PUBREC has no reason code, so the publisher sees success and the message
 * is silently lost. So QoS 1/2 publishes go out through a sliding window of `maxInflight`.
 */
import type { IClientPublishOptions, MqttClient } from 'mqtt';

/** The default window: Mosquitto's default `max_inflight_messages`. */
export const DEFAULT_MAX_INFLIGHT = 20;

/** A message to publish. */
export interface OutMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
}

/**
 * Publishes `msgs` in order with at most `maxInflight` QoS 1/2 publishes not yet acknowledged
 * (QoS 0: all at once); resolves when all are acknowledged, rejects with the first error.
 */
export async function publishAll(client: MqttClient, msgs: readonly OutMessage[], opts: IClientPublishOptions, maxInflight = DEFAULT_MAX_INFLIGHT): Promise<void> {
  if (!opts.qos) {
    await Promise.all(msgs.map((m) => client.publishAsync(m.topic, m.payload, opts)));
    return;
  }
  const window = Math.max(1, maxInflight);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < msgs.length) {
      const m = msgs[next++]!;
      await client.publishAsync(m.topic, m.payload, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, msgs.length) }, lane));
}
