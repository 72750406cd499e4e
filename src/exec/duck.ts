/**
 * The embedded DuckDB: holds tables (filled by DML or connectors), dead-letter tables, and runs
 * ad-hoc SELECTs. Converts between DuckDB values and sluice values.
 */
import { appendChunks, chunkWriters } from './duck-chunks.js';
import { checkedInterval, decodeInterval, encodeInterval, parseInterval } from '../common/interval.js';
import {
  DuckDBInstance, DuckDBTimestampValue, DuckDBTimestampTZValue, DuckDBTimestampMillisecondsValue, DuckDBTimestampSecondsValue, DuckDBTimestampNanosecondsValue, listValue, LIST, BOOLEAN, INTEGER, BIGINT, DOUBLE, VARCHAR, DuckDBDateValue, DuckDBIntervalValue, DuckDBDecimalValue, DuckDBTimeValue,
  type DuckDBConnection, type DuckDBResultReader,
} from '@duckdb/node-api';
import { isErrorCategory, SluiceError, type ErrorCategory } from '../common/errors.js';
import { arrayOf, elementType, type Field, type Schema, type SqlType, type Value } from '../common/types.js';
import { getValue, isValid, type Batch, type Column } from '../common/column.js';
import { parseBytea } from '../common/values.js';
import { numericText } from '../common/decimal.js';
import { canonicalJsonb } from '../common/jsonb.js';

export function duckType(t: SqlType): string {
  switch (t) {
    case 'boolean': return 'BOOLEAN';
    case 'int': return 'INTEGER';
    case 'bigint': return 'BIGINT';
    case 'double': return 'DOUBLE';
    // Exact as text; a column with a typmod is DECIMAL(p, s) (see duckColumnType).
    case 'numeric': return 'VARCHAR';
    case 'varchar': return 'VARCHAR';
    // bytea as its hex text: DuckDB's BLOB prints differently and sluice's values are that text.
    case 'bytea': return 'VARCHAR';
    // DuckDB's JSON checks documents on insert; sluice canonicalises them when they enter a column.
    case 'jsonb': return 'JSON';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'interval': return 'INTERVAL';
    case 'null': return 'VARCHAR';
    default: return `${duckType(elementType(t))}[]`;
  }
}

/** DuckDB's DECIMAL holds at most 38 digits. */
const DUCK_MAX_PRECISION = 38;

/**
 * The DuckDB type of a column: NUMERIC(p, s) with p ≤ 38 is DECIMAL(p, s) (DuckDB then rounds
 * and range-checks inserts as PostgreSQL's typmod does); an unconstrained NUMERIC is VARCHAR
 * holding the exact text, unless `numericScale` gives a DECIMAL for the values at hand (copies).
 */
export function duckColumnType(f: Field, numeric?: { precision: number; scale: number } | null): string {
  const tm = f.typmod ?? numeric;
  if (f.type === 'numeric' && tm && tm.precision <= DUCK_MAX_PRECISION) return `DECIMAL(${tm.precision},${tm.scale})`;
  return duckType(f.type);
}

/**
 * The narrowest DECIMAL(p, s) holding every value of NUMERIC columns (canonical texts), or null
 * when they need more than DuckDB's 38 digits (or there are none).
 */
export function decimalFor(columns: Iterable<Column>): { precision: number; scale: number } | null {
  let scale = 0;
  let whole = 1;
  for (const c of columns) {
    const offsets = c.offsets;
    if (!offsets) throw new SluiceError('internal', `a NUMERIC column without text layout (${c.type})`);
    const bytes = c.values as Uint8Array;
    for (let i = 0; i < c.length; i++) {
      if (!isValid(c, i)) continue;
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      let dot = -1;
      for (let p = start; p < end; p++) {
        if (bytes[p] === 46) {
          dot = p;
          break;
        }
      }
      const intDigits = (dot < 0 ? end : dot) - start - (bytes[start] === 45 ? 1 : 0);
      if (intDigits > whole) whole = intDigits;
      if (dot >= 0 && end - dot - 1 > scale) scale = end - dot - 1;
    }
  }
  return whole + scale <= DUCK_MAX_PRECISION ? { precision: DUCK_MAX_PRECISION, scale } : null;
}

/** The sluice type of a DuckDB result column (JSON is a VARCHAR with an alias). */
function duckResultType(t: { toString(): string; alias?: string }): SqlType {
  return t.alias === 'JSON' ? 'jsonb' : fromDuckTypeName(t.toString());
}

