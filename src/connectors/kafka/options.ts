/**
 * The WITH options of `connector = 'kafka'`, as a source and as a sink.
 *
 * Source:
 *   topic                          the topic to read (required)
 *   brokers                        'host:port[,host:port…]' (required; alias properties.bootstrap.server)
 *   format                         'json' (default) | 'csv' | 'text', with csv.delimiter
 *   many_per_message               'true': each message holds many newline-separated records
 *                                  (default 'false': the whole message value is one record)
 *   scan_startup_mode              'earliest' (default) | 'latest' | 'timestamp' | 'offsets'
 *   scan_startup_timestamp_millis  for 'timestamp': start at the first message at or after it
 *   scan_startup_offsets           for 'offsets': 'partition:offset,…' such as '0:5,1:7';
 *                                  partitions not listed start at their earliest offset
 *   max_rate_per_partition         rows per second per partition (default: no limit)
 *   max_records_per_epoch          Kafka records (messages) one epoch takes per partition at
 *                                  most (default 100000), so a backlog is read in bounded
 *                                  epochs; FLUSH runs epochs until it is caught up
 *   max_bytes_per_epoch            bytes of record batches one epoch reads over all partitions
 *                                  (default 67108864: 64 MB); the epoch stops after the fetch
 *                                  round that reaches it, and FLUSH runs epochs until caught up
 *   max_message_bytes              larger message values are dead letters (default 1048576)
 *   fetch.max_bytes                bytes per fetch request (default 52428800)
 *   fetch.max_partition_bytes      bytes per partition per fetch request (default 4194304)
 *
 * Sink:
 *   topic, brokers (or properties.bootstrap.server), format ('json' only)
 *   key               a comma-separated column list: the message key, and for an updating view
 *                     the upsert key
 *   delivery          'exactly_once' (default): one Kafka transaction per epoch, holding its
 *                     messages and the sink's progress record | 'at_least_once': an idempotent
 *                     producer, and an epoch handed again after a restart is written again
 *   transactional_id  the producer's transactional id (default 'sluice-sink-<sink name>-<topic>'); two
 *                     writers with the same id fence each other
 *   progress_topic    the compacted topic holding each exactly-once sink's last committed epoch
 *                     (default 'sluice_sink_progress')
 */
import { SluiceError } from '../../common/errors.js';
import { isArrayType, type Schema } from '../../common/types.js';
import type { Options } from '../../parser/ast.js';
import { FORMAT_OPTIONS, readFormatOptions, type FormatSpec } from '../formats/options.js';
import { OptionReader } from '../option-reader.js';
import { columnLayout, type ColumnLayout } from './metadata-columns.js';

/** Where a source starts reading the partitions that exist when it starts. */
export type StartupSpec =
  | { readonly mode: 'earliest' }
  | { readonly mode: 'latest' }
  | { readonly mode: 'timestamp'; readonly millis: number }
  | { readonly mode: 'offsets'; readonly offsets: ReadonlyMap<number, number> };

/** Validated Kafka source settings. */
export interface KafkaSourceConfig {
  readonly topic: string;
  readonly brokers: readonly string[];
  readonly format: FormatSpec;
  readonly manyPerMessage: boolean;
  readonly layout: ColumnLayout;
  readonly startup: StartupSpec;
  /** Rows per second per partition, or null for no limit. */
  readonly maxRatePerPartition: number | null;
  /** Records per partition per epoch at most. */
  readonly maxRecordsPerEpoch: number;
  readonly maxMessageBytes: number;
  readonly maxBytesPerEpoch: number;
  readonly fetchMaxBytes: number;
  readonly fetchMaxPartitionBytes: number;
}

/** Validated Kafka sink settings. */
export interface KafkaSinkConfig {
  readonly topic: string;
  readonly brokers: readonly string[];
  /** Schema indexes of the key columns, or null when no `key` option was given. */
  readonly key: readonly number[] | null;
  readonly delivery: KafkaDelivery;
}

/** How a Kafka sink delivers epochs. */
export type KafkaDelivery =
  | { readonly mode: 'exactly_once'; readonly transactionalId: string | null; readonly progressTopic: string }
  | { readonly mode: 'at_least_once' };

/**
 * Records per partition an epoch takes by default: about 15–100 MB of typical JSON events, so a
 * backlog of millions is read in many bounded epochs rather than one (issue 15).
 */
export const DEFAULT_MAX_RECORDS_PER_EPOCH = 100_000;
/** Bytes of record batches one epoch reads by default, as the file source's max_bytes_per_epoch. */
export const DEFAULT_MAX_BYTES_PER_EPOCH = 64 << 20;

