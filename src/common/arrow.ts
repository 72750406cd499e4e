/**
 * Zero-copy conversion between sluice batches and apache-arrow RecordBatches: the numeric,
 * Utf8 and bitmap buffers are handed over as they are. Used where Arrow is the interchange
 * format (IPC snapshots of state, handing batches to other Arrow consumers).
 */
import {
  Bool, DateDay, Field as ArrowField, Float64, Int32, Int64, makeData, RecordBatch, Schema as ArrowSchema,
  List, Struct, TimeMicrosecond, TimestampMicrosecond, Utf8, Null, type DataType, type Data,
} from 'apache-arrow';
import { SluiceError } from './errors.js';
import type { Batch, Column } from './column.js';
import { newBitmap, nullCount } from './column.js';
import { elementType, isArrayType, type Schema, type SqlType } from './types.js';

/** The Arrow type sluice uses for a SQL type (numeric is held as its exact decimal text in Utf8). */
export function arrowType(t: SqlType): DataType {
  switch (t) {
    case 'boolean': return new Bool();
    case 'int': return new Int32();
    case 'bigint': return new Int64();
    case 'double': return new Float64();
    case 'varchar':
    case 'bytea':
    case 'numeric':
    case 'jsonb':
    case 'interval': return new Utf8();
    case 'timestamp':
    case 'timestamptz': return new TimestampMicrosecond();
    case 'date': return new DateDay();
    case 'time': return new TimeMicrosecond();
    case 'null': return new Null();
    default: return new List(new ArrowField('item', arrowType(elementType(t)), true));
  }
}

const WEIGHT = '__weight';

function columnData(c: Column): Data {
  const type = arrowType(c.type);
  const common = { type, length: c.length, nullCount: nullCount(c), nullBitmap: c.validity ?? undefined };
  if (c.type === 'varchar' || c.type === 'bytea' || c.type === 'numeric' || c.type === 'jsonb' || c.type === 'interval') return makeData({ ...common, type: type as Utf8, valueOffsets: c.offsets!, data: c.values as Uint8Array });
  if (c.type === 'null') return makeData({ type: type as Null, length: c.length });
  if (c.child) return makeData({ ...common, type: type as List, valueOffsets: c.offsets!, child: columnData(c.child) });
  return makeData({ ...common, data: c.values } as never);
}

/** A RecordBatch with one child per column, plus `__weight` (Int32) for a changelog. */
export function toArrow(b: Batch, schema: Schema): RecordBatch {
  const fields = schema.map((f) => new ArrowField(f.name, arrowType(f.type), true));
  const children = b.columns.map(columnData);
  if (b.weights) {
    fields.push(new ArrowField(WEIGHT, new Int32(), false));
    children.push(makeData({ type: new Int32(), length: b.length, data: b.weights }));
  }
  const struct = makeData({ type: new Struct(fields), length: b.length, children });
  return new RecordBatch(new ArrowSchema(fields), struct);
}

/** The inverse of toArrow, for batches whose types sluice knows. */
export function fromArrow(rb: RecordBatch, schema: Schema): Batch {
  const columns: Column[] = schema.map((f, i) => {
    const d = rb.data.children[i];
    if (!d) throw new SluiceError('internal', `Arrow batch lacks column ${f.name}`);
    if (d.offset !== 0) throw new SluiceError('internal', 'sliced Arrow data is not supported');
    const n = d.length;
    // Arrow's Null type has no buffers: every value is NULL.
    if (f.type === 'null') return { type: f.type, length: n, values: new Int32Array(n), validity: newBitmap(n, false) };
    return columnFromData(d, f.type);
  });
  const w = rb.schema.fields.findIndex((f) => f.name === WEIGHT);
  return { columns, length: rb.numRows, weights: w >= 0 ? (rb.data.children[w]!.values as Int32Array).subarray(0, rb.numRows) : null };
}

/** A sluice column over one Arrow Data of `type` (zero-copy). */
function columnFromData(d: Data, type: SqlType): Column {
  const n = d.length;
  const bytes = (n + 7) >> 3;
  const validity = d.nullCount > 0 && d.nullBitmap && d.nullBitmap.length ? d.nullBitmap.subarray(0, bytes) : null;
  if (isArrayType(type)) {
    const offsets = (d.valueOffsets as Int32Array).subarray(0, n + 1);
    return { type, length: n, values: new Uint8Array(0), offsets, child: columnFromData(d.children[0]!, elementType(type)), validity };
  }
  if (type === 'varchar' || type === 'bytea' || type === 'numeric' || type === 'jsonb' || type === 'interval') return { type, length: n, values: d.values as Uint8Array, offsets: (d.valueOffsets as Int32Array).subarray(0, n + 1), validity };
  // IPC pads buffers; keep exactly the rows' values.
  const values = (d.values as Column['values']).subarray(0, type === 'boolean' ? bytes : n);
  return { type, length: n, values, validity };
}