/** Maps a DuckDB result column type name to a sluice type. */
export function fromDuckTypeName(name: string): SqlType {
  const n = name.toUpperCase();
  if (n.endsWith('[]')) return arrayOf(fromDuckTypeName(n.slice(0, -2))) ?? 'varchar';
  if (n === 'BOOLEAN') return 'boolean';
  if (n === 'JSON') return 'jsonb';
  if (n === 'INTEGER' || n === 'SMALLINT' || n === 'TINYINT' || n === 'UTINYINT' || n === 'USMALLINT') return 'int';
  if (n === 'BIGINT' || n === 'HUGEINT' || n === 'UINTEGER' || n === 'UBIGINT') return 'bigint';
  if (n === 'DOUBLE' || n === 'FLOAT') return 'double';
  if (n.startsWith('DECIMAL')) return 'numeric';
  if (n === 'TIMESTAMP WITH TIME ZONE' || n === 'TIMESTAMPTZ') return 'timestamptz';
  if (n.startsWith('TIMESTAMP')) return 'timestamp';
  if (n === 'DATE') return 'date';
  if (n === 'TIME') return 'time';
  if (n === 'INTERVAL') return 'interval';
  return 'varchar';
}

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Converts one DuckDB value to the sluice value of `type`. */
export function fromDuck(v: unknown, type: SqlType): Value {
  if (v === null || v === undefined) return null;
  if (v instanceof DuckDBTimestampValue || v instanceof DuckDBTimestampTZValue) return v.micros;
  if (v instanceof DuckDBTimestampMillisecondsValue) return v.millis * 1000n;
  if (v instanceof DuckDBTimestampSecondsValue) return v.seconds * 1_000_000n;
  if (v instanceof DuckDBTimestampNanosecondsValue) return v.nanos / 1000n;
  if (v instanceof DuckDBDateValue) return v.days;
  if (v instanceof DuckDBTimeValue) return v.micros;
  if (v instanceof DuckDBIntervalValue) return encodeInterval(checkedInterval(v.months, v.days, v.micros));
  if (v instanceof DuckDBDecimalValue) return type === 'numeric' ? v.toString() : Number(v.toString());
  switch (type) {
    case 'numeric':
      // VARCHAR columns hold the exact text; a DOUBLE from an expression becomes its decimal.
      return numericText(typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? v : String(v));
    case 'int':
    case 'double':
    case 'date':
      return Number(v);
    case 'bigint':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'interval':
      // Text (a VARCHAR column or expression) read as interval input.
      return parseInterval(String(v));
    case 'boolean':
      return Boolean(v);
    case 'bytea':
      // Stored as the text written in the statement; its bytes' canonical hex form from here on.
      return parseBytea(String(v));
    case 'jsonb':
      return canonicalJsonb(typeof v === 'string' ? v : String(v));
    case 'varchar':
      return typeof v === 'string' ? v : typeof v === 'object' ? String((v as { toString(): string }).toString()) : String(v);
    case 'null':
      return null;
    default: {
      // A DuckDB LIST value: its items, each converted to the element type.
      const items = (v as { items?: readonly unknown[] }).items ?? (Array.isArray(v) ? v : null);
      if (items === null) throw new SluiceError('internal', `expected a DuckDB list for ${type}`);
      return items.map((x) => fromDuck(x, elementType(type)));
    }
  }
}

/** A sluice value as the DuckDB value of `type` (appenders, sluice's functions in DuckDB). */
export function duckValue(v: Value, type: SqlType): unknown {
  if (v === null) return null;
  switch (type) {
    case 'timestamp':
      return new DuckDBTimestampValue(v as bigint);
    case 'timestamptz':
      return new DuckDBTimestampTZValue(v as bigint);
    case 'date':
      return new DuckDBDateValue(v as number);
    case 'time':
      return new DuckDBTimeValue(v as bigint);
    case 'interval': {
      const p = decodeInterval(v as string);
      return new DuckDBIntervalValue(p.months, p.days, p.micros);
    }
    case 'boolean[]':
    case 'int[]':
    case 'bigint[]':
    case 'double[]':
    case 'varchar[]':
      return listValue((v as readonly Value[]).map((x) => duckValue(x, elementType(type)) as never));
    default:
      return v;
  }
}

