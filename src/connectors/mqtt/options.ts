/**
 * The WITH options of `connector = 'mqtt'`.
 *
 * Source:
 *   url                    broker, 'mqtt://host:port' (required; mqtts:// and ws:// as mqtt.js takes them)
 *   topic                  topic filter, wildcards '+' and '#' allowed (required)
 *   qos                    0 | 1 (default) | 2: the subscription's QoS
 *   client_id              session identity (default 'sluice-<source>'); the session is persistent
 *                          (clean = false), so keep it stable and unique
 *   username, password     credentials, if the broker wants them
 *   format                 'json' (default) | 'csv' | 'text', with csv.delimiter / csv.header
 *   many_per_message       'true': a message holds many newline-separated records
 *   wal_sync_interval      longest a message waits for its WAL fsync (default '10 milliseconds')
 *   receiver_max_backlog   messages logged and not yet taken by an epoch beyond which the source
 *                          stops acknowledging (QoS 1/2) or reading (QoS 0) (default 100 000)
 *
 * Metadata columns: `_topic VARCHAR`, `_qos INT`, `_retained BOOLEAN`, `_received_at TIMESTAMP`
 * are filled from the message; every other column is decoded from the payload.
 *
 * Sink:
 *   url, client_id (default 'sluice-sink-<sink>'), username, password  as above
 *   topic                  the topic to publish to (required); '{column}' in it is replaced by
 *                          that column's value of each row
 *   qos                    0 | 1 (default) | 2
 *   retain                 'true' to publish retained messages (default false)
 *   max_inflight           QoS 1/2 publishes not yet acknowledged at a time (default 20, Mosquitto's
 *                          default max_inflight_messages; see publish.ts)
 */
import { SluiceError } from '../../common/errors.js';
import { typeDisplayName, type Schema, type SqlType } from '../../common/types.js';
import type { Options } from '../../parser/ast.js';
import { FORMAT_OPTIONS, readFormatOptions, type FormatSpec } from '../formats/options.js';
import { OptionReader } from '../option-reader.js';
import { RECEIVER_OPTIONS, readWalSyncInterval } from '../receiver/options.js';
import { DEFAULT_MAX_INFLIGHT } from './publish.js';

/** The kind of a metadata column, which is also its name. */
export type MqttMetadataKind = '_topic' | '_qos' | '_retained' | '_received_at';

/** The SQL type each metadata column must be declared with. */
export const MQTT_METADATA_TYPES: Readonly<Record<MqttMetadataKind, SqlType>> = {
  _topic: 'varchar',
  _qos: 'int',
  _retained: 'boolean',
  _received_at: 'timestamp',
};

/** How a source schema splits into payload columns and metadata columns. */
export interface MqttLayout {
  readonly payload: Schema;
  readonly payloadIndex: readonly number[];
  readonly metadata: readonly { readonly kind: MqttMetadataKind; readonly index: number }[];
}

export type Qos = 0 | 1 | 2;

/** What connecting needs, for the source and the sink. */
export interface MqttConnection {
  readonly url: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export interface MqttSourceConfig extends MqttConnection {
  readonly topic: string;
  readonly qos: Qos;
  readonly format: FormatSpec;
  readonly manyPerMessage: boolean;
  readonly layout: MqttLayout;
  readonly walSyncIntervalMs: number;
  readonly maxBacklog: number;
}

export interface MqttSinkConfig extends MqttConnection {
  readonly topic: string;
  readonly qos: Qos;
  readonly retain: boolean;
  readonly maxInflight: number;
}

const CONNECTION_OPTIONS = ['url', 'client_id', 'username', 'password'];

function isMetadataName(name: string): name is MqttMetadataKind {
  return Object.hasOwn(MQTT_METADATA_TYPES, name);
}

/** Splits `schema` into payload and metadata columns; throws when a metadata column has the wrong type. */
export function mqttLayout(schema: Schema): MqttLayout {
  const payload: { name: string; type: SqlType }[] = [];
  const payloadIndex: number[] = [];
  const metadata: { kind: MqttMetadataKind; index: number }[] = [];
  schema.forEach((f, index) => {
    const name = f.name.toLowerCase();
    if (!isMetadataName(name)) {
      payload.push(f);
      payloadIndex.push(index);
      return;
    }
    const want = MQTT_METADATA_TYPES[name];
    if (f.type !== want) {
      throw new SluiceError('invalid_parameter', `MQTT metadata column "${f.name}" must be ${typeDisplayName(want)}, not ${typeDisplayName(f.type)}; declare it as ${name} ${typeDisplayName(want)} or rename the column`);
    }
    metadata.push({ kind: name, index });
  });
  return { payload, payloadIndex, metadata };
}

function readConnection(r: OptionReader, defaultClientId: string): MqttConnection {
  const url = r.required('url', "the broker, such as 'mqtt://127.0.0.1:1883'").trim();
  if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/i.test(url)) throw r.bad('url', "a broker URL such as 'mqtt://127.0.0.1:1883'");
  const clientId = r.string('client_id')?.trim() || defaultClientId;
  if (clientId.length > 65535) throw r.bad('client_id', 'at most 65535 characters');
  return { url, clientId, username: r.string('username'), password: r.string('password') };
}

