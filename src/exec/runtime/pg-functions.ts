/**
 * PostgreSQL's functions in ad-hoc SELECTs. An ad-hoc SELECT runs in DuckDB, whose functions of
 * the same names differ from PostgreSQL's (to_char does not exist, regexp_matches is a boolean,
 * `~` is a full match, format is fmt-style, …). The query's DuckDB parse tree is rewritten so a
 * call of such a function calls a DuckDB function of sluice's instead (`sluice_pg_<name>`),
 * registered here, whose body runs sluice's own kernel of that function — one implementation,
 * the same answers in views and in ad-hoc queries.
 *
 *   SELECT to_char(ts, 'HH24') FROM t      (client text)
 *     → SELECT sluice_pg_to_char('_L', ts, 'HH24') FROM t      (rewritten tree, back to text)
 *     → DuckDB calls the registered function per chunk: the chunk's columns become a batch, the
 *       call is bound by sluice's binder (argument types from the vectors, literal arguments as
 *       literals — the mask's `L`) and evaluated by its kernel.
 *
 * Errors a kernel raises travel through DuckDB as `[sluice:<category>] message` and come out
 * as the same SluiceError (see duckError).
 */
import { quoteLiteral } from '../../connectors/table/quoting.js';
import { parseIntervalParts } from '../../common/interval.js';
import { timeZoneOf, UTC, type TimeZone } from '../../common/time-zone.js';
import { BOOLEAN, DATE, DuckDBBlobValue, DOUBLE, DuckDBScalarFunction, INTEGER, INTERVAL, LIST, TIMESTAMP, TIMESTAMPTZ, VARCHAR, listValue, type DuckDBConnection, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { getValue, batchFromRows } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SqlType, Value } from '../../common/types.js';
import { bindScalar } from '../../functions/scalar/index.js';
import { SET_FUNCTIONS } from '../../functions/set/index.js';
import { call, cast } from '../../planner/coercion.js';
import type { BoundExpr } from '../../planner/expr.js';
import { duckValue, fromDuck, fromDuckTypeName, type Duck } from '../duck.js';
import { raiseOnZeroDivisor } from './pg-names.js';
import { compile, type Kernel } from '../eval.js';

/** A PostgreSQL function (or operator) sluice answers in ad-hoc queries: its DuckDB result type and how a call is bound. */
interface PgFunction {
  readonly returns: SqlType;
  /** Unnested into rows (a set-returning function in the select list). */
  readonly setReturning?: boolean;
  bind(args: BoundExpr[]): BoundExpr;
}

const plain = (name: string, returns: SqlType): PgFunction => ({ returns, bind: (args) => bindScalar(name, args, undefined) });
const I_FLAG: BoundExpr = { kind: 'lit', value: 'i', type: 'varchar' };
const not = (e: BoundExpr): BoundExpr => call('not', [e], 'boolean');