/** DuckDB error text → SluiceError with a PostgreSQL-like category. */
export function duckError(e: unknown): SluiceError {
  if (e instanceof SluiceError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  let cat: ErrorCategory = 'internal';
  if (/^Parser Error/.test(msg)) cat = 'syntax';
  else if (/^Catalog Error: Table/.test(msg)) cat = 'undefined_table';
  else if (/^Binder Error: Referenced column|not found in FROM clause/.test(msg)) cat = 'undefined_column';
  else if (/More than one row returned by a subquery/.test(msg)) cat = 'cardinality_violation';
  else if (/^Binder Error: Subquery returns \d+ columns/.test(msg)) cat = 'syntax';
  else if (/^Binder Error: (GROUP|ORDER) BY term out of range/.test(msg)) cat = 'invalid_column_reference';
  else if (/^Conversion Error|Invalid Input Error/.test(msg)) cat = 'invalid_input';
  else if (/^Constraint Error: NOT NULL constraint failed/.test(msg)) cat = 'not_null_violation';
  else if (/^Constraint Error/.test(msg)) cat = 'unique_violation';
  else if (/^Binder Error: No function matches|^Binder Error: Could not choose/.test(msg)) cat = 'undefined_function';
  else if (/^Binder Error: .*must appear in the GROUP BY clause/.test(msg)) cat = 'grouping';
  else if (/^Binder Error/.test(msg)) cat = 'datatype_mismatch';
  else if (/Out of Range Error/.test(msg)) cat = 'numeric_out_of_range';
  else if (/^Not implemented Error/.test(msg)) cat = 'not_supported';
  else if (/^Catalog Error: (?:Scalar |Aggregate |Table |Pragma |Macro )?Function with name/.test(msg)) cat = 'undefined_function';
  else if (/^Catalog Error: .* is not an? (?:aggregate|window|scalar|table) function/.test(msg)) cat = 'wrong_object_type';
  else if (/^Catalog Error: Type with name/.test(msg)) cat = 'undefined_object';
  else if (/^Catalog Error/.test(msg)) cat = 'undefined_object';
  else if (/^(?:Syntax|Parameter Not (?:Resolved|Allowed)) Error/.test(msg)) cat = 'syntax';
  else if (/^(?:Mismatch Type|Type|Invalid type) Error/.test(msg)) cat = 'datatype_mismatch';
  else if (/^Dependency Error/.test(msg)) cat = 'dependent_objects';
  else if (/^Permission Error/.test(msg)) cat = 'insufficient_privilege';
  else if (/^Interrupt Error/.test(msg)) cat = 'query_canceled';
  else if (/^(?:Missing Extension|Autoload Extension|IO|HTTP) Error/.test(msg)) cat = 'not_supported';
  else if (/^Sequence Error/.test(msg)) cat = 'invalid_parameter';
  else if (/^Out of Memory Error/.test(msg)) cat = 'out_of_memory';
  else if (/^TransactionContext Error: (Conflict|Failed to commit: Transaction conflict)/.test(msg)) cat = 'serialization_failure';
  let first = msg.split('\n')[0]!.replace(/^[A-Za-z ]+ Error: /, '');
  // An error of one of sluice's functions running inside DuckDB (exec/runtime/pg-functions.ts).
  const own = /^\[sluice:([a-z_]+)\] (.*)$/.exec(first);
  if (own && isErrorCategory(own[1]!)) return new SluiceError(own[1], own[2]!, { cause: e });
  // A function DuckDB does not know, or a SQL function's macro called with other arguments: PostgreSQL's 42883.
  const noFn = /^Scalar Function with name "?([^ "]+)"? does not exist/.exec(first) ?? /^Macro "?([^ "(]+)"?\(\) does not support the supplied arguments/.exec(first);
  if (noFn) return new SluiceError('undefined_function', `function ${noFn[1]} does not exist`, { cause: e, hint: 'No function matches the given name and argument types. You might need to add explicit type casts.' });
  // PostgreSQL's words for an unknown function (the hint says what DuckDB suggested, if anything).
  const fn = cat === 'undefined_function' ? /^(?:Scalar |Aggregate |Table |Pragma |Macro )?Function with name "?([^"!\s]+)"? does not exist/.exec(first) : null;
  if (fn) first = `function ${fn[1]} does not exist`;
  const notWindow = cat === 'wrong_object_type' ? /^(\S+) is not an? aggregate function/.exec(first) : null;
  if (notWindow) first = `OVER specified, but ${notWindow[1]} is not a window function nor an aggregate function`;
  // The division macros' error (see Duck.open), and DuckDB's integer overflows, as PostgreSQL says them.
  if (first === DIVISION_BY_ZERO) cat = 'division_by_zero';
  const overflow = /^Overflow in (?:addition|subtraction|multiplication|negation|division) of (INT16|INT32|INT64)/.exec(first)
    ?? /can't be cast because the value is out of range for the destination type (INT16|INT32|INT64)/.exec(first);
  if (overflow) {
    cat = 'numeric_out_of_range';
    first = `${OUT_OF_RANGE[overflow[1]!]} out of range`;
  }
  // Say it the way PostgreSQL does, so clients and tests see one vocabulary.
  const col = /^Referenced column "([^"]+)" not found/.exec(first);
  if (col) first = `column "${col[1]}" does not exist`;
  // DuckDB's words for a bad time, date or timestamp text, as PostgreSQL's.
  const badTime = /^(?:time|date|timestamp) field value out of range: "([^"]*)"/.exec(first);
  if (badTime) {
    cat = 'datetime_field_overflow';
    first = `date/time field value out of range: "${badTime[1]}"`;
  }
  const tbl = /^Table with name ([^ ]+) does not exist/.exec(first);
  if (tbl) first = `relation "${tbl[1]}" does not exist`;
  const notNull = cat === 'not_null_violation' ? /^NOT NULL constraint failed: ([^.\s]+)\.(\S+)/.exec(first) : null;
  if (notNull) first = `null value in column "${notNull[2]}" of relation "${notNull[1]}" violates not-null constraint`;
  // A write-write conflict between transactions: PostgreSQL's words for it (REPEATABLE READ).
  if (cat === 'serialization_failure') first = 'could not serialize access due to concurrent update';
  if (cat === 'cardinality_violation') first = 'more than one row returned by a subquery used as an expression';
  if (/^Subquery returns \d+ columns/.test(first)) first = 'subquery must return only one column';
  return new SluiceError(cat, first, { cause: e });
}