/** The topic exactly-once sinks record their last committed epoch in, by default. */
export const DEFAULT_PROGRESS_TOPIC = 'sluice_sink_progress';

/** The transactional id of an exactly-once sink without a `transactional_id` option. */
export function defaultTransactionalId(sink: string, topic: string): string {
  return `sluice-sink-${sink}-${topic}`;
}

const EXACTLY_ONCE_OPTIONS = ['transactional_id', 'progress_topic'] as const;

const BROKER_OPTIONS = ['brokers', 'properties.bootstrap.server'];
const STARTUP_MODES = ['earliest', 'latest', 'timestamp', 'offsets'] as const;

/** Reads and checks the options of a Kafka source with `schema`. */
export function readKafkaSourceOptions(options: Options, schema: Schema): KafkaSourceConfig {
  const r = new OptionReader('kafka', options);
  r.checkNames([
    'topic', ...BROKER_OPTIONS, ...FORMAT_OPTIONS, 'many_per_message', 'scan_startup_mode', 'scan_startup_timestamp_millis',
    'scan_startup_offsets', 'max_rate_per_partition', 'max_records_per_epoch', 'max_bytes_per_epoch', 'max_message_bytes', 'fetch.max_bytes', 'fetch.max_partition_bytes',
  ]);
  const topic = readTopic(r);
  const brokers = readBrokers(r);
  const arrayColumn = schema.find((f) => isArrayType(f.type));
  if (arrayColumn) {
    throw new SluiceError('not_supported', `array column "${arrayColumn.name}" is not supported by the kafka connector yet`, {
      hint: 'Read the column as VARCHAR and build the array in a view (string_to_array, or a cast of PostgreSQL array text).',
    });
  }
  if (r.has('csv.header')) {
    throw new SluiceError('invalid_parameter', `option "csv.header" of ${r.subject} is not supported: a topic has no header line, every message is data; drop csv.header and declare the columns in field order`);
  }
  const layout = columnLayout(schema);
  const format = readFormatOptions(r, layout.payload, 'json');
  const manyPerMessage = r.boolean('many_per_message') ?? false;
  const startup = readStartup(r);
  const maxRatePerPartition = r.positiveNumber('max_rate_per_partition') ?? null;
  const maxRecordsPerEpoch = r.integer('max_records_per_epoch', 1) ?? DEFAULT_MAX_RECORDS_PER_EPOCH;
  const maxMessageBytes = r.integer('max_message_bytes', 1) ?? 1 << 20;
  // Records per epoch alone do not bound an epoch's memory: 100 000 messages of 100 JSON
  // records each were one epoch of 6 M rows (874 MB peak RSS in bench/kafka.ts).
  const maxBytesPerEpoch = r.integer('max_bytes_per_epoch', 1) ?? DEFAULT_MAX_BYTES_PER_EPOCH;
  const fetchMaxBytes = r.integer('fetch.max_bytes', 1024, 0x7fffffff) ?? 50 << 20;
  // 4 MB rather than Kafka's 1 MB: a poll knows how much it wants, and fewer rounds cost less
  // (W2 with 100 events per message: +15–25 % events per CPU-second, bench/kafka.ts).
  const fetchMaxPartitionBytes = r.integer('fetch.max_partition_bytes', 1024, 0x7fffffff) ?? 4 << 20;
  return { topic, brokers, format, manyPerMessage, layout, startup, maxRatePerPartition, maxRecordsPerEpoch, maxMessageBytes, maxBytesPerEpoch, fetchMaxBytes, fetchMaxPartitionBytes };
}

/** Reads and checks the options of a Kafka sink writing rows of `schema`. */
export function readKafkaSinkOptions(options: Options, schema: Schema): KafkaSinkConfig {
  const r = new OptionReader('kafka', options);
  r.checkNames(['topic', ...BROKER_OPTIONS, 'format', 'key', 'delivery', ...EXACTLY_ONCE_OPTIONS]);
  const topic = readTopic(r);
  const brokers = readBrokers(r);
  r.choice('format', ['json'] as const);
  const delivery = readDelivery(r);
  const rawKey = r.string('key');
  if (rawKey === undefined) return { topic, brokers, key: null, delivery };
  const names = rawKey.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw r.bad('key', "a comma-separated list of column names such as 'word' or 'user_id, day'");
  const lower = schema.map((f) => f.name.toLowerCase());
  const key: number[] = [];
  for (const n of names) {
    const j = lower.indexOf(n.toLowerCase());
    if (j < 0) throw r.bad('key', `a list of columns of the sink's input (${schema.map((f) => f.name).join(', ')})`, `no column "${n}"`);
    if (key.includes(j)) throw r.bad('key', 'a list of distinct columns', `"${n}" appears twice`);
    key.push(j);
  }
  return { topic, brokers, key, delivery };
}

