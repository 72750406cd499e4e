/**
 * The WITH options of `connector = 'datagen'`, validated against the source's schema into a
 * DatagenConfig with every default resolved, so the generators see only concrete settings.
 *
 *   rows_per_second  rows per second of wall time (default 10; fractions allowed)
 *   max_rows         total rows, then the source is exhausted (default: unbounded)
 *   max_batch_rows   most rows one poll returns (default 1 000 000); the rest stays due
 *   seed             integer seed of the value generator (default 0)
 *   fields.<col>.kind    'sequence' | 'random'
 *   fields.<col>.start   first value of a sequence / low end of a random range (inclusive)
 *   fields.<col>.end     last value of a sequence (then it wraps to start) / high end of a range
 *   fields.<col>.length  length of random VARCHAR strings (default 10)
 *   fields.<col>.values  comma-separated values to pick from (any type; cycled by 'sequence')
 *
 * Defaults per type: numbers, booleans, strings and intervals are random (int: the whole INT
 * range, bigint: the whole BIGINT range, double: [0, 1), interval: [0, 1 hour], varchar:
 * alphanumeric strings). TIMESTAMP and DATE columns are the current time (the poll's T_n) unless
 * given a kind. A TIMESTAMP sequence advances 1/rows_per_second per row from `start` (default:
 * the time of start()), so event time keeps pace with the generation rate; a DATE sequence
 * advances one day per row and an INTERVAL sequence one second per row.
 */
import { decodeInterval, durationMicros } from '../../common/interval.js';
import { SluiceError } from '../../common/errors.js';
import type { Field, Schema, SqlType, Value } from '../../common/types.js';
import { parseText } from '../../common/values.js';
import type { Options } from '../../parser/ast.js';
import { OptionReader, type OptionPattern } from '../option-reader.js';

export type FieldKind = 'sequence' | 'random' | 'now';

/** How one column is generated. Integer-like bounds are bigint (exact); double bounds are numbers. */
export interface FieldSpec {
  readonly kind: FieldKind;
  /**
   * Lower bound (random) or first value (sequence): bigint for int, bigint, timestamp (µs),
   * date (days) and interval (µs); number for double and numeric; null where unused or where
   * the default is only known at start() (a timestamp or date sequence).
   */
  readonly start: bigint | number | null;
  /** Upper bound (inclusive, except double random, which excludes it); null where unused. */
  readonly end: bigint | number | null;
  /** Random VARCHAR length. */
  readonly length: number;
  /** Values to pick from, already parsed to the column type; null when not given. */
  readonly values: readonly Value[] | null;
}

/** The validated datagen settings, one FieldSpec per schema column. */
export interface DatagenConfig {
  readonly rowsPerSecond: number;
  readonly maxRows: number | null;
  readonly maxBatchRows: number;
  readonly seed: bigint;
  readonly fields: readonly FieldSpec[];
}

const KNOWN = ['rows_per_second', 'max_rows', 'max_batch_rows', 'seed'];
const FIELD_PROPS = ['kind', 'start', 'end', 'length', 'values'] as const;
const FIELD_RE = /^fields\.(.+)\.(kind|start|end|length|values)$/;
const PATTERNS: readonly OptionPattern[] = FIELD_PROPS.map((p) => ({
  display: `fields.<column>.${p}`,
  test: (k: string) => k.startsWith('fields.') && k.endsWith(`.${p}`) && k.length > `fields..${p}`.length,
}));

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/** Reads and checks datagen's options for `schema`. */
export function readDatagenOptions(options: Options, schema: Schema): DatagenConfig {
  const r = new OptionReader('datagen', options);
  r.checkNames(KNOWN, PATTERNS);
  const rowsPerSecond = r.positiveNumber('rows_per_second') ?? 10;
  const maxRows = r.integer('max_rows', 0) ?? null;
  const maxBatchRows = r.integer('max_batch_rows', 1, 2 ** 31 - 1) ?? 1_000_000;
  const seed = r.bigint('seed') ?? 0n;

  // Group fields.<col>.<prop> by column, checking each names a column of the schema.
  const byColumn = new Map<number, Map<string, string>>();
  for (const key of Object.keys(options)) {
    const m = FIELD_RE.exec(key);
    if (!m) continue;
    const col = m[1]!;
    const j = schema.findIndex((f) => f.name.toLowerCase() === col.toLowerCase());
    if (j < 0) {
      throw new SluiceError('invalid_parameter', `option "${key}" of connector 'datagen' names column "${col}", which the source does not have; its columns are: ${schema.map((f) => f.name).join(', ')}`);
    }
    let props = byColumn.get(j);
    if (!props) byColumn.set(j, (props = new Map()));
    props.set(m[2]!, key);
  }
  const fields = schema.map((f, j) => readField(r, f, byColumn.get(j) ?? new Map()));
  return { rowsPerSecond, maxRows, maxBatchRows, seed, fields };
}

