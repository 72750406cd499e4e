import { describe, expect, it } from 'vitest';
import { SluiceError } from '../common/errors.js';
import type { Schema } from '../common/types.js';
import { sinkFactories, sourceFactories, validateSinkOptions, validateSourceOptions } from './index.js';

const schema: Schema = [{ name: 'line', type: 'varchar' }];

describe('connector registry', () => {
  it('lists the connectors', () => {
    expect(Object.keys(sourceFactories).sort()).toEqual(['datagen', 'file', 'kafka', 'mqtt', 'socket']);
    expect(Object.keys(sinkFactories).sort()).toEqual(['file', 'kafka', 'mqtt', 'postgres', 'print']);
  });

  it('rejects an unknown connector, listing the available ones', () => {
    expect(() => validateSourceOptions('kafka2', { connector: 'kafka2' }, schema)).toThrow("unknown source connector 'kafka2'; available source connectors are: datagen, file, kafka, mqtt, socket");
    expect(() => validateSinkOptions('toString', { connector: 'toString' }, schema)).toThrow("unknown sink connector 'toString'; available sink connectors are: file, kafka, mqtt, postgres, print");
    try {
      validateSourceOptions('nope', {}, schema);
    } catch (e) {
      expect((e as SluiceError).sqlstate).toBe('22023');
    }
  });

  it('validates each connector at CREATE time', () => {
    expect(() => validateSourceOptions('datagen', { connector: 'datagen', rows_per_second: '5', 'fields.line.values': 'a,b' }, schema)).not.toThrow();
    expect(() => validateSourceOptions('file', { connector: 'file', path: '/tmp', format: 'text' }, schema)).not.toThrow();
    expect(() => validateSourceOptions('file', { connector: 'file' }, schema)).toThrow(/needs option "path"/);
    expect(() => validateSourceOptions('file', { connector: 'file', path: '/tmp', delimiter: ';' }, schema)).toThrow(
      /unknown option "delimiter" for connector 'file'; valid options are: connector, path, pattern, max_bytes_per_epoch, max_files_per_epoch, format, csv.delimiter, csv.header/,
    );
    expect(() => validateSourceOptions('socket', { connector: 'socket', port: '9999' }, schema)).not.toThrow();
    expect(() => validateSourceOptions('socket', { connector: 'socket', port: '99999' }, schema)).toThrow(/option "port" of connector 'socket' must be an integer between 1 and 65535, got '99999'/);
    expect(() => validateSourceOptions('socket', { connector: 'socket', port: '1', 'reconnect.max_backoff': 'soon' }, schema)).toThrow(/must be a duration/);
    expect(() => validateSinkOptions('print', { connector: 'print' }, schema)).not.toThrow();
    expect(() => validateSinkOptions('file', { connector: 'file', path: '/tmp/x', format: 'csv' }, schema)).toThrow(/option "format" of connector 'file' must be one of 'json'/);
    expect(() => validateSinkOptions('postgres', { connector: 'postgres', table: 'out' }, schema)).not.toThrow();
    expect(() => validateSinkOptions('postgres', { connector: 'postgres', topic: 'out' }, schema)).toThrow(/unknown option "topic" for connector 'postgres'/);
  });
});
