/**
 * Bulk loads into a table, for COPY FROM STDIN and the fast path of INSERT … VALUES: values
 * arrive as text (or literals), are turned into columns here, and go into DuckDB through its
 * appender a data chunk at a time, never as SQL text.
 *
 *   fields ─► per column: the table's type, converted in JS where the text is plainly a value of
 *             it (an integer, a decimal number, a string for a text column, TRUE/FALSE) ...
 *          └► ... or kept as text for DuckDB to CAST (timestamps, intervals, anything unusual)
 *   columns ─► appender ─► staging temp table ─► INSERT INTO t SELECT [CAST(…)] FROM staging
 *
 * The staging table lets DuckDB check the table's constraints and cast what JS did not, in one
 * statement; the change for the views is built from the JS columns when nothing was cast, or
 * read back (RETURNING) when something was.
 */
import { parseIntervalParts } from '../../common/interval.js';
import type { TimeZone } from '../../common/time-zone.js';
import { DuckDBDataChunk, type DuckDBConnection, type DuckDBType, BIGINT, BOOLEAN, DOUBLE, INTEGER, VARCHAR } from '@duckdb/node-api';
import { columnFromValues, batchFromRows, newBitmap, setBit, type Batch, type Column } from '../../common/column.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import type { Schema, SqlType, Value } from '../../common/types.js';
import { typeDisplayName } from '../../common/types.js';
import { LiteralKind, type InsertValues } from '../../parser/insert-values.js';
import { formatTimestamp, parseTimestamptz } from '../../common/values.js';
import type { TableEntry } from '../../catalog/index.js';
import { duckError, duckType, quoteIdent, type Duck } from '../duck.js';

/** Rows per DuckDB data chunk (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/** The values of one target column: how many, and each one's kind and text. */
interface Fields {
  readonly length: number;
  kind(i: number): LiteralKind;
  text(i: number): string;
  /** An Integer literal's value when it has at most 15 digits (no string made), else undefined. */
  integer?(i: number): number | undefined;
}

/** One column ready to load: converted values (numbers in a typed array), or text for DuckDB to cast. */
type LoadColumn =
  | { readonly kind: 'typed'; readonly type: SqlType; readonly values: Value[] }
  | { readonly kind: 'numbers'; readonly type: 'int' | 'double'; readonly values: Int32Array | Float64Array; readonly validity: Uint8Array | null }
  | { readonly kind: 'cast'; readonly type: SqlType; readonly values: (string | null)[] };

/**
 * A COPY batch parsed straight into columns (server/copy-columns.ts), one per target column:
 * int and double columns as typed arrays (validity: a bit per row, 1 = not NULL), other
 * converted values (bigint, boolean, varchar) as values, anything else as text for DuckDB to
 * cast. `bad`: a line with the wrong number of fields, which ends the batch (its index in the
 * batch and how many fields it had).
 */
export interface ParsedBatch {
  readonly length: number;
  readonly columns: readonly ParsedColumn[];
  readonly bad: { readonly at: number; readonly fields: number } | null;
}

export type ParsedColumn =
  | { readonly kind: 'numbers'; readonly values: Int32Array | Float64Array; readonly validity: Uint8Array | null }
  | { readonly kind: 'values'; readonly values: Value[] }
  | { readonly kind: 'text'; readonly values: (string | null)[] };

/** Why a fast path gave up: the general path runs the statement instead. */
const FALLBACK = Symbol('fallback');

const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const PLAIN_INTEGER = /^[+-]?\d+$/;

/** `s` as an int, bigint, double or boolean when it plainly is one (DuckDB's CAST and PostgreSQL agree), else undefined. */
export function plainValue(s: string, type: SqlType): Value | undefined {
  switch (type) {
    case 'int':
      return plainInt(s);
    case 'bigint':
      if (!PLAIN_INTEGER.test(s) || s.length > 21) return undefined;
      {
        const n = BigInt(s);
        return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
      }
    case 'double':
      return plainDouble(s);
    case 'boolean':
      return s === 't' || s === 'true' ? true : s === 'f' || s === 'false' ? false : undefined;
    case 'varchar':
      return s;
    default:
      return undefined;
  }
}

/** `s` as an int32 when it is [+-]digits in range (no white space), else undefined. */
export function plainInt(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  const neg = c === 45;
  if (neg || c === 43) i++;
  if (i === n || n - i > 10) return undefined;
  let v = 0;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
  }
  if (neg) v = v === 0 ? 0 : -v;
  return v >= -INT32_MAX - 1 && v <= INT32_MAX ? v : undefined;
}