/** Reads the fields.<col>.* options of one column; `keys` maps a property to its option name. */
function readField(r: OptionReader, field: Field, keys: Map<string, string>): FieldSpec {
  const t = field.type;
  const key = (p: string) => keys.get(p);
  const kindKey = key('kind');
  const explicitKind = kindKey === undefined ? undefined : r.choice(kindKey, ['sequence', 'random'] as const);
  const kind: FieldKind = explicitKind ?? (key('start') || key('end') || key('values') || !isTime(t) ? 'random' : 'now');

  const lengthKey = key('length');
  if (lengthKey !== undefined && (t !== 'varchar' || kind !== 'random' || key('values'))) {
    throw new SluiceError('invalid_parameter', `option "${lengthKey}" applies only to a random VARCHAR column without values, but "${field.name}" is ${t === 'varchar' ? `a ${kind} column` : t}`);
  }
  const length = lengthKey === undefined ? 10 : r.integer(lengthKey, 0, 1_000_000)!;

  const valuesKey = key('values');
  if (valuesKey !== undefined) {
    for (const p of ['start', 'end'] as const) {
      const k = key(p);
      if (k !== undefined) throw new SluiceError('invalid_parameter', `option "${k}" cannot be combined with "${valuesKey}"; give either a list of values or a range`);
    }
    return { kind, start: null, end: null, length, values: readValues(r, valuesKey, t) };
  }

  const startKey = key('start');
  const endKey = key('end');
  if ((startKey !== undefined || endKey !== undefined) && (t === 'boolean' || t === 'null' || (t === 'varchar' && kind === 'random'))) {
    const k = (startKey ?? endKey)!;
    throw new SluiceError('invalid_parameter', `option "${k}" does not apply to ${t === 'varchar' ? 'a random VARCHAR column (use length or values)' : `a ${t.toUpperCase()} column`}`);
  }
  // A VARCHAR sequence counts in decimal, so its bounds are integers.
  const boundType: SqlType = t === 'varchar' ? 'bigint' : t;
  let start = startKey === undefined ? null : readBound(r, startKey, boundType);
  let end = endKey === undefined ? null : readBound(r, endKey, boundType);
  if (kind === 'random' && isTime(t) && (start === null || end === null)) {
    throw new SluiceError('invalid_parameter', `a random ${t.toUpperCase()} column needs both fields.${field.name}.start and fields.${field.name}.end`);
  }
  if (kind !== 'now') {
    [start, end] = defaults(t, kind, start, end);
    if (start !== null && end !== null && start > end) {
      const shown = (k: string | undefined, v: bigint | number) => (k === undefined ? `${v} (the default)` : `'${r.string(k)}'`);
      throw new SluiceError('invalid_parameter', `fields.${field.name}.start must not be greater than fields.${field.name}.end, got start ${shown(startKey, start)} and end ${shown(endKey, end)}`);
    }
  }
  return { kind, start, end, length, values: null };
}

function isTime(t: SqlType): boolean {
  return t === 'timestamp' || t === 'timestamptz' || t === 'date';
}

function readBound(r: OptionReader, key: string, type: SqlType): bigint | number {
  const text = r.string(key)!;
  let v: Value;
  try {
    v = parseText(text, type);
  } catch (e) {
    throw r.bad(key, `a value of type ${type.toUpperCase()}`, e instanceof Error ? e.message : String(e));
  }
  if (type === 'int' || type === 'date') return BigInt(v as number);
  if (type === 'interval') return durationMicros(decodeInterval(v as string), `datagen bound "${key}"`);
  return v as bigint | number;
}

function readValues(r: OptionReader, key: string, type: SqlType): Value[] {
  const items = r.string(key)!.split(',').map((s) => s.trim());
  if (items.length === 0 || (items.length === 1 && items[0] === '')) throw r.bad(key, 'a non-empty comma-separated list');
  return items.map((s) => {
    try {
      return type === 'varchar' ? s : parseText(s, type);
    } catch (e) {
      throw r.bad(key, `a comma-separated list of ${type.toUpperCase()} values`, e instanceof Error ? e.message : String(e));
    }
  });
}

/** Fills in missing bounds; a sequence's end is where it wraps (the type's maximum by default). */
function defaults(t: SqlType, kind: FieldKind, start: bigint | number | null, end: bigint | number | null): [bigint | number | null, bigint | number | null] {
  const seq = kind === 'sequence';
  switch (t) {
    case 'int':
      return [start ?? (seq ? 0n : INT_MIN), end ?? INT_MAX];
    case 'bigint':
      return [start ?? (seq ? 0n : BIGINT_MIN), end ?? BIGINT_MAX];
    case 'varchar':
      // Only a sequence has bounds; random strings are shaped by `length`.
      return seq ? [start ?? 0n, end ?? BIGINT_MAX] : [null, null];
    case 'double':
    case 'numeric':
      return [start ?? 0, end ?? (seq ? Number.MAX_SAFE_INTEGER : 1)];
    case 'interval':
      return [start ?? 0n, end ?? (seq ? BIGINT_MAX : 3_600_000_000n)];
    case 'timestamp':
    case 'date':
      // A sequence's start defaults to the time of start(), known only then.
      return [start, end ?? (t === 'date' ? INT_MAX : BIGINT_MAX)];
    default:
      return [null, null];
  }
}
