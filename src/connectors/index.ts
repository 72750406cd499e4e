/**
 * The connector registry: source and sink factories by `connector` name, and the option checks
 * the engine runs at CREATE time.
 *
 * Invariants of this folder:
 *   - Connectors talk to the engine only through api.ts; they never import from exec/ or cli/.
 *   - Every connector has an options.ts that validates its WITH options completely; the
 *     factory re-reads them, so a connector never runs with options CREATE would have refused.
 *     Unknown options and bad values are SluiceError 'invalid_parameter' naming the option.
 *   - Sources return append-only batches (weights null) built with ColumnBuilder or typed
 *     arrays; records that do not decode or fit the schema go to ctx.deadLetter, never into a
 *     batch, and never stop the records after them.
 *   - A poll's `range` is JSON-serialisable and describes exactly what the poll returned.
 *   - Sinks deliver each epoch atomically and at most once where the medium allows (file,
 *     PostgreSQL, Kafka with delivery 'exactly_once'; not print): `open()` returns the last
 *     epoch the destination holds and a write of an epoch at or below it does nothing.
 */
import { SluiceError } from '../common/errors.js';
import type { Schema } from '../common/types.js';
import type { Options } from '../parser/ast.js';
import type { SinkFactory, SourceFactory } from './api.js';
import { readDatagenOptions } from './datagen/options.js';
import { createDatagenSource } from './datagen/source.js';
import { readFileSinkOptions, readFileSourceOptions } from './file/options.js';
import { createFileSink } from './file/sink.js';
import { createFileSource } from './file/source.js';
import { readKafkaSinkOptions, readKafkaSourceOptions } from './kafka/options.js';
import { createKafkaSink } from './kafka/sink.js';
import { createKafkaSource } from './kafka/source.js';
import { readMqttSinkOptions, readMqttSourceOptions } from './mqtt/options.js';
import { createMqttSink } from './mqtt/sink.js';
import { createMqttSource } from './mqtt/source.js';
import { readPostgresSinkOptions } from './postgres/options.js';
import { createPostgresSink } from './postgres/sink.js';
import { readPrintOptions } from './print/options.js';
import { createPrintSink } from './print/sink.js';
import { readSocketOptions } from './socket/options.js';
import { createSocketSource } from './socket/source.js';

/** Source factories by `connector` name. */
export const sourceFactories: Record<string, SourceFactory> = {
  datagen: createDatagenSource,
  file: createFileSource,
  kafka: createKafkaSource,
  mqtt: createMqttSource,
  socket: createSocketSource,
};

/** Sink factories by `connector` name. */
export const sinkFactories: Record<string, SinkFactory> = {
  file: createFileSink,
  kafka: createKafkaSink,
  mqtt: createMqttSink,
  postgres: createPostgresSink,
  print: createPrintSink,
};

/**
 * The WITH options that name local paths a connector reads or writes, by connector: the engine
 * checks them against its allowed roots at CREATE.
 */
export const localPathOptions: Readonly<Record<'source' | 'sink' | 'table', Readonly<Record<string, readonly string[]>>>> = {
  source: { file: ['path'] },
  sink: { file: ['path'] },
  table: { file: ['path'] },
};

type Validator = (options: Options, schema: Schema) => unknown;

const sourceValidators: Record<string, Validator> = {
  datagen: readDatagenOptions,
  file: readFileSourceOptions,
  kafka: readKafkaSourceOptions,
  mqtt: readMqttSourceOptions,
  socket: readSocketOptions,
};

const sinkValidators: Record<string, Validator> = {
  file: (options) => readFileSinkOptions(options),
  kafka: readKafkaSinkOptions,
  mqtt: readMqttSinkOptions,
  postgres: (options) => readPostgresSinkOptions(options),
  print: (options) => readPrintOptions(options),
};

function unknownConnector(kind: 'source' | 'sink', connector: string, available: readonly string[]): SluiceError {
  return new SluiceError('invalid_parameter', `unknown ${kind} connector '${connector}'; available ${kind} connectors are: ${available.join(', ')}`);
}

/** Checks a source's WITH options for `connector` against its schema; throws SluiceError. */
export function validateSourceOptions(connector: string, options: Options, schema: Schema): void {
  const v = Object.hasOwn(sourceValidators, connector) ? sourceValidators[connector] : undefined;
  if (v === undefined) throw unknownConnector('source', connector, Object.keys(sourceFactories));
  v(options, schema);
}

/** Checks a sink's WITH options for `connector` against the schema it writes; throws SluiceError. */
export function validateSinkOptions(connector: string, options: Options, schema: Schema): void {
  const v = Object.hasOwn(sinkValidators, connector) ? sinkValidators[connector] : undefined;
  if (v === undefined) throw unknownConnector('sink', connector, Object.keys(sinkFactories));
  v(options, schema);
}