/**
 * `s` as a double when it is a plain decimal ([+-]digits[.digits][e[+-]digits]) of at most 15
 * significant digits — there a decimal literal and its double agree however DuckDB reads it —
 * else undefined.
 */
export function plainDouble(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 45 || c === 43) c = s.charCodeAt(++i);
  let digits = 0;
  let significant = 0;
  for (let point = false; ; c = s.charCodeAt(++i)) {
    if (c >= 48 && c <= 57) {
      digits++;
      if (c !== 48 || significant > 0) significant++;
    } else if (c === 46 && !point) point = true;
    else break;
  }
  if (digits === 0) return undefined;
  if (c === 101 || c === 69) {
    c = s.charCodeAt(++i);
    if (c === 45 || c === 43) c = s.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return undefined;
    while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
  }
  return i === n && significant <= 15 ? Number(s) : undefined;
}

/** A column of `type` holding `values` (JS values of that type, or null). */
function columnOf(type: SqlType, values: readonly Value[]): Column {
  const n = values.length;
  if (type !== 'int' && type !== 'double') return columnFromValues(type, values);
  const out = type === 'int' ? new Int32Array(n) : new Float64Array(n);
  let validity: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null) {
      if (!validity) validity = newBitmap(n, true);
      setBit(validity, i, false);
    } else out[i] = v as number;
  }
  return { type, length: n, values: out, validity };
}

const FAST_TYPES: ReadonlySet<SqlType> = new Set(['int', 'bigint', 'double', 'boolean', 'varchar']);

/**
 * Converts one column's fields to the column type. Strings are converted where they plainly are
 * values (else the column is cast by DuckDB); literals are converted exactly or give FALLBACK
 * (a decimal into an integer column, a number into a text column: DuckDB's rules decide those).
 */
function loadColumn(f: Fields, type: SqlType, zone: TimeZone): LoadColumn | typeof FALLBACK {
  const n = f.length;
  if (FAST_TYPES.has(type)) {
    const values: Value[] = new Array(n);
    let i = 0;
    for (; i < n; i++) {
      const k = f.kind(i);
      let v: Value | undefined;
      if (k === LiteralKind.Null) v = null;
      else if (k === LiteralKind.String || k === LiteralKind.EscapedString) v = plainValue(f.text(i), type);
      else if (k === LiteralKind.True || k === LiteralKind.False) {
        if (type !== 'boolean') return FALLBACK;
        v = k === LiteralKind.True;
      } else {
        if (type === 'varchar' || type === 'boolean' || (k === LiteralKind.Decimal && type !== 'double')) return FALLBACK;
        const x = k === LiteralKind.Integer && type !== 'bigint' ? f.integer?.(i) : undefined;
        v = x !== undefined && (type === 'double' || (x >= -INT32_MAX - 1 && x <= INT32_MAX)) ? x : plainValue(f.text(i), type);
        if (v === undefined) return FALLBACK;
      }
      if (v === undefined) break;
      values[i] = v;
    }
    if (i === n) return { kind: 'typed', type, values };
  }
  const texts: (string | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = f.kind(i);
    if (k === LiteralKind.Null) texts[i] = null;
    else if (k === LiteralKind.String || k === LiteralKind.EscapedString) texts[i] = type === 'interval' ? duckIntervalText(f.text(i)) : type === 'timestamptz' ? instantText(f.text(i), zone) : f.text(i);
    else return FALLBACK;
  }
  return { kind: 'cast', type, values: texts };
}

/**
 * Interval text read as PostgreSQL reads it (DuckDB's own reader differs: '-1 days +02:00',
 * '1.5 months', 'P1Y2M'), written back in a form DuckDB casts to the same months, days and
 * microseconds.
 */
function duckIntervalText(s: string): string {
  const p = parseIntervalParts(s);
  return `${p.months} months ${p.days} days ${p.micros} microseconds`;
}

/**
 * Timestamptz text read as PostgreSQL reads it in the session's zone (DuckDB's ICU places times
 * in DST gaps elsewhere), written back as the UTC instant with its offset.
 */
function instantText(s: string, zone: TimeZone): string {
  return `${formatTimestamp(parseTimestamptz(s, zone))}+00`;
}