function readQos(r: OptionReader): Qos {
  return (r.integer('qos', 0, 2) ?? 1) as Qos;
}

/** Checks a topic filter: '+' and '#' only as whole levels, '#' only last. */
function checkTopic(r: OptionReader, topic: string, wildcards: boolean): void {
  const levels = topic.split('/');
  levels.forEach((l, i) => {
    if (l.includes('#') && (!wildcards || l !== '#' || i !== levels.length - 1)) {
      throw r.bad('topic', wildcards ? "a topic filter with '#' only as its last level" : 'a topic without wildcards');
    }
    if (l.includes('+') && (!wildcards || l !== '+')) throw r.bad('topic', wildcards ? "a topic filter with '+' only as a whole level" : 'a topic without wildcards');
  });
}

/** Reads and checks the options of an MQTT source named `name` with `schema`. */
export function readMqttSourceOptions(options: Options, schema: Schema, name = 'source'): MqttSourceConfig {
  const r = new OptionReader('mqtt', options);
  r.checkNames([...CONNECTION_OPTIONS, 'topic', 'qos', 'many_per_message', 'receiver_max_backlog', ...RECEIVER_OPTIONS, ...FORMAT_OPTIONS]);
  const conn = readConnection(r, `sluice-${name}`);
  const topic = r.required('topic', "the topic filter to subscribe to, such as 'sensors/+/temp'");
  checkTopic(r, topic, true);
  const layout = mqttLayout(schema);
  if (layout.payload.length === 0) throw new SluiceError('invalid_parameter', 'an MQTT source needs at least one column besides its metadata columns (_topic, _qos, _retained, _received_at)');
  const format = readFormatOptions(r, layout.payload, 'json');
  return {
    ...conn, topic, qos: readQos(r), format, layout,
    manyPerMessage: r.boolean('many_per_message') ?? false,
    walSyncIntervalMs: readWalSyncInterval(r),
    maxBacklog: r.integer('receiver_max_backlog', 1) ?? 100_000,
  };
}

/** Reads and checks the options of an MQTT sink named `name` writing `schema`. */
export function readMqttSinkOptions(options: Options, schema: Schema, name = 'sink'): MqttSinkConfig {
  const r = new OptionReader('mqtt', options);
  r.checkNames([...CONNECTION_OPTIONS, 'topic', 'qos', 'retain', 'max_inflight']);
  const conn = readConnection(r, `sluice-sink-${name}`);
  const topic = r.required('topic', "the topic to publish to, such as 'out/{k}'");
  checkTopic(r, topic, false);
  for (const m of topic.matchAll(/\{([^}]*)\}/g)) {
    if (!schema.some((f) => f.name === m[1])) {
      throw r.bad('topic', 'a topic whose {column} parts name columns of the view', `no column "${m[1]}"; columns are ${schema.map((f) => f.name).join(', ')}`);
    }
  }
  return { ...conn, topic, qos: readQos(r), retain: r.boolean('retain') ?? false, maxInflight: r.integer('max_inflight', 1, 65535) ?? DEFAULT_MAX_INFLIGHT };
}