const DIVISION_BY_ZERO = 'division by zero';
const OUT_OF_RANGE: Record<string, string> = { INT16: 'smallint', INT32: 'integer', INT64: 'bigint' };

/**
 * Division and modulo as PostgreSQL has them, for ad-hoc queries (the text is rewritten to call
 * these where it divides, see select.ts): a zero divisor raises 22012 where DuckDB gives NULL
 * or Infinity. With integer_division on, `/` of integers truncates, as in PostgreSQL.
 */
export const PG_DIVISION_MACROS = [
  `CREATE OR REPLACE MACRO sluice_div(a, b) AS CASE WHEN b = 0 THEN error('${DIVISION_BY_ZERO}') ELSE a / b END`,
  `CREATE OR REPLACE MACRO sluice_mod(a, b) AS CASE WHEN b = 0 THEN error('${DIVISION_BY_ZERO}') ELSE a % b END`,
];

export class Duck {
  private constructor(readonly instance: DuckDBInstance, readonly conn: DuckDBConnection) {}

  /**
   * Opens the database at `path` locked down: no extension is installed or loaded, files are
   * read only under `allowedDirectories` (file tables), and no statement can change that,
   * since clients' ad-hoc SELECTs run on this instance too.
   */
  static async open(path: string, allowedDirectories: readonly string[]): Promise<Duck> {
    const instance = await DuckDBInstance.create(path, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      allow_community_extensions: 'false',
      allow_persistent_secrets: 'false',
    });
    const conn = await instance.connect();
    // PostgreSQL's NULL order (NULLS LAST ascending, NULLS FIRST descending); DuckDB's default
    // puts NULLs last both ways.
    await conn.run("SET GLOBAL default_null_order = 'nulls_last_on_asc_first_on_desc'");
    // What PostgreSQL clients probe with SELECT version().
    await conn.run("CREATE OR REPLACE MACRO version() AS 'PostgreSQL 15.0 (sluice 0.1.0), a streaming SQL engine'");
    // PostgreSQL's `/`: integer division of integers (DuckDB's default divides as doubles).
    await conn.run('SET GLOBAL integer_division = true');
    for (const sql of PG_DIVISION_MACROS) await conn.run(sql);
    const dirs = allowedDirectories.map((d) => `'${d.replace(/'/g, "''")}'`).join(', ');
    await conn.run(`SET GLOBAL allowed_directories = [${dirs}]`);
    await conn.run('SET GLOBAL enable_external_access = false');
    // TimeZone stays settable per connection: one-shot SELECTs and DML run in the session's zone.
    await conn.run("SET GLOBAL allowed_configs = ['TimeZone']");
    await conn.run('SET GLOBAL lock_configuration = true');
    return new Duck(instance, conn);
  }

  /** Names of DuckDB's table functions (what the ad-hoc guard decides over). */
  async tableFunctions(): Promise<string[]> {
    const r = await this.run("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro')");
    return r.getRows().map((row) => String(row[0]));
  }

  async run(sql: string, conn: DuckDBConnection = this.conn): Promise<DuckDBResultReader> {
    try {
      return await conn.runAndReadAll(sql);
    } catch (e) {
      throw duckError(e);
    }
  }

  /** Runs a query and converts the rows to sluice values by the result's column types. */
  async query(sql: string, conn: DuckDBConnection = this.conn): Promise<{ columns: Field[]; rows: Value[][] }> {
    const r = await this.run(sql, conn);
    const names = r.columnNames();
    const types = r.columnTypes().map(duckResultType);
    const columns = names.map((name, i) => ({ name, type: types[i]! }));
    const rows = r.getRows().map((row) => row.map((v, i) => fromDuck(v, types[i]!)));
    return { columns, rows };
  }

  /**
   * As `query`, streaming the result a chunk at a time and telling `onRows` the rows read so far
   * after each (for progress on long loads).
   */
  async queryStreaming(sql: string, onRows: (rowsSoFar: number) => void, conn: DuckDBConnection = this.conn): Promise<{ columns: Field[]; rows: Value[][] }> {
    try {
      const r = await conn.stream(sql);
      const names = r.columnNames();
      const types = r.columnTypes().map(duckResultType);
      const columns = names.map((name, i) => ({ name, type: types[i]! }));
      const rows: Value[][] = [];
      for (;;) {
        const chunk = await r.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        for (const row of chunk.getRows()) rows.push(row.map((v, i) => fromDuck(v, types[i]!)));
        onRows(rows.length);
      }
      return { columns, rows };
    } catch (e) {
      throw duckError(e);
    }
  }

  /** Appends a batch's rows (weights ignored) to a table through DuckDB's appender. */
  async appendBatch(table: string, schema: Schema, batches: readonly Batch[], conn: DuckDBConnection = this.conn, dbSchema?: string): Promise<void> {
    const app = await conn.createAppender(table, dbSchema ?? null);
    try {
      const chunked = chunkWriters(app, schema.map((f) => f.type));
      if (chunked) {
        appendChunks(app, chunked, batches);
        app.flushSync();
        return;
      }
      for (const b of batches) {
        for (let i = 0; i < b.length; i++) {
          for (let j = 0; j < schema.length; j++) appendValue(app, duckValue(getValue(b.columns[j]!, i), schema[j]!.type), schema[j]!.type);
          app.endRow();
        }
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  async appendRows(table: string, schema: Schema, rows: readonly (readonly Value[])[], conn: DuckDBConnection = this.conn, dbSchema?: string): Promise<void> {
    const app = await conn.createAppender(table, dbSchema ?? null);
    try {
      for (const r of rows) {
        for (let j = 0; j < schema.length; j++) appendValue(app, duckValue(r[j] ?? null, schema[j]!.type), schema[j]!.type);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(app: Appender, v: unknown, type: SqlType): void {
  if (v === null) {
    app.appendNull();
    return;
  }
  switch (type) {
    case 'boolean': app.appendBoolean(v as boolean); break;
    case 'int': app.appendInteger(v as number); break;
    case 'bigint': app.appendBigInt(v as bigint); break;
    case 'double': app.appendDouble(v as number); break;
    // Into VARCHAR as it is; DuckDB's appender casts the text into a DECIMAL column.
    case 'numeric':
    case 'varchar':
    case 'bytea':
    case 'jsonb':
    case 'null': app.appendVarchar(String(v)); break;
    case 'timestamp': app.appendTimestamp(v as DuckDBTimestampValue); break;
    case 'timestamptz': app.appendTimestampTZ(v as DuckDBTimestampTZValue); break;
    case 'date': app.appendDate(v as DuckDBDateValue); break;
    case 'time': app.appendTime(v as DuckDBTimeValue); break;
    case 'interval': app.appendInterval(v as DuckDBIntervalValue); break;
    default: app.appendList(v as never, DUCK_LIST_TYPES[type]); break;
  }
}

/** The DuckDB LIST type of each array type (the appender needs the element type). */
const DUCK_LIST_TYPES = {
  'boolean[]': LIST(BOOLEAN),
  'int[]': LIST(INTEGER),
  'bigint[]': LIST(BIGINT),
  'double[]': LIST(DOUBLE),
  'varchar[]': LIST(VARCHAR),
} as const;

export function createTableSql(name: string, schema: Schema, primaryKey: readonly string[] = [], temp = false, numeric?: readonly ({ precision: number; scale: number } | null)[]): string {
  const cols = schema.map((f, i) => `${quoteIdent(f.name)} ${duckColumnType(f, numeric?.[i])}`);
  if (primaryKey.length) cols.push(`PRIMARY KEY (${primaryKey.map(quoteIdent).join(', ')})`);
  return `CREATE ${temp ? 'TEMP ' : ''}TABLE ${quoteIdent(name)} (${cols.join(', ')})`;
}