/** COPY text fields (`field(i)`, n of them) as a load column: converted where every value plainly is one, else cast by DuckDB. */
function textColumn(field: (i: number) => string | null, n: number, type: SqlType): LoadColumn {
  if (FAST_TYPES.has(type)) {
    const values: Value[] = new Array(n);
    let i = 0;
    for (; i < n; i++) {
      const s = field(i);
      if (s === null) {
        values[i] = null;
        continue;
      }
      const v = type === 'varchar' ? s : type === 'int' ? plainInt(s) : type === 'double' ? plainDouble(s) : plainValue(s, type);
      if (v === undefined) break;
      values[i] = v;
    }
    if (i === n) return { kind: 'typed', type, values };
  }
  const texts: (string | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = field(i);
    texts[i] = type === 'interval' && v !== null ? duckIntervalText(v) : v;
  }
  return { kind: 'cast', type, values: texts };
}

const DUCK_CHUNK_TYPE: Partial<Record<SqlType, DuckDBType>> = { int: INTEGER, bigint: BIGINT, double: DOUBLE, boolean: BOOLEAN, varchar: VARCHAR };

let stagingSeq = 0;

/** Appends the columns' values to `table` a data chunk at a time. */
async function appendChunks(conn: DuckDBConnection, table: string, schema: string | null, load: readonly LoadColumn[], rows: number): Promise<void> {
  const app = await conn.createAppender(table, schema).catch((e: unknown) => Promise.reject(duckError(e)));
  try {
    const chunk = DuckDBDataChunk.create(load.map((c) => (c.kind === 'cast' ? VARCHAR : DUCK_CHUNK_TYPE[c.type]!)));
    for (let s = 0; s < rows; s += CHUNK_ROWS) {
      const e = Math.min(rows, s + CHUNK_ROWS);
      chunk.reset();
      chunk.rowCount = e - s;
      for (let j = 0; j < load.length; j++) chunk.setColumnValues(j, chunkValues(load[j]!, s, e) as never);
      app.appendDataChunk(chunk);
    }
    app.flushSync();
  } catch (e) {
    throw duckError(e);
  } finally {
    app.closeSync();
  }
}

/** Rows [s, e) of a load column as the appender takes them (a typed array when there is no NULL). */
function chunkValues(c: LoadColumn, s: number, e: number): ArrayLike<Value> {
  if (c.kind !== 'numbers') return c.values.slice(s, e);
  const part = c.values.subarray(s, e);
  const v = c.validity;
  if (!v) return part;
  return Array.from(part, (x, i) => ((v[(s + i) >> 3]! >> ((s + i) & 7)) & 1 ? x : null));
}

/** The change for the views: the loaded columns (all converted in JS), NULL where a column was not given. */
function changeOf(schema: Schema, cols: readonly string[], load: readonly LoadColumn[], rows: number, appendOnly: boolean): Batch {
  const columns: Column[] = schema.map((f) => {
    const at = cols.indexOf(f.name);
    const c = at < 0 ? null : load[at]!;
    if (c?.kind === 'numbers') return { type: c.type, length: rows, values: c.values.length === rows ? c.values : c.values.slice(0, rows), validity: c.validity };
    return columnOf(f.type, c === null ? new Array<Value>(rows).fill(null) : c.values);
  });
  return { columns, length: rows, weights: appendOnly ? null : new Int32Array(rows).fill(1) };
}

/** A bad value found before loading: its column, 0-based row and text. */
interface BadValue {
  readonly column: string;
  readonly row: number;
  readonly text: string;
  readonly type: SqlType;
}

/**
 * Loads `cols` (target column names, in the order of `load`) into `table` on `conn`, which is in
 * a transaction. Returns the change for the views, or the first value DuckDB cannot cast (then
 * nothing was inserted).
 */