function readDelivery(r: OptionReader): KafkaDelivery {
  const mode = r.choice('delivery', ['exactly_once', 'at_least_once'] as const) ?? 'exactly_once';
  if (mode === 'at_least_once') {
    const given = EXACTLY_ONCE_OPTIONS.find((k) => r.has(k));
    if (given !== undefined) throw new SluiceError('invalid_parameter', `option "${given}" of ${r.subject} applies only to delivery 'exactly_once', but delivery is 'at_least_once'; drop ${given}`);
    return { mode };
  }
  const id = r.string('transactional_id');
  if (id !== undefined && (id.trim() === '' || id.length > 249)) throw r.bad('transactional_id', 'a transactional id of 1 to 249 characters');
  const progress = r.has('progress_topic') ? readTopic(r, 'progress_topic') : DEFAULT_PROGRESS_TOPIC;
  return { mode, transactionalId: id?.trim() ?? null, progressTopic: progress };
}

function readTopic(r: OptionReader, key = 'topic'): string {
  const topic = r.required(key, 'the Kafka topic').trim();
  // Kafka's own rule for topic names.
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw r.bad(key, "a Kafka topic name: 1 to 249 characters from letters, digits, '.', '_' and '-'");
  }
  return topic;
}

/** The broker list from `brokers` or its alias `properties.bootstrap.server`. */
export function readBrokers(r: OptionReader): string[] {
  if (r.has('brokers') && r.has('properties.bootstrap.server')) {
    throw new SluiceError('invalid_parameter', `${r.subject} got both "brokers" and "properties.bootstrap.server", which are the same option; keep one of them`);
  }
  const key = r.has('properties.bootstrap.server') ? 'properties.bootstrap.server' : 'brokers';
  const raw = r.required(key, "the Kafka brokers, such as '127.0.0.1:9092'");
  const brokers = raw.split(',').map((s) => s.trim());
  for (const b of brokers) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(b);
    const port = m ? Number(m[2]) : 0;
    if (port < 1 || port > 65535) {
      throw r.bad(key, "a comma-separated list of host:port such as '127.0.0.1:9092'", b === '' ? 'an entry is empty' : `"${b}" is not host:port`);
    }
  }
  return brokers;
}

function readStartup(r: OptionReader): StartupSpec {
  const hasTs = r.has('scan_startup_timestamp_millis');
  const hasOffsets = r.has('scan_startup_offsets');
  const mode = r.choice('scan_startup_mode', STARTUP_MODES) ?? (hasTs ? 'timestamp' : hasOffsets ? 'offsets' : 'earliest');
  if (hasTs && mode !== 'timestamp') {
    throw new SluiceError('invalid_parameter', `option "scan_startup_timestamp_millis" of ${r.subject} applies only to scan_startup_mode 'timestamp', but the mode is '${mode}'; set scan_startup_mode = 'timestamp' or drop the timestamp`);
  }
  if (hasOffsets && mode !== 'offsets') {
    throw new SluiceError('invalid_parameter', `option "scan_startup_offsets" of ${r.subject} applies only to scan_startup_mode 'offsets', but the mode is '${mode}'; set scan_startup_mode = 'offsets' or drop the offsets`);
  }
  switch (mode) {
    case 'earliest':
    case 'latest':
      return { mode };
    case 'timestamp': {
      r.required('scan_startup_timestamp_millis', 'milliseconds since 1970 of the first message to read');
      return { mode, millis: r.integer('scan_startup_timestamp_millis', 0)! };
    }
    case 'offsets': {
      const raw = r.required('scan_startup_offsets', "where each partition starts, such as '0:5,1:7'");
      return { mode, offsets: parseStartupOffsets(r, raw) };
    }
  }
}

function parseStartupOffsets(r: OptionReader, raw: string): Map<number, number> {
  const offsets = new Map<number, number>();
  const expected = "a comma-separated list of partition:offset such as '0:5,1:7'";
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!m) throw r.bad('scan_startup_offsets', expected, `"${part.trim()}" is not partition:offset`);
    const partition = Number(m[1]);
    const offset = Number(m[2]);
    if (partition > 0x7fffffff || !Number.isSafeInteger(offset)) throw r.bad('scan_startup_offsets', expected, `"${part.trim()}" is out of range`);
    if (offsets.has(partition)) throw r.bad('scan_startup_offsets', expected, `partition ${partition} appears twice`);
    offsets.set(partition, offset);
  }
  return offsets;
}
