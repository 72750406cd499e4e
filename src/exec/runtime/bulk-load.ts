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
import { DuckDBDataChunk, type DuckDBConnection, type DuckDBType, BIGINT, BOOLEAN, DOUBLE, INTEGER, VARCHAR } from '@duckdb/node-api';
import { columnFromValues, batchFromRows, newBitmap, setBit, type Batch, type Column } from '../../common/column.js';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import type { Schema, SqlType, Value } from '../../common/types.js';
import { typeDisplayName } from '../../common/types.js';
import { LiteralKind, type InsertValues } from '../../parser/insert-values.js';
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

/** One column ready to load: converted values, or text for DuckDB to cast. */
type LoadColumn =
  | { readonly kind: 'typed'; readonly type: SqlType; readonly values: Value[] }
  | { readonly kind: 'cast'; readonly type: SqlType; readonly values: (string | null)[] };

/** Why a fast path gave up: the general path runs the statement instead. */
const FALLBACK = Symbol('fallback');

const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const PLAIN_INTEGER = /^[+-]?\d+$/;
const PLAIN_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `s` as an int, bigint, double or boolean when it plainly is one (DuckDB's CAST and PostgreSQL agree), else undefined. */
function plainValue(s: string, type: SqlType): Value | undefined {
  switch (type) {
    case 'int':
      if (!PLAIN_INTEGER.test(s) || s.length > 12) return undefined;
      {
        const n = Number(s);
        return n >= -INT32_MAX - 1 && n <= INT32_MAX ? n : undefined;
      }
    case 'bigint':
      if (!PLAIN_INTEGER.test(s) || s.length > 21) return undefined;
      {
        const n = BigInt(s);
        return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
      }
    case 'double':
      // Up to 15 significant digits a decimal literal and its double agree however DuckDB reads it.
      return PLAIN_DECIMAL.test(s) && significantDigits(s) <= 15 ? Number(s) : undefined;
    case 'boolean':
      return s === 't' || s === 'true' ? true : s === 'f' || s === 'false' ? false : undefined;
    case 'varchar':
      return s;
    default:
      return undefined;
  }
}

/** Digits of a plain decimal's mantissa, leading zeros left out. */
function significantDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 101 || c === 69) break;
    if (c >= 49 && c <= 57) n++;
    else if (c === 48 && n > 0) n++;
  }
  return n;
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
function loadColumn(f: Fields, type: SqlType): LoadColumn | typeof FALLBACK {
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
    else if (k === LiteralKind.String || k === LiteralKind.EscapedString) texts[i] = f.text(i);
    else return FALLBACK;
  }
  return { kind: 'cast', type, values: texts };
}

const DUCK_CHUNK_TYPE: Partial<Record<SqlType, DuckDBType>> = { int: INTEGER, bigint: BIGINT, double: DOUBLE, boolean: BOOLEAN, varchar: VARCHAR };

let stagingSeq = 0;

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
async function loadColumns(duck: Duck, conn: DuckDBConnection, table: string, schema: Schema, appendOnly: boolean, cols: readonly string[], load: readonly LoadColumn[], rows: number): Promise<Batch | BadValue> {
  const staging = `__sluice_load_${++stagingSeq}`;
  const stagingTypes = load.map((c) => (c.kind === 'typed' ? DUCK_CHUNK_TYPE[c.type]! : VARCHAR));
  await duck.run(`CREATE TEMP TABLE ${quoteIdent(staging)} (${load.map((c, j) => `c${j} ${c.kind === 'typed' ? duckType(c.type) : 'VARCHAR'}`).join(', ')})`, conn);
  try {
    const app = await conn.createAppender(staging, null);
    try {
      const chunk = DuckDBDataChunk.create(stagingTypes);
      for (let s = 0; s < rows; s += CHUNK_ROWS) {
        const e = Math.min(rows, s + CHUNK_ROWS);
        chunk.reset();
        chunk.rowCount = e - s;
        for (let j = 0; j < load.length; j++) chunk.setColumnValues(j, load[j]!.values.slice(s, e) as never);
        app.appendDataChunk(chunk);
      }
      app.flushSync();
    } catch (e) {
      throw duckError(e);
    } finally {
      app.closeSync();
    }
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
    const columns: Column[] = schema.map((f) => {
      const at = cols.indexOf(f.name);
      return columnOf(f.type, at < 0 ? new Array<Value>(rows).fill(null) : load[at]!.values);
    });
    return { columns, length: rows, weights: appendOnly ? null : new Int32Array(rows).fill(1) };
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
export async function insertValues(duck: Duck, conn: DuckDBConnection, table: string, schema: Schema, appendOnly: boolean, v: InsertValues): Promise<{ change: Batch; count: number } | null> {
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
    }, types[k]!);
    if (c === FALLBACK) return null;
    load.push(c);
  }
  const r = await loadColumns(duck, conn, table, schema, appendOnly, cols, load, v.rows);
  if (!('columns' in r)) return null;
  return { change: r, count: v.rows };
}

/** Rows of a COPY FROM STDIN as they arrive, and the input line of the first (for errors). */
export interface CopyBatch {
  readonly rows: readonly (readonly (string | null)[])[];
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

  constructor(private readonly duck: Duck, private readonly conn: DuckDBConnection, private readonly table: string, private readonly schema: Schema, private readonly appendOnly: boolean, columns: readonly string[] | null) {
    this.cols = targetColumns(table, schema, columns);
    this.types = this.cols.map((c) => schema.find((f) => f.name === c)!.type);
  }

  /** Loads the next rows; `firstLine` is the 1-based line of the first (for error messages). */
  async push(rows: readonly (readonly (string | null)[])[], firstLine: number): Promise<void> {
    const width = this.cols.length;
    for (const [i, r] of rows.entries()) {
      if (r.length !== width) {
        throw new SluiceError('bad_copy_file_format', r.length < width ? `missing data for column "${this.cols[r.length]}"` : 'extra data after last expected column', {
          hint: copyContext(this.table, firstLine + i),
        });
      }
    }
    if (!rows.length) return;
    const load = this.types.map((type, k) => {
      const c = loadColumn({ length: rows.length, kind: (i) => (rows[i]![k] === null ? LiteralKind.Null : LiteralKind.String), text: (i) => rows[i]![k]! }, type);
      if (c === FALLBACK) throw new SluiceError('internal', 'COPY fields are text, which always loads');
      return c;
    });
    let r: Batch | BadValue;
    try {
      r = await loadColumns(this.duck, this.conn, this.table, this.schema, this.appendOnly, this.cols, load, rows.length);
    } catch (e) {
      throw toSluiceError(e);
    }
    if (!('columns' in r)) {
      const category = inputErrorCategory(r.type, r.text);
      const message = category === 'numeric_out_of_range' ? `value "${r.text}" is out of range for type ${typeDisplayName(r.type)}` : `invalid input syntax for type ${typeDisplayName(r.type)}: "${r.text}"`;
      throw new SluiceError(category, message, {
        hint: `${copyContext(this.table, firstLine + r.row)}, column ${r.column}: "${r.text}"`,
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
  if (type === 'timestamp' || type === 'date' || type === 'interval') return 'invalid_datetime_format';
  if ((type === 'int' || type === 'bigint') && PLAIN_INTEGER.test(text.trim())) return 'numeric_out_of_range';
  return 'invalid_input';
}