async function loadColumns(duck: Duck, conn: DuckDBConnection, t: TableEntry, cols: readonly string[], load: readonly LoadColumn[], rows: number): Promise<Batch | BadValue> {
  const { name: table, schema, appendOnly } = t;
  // Every column converted and given in the table's order, and no key to check: straight into
  // the table, no staging copy (the appender's key violations say only that the transaction
  // failed; INSERT … SELECT names the key).
  if (!t.primaryKey.length && load.every((c) => c.kind !== 'cast') && cols.length === schema.length && cols.every((c, j) => c === schema[j]!.name)) {
    // The change's columns (typed arrays, UTF-8 text) go to DuckDB a vector at a time (duck-chunks.ts).
    const change = changeOf(schema, cols, load, rows, appendOnly);
    await duck.appendBatch(table, schema, [change], conn, 'main').catch((e: unknown) => Promise.reject(duckError(e)));
    return change;
  }
  const staging = `__sluice_load_${++stagingSeq}`;
  await duck.run(`CREATE TEMP TABLE ${quoteIdent(staging)} (${load.map((c, j) => `c${j} ${c.kind === 'cast' ? 'VARCHAR' : duckType(c.type)}`).join(', ')})`, conn);
  try {
    await appendChunks(conn, staging, null, load, rows);
    const casts = load.flatMap((c, j) => (c.kind === 'cast' ? [j] : []));
    if (casts.length) {
      const bad = casts.map((j) => `c${j} IS NOT NULL AND TRY_CAST(c${j} AS ${duckType(load[j]!.type)}) IS NULL`).join(' OR ');
      // Rows of a table made inside a transaction are numbered from a large base: count from the first.
      const r = await duck.run(`SELECT rowid - (SELECT min(rowid) FROM temp.main.${quoteIdent(staging)}), ${casts.map((j) => `c${j} IS NOT NULL AND TRY_CAST(c${j} AS ${duckType(load[j]!.type)}) IS NULL`).join(', ')} FROM temp.main.${quoteIdent(staging)} WHERE ${bad} ORDER BY rowid LIMIT 1`, conn);
      const row = r.getRows()[0];
      if (row) {
        const at = casts[row.slice(1).findIndex((x) => x === true)]!;
        const index = Number(row[0]);
        return { column: cols[at]!, row: index, text: (load[at]!.values[index] as string), type: load[at]!.type };
      }
    }
    const exprs = load.map((c, j) => (c.kind === 'cast' ? `CAST(c${j} AS ${duckType(c.type)})` : `c${j}`)).join(', ');
    const insert = `INSERT INTO main.${quoteIdent(table)} (${cols.map(quoteIdent).join(', ')}) SELECT ${exprs} FROM temp.main.${quoteIdent(staging)}`;
    const types = schema.map((f) => f.type);
    if (casts.length) {
      const r = await duck.query(`${insert} RETURNING *`, conn);
      return batchFromRows(types, r.rows, appendOnly ? undefined : r.rows.map(() => 1));
    }
    await duck.run(insert, conn);
    return changeOf(schema, cols, load, rows, appendOnly);
  } finally {
    await duck.run(`DROP TABLE IF EXISTS temp.main.${quoteIdent(staging)}`, conn).catch(() => undefined);
  }
}

/** The target columns of a load: all of the table's, or those named (each once, each existing). */
function targetColumns(table: string, schema: Schema, columns: readonly string[] | null): string[] {
  const cols = columns ? [...columns] : schema.map((f) => f.name);
  for (const [i, c] of cols.entries()) {
    if (!schema.some((f) => f.name === c)) throw new SluiceError('undefined_column', `column "${c}" of relation "${table}" does not exist`);
    if (cols.indexOf(c) !== i) throw new SluiceError('duplicate_object', `column "${c}" specified more than once`);
  }
  return cols;
}

/**
 * The fast path of a bulk INSERT … VALUES of literals: the change it made and its row count, or
 * null when the general path must run it (a literal the fast path does not convert exactly, an
 * unknown column, a value DuckDB would refuse — so errors are exactly the general path's).
 */
export async function insertValues(duck: Duck, conn: DuckDBConnection, t: TableEntry, v: InsertValues, zone: TimeZone): Promise<{ change: Batch; count: number } | null> {
  const { schema } = t;
  const cols = v.columns ? [...v.columns] : schema.map((f) => f.name);
  if (cols.length !== v.width || cols.some((c, i) => cols.indexOf(c) !== i || !schema.some((f) => f.name === c))) return null;
  const types = cols.map((c) => schema.find((f) => f.name === c)!.type);
  for (const [flat, name] of v.typed) if (types[flat % v.width] !== name) return null;
  const { text, kinds, starts, ends, width } = v;
  const load: LoadColumn[] = [];
  for (let k = 0; k < width; k++) {
    const c = loadColumn({
      length: v.rows,
      kind: (i) => kinds[i * width + k] as LiteralKind,
      text: (i) => {
        const at = i * width + k;
        const s = text.slice(starts[at], ends[at]);
        return kinds[at] === LiteralKind.EscapedString ? s.replaceAll("''", "'") : s;
      },
      integer: (i) => {
        const at = i * width + k;
        let j = starts[at]!;
        const e = ends[at]!;
        let c = text.charCodeAt(j);
        const neg = c === 45;
        if (neg || c === 43) j++;
        if (e - j > 15) return undefined;
        let n = 0;
        for (; j < e; j++) n = n * 10 + (text.charCodeAt(j) - 48);
        return neg && n !== 0 ? -n : n;
      },
    }, types[k]!, zone);
    if (c === FALLBACK) return null;
    load.push(c);
  }
  const r = await loadColumns(duck, conn, t, cols, load, v.rows);
  if (!('columns' in r)) return null;
  return { change: r, count: v.rows };
}