/** By the name the rewritten query calls (without the `sluice_pg_` prefix). */
const FUNCTIONS: Readonly<Record<string, PgFunction>> = {
  // A plain NUMERIC table column is text in DuckDB (its exact digits): read back as numeric.
  to_char: { returns: 'varchar', bind: (args) => bindScalar('to_char', [args[0]?.type === 'varchar' ? cast(args[0], 'numeric') : args[0]!, ...args.slice(1)], undefined) },
  to_timestamp: plain('to_timestamp', 'timestamptz'),
  to_date: plain('to_date', 'date'),
  regexp_match: plain('regexp_match', 'varchar[]'),
  regexp_replace: plain('regexp_replace', 'varchar'),
  regexp_count: plain('regexp_count', 'int'),
  regexp_like: plain('regexp_like', 'boolean'),
  format: plain('format', 'varchar'),
  lpad: plain('lpad', 'varchar'),
  rpad: plain('rpad', 'varchar'),
  // bytea is VARCHAR in DuckDB (its hex text): the argument is read back as bytea.
  encode: { returns: 'varchar', bind: (args) => bindScalar('encode', [args[0]?.type === 'varchar' ? cast(args[0], 'bytea') : args[0]!, ...args.slice(1)], undefined) },
  decode: plain('decode', 'bytea'),
  quote_ident: plain('quote_ident', 'varchar'),
  quote_literal: plain('quote_literal', 'varchar'),
  quote_nullable: plain('quote_nullable', 'varchar'),
  date_part: plain('date_part', 'double'),
  age: plain('age', 'interval'),
  make_interval: plain('make_interval', 'interval'),
  make_timestamp: plain('make_timestamp', 'timestamp'),
  make_date: plain('make_date', 'date'),
  justify_days: plain('justify_days', 'interval'),
  justify_hours: plain('justify_hours', 'interval'),
  justify_interval: plain('justify_interval', 'interval'),
  width_bucket: plain('width_bucket', 'int'),
  // DuckDB has none of these, or answers otherwise (to_hex in upper case and 64 bits).
  initcap: plain('initcap', 'varchar'),
  octet_length: plain('octet_length', 'int'),
  to_hex: plain('to_hex', 'varchar'),
  // jsonb's functions (DuckDB's JSON has others of its own names, or none); results are the canonical text.
  jsonb_typeof: plain('jsonb_typeof', 'varchar'),
  jsonb_array_length: plain('jsonb_array_length', 'int'),
  jsonb_build_object: plain('jsonb_build_object', 'varchar'),
  jsonb_build_array: plain('jsonb_build_array', 'varchar'),
  to_jsonb: plain('to_jsonb', 'varchar'),
  jsonb_extract_path: plain('jsonb_extract_path', 'varchar'),
  jsonb_extract_path_text: plain('jsonb_extract_path_text', 'varchar'),
  jsonb_strip_nulls: plain('jsonb_strip_nulls', 'varchar'),
  jsonb_pretty: plain('jsonb_pretty', 'varchar'),
  op_contains: { returns: 'boolean', bind: (args) => bindScalar('__contains', args, undefined) },
  op_contained: { returns: 'boolean', bind: (args) => bindScalar('__contained', args, undefined) },
  // The operators: `~` and SIMILAR TO reach DuckDB's tree as regexp_full_match, `~*` and `!~*` by their own names.
  op_match: { returns: 'boolean', bind: (args) => bindScalar('regexp_like', args, undefined) },
  op_imatch: { returns: 'boolean', bind: (args) => bindScalar('regexp_like', [...args, I_FLAG], undefined) },
  op_not_imatch: { returns: 'boolean', bind: (args) => not(bindScalar('regexp_like', [...args, I_FLAG], undefined)) },
  op_similar: { returns: 'boolean', bind: (args) => call('similar_to', args.map((a) => cast(a, 'varchar')), 'boolean') },
  regexp_matches: { returns: 'varchar[]', setReturning: true, bind: () => { throw new SluiceError('internal', 'regexp_matches is expanded by its own function'); } },
};

const PREFIX = 'sluice_pg_';

function duckTypeOf(t: SqlType): DuckDBType {
  switch (t) {
    case 'boolean': return BOOLEAN;
    case 'int': return INTEGER;
    case 'double': return DOUBLE;
    case 'timestamp': return TIMESTAMP;
    case 'timestamptz': return TIMESTAMPTZ;
    case 'date': return DATE;
    case 'interval': return INTERVAL;
    case 'varchar[]': return LIST(VARCHAR);
    default: return VARCHAR;
  }
}

/** A column of the chunk, or null for a vector node-api cannot read (DuckDB's SQLNULL: a NULL literal). */
function vectorOf(chunk: { getColumnVector(i: number): DuckDBVector }, i: number): DuckDBVector | null {
  try {
    return chunk.getColumnVector(i);
  } catch {
    return null;
  }
}

/** A DuckDB value as sluice's; a BLOB (a cast to bytea in the query) as bytea's hex text. */
function readValue(v: unknown, type: SqlType): Value {
  if (v instanceof DuckDBBlobValue) return '\\x' + Buffer.from(v.bytes).toString('hex');
  return fromDuck(v, type);
}

