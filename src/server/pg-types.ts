/**
 * PostgreSQL type OIDs and the wire description of sluice's SQL types.
 */
import type { ArrayType, SqlType } from '../common/types.js';

/** The PostgreSQL type OIDs the server reads or writes. */
export const Oid = {
  unspecified: 0,
  bool: 16,
  bytea: 17,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  jsonb: 3802,
  bool_array: 1000,
  int4_array: 1007,
  text_array: 1009,
  varchar_array: 1015,
  int8_array: 1016,
  float8_array: 1022,
} as const;

/** The array type OID of each array type. */
const ARRAY_OIDS: Readonly<Record<ArrayType, number>> = {
  'boolean[]': Oid.bool_array,
  'int[]': Oid.int4_array,
  'bigint[]': Oid.int8_array,
  'double[]': Oid.float8_array,
  'varchar[]': Oid.varchar_array,
};

/** The type OID a result column of a sluice type is described with. */
export function typeOid(t: SqlType): number {
  switch (t) {
    case 'boolean':
      return Oid.bool;
    case 'int':
      return Oid.int4;
    case 'bigint':
      return Oid.int8;
    case 'double':
      return Oid.float8;
    case 'numeric':
      return Oid.numeric;
    case 'varchar':
      return Oid.varchar;
    case 'bytea':
      return Oid.bytea;
    case 'jsonb':
      return Oid.jsonb;
    case 'timestamp':
      return Oid.timestamp;
    case 'timestamptz':
      return Oid.timestamptz;
    case 'date':
      return Oid.date;
    case 'time':
      return Oid.time;
    case 'interval':
      return Oid.interval;
    case 'null':
      // An all-NULL column: text is what clients handle best ('unknown' confuses some drivers).
      return Oid.text;
    default:
      return ARRAY_OIDS[t];
  }
}

/** pg_type.typlen of a sluice type: the fixed byte size, or -1 for variable-length types. */
export function typeSize(t: SqlType): number {
  switch (t) {
    case 'boolean':
      return 1;
    case 'int':
    case 'date':
      return 4;
    case 'bigint':
    case 'double':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
      return 8;
    case 'interval':
      return 16;
    case 'numeric':
    case 'varchar':
    case 'bytea':
    case 'jsonb':
    case 'null':
      return -1;
    default:
      return -1;
  }
}

/** The type a parameter of this OID is bound as, for the ParameterDescription of unknowns. */
export function describedParamOid(oid: number): number {
  return oid === Oid.unspecified || oid === Oid.unknown ? Oid.text : oid;
}