/** Rows of a COPY FROM STDIN as they arrive (text fields per row, or parsed into columns), and the input line of the first (for errors). */
export interface CopyBatch {
  readonly rows: readonly (readonly (string | null)[])[] | ParsedBatch;
  readonly firstLine: number;
}

/**
 * A COPY FROM STDIN in progress: each batch of rows (text fields, null for NULL) is converted
 * and inserted as it arrives, on `conn` inside one DuckDB transaction that the caller commits
 * or rolls back; the changes are kept for the views.
 */
export class CopyLoad {
  readonly changes: Batch[] = [];
  count = 0;
  private readonly cols: string[];
  private readonly types: SqlType[];

  constructor(private readonly duck: Duck, private readonly conn: DuckDBConnection, private readonly t: TableEntry, columns: readonly string[] | null) {
    this.cols = targetColumns(t.name, t.schema, columns);
    this.types = this.cols.map((c) => t.schema.find((f) => f.name === c)!.type);
  }

  /** Loads the next rows; `firstLine` is the 1-based line of the first (for error messages). */
  async push(rows: CopyBatch['rows'], firstLine: number): Promise<void> {
    if (!Array.isArray(rows)) return this.pushParsed(rows as ParsedBatch, firstLine);
    const width = this.cols.length;
    for (const [i, r] of rows.entries()) {
      if (r.length !== width) {
        throw new SluiceError('bad_copy_file_format', r.length < width ? `missing data for column "${this.cols[r.length]}"` : 'extra data after last expected column', {
          hint: copyContext(this.t.name, firstLine + i),
        });
      }
    }
    if (!rows.length) return;
    await this.load(this.types.map((type, k) => textColumn((i) => rows[i]![k]!, rows.length, type)), rows.length, firstLine);
  }

  /** Loads a batch parsed into columns, then reports its line with a wrong number of fields, if any. */
  private async pushParsed(b: ParsedBatch, firstLine: number): Promise<void> {
    if (b.columns.length !== this.cols.length) throw new SluiceError('internal', `a COPY batch of ${b.columns.length} columns for ${this.cols.length}`);
    if (b.length) {
      const load = b.columns.map((c, k): LoadColumn => {
        const type = this.types[k]!;
        if (c.kind === 'numbers') return { kind: 'numbers', type: type as 'int' | 'double', values: c.values, validity: c.validity };
        if (c.kind === 'values') return { kind: 'typed', type, values: c.values };
        const texts = c.values;
        return textColumn((i) => texts[i]!, b.length, type);
      });
      await this.load(load, b.length, firstLine);
    }
    if (b.bad) {
      const width = this.cols.length;
      throw new SluiceError('bad_copy_file_format', b.bad.fields < width ? `missing data for column "${this.cols[b.bad.fields]}"` : 'extra data after last expected column', {
        hint: copyContext(this.t.name, firstLine + b.bad.at),
      });
    }
  }

  private async load(load: LoadColumn[], rows: number, firstLine: number): Promise<void> {
    let r: Batch | BadValue;
    try {
      r = await loadColumns(this.duck, this.conn, this.t, this.cols, load, rows);
    } catch (e) {
      throw toSluiceError(e);
    }
    if (!('columns' in r)) {
      const category = inputErrorCategory(r.type, r.text);
      const message = category === 'numeric_out_of_range' ? `value "${r.text}" is out of range for type ${typeDisplayName(r.type)}` : `invalid input syntax for type ${typeDisplayName(r.type)}: "${r.text}"`;
      throw new SluiceError(category, message, {
        hint: `${copyContext(this.t.name, firstLine + r.row)}, column ${r.column}: "${r.text}"`,
      });
    }
    if (r.length) this.changes.push(r);
    this.count += r.length;
  }
}

function copyContext(table: string, line: number): string {
  return `COPY ${table}, line ${line}`;
}

/** PostgreSQL's SQLSTATE for a value its input function refuses: 22007 for dates and times, 22003 for a number out of range, else 22P02. */
function inputErrorCategory(type: SqlType, text: string): 'invalid_datetime_format' | 'numeric_out_of_range' | 'invalid_input' {
  if (type === 'timestamp' || type === 'timestamptz' || type === 'date' || type === 'time' || type === 'interval') return 'invalid_datetime_format';
  if ((type === 'int' || type === 'bigint') && PLAIN_INTEGER.test(text.trim())) return 'numeric_out_of_range';
  return 'invalid_input';
}