/** The error text that carries a SluiceError's category through DuckDB. */
function errorText(e: unknown): string {
  if (e instanceof SluiceError) return `[sluice:${e.category}] ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Registers `sluice_pg_<name>` for every function above (once per database: DuckDB's catalog is shared by its connections). */
export function registerPgFunctions(conn: DuckDBConnection): void {
  for (const [name, fn] of Object.entries(FUNCTIONS)) {
    const kernels = new Map<string, { kernel: Kernel; type: SqlType }>();
    const f = DuckDBScalarFunction.create({
      name: PREFIX + name,
      returnType: fn.setReturning ? LIST(LIST(VARCHAR)) : duckTypeOf(fn.returns),
      specialHandling: true,
      volatile: name === 'age',
      mainFunction: (info, input, out) => {
        try {
          const n = input.rowCount;
          // Argument 0 is the mask: per argument, L a text literal, N a NULL literal, _ anything
          // else; after an @, the session's TimeZone (the kernels of timestamptz read it).
          const [mask = '', zoneName = 'UTC'] = String(input.getColumnVector(0).getItem(0) ?? '').split('@');
          const vectors = mask.split('').map((_, k) => vectorOf(input, k + 1));
          const types: SqlType[] = vectors.map((v, k) => (v === null || mask[k] === 'N' ? 'null' : v.type.toString() === 'BLOB' ? 'bytea' : (v.type as { alias?: string }).alias === 'JSON' ? 'jsonb' : fromDuckTypeName(v.type.toString())));
          const rows: Value[][] = [];
          for (let i = 0; i < n; i++) rows.push(vectors.map((v, k) => (v === null || mask[k] === 'N' ? null : readValue(v.getItem(i), types[k]!))));
          const batch = batchFromRows(types, rows);
          if (fn.setReturning) {
            const set = setExpander(rows);
            for (let i = 0; i < n; i++) out.setItem(i, listValue(set[i]!.map((m) => listValue(m.map((x) => x as never)))) as never);
            out.flush();
            return;
          }
          const args: BoundExpr[] = types.map((t, k) => (mask[k] === 'L' ? { kind: 'lit', value: rows[0]?.[k] ?? null, type: 'varchar' } : mask[k] === 'N' ? { kind: 'lit', value: null, type: 'null' } : { kind: 'col', index: k, type: t }));
          const key = `${mask}|${types.join(',')}|${args.map((a) => (a.kind === 'lit' ? String(a.value) : '')).join('\u0000')}`;
          let compiled = kernels.get(key);
          if (!compiled) {
            let e = fn.bind(args);
            if (e.type !== fn.returns && !(fn.returns === 'bytea' && e.type === 'bytea')) e = cast(e, fn.returns);
            compiled = { kernel: compile(e), type: e.type };
            if (kernels.size > 100) kernels.clear();
            kernels.set(key, compiled);
          }
          const col = compiled.kernel(batch, { now: BigInt(Date.now()) * 1000n, zone: timeZoneOf(zoneName), onRowError: (err) => { throw err; } });
          for (let i = 0; i < n; i++) out.setItem(i, duckValue(getValue(col, i), compiled.type) as never);
          out.flush();
        } catch (e) {
          info.setError(errorText(e));
        }
      },
    });
    duckdb.scalar_function_set_varargs(f.scalar_function, duckdb.create_logical_type(duckdb.Type.ANY));
    conn.registerScalarFunction(f);
  }
}

/** regexp_matches(s, p [, flags]) per row: the matches' text arrays. */
function setExpander(rows: readonly Value[][]): Value[][][] {
  const expand = SET_FUNCTIONS.regexp_matches.expander();
  return rows.map((r) => expand(r.map((v) => (v === null ? null : String(v)))) as Value[][]);
}

/** Whether query text may call one of the functions (a cheap test before the tree rewrite). */
export function mentionsPgFunction(text: string): boolean {
  return /~|interval|numeric|decimal|initcap|octet_length|to_hex|similar|generate_series|to_char|to_timestamp|to_date|regexp_|format|lpad|rpad|encode|decode|quote_|date_part|age|make_|justify_|width_bucket|jsonb|@>|<@/i.test(text);
}

type Node = Record<string, unknown>;

const CONSTANT_NULL = (n: Node) => n.class === 'CONSTANT' && (n.value as { is_null?: boolean } | undefined)?.is_null === true;
const CONSTANT_TEXT = (n: Node) => n.class === 'CONSTANT' && (n.value as { type?: { id?: string }; is_null?: boolean } | undefined)?.type?.id === 'VARCHAR';

/** The query text at a node's location (lower case, `len` bytes), '' where the node has none. */
function textAt(sql: Buffer, loc: unknown, len = 8): string {
  if (typeof loc !== 'number' || loc >= sql.length) return '';
  return sql.subarray(loc, loc + len).toString().toLowerCase();
}

/** What stands for "no location" in the parse tree while it is a JavaScript object (2^64 − 1 does not fit a number). */
export const NO_LOCATION = 'sluice:no-location';

function constant(value: string): Node {
  return { class: 'CONSTANT', type: 'VALUE_CONSTANT', alias: '', query_location: NO_LOCATION, value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value } };
}

/**
 * A literal cast to NUMERIC without a precision (`'3.14159'::numeric`, `CAST(2.5 AS decimal)`):
 * DuckDB reads the type as DECIMAL(18,3), which rounds the value to 3 digits; PostgreSQL keeps
 * every digit. The cast gets the DECIMAL that holds the literal exactly (up to DuckDB's 38
 * digits). Other casts to NUMERIC are left to DuckDB. Returns whether the cast changed.
 */
function exactNumericCast(o: Node, text: Buffer): boolean {
  const info = (o.cast_type as { id?: string; type_info?: { width?: number; scale?: number } } | undefined);
  if (info?.id !== 'DECIMAL' || info.type_info?.width !== 18 || info.type_info.scale !== 3) return false;
  const child = o.child as Node;
  if (child.class !== 'CONSTANT') return false;
  const v = child.value as { type?: { id?: string }; is_null?: boolean; value?: unknown };
  if (v.is_null || !['VARCHAR', 'INTEGER', 'BIGINT', 'DECIMAL', 'HUGEINT'].includes(v.type?.id ?? '')) return false;
  // A DECIMAL constant holds its unscaled digits and its type its scale.
  const litScale = v.type?.id === 'DECIMAL' ? ((v.type as { type_info?: { scale?: number } }).type_info?.scale ?? 0) : null;
  let literal = String(v.value);
  if (litScale !== null && litScale > 0) {
    const neg = literal.startsWith('-');
    const digits = (neg ? literal.slice(1) : literal).padStart(litScale + 1, '0');
    literal = `${neg ? '-' : ''}${digits.slice(0, -litScale)}.${digits.slice(-litScale)}`;
  }
  const m = /^\s*[+-]?(\d*)(?:\.(\d*))?\s*$/.exec(literal);
  if (!m || (m[1] === '' && !m[2])) return false;
  // Unconstrained as written: `::numeric` / `::decimal` not followed by `(`, or CAST(… AS numeric).
  if (typeof o.query_location !== 'number') return false;
  const after = text.subarray(o.query_location).toString();
  const written = /^::\s*(?:numeric|decimal)\b(?!\s*\()/i.test(after) || /^cast\s*\([\s\S]*?\bas\s+(?:numeric|decimal)\s*\)/i.test(after);
  if (!written) return false;
  const whole = m[1]!.replace(/^0+/, '').length;
  const scale = (m[2] ?? '').length;
  if (whole + scale > 38) return false;
  info.type_info.width = Math.max(whole + scale, 1, scale);
  info.type_info.scale = scale;
  return true;
}

/**
 * Rewrites DuckDB's serialized parse tree of `sql` in place: calls of PostgreSQL's functions
 * and the `~`-family and SIMILAR TO operators call sluice's functions. Returns whether anything
 * changed.
 */
export function rewritePgFunctions(tree: unknown, sql: string, zone: TimeZone = UTC): boolean {
  const text = Buffer.from(sql);
  let changed = false;
  const retarget = (o: Node, name: string) => {
    const children = (o.children as Node[]) ?? [];
    const mask = `${children.map((c) => (CONSTANT_NULL(c) ? 'N' : CONSTANT_TEXT(c) ? 'L' : '_')).join('')}@${zone.name}`;
    o.children = [constant(mask), ...children.map((c) => (CONSTANT_NULL(c) ? constant('') : c))];
    o.function_name = PREFIX + name;
    o.is_operator = false;
    o.schema = '';
    o.catalog = '';
    changed = true;
  };
  const walk = (n: unknown, parent: Node | null): void => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x, parent);
      return;
    }
    if (n === null || typeof n !== 'object') return;
    const o = n as Node;
    for (const v of Object.values(o)) walk(v, o);
    if (o.class === 'CAST' && exactNumericCast(o, text)) {
      changed = true;
      return;
    }
    if (o.class === 'CAST' && (o.cast_type as { id?: string } | undefined)?.id === 'INTERVAL' && CONSTANT_TEXT(o.child as Node)) {
      // Interval text read as PostgreSQL reads it ('-1 days +02:00', '1.5 months'), in a form DuckDB casts to the same fields.
      const c = (o.child as Node).value as { value: string };
      const p = parseIntervalParts(c.value);
      c.value = `${p.months} months ${p.days} days ${p.micros} microseconds`;
      changed = true;
      return;
    }
    if (o.class !== 'FUNCTION' || typeof o.function_name !== 'string') return;
    const name = o.function_name.toLowerCase();
    if (name === 'regexp_full_match') {
      // Which syntax wrote it: `~`, `!~` (under a NOT), SIMILAR TO, or a call of DuckDB's function.
      const at = textAt(text, o.query_location) || (parent?.type === 'OPERATOR_NOT' ? textAt(text, parent.query_location) : '');
      if (at.startsWith('~') || at.startsWith('!~')) retarget(o, 'op_match');
      else if (at.startsWith('similar') || at.startsWith('not')) retarget(o, 'op_similar');
      return;
    }
    if (name === '~*') return retarget(o, 'op_imatch');
    if (name === '@>') return retarget(o, 'op_contains');
    if (name === '<@') return retarget(o, 'op_contained');
    if (name === '!~*') return retarget(o, 'op_not_imatch');
    // Only a call written by that name (EXTRACT reaches the tree as date_part, for one).
    const written = textAt(text, o.query_location, name.length) === name || (typeof o.query_location !== 'number' || o.query_location >= text.length);
    // generate_series outside FROM is DuckDB's list; PostgreSQL's is a set of rows.
    if (name === 'generate_series' && parent?.type !== 'TABLE_FUNCTION' && written) {
      const inner = { ...o };
      for (const k of Object.keys(o)) delete o[k];
      Object.assign(o, { ...inner, function_name: 'unnest', children: [inner] });
      changed = true;
      return;
    }
    if ((o.schema === '' || o.schema === 'pg_catalog') && Object.hasOwn(FUNCTIONS, name) && !name.startsWith('op_') && written) {
      if (name === 'regexp_matches') {
        retarget(o, name);
        const inner = { ...o };
        for (const k of Object.keys(o)) delete o[k];
        Object.assign(o, { ...inner, function_name: 'unnest', children: [inner] });
        return;
      }
      retarget(o, name);
    }
  };
  walk(tree, null);
  return changed;
}


/**
 * `sql` as DuckDB should run it for PostgreSQL's answers: divisions and modulos calling the
 * macros that raise division_by_zero, and calls of PostgreSQL's functions calling sluice's,
 * through DuckDB's own parse tree (so strings, comments and precedence are DuckDB's). Text
 * DuckDB cannot parse is returned as it is: running it reports the error.
 */
export async function rewriteForDuck(duck: Duck, sql: string, conn?: DuckDBConnection, zone: TimeZone = UTC): Promise<string> {
  const r = await duck.run(`SELECT json_serialize_sql(${quoteLiteral(sql)})`, conn);
  // "No location" is 2^64 − 1, which a JavaScript number cannot hold: it travels as a string.
  const json = String(r.getRows()[0]![0]).replace(/"query_location":18446744073709551615\b/g, `"query_location":"${NO_LOCATION}"`);
  const tree = JSON.parse(json) as { error?: boolean };
  if (tree.error) return sql;
  const divided = raiseOnZeroDivisor(tree);
  const renamed = rewritePgFunctions(tree, sql, zone);
  if (!divided && !renamed) return sql;
  const rewritten = JSON.stringify(tree).replaceAll(`"${NO_LOCATION}"`, '18446744073709551615');
  const back = await duck.run(`SELECT json_deserialize_sql(${quoteLiteral(rewritten)})`, conn);
  return String(back.getRows()[0]![0]);
}
