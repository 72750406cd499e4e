import { describe, expect, it } from 'vitest';
import type { Schema } from '../../common/types.js';
import { readKafkaSinkOptions, readKafkaSourceOptions } from './options.js';

const schema: Schema = [{ name: 'word', type: 'varchar' }];
const base = { connector: 'kafka', topic: 'words', brokers: '127.0.0.1:9092' };

describe('kafka options', () => {
  it('reads a source with its defaults', () => {
    const c = readKafkaSourceOptions(base, schema);
    expect(c).toMatchObject({ topic: 'words', brokers: ['127.0.0.1:9092'], manyPerMessage: false, startup: { mode: 'earliest' }, maxRatePerPartition: null, maxMessageBytes: 1048576 });
    expect(c.format.format).toBe('json');
    expect(readKafkaSourceOptions({ connector: 'kafka', topic: 'w', 'properties.bootstrap.server': 'a:1, b:2' }, schema).brokers).toEqual(['a:1', 'b:2']);
  });

  it('reads the startup modes, inferring the mode from its option', () => {
    expect(readKafkaSourceOptions({ ...base, scan_startup_mode: 'LATEST' }, schema).startup).toEqual({ mode: 'latest' });
    expect(readKafkaSourceOptions({ ...base, scan_startup_timestamp_millis: '1700000000000' }, schema).startup).toEqual({ mode: 'timestamp', millis: 1700000000000 });
    expect(readKafkaSourceOptions({ ...base, scan_startup_mode: 'offsets', scan_startup_offsets: '0:5, 1:7' }, schema).startup).toEqual({ mode: 'offsets', offsets: new Map([[0, 5], [1, 7]]) });
  });

  it('says what is wrong and what to do', () => {
    expect(() => readKafkaSourceOptions({ connector: 'kafka', topic: 'w' }, schema)).toThrow(`connector 'kafka' needs option "brokers" (the Kafka brokers, such as '127.0.0.1:9092'); add brokers = '…' to the WITH list`);
    expect(() => readKafkaSourceOptions({ ...base, 'properties.bootstrap.server': 'a:1' }, schema)).toThrow(/got both "brokers" and "properties.bootstrap.server".*keep one of them/);
    expect(() => readKafkaSourceOptions({ ...base, brokers: 'localhost' }, schema)).toThrow(/option "brokers" of connector 'kafka' must be a comma-separated list of host:port .*"localhost" is not host:port/);
    expect(() => readKafkaSourceOptions({ ...base, topic: 'a b' }, schema)).toThrow(/option "topic" .* must be a Kafka topic name/);
    expect(() => readKafkaSourceOptions({ ...base, scan_startup_mode: 'latest', scan_startup_offsets: '0:1' }, schema)).toThrow(/applies only to scan_startup_mode 'offsets', but the mode is 'latest'/);
    expect(() => readKafkaSourceOptions({ ...base, scan_startup_mode: 'timestamp' }, schema)).toThrow(/needs option "scan_startup_timestamp_millis"/);
    expect(() => readKafkaSourceOptions({ ...base, scan_startup_offsets: '0:1,0:2' }, schema)).toThrow(/partition 0 appears twice/);
    expect(() => readKafkaSourceOptions({ ...base, scan_startup_offsets: '0=1' }, schema)).toThrow(/"0=1" is not partition:offset/);
    expect(() => readKafkaSourceOptions(base, [{ name: 'tags', type: 'varchar[]' }])).toThrow(/array column "tags" is not supported by the kafka connector yet/);
    expect(() => readKafkaSourceOptions({ ...base, max_rate_per_partition: '0' }, schema)).toThrow(/must be a number greater than 0/);
    expect(() => readKafkaSourceOptions({ ...base, format: 'csv', 'csv.header': 'true' }, schema)).toThrow(/"csv.header" .* is not supported: a topic has no header line/);
    expect(() => readKafkaSourceOptions({ ...base, group_id: 'g' }, schema)).toThrow(/unknown option "group_id" for connector 'kafka'; valid options are: connector, topic, brokers/);
  });

  it('checks formats against the payload columns only', () => {
    const withMeta: Schema = [{ name: 'line', type: 'varchar' }, { name: '_offset', type: 'bigint' }, { name: '_key', type: 'varchar' }];
    const c = readKafkaSourceOptions({ ...base, format: 'text' }, withMeta);
    expect(c.layout.payload).toEqual([{ name: 'line', type: 'varchar' }]);
    expect(c.layout.metadata).toEqual([{ kind: '_offset', index: 1 }, { kind: '_key', index: 2 }]);
    expect(() => readKafkaSourceOptions({ ...base }, [{ name: '_partition', type: 'bigint' }])).toThrow('Kafka metadata column "_partition" must be integer, not bigint; declare it as _partition integer or rename the column');
  });

  it('reads a sink and its key columns', () => {
    const s: Schema = [{ name: 'word', type: 'varchar' }, { name: 'Day', type: 'date' }, { name: 'n', type: 'bigint' }];
    expect(readKafkaSinkOptions({ ...base, format: 'json' }, s)).toEqual({
      topic: 'words', brokers: ['127.0.0.1:9092'], key: null, delivery: { mode: 'exactly_once', transactionalId: null, progressTopic: 'sluice_sink_progress' },
    });
    expect(readKafkaSinkOptions({ ...base, key: 'day, WORD' }, s).key).toEqual([1, 0]);
    expect(() => readKafkaSinkOptions({ ...base, key: 'word,word' }, s)).toThrow(/"word" appears twice/);
    expect(() => readKafkaSinkOptions({ ...base, format: 'csv' }, s)).toThrow(/option "format" of connector 'kafka' must be one of 'json'/);
  });

  it('reads a sink\'s delivery mode', () => {
    expect(readKafkaSinkOptions({ ...base, delivery: 'AT_LEAST_ONCE' }, schema).delivery).toEqual({ mode: 'at_least_once' });
    expect(readKafkaSinkOptions({ ...base, transactional_id: ' app-1 ', progress_topic: 'p.x' }, schema).delivery).toEqual({ mode: 'exactly_once', transactionalId: 'app-1', progressTopic: 'p.x' });
    expect(() => readKafkaSinkOptions({ ...base, delivery: 'exactly-once' }, schema)).toThrow(/option "delivery" of connector 'kafka' must be one of 'exactly_once', 'at_least_once'/);
    expect(() => readKafkaSinkOptions({ ...base, delivery: 'at_least_once', transactional_id: 'a' }, schema)).toThrow(/"transactional_id" .* applies only to delivery 'exactly_once'/);
    expect(() => readKafkaSinkOptions({ ...base, progress_topic: 'a b' }, schema)).toThrow(/option "progress_topic" .* must be a Kafka topic name/);
    expect(() => readKafkaSinkOptions({ ...base, transactional_id: ' ' }, schema)).toThrow(/option "transactional_id" .* must be a transactional id/);
  });
});
