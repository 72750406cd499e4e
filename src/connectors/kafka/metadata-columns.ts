/**
 * Kafka metadata columns: schema columns named `_key`, `_partition`, `_offset`, `_timestamp` or
 * `_headers` are filled from the message rather than from its payload. Every other column is a
 * payload column, decoded by the source's format.
 */
import { SluiceError } from '../../common/errors.js';
import { typeDisplayName, type Schema, type SqlType } from '../../common/types.js';

/** The kind of a metadata column, which is also its column name. */
export type MetadataKind = '_key' | '_partition' | '_offset' | '_timestamp' | '_headers';

/** The SQL type each metadata column must be declared with. */
export const METADATA_TYPES: Readonly<Record<MetadataKind, SqlType>> = {
  _key: 'varchar',
  _partition: 'int',
  _offset: 'bigint',
  _timestamp: 'timestamp',
  _headers: 'varchar',
};

/** One metadata column: what it holds and its index in the source schema. */
export interface MetadataColumn {
  readonly kind: MetadataKind;
  readonly index: number;
}

/** How a source schema splits into payload columns and metadata columns. */
export interface ColumnLayout {
  /** The payload columns, in schema order: what the format decodes. */
  readonly payload: Schema;
  /** payloadIndex[j] is the schema index of payload column j. */
  readonly payloadIndex: readonly number[];
  readonly metadata: readonly MetadataColumn[];
}

function isMetadataName(name: string): name is MetadataKind {
  return Object.hasOwn(METADATA_TYPES, name);
}

/** Splits `schema` into payload and metadata columns; throws when a metadata column has the wrong type. */
export function columnLayout(schema: Schema): ColumnLayout {
  const payload: { name: string; type: SqlType }[] = [];
  const payloadIndex: number[] = [];
  const metadata: MetadataColumn[] = [];
  schema.forEach((f, index) => {
    const name = f.name.toLowerCase();
    if (!isMetadataName(name)) {
      payload.push(f);
      payloadIndex.push(index);
      return;
    }
    const want = METADATA_TYPES[name];
    if (f.type !== want) {
      throw new SluiceError('invalid_parameter', `Kafka metadata column "${f.name}" must be ${typeDisplayName(want)}, not ${typeDisplayName(f.type)}; declare it as ${name} ${typeDisplayName(want)} or rename the column`);
    }
    metadata.push({ kind: name, index });
  });
  return { payload, payloadIndex, metadata };
}
