/**
 * Converts node-sql-parser's query AST into sluice's typed AST (ast.ts). Anything the converter
 * does not know becomes a clear 0A000 error instead of being passed through untyped.
 */
import { GROUPING_SETS_MARKER } from './grouping-sets.js';
import { SluiceError } from '../common/errors.js';
import { parseNumericTypmod, parseTypeName, type SqlType } from '../common/types.js';
import { canonicalDecimal, decOf, formatDec, negDec } from '../common/decimal.js';
import type { BinaryOp, Expr, FromItem, OrderItem, Query, QueryBody, Select, SelectItem, WindowSpec } from './ast.js';
import { parseInterval } from '../common/interval.js';
import { unprotectString } from './lexer.js';
import { SETOP_ALL_MARKER } from './setop-marker.js';

// node-sql-parser's AST is untyped JSON; this file is the only place that reads it.
type N = any;

function unsupported(what: string): never {
  throw new SluiceError('not_supported', `${what} is not supported yet`);
}

function identName(x: N): string {
  if (typeof x === 'string') return x;
  if (x && typeof x === 'object') {
    if (x.expr) return identName(x.expr);
    if (x.type === 'double_quote_string' || x.type === 'backticks_quote_string') return String(x.value);
    if ('value' in x) return String(x.value).toLowerCase();
  }
  return unsupported(`name ${JSON.stringify(x)}`);
}

function quotedAware(name: string): string {
  return name;
}

/** The ORDER BY lists written inside aggregate calls, in the order `rewriteAggregateCalls` met them. */
/** The suffix parse.ts gives an ordered-set call it rewrote from WITHIN GROUP (see rewriteWithinGroup there). */
export const WITHIN_GROUP_SUFFIX = '__wg';

export interface AggregateOrders {
  /** The marker string argument that stands for the call's ORDER BY; the list's index follows it. */
  readonly marker: string;
  /** node-sql-parser's order items of each list, and the 0-based offset its `SELECT 1 ORDER BY` text starts at. */
  readonly lists: { readonly ast: N[]; readonly offset: number }[];
  /** FILTER (WHERE …) conditions of calls node-sql-parser reads as plain functions, by the call's end offset. */
  readonly filters: Map<number, Expr>;
}

/** What parse.ts learnt about a query's text before node-sql-parser read it. */
export interface QueryHints {
  /** Relations written FOR SYSTEM_TIME AS OF. */
  readonly lookups: ReadonlySet<string>;
  /** End offsets (in the parsed text) of FROM function calls written WITH ORDINALITY. */
  readonly ordinality: ReadonlySet<number>;
  /** Subscript expressions rewritten as strings, with their 0-based place in the query text. */
  readonly subscripts: ReadonlyMap<string, number>;
  /** Parses an expression's text (a rewritten subscript) at a 0-based offset in the script. */
  readonly parseExpression: (text: string, offset: number) => Expr;
  /** ORDER BY lists written inside aggregate calls, replaced by marker arguments. */
  readonly aggregateOrders?: AggregateOrders;
  /** What parse.ts took out of window clauses (see rewriteWindows there). */
  readonly windows?: WindowHints;
}

/** A call with OVER as parse.ts read it: the function's name and arguments. */
export interface WindowCallHint {
  readonly rename: { readonly name: string; readonly args: readonly Expr[]; readonly star: boolean; readonly distinct: boolean };
  /** The window specification in parentheses, null for `OVER name`. */
  readonly spec: WindowSpec | null;
}

export interface WindowHints {
  /** By the 0-based offset (in the parsed text) of the name of the function the OVER belongs to. */
  readonly calls: Map<number, WindowCallHint>;
  /** By window name, for WINDOW name AS (…). */
  readonly named: Map<string, WindowSpec>;
}

const NO_HINTS: QueryHints = {
  lookups: new Set(),
  ordinality: new Set(),
  subscripts: new Map(),
  parseExpression: () => unsupported('expressions in subscripts here'),
};

/** Converts a query AST whose source text starts at `offset` in the script. */
export function convertQueryAt(ast: N, offset: number, hints: QueryHints = NO_HINTS): Query {
  return new Converter(offset, hints).convertQuery(ast);
}

/** Converts an expression AST whose source text starts at `offset` in the script. */
export function convertExprAt(ast: N, offset: number): Expr {
  return new Converter(offset, NO_HINTS).convertExpr(ast);
}

function funcName(e: N): string {
  const n = e.name;
  if (typeof n === 'string') return n.toLowerCase();
  if (Array.isArray(n?.name)) return n.name.map((p: N) => String(p.value)).join('.').toLowerCase();
  return String(n).toLowerCase();
}

function castTarget(t: N): SqlType {
  const target = Array.isArray(t) ? t[0] : t;
  let name = String(target.dataType);
  // node-sql-parser reads int8 and float8 as INT and FLOAT of length 8.
  if (/^(INT|FLOAT)$/i.test(name) && [2, 4, 8].includes(Number(target.length))) name += String(target.length);
  if (target?.array) name += '[]'.repeat(Number(target.array.dimension ?? 1));
  return parseTypeName(name);
}

/** The precision and scale of a cast to NUMERIC(p[, s]), if written. */
function castTypmod(t: N): { precision: number; scale: number } | null {
  const target = Array.isArray(t) ? t[0] : t;
  if (!/^(NUMERIC|DECIMAL)$/i.test(String(target?.dataType)) || target.length === undefined || target.length === null || target.array) return null;
  const tm = parseNumericTypmod(`numeric(${Number(target.length)}, ${Number(target.scale ?? 0)})`)!;
  return { precision: tm.precision, scale: tm.scale };
}

const BINARY: Record<string, BinaryOp> = {
  '+': '+', '-': '-', '*': '*', '/': '/', '%': '%',
  '=': '=', '!=': '<>', '<>': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=',
  AND: 'and', OR: 'or', '||': '||',
};

/** The functions jsonb's operators stand for (functions/scalar/json.ts). */
const JSONB_OPERATORS: Record<string, string> = {
  '#>': '__jsonb_path', '#>>': '__jsonb_path_text', '#-': '__jsonb_delete_path',
  '@>': '__contains', '<@': '__contained', '?': '__jsonb_exists', '?|': '__jsonb_exists_any', '?&': '__jsonb_exists_all',
};

/** A call of one of the binder's internal functions (subscripts, ANY/ALL), named with a leading `__`. */
function internalCall(name: string, args: Expr[], pos: number | undefined): Expr {
  return { kind: 'func', name, args, star: false, distinct: false, filter: null, orderBy: [], over: null, pos };
}

function numberLiteral(v: N): Expr {
  const s = String(v);
  if (/^-?\d+$/.test(s)) {
    const b = BigInt(s);
    if (b >= -2147483648n && b <= 2147483647n) return { kind: 'literal', value: Number(b), type: 'int' };
    return { kind: 'literal', value: b, type: 'bigint' };
  }
  // PostgreSQL: a literal with a point or an exponent is NUMERIC, exact as written (1.10 keeps its scale).
  return { kind: 'literal', value: canonicalDecimal(s), type: 'numeric' };
}

/**
 * Converts one query or expression AST; `offset` is where the text node-sql-parser saw starts
 * in the script (for positions), `lookups` the relations written FOR SYSTEM_TIME AS OF.
 */
class Converter {
  constructor(private readonly offset: number, private readonly hints: QueryHints) {}

  convertQuery(ast: N): Query {
    const withs: { name: string; query: Query; columns?: string[] }[] = [];
    if (Array.isArray(ast.with)) {
      for (const w of ast.with) {
        const stmt = w.stmt?.ast ?? w.stmt;
        const columns = Array.isArray(w.columns) && w.columns.length > 0 ? w.columns.map((c: N) => identName(c.column?.expr ?? c.column ?? c)) : null;
        withs.push({ name: identName(w.name), query: this.convertQuery(stmt), ...(columns ? { columns } : {}) });
      }
    }
    const body = this.convertBody(ast);
    // ORDER BY / LIMIT of a set operation sit on the last arm in node-sql-parser's AST.
    let last = ast;
    while (last._next) last = last._next;
    const orderSrc = last.orderby ?? ast.orderby;
    const limitSrc = last.limit?.value?.length ? last.limit : ast.limit;
    const orderBy = (orderSrc ?? []).map((x: N) => this.convertOrder(x));
    let limit: number | null = null;
    let offset: number | null = null;
    if (limitSrc && Array.isArray(limitSrc.value) && limitSrc.value.length > 0) {
      // LIMIT ALL is no limit.
      const vals: (number | null)[] = limitSrc.value.map((v: N) => (v.type === 'origin' && String(v.value).toLowerCase() === 'all' ? null : Number(v.value)));
      // As PostgreSQL: a count past bigint is 22003, a negative one 2201W (LIMIT) or 2201X (OFFSET).
      limitSrc.value.forEach((v: N, i: number) => {
        const text = String(v.value);
        if (/^-?\d+$/.test(text) && BigInt(text) > 9223372036854775807n) throw new SluiceError('numeric_out_of_range', 'bigint out of range');
        if (vals[i] !== null && vals[i]! < 0) {
          const isOffset = (limitSrc.seperator === 'offset' && (i === 1 || vals.length === 1)) || (limitSrc.seperator === ',' && i === 0);
          throw isOffset ? new SluiceError('invalid_row_count_in_result_offset_clause', 'OFFSET must not be negative') : new SluiceError('invalid_row_count_in_limit_clause', 'LIMIT must not be negative');
        }
      });
      const at = (i: number): number | null => vals[i] ?? null;
      if (limitSrc.seperator === 'offset' && vals.length === 1) {
        // OFFSET n alone (node-sql-parser gives one value, the offset).
        offset = at(0);
      } else if (limitSrc.seperator === 'offset') {
        limit = at(0);
        offset = at(1);
      } else if (limitSrc.seperator === ',') {
        offset = at(0);
        limit = at(1);
      } else limit = at(0);
    }
    return { with: withs, body, orderBy, limit, offset, withTies: false };
  }

  /**
   * A chain of set operations (node-sql-parser links the SELECTs with the operator before each
   * next one) as PostgreSQL groups it: INTERSECT binds tighter than UNION and EXCEPT, which
   * associate to the left.
   */
  convertBody(ast: N): QueryBody {
    const selects: QueryBody[] = [this.convertSelect(ast)];
    const ops: string[] = [];
    for (let cur = ast; cur._next; cur = cur._next) {
      const op = String(cur.set_op ?? 'union').toLowerCase().replace(/\s+/g, ' ');
      if (!['union', 'union all', 'union distinct', 'intersect', 'intersect all', 'intersect distinct', 'except', 'except all', 'except distinct'].includes(op)) unsupported(op.toUpperCase());
      const right = this.convertSelect(cur._next);
      // INTERSECT ALL / EXCEPT ALL as parse.ts hands them over: a marker item first on the right.
      const first = right.items[0];
      if ((op === 'intersect' || op === 'except') && first?.alias === SETOP_ALL_MARKER) {
        ops.push(`${op} all`);
        selects.push({ ...right, items: right.items.slice(1) });
        continue;
      }
      ops.push(op.replace(/ distinct$/, ''));
      selects.push(right);
    }
    // INTERSECT first.
    const terms: QueryBody[] = [selects[0]!];
    const termOps: string[] = [];
    ops.forEach((op, i) => {
      if (op === 'intersect' || op === 'intersect all') terms[terms.length - 1] = { kind: 'setop', op: 'intersect', all: op === 'intersect all', left: terms[terms.length - 1]!, right: selects[i + 1]! };
      else {
        termOps.push(op);
        terms.push(selects[i + 1]!);
      }
    });
    // Then UNION [ALL] and EXCEPT, left to right; a run of one kind of UNION stays one node.
    let acc = terms[0]!;
    termOps.forEach((op, i) => {
      const next = terms[i + 1]!;
      if (op === 'except' || op === 'except all') acc = { kind: 'setop', op: 'except', all: op === 'except all', left: acc, right: next };
      else {
        const all = op === 'union all';
        acc = acc.kind === 'union' && acc.all === all ? { kind: 'union', all, inputs: [...acc.inputs, next] } : { kind: 'union', all, inputs: [acc, next] };
      }
    });
    return acc;
  }

  convertSelect(ast: N): Select {
    if (ast.type !== 'select') unsupported(`statement ${ast.type}`);
    const distinctType = ast.distinct?.type;
    const isDistinctOn = !!distinctType && String(distinctType).toUpperCase() === 'DISTINCT ON';
    const distinctOn = isDistinctOn ? (ast.distinct.columns ?? []).map((c: N) => this.convertExpr(c.expr ?? c)) : null;
    const items: SelectItem[] = [];
    const cols = ast.columns === '*' ? [{ expr: { type: 'column_ref', table: null, column: '*' }, as: null }] : ast.columns;
    for (const c of cols) {
      items.push({ expr: this.convertExpr(c.expr), alias: c.as == null ? null : identName(c.as) });
    }
    // GROUPING SETS / ROLLUP / CUBE arrive as the keys and a marker call (grouping-sets.ts).
    let groupBy: Expr[] = (ast.groupby?.columns ?? (Array.isArray(ast.groupby) ? ast.groupby : [])).map((x: N) => this.convertExpr(x));
    let groupingSets: number[][] | undefined;
    const marker = groupBy.at(-1);
    if (marker?.kind === 'func' && marker.name === GROUPING_SETS_MARKER) {
      groupBy = groupBy.slice(0, -1);
      groupingSets = marker.args.map((a) => {
        const text = a.kind === 'literal' ? String(a.value) : '';
        return text === '' ? [] : text.split(',').map(Number);
      });
    }
    return {
      kind: 'select',
      ...(groupingSets ? { groupingSets } : {}),
      distinct: !!distinctType && !isDistinctOn,
      distinctOn,
      items,
      from: this.convertFrom(ast.from),
      where: ast.where ? this.convertExpr(ast.where) : null,
      groupBy,
      having: ast.having ? this.convertExpr(ast.having) : null,
      windows: (ast.window?.expr ?? []).map((w: N) => {
        const name = identName(w.name);
        return { name, spec: this.hints.windows?.named.get(name) ?? this.convertOver(w, null) };
      }),
    };
  }

  convertFrom(from: N): FromItem | null {
    if (!from || from.length === 0) return null;
    let acc: FromItem | null = null;
    for (const f of from) {
      const item = this.convertFromItem(f);
      if (acc === null) {
        acc = item;
        continue;
      }
      const j = String(f.join ?? '').toUpperCase();
      let joinType: 'inner' | 'left' | 'right' | 'full' | 'cross';
      if (j === '' || j === 'CROSS JOIN') joinType = 'cross';
      else if (j.startsWith('LEFT')) joinType = 'left';
      else if (j.startsWith('RIGHT')) joinType = 'right';
      else if (j.startsWith('FULL')) joinType = 'full';
      else if (j === 'INNER JOIN' || j === 'JOIN') joinType = 'inner';
      else unsupported(j);
      if (String(f.prefix ?? '').toUpperCase() === 'LATERAL' && (joinType === 'right' || joinType === 'full')) unsupported(`${joinType.toUpperCase()} JOIN LATERAL`);
      let using: readonly string[] | 'natural' | undefined;
      if (f.using) {
        const names = (f.using as N[]).map((u) => identName(u));
        // parse.ts's rewriteNatural writes NATURAL JOIN as USING(_).
        using = names.length === 1 && names[0] === '_' ? 'natural' : names;
        if (joinType === 'cross') joinType = 'inner';
      }
      acc = { kind: 'join', joinType, left: acc, right: item, on: f.on ? this.convertExpr(f.on) : null, ...(using ? { using } : {}) };
    }
    return acc;
  }

  convertFromItem(f: N): FromItem {
    // node-sql-parser keeps an alias with column names, `u(w, n)`, as one string.
    const aliasText = f.as == null ? null : typeof f.as === 'string' ? f.as : identName(f.as);
    const withColumns = aliasText === null ? null : /^\s*("?[^"(]+"?)\s*\((.*)\)\s*$/.exec(aliasText);
    const alias = withColumns ? identName({ value: withColumns[1]!.replace(/^"|"$/g, '') }) : aliasText === null ? null : typeof f.as === 'string' ? f.as : identName(f.as);
    const columnAliases = withColumns ? withColumns[2]!.split(',').map((c) => c.trim().replace(/^"|"$/g, '')).map((c) => (/^".*"$/.test(c) ? c : c.toLowerCase())) : null;
    const lateral = String(f.prefix ?? '').toUpperCase() === 'LATERAL';
    if (f.expr?.ast) return { kind: 'subquery', query: this.convertQuery(f.expr.ast), alias, lateral, columnAliases };
    if (f.expr?.type === 'values') {
      // (VALUES (…), (…)) AS v(a, b): a subquery of one SELECT per row, UNION ALL (types
      // resolved as a union's), its columns column1, column2, … unless named.
      const rows: N[] = f.expr.values ?? [];
      const selects: Select[] = rows.map((r) => {
        const exprs: N[] = Array.isArray(r.value) ? r.value : [r];
        return { kind: 'select', distinct: false, distinctOn: null, items: exprs.map((x, i) => ({ expr: this.convertExpr(x), alias: `column${i + 1}` })), from: null, where: null, groupBy: [], having: null };
      });
      const width = selects[0]?.items.length ?? 0;
      if (selects.some((x) => x.items.length !== width)) throw new SluiceError('syntax', 'VALUES lists must all be the same length');
      const body: QueryBody = selects.length === 1 ? selects[0]! : { kind: 'union', all: true, inputs: selects };
      return { kind: 'subquery', query: { with: [], body, orderBy: [], limit: null, offset: null, withTies: false }, alias, lateral: false, columnAliases };
    }
    if (f.expr?.type === 'function') {
      const name = funcName(f.expr);
      const argList = f.expr.args?.value ?? [];
      const args = (Array.isArray(argList) ? argList : [argList]).map((x: N) => this.convertExpr(x));
      const end = f.expr.loc?.end?.offset;
      const ordinality = typeof end === 'number' && this.hints.ordinality.has(end);
      return { kind: 'table_function', name, args, alias, columnAliases, ordinality, pos: this.offset + (f.expr.loc?.start?.offset ?? 0) + 1 };
    }
    if (typeof f.table === 'string') {
      const schema = typeof f.db === 'string' ? f.db : null;
      return { kind: 'relation', name: f.table, schema, alias, lookup: this.hints.lookups.has(f.table.toLowerCase()) };
    }
    return unsupported(`FROM item ${JSON.stringify(f).slice(0, 80)}`);
  }

  convertOrder(o: N): OrderItem {
    const nulls = o.nulls ? String(o.nulls).toUpperCase() : null;
    return {
      expr: this.convertExpr(o.expr),
      desc: String(o.type ?? 'ASC').toUpperCase() === 'DESC',
      nullsFirst: nulls === null ? null : nulls.includes('FIRST'),
    };
  }

  convertExpr(e: N): Expr {
    if (e === null || e === undefined) return { kind: 'literal', value: null, type: 'null' };
    const pos = e.loc?.start?.offset !== undefined ? this.offset + e.loc.start.offset + 1 : undefined;
    if (Array.isArray(e.array_index) && e.array_index.length > 0) {
      // a[i] (node-sql-parser keeps subscripts on the subscripted node): one call per subscript.
      const { array_index: subscripts, ...base } = e;
      let out = this.convertExpr(base);
      for (const s of subscripts) {
        const rewritten = s.index?.type === 'single_quote_string' ? this.hints.subscripts.get(String(s.index.value)) : undefined;
        const index = rewritten === undefined ? this.convertExpr(s.index) : this.hints.parseExpression(String(s.index.value), this.offset + rewritten);
        out = internalCall('__subscript', [out, index], pos);
      }
      return out;
    }
    // `x AT TIME ZONE z`: node-sql-parser hangs it on x as options; the binder refuses it in a
    // view (one-shot SELECTs run in DuckDB, which converts).
    const opts = e.options?.value;
    if (Array.isArray(opts) && opts[0]?.type === 'origin' && String(opts[0].value).toLowerCase() === 'at time zone') {
      const { options: _zone, ...base } = e;
      return internalCall('__at_time_zone', [this.convertExpr(base), this.convertExpr(opts[1])], pos);
    }
    // A subquery in an expression: node-sql-parser gives it no type, only its `ast`.
    if (e.type === undefined && e.ast?.type === 'select') return { kind: 'subquery', query: this.convertQuery(e.ast), pos };
    switch (e.type) {
      case 'column_ref': {
        if (e.column === '*') return { kind: 'star', table: e.table ? identName(e.table) : null };
        const name = identName(e.column);
        // Stand-ins for current_user and session_user (see rewriteSessionUsers in parse.ts).
        if (!e.table && (name === '__cur_user__' || name === '__ses_user__')) return { kind: 'column', table: null, name: name === '__cur_user__' ? 'current_user' : 'session_user' };
        return { kind: 'column', table: e.table ? identName(e.table) : null, name: quotedAware(name) };
      }
      case 'number':
      // node-sql-parser's node for an integer past 2^53 (its value the digits, as a string).
      case 'bigint':
        return numberLiteral(e.value);
      case 'single_quote_string':
      case 'string':
      case 'natural_string':
      case 'dollar_quote_string':
        return { kind: 'literal', value: unprotectString(String(e.value)), type: 'varchar' };
      case 'double_quote_string':
        return { kind: 'column', table: null, name: String(e.value) };
      case 'bool':
      case 'boolean':
        return { kind: 'literal', value: !!e.value, type: 'boolean' };
      case 'null':
        return { kind: 'literal', value: null, type: 'null' };
      case 'interval': {
        const raw = unprotectString(String(e.expr?.value ?? e.value));
        return { kind: 'literal', value: parseInterval(String(raw), String(e.unit ?? '')), type: 'interval' };
      }
      case 'timestamp':
      case 'datetime':
        return { kind: 'cast', expr: { kind: 'literal', value: String(e.value), type: 'varchar' }, type: 'timestamp' };
      case 'date':
        return { kind: 'cast', expr: { kind: 'literal', value: String(e.value), type: 'varchar' }, type: 'date' };
      case 'time':
        return { kind: 'cast', expr: { kind: 'literal', value: String(e.value), type: 'varchar' }, type: 'time' };
      case 'cast': {
        const cast: Expr = { kind: 'cast', expr: this.convertExpr(e.expr), type: castTarget(e.target) };
        // VARCHAR(n) / CHAR(n): an explicit cast cuts the text to n characters, as PostgreSQL does.
        const target = Array.isArray(e.target) ? e.target[0] : e.target;
        if (/^(VARCHAR|CHAR|CHARACTER|CHARACTER VARYING)$/i.test(String(target?.dataType)) && typeof target?.length === 'number' && !target.array) {
          return internalCall('left', [cast, numberLiteral(target.length)], pos);
        }
        const tm = castTypmod(e.target);
        // NUMERIC(p, s): the cast, then the typmod's rounding and range check.
        return tm ? internalCall('__numeric_typmod', [cast, numberLiteral(tm.precision), numberLiteral(tm.scale)], pos) : cast;
      }
      case 'unary_expr': {
        const op = String(e.operator).toUpperCase();
        const inner = this.convertExpr(e.expr);
        if (op === 'NOT' || op === '!') return { kind: 'unary', op: 'not', expr: inner };
        if (op === '-') {
          if (inner.kind === 'literal' && typeof inner.value === 'number') return { ...inner, value: -inner.value };
          if (inner.kind === 'literal' && typeof inner.value === 'bigint') return { ...inner, value: -inner.value };
          if (inner.kind === 'literal' && inner.type === 'numeric' && typeof inner.value === 'string') return { ...inner, value: formatDec(negDec(decOf(inner.value))) };
          return { kind: 'unary', op: 'neg', expr: inner };
        }
        if (op === '+') return inner;
        if (op === 'NOT EXISTS' && inner.kind === 'subquery') return { kind: 'unary', op: 'not', expr: { kind: 'exists', query: inner.query, pos } };
        return unsupported(`operator ${op}`);
      }
      case 'binary_expr':
        return this.convertBinary(e, pos);
      case 'expr_list':
        if (Array.isArray(e.value) && e.value.length === 1) return this.convertExpr(e.value[0]);
        return unsupported('a row constructor (a, b, …)');
      case 'case': {
        const whens: { when: Expr; then: Expr }[] = [];
        let otherwise: Expr | null = null;
        for (const a of e.args) {
          if (a.type === 'when') whens.push({ when: this.convertExpr(a.cond), then: this.convertExpr(a.result) });
          else otherwise = this.convertExpr(a.result);
        }
        return { kind: 'case', operand: e.expr ? this.convertExpr(e.expr) : null, whens, otherwise };
      }
      case 'extract':
      {
        // EXTRACT(f FROM INTERVAL '…') / TIMESTAMP '…' / DATE '…': the parser keeps the keyword as cast_type.
        const source = this.convertExpr(e.args.source);
        const ct = typeof e.args.cast_type === 'string' ? e.args.cast_type.toLowerCase() : null;
        const expr: Expr = ct === 'interval' || ct === 'timestamp' || ct === 'date' || ct === 'time' ? { kind: 'cast', expr: source, type: ct } : ct === 'timestamptz' || ct === 'timestamp with time zone' ? { kind: 'cast', expr: source, type: 'timestamptz' } : source;
        return { kind: 'extract', field: String(e.args.field).toLowerCase(), expr };
      }
      case 'aggr_func': {
        const hint = this.windowHint(e);
        if (hint) return { kind: 'func', name: hint.rename.name, args: hint.rename.args, star: hint.rename.star, distinct: hint.rename.distinct, filter: null, orderBy: [], over: this.convertOver(e.over, hint.spec), pos };
        const name = String(e.name).toLowerCase();
        const args = e.args ?? {};
        const star = args.expr?.type === 'star';
        const hasArg = !star && args.expr && Object.keys(args.expr).length > 0;
        const argExprs: Expr[] = hasArg ? [this.convertExpr(args.expr)] : [];
        // string_agg(x, sep) and array_agg(x, <ORDER BY marker>) carry their second argument as a separator.
        if (args.separator?.delimiter) argExprs.push(this.convertExpr(args.separator.delimiter));
        const filterWhere = e.filter?.where ?? null;
        const within = Array.isArray(e.within_group_orderby);
        return this.aggregateCall({
          kind: 'func',
          name,
          args: argExprs,
          star,
          distinct: !!args.distinct,
          filter: filterWhere ? this.convertExpr(filterWhere) : null,
          orderBy: ((within ? e.within_group_orderby : args.orderby) ?? []).map((x: N) => this.convertOrder(x)),
          over: this.convertOver(e.over, null),
          pos,
          ...(within ? { withinGroup: true } : {}),
        });
      }
      case 'function': {
        const name = funcName(e);
        const argList = e.args?.value ?? [];
        // TRIM([BOTH | LEADING | TRAILING] [chars] FROM s): btrim/ltrim/rtrim(s [, chars]).
        if (name === 'trim' && Array.isArray(argList) && argList.some((x: N) => x?.type === 'origin')) {
          const items = [...argList] as N[];
          let fn = 'btrim';
          const side = items[0]?.type === 'origin' ? String(items[0].value).toLowerCase() : null;
          if (side === 'both' || side === 'leading' || side === 'trailing') {
            fn = side === 'leading' ? 'ltrim' : side === 'trailing' ? 'rtrim' : 'btrim';
            items.shift();
          }
          const fromAt = items.findIndex((x) => x?.type === 'origin' && String(x.value).toLowerCase() === 'from');
          const chars = fromAt > 0 ? items.slice(0, fromAt) : [];
          const source = fromAt >= 0 ? items.slice(fromAt + 1) : items;
          if (source.length !== 1 || chars.length > 1 || source.some((x) => x?.type === 'origin')) unsupported('this TRIM form');
          const args = [this.convertExpr(source[0]), ...chars.map((x) => this.convertExpr(x))];
          return { kind: 'func', name: fn, args, star: false, distinct: false, filter: null, orderBy: [], over: null, pos };
        }
        const args = (Array.isArray(argList) ? argList : [argList]).map((x: N) => this.convertExpr(x));
        // EXTRACT of a field node-sql-parser does not read (lexer.ts rewriteExtractFields).
        if (name === '__extract' && args.length === 2 && args[0]!.kind === 'literal') return { kind: 'extract', field: String(args[0]!.value).toLowerCase(), expr: args[1]! };
        // node-sql-parser reads `NOT (x)` as a call of a function named NOT.
        if (name === 'not' && args.length === 1) return { kind: 'unary', op: 'not', expr: args[0]! };
        if (name === 'exists') {
          if (args.length !== 1 || args[0]!.kind !== 'subquery') unsupported('EXISTS without a subquery');
          return { kind: 'exists', query: (args[0] as Extract<Expr, { kind: 'subquery' }>).query, pos };
        }
        // f(DISTINCT x), rewritten by parse.ts as f_distinct(x) so the parser accepts it.
        const distinctAgg = /^(.+)_distinct$/.exec(name);
        if (distinctAgg) return this.aggregateCall({ kind: 'func', name: distinctAgg[1]!, args, star: false, distinct: true, filter: this.callFilter(e), orderBy: [], over: null, pos });
        if (name === 'current_timestamp' || name === 'now' || name === 'proctime') {
          return { kind: 'func', name: name === 'proctime' ? 'proctime' : 'now', args: [], star: false, distinct: false, filter: null, orderBy: [], over: null, pos };
        }
        return this.aggregateCall({ kind: 'func', name, args, star: false, distinct: false, filter: this.callFilter(e), orderBy: [], over: this.convertOver(e.over, null), pos });
      }
      case 'star':
        return { kind: 'star', table: null };
      case 'window_func':
        return { kind: 'func', name: String(e.name).toLowerCase(), args: (e.args?.value ?? []).map((x: N) => this.convertExpr(x)), star: false, distinct: false, filter: null, orderBy: [], over: this.convertOver(e.over, null), pos };
      case 'array':
        // An ARRAY[...] constructor, carried as a call of `array` the binder types.
        return { kind: 'func', name: 'array', args: (Array.isArray(e.expr_list?.value) ? e.expr_list.value : []).map((x: N) => this.convertExpr(x)), star: false, distinct: false, filter: null, orderBy: [], over: null, pos };
      default:
        return unsupported(e.type === undefined ? 'this kind of expression' : `expression ${String(e.type)}`);
    }
  }

  /** The FILTER (WHERE …) of a plain function call, which parse.ts took out of the text. */
  callFilter(e: N): Expr | null {
    const end = e.loc?.end?.offset;
    return typeof end === 'number' ? (this.hints.aggregateOrders?.filters.get(end) ?? null) : null;
  }

  /** A call whose last argument is parse.ts's ORDER BY marker gets that ORDER BY list instead. */
  aggregateCall(f: Extract<Expr, { kind: 'func' }>): Expr {
    // f__wg(direct args ORDER BY …): `f(direct args) WITHIN GROUP (ORDER BY …)` as parse.ts
    // rewrote it (rewriteWithinGroup).
    if (f.name.endsWith(WITHIN_GROUP_SUFFIX)) f = { ...f, name: f.name.slice(0, -WITHIN_GROUP_SUFFIX.length), withinGroup: true };
    const orders = this.hints.aggregateOrders;
    const last = f.args[f.args.length - 1];
    if (!orders || last?.kind !== 'literal' || typeof last.value !== 'string' || !last.value.startsWith(orders.marker)) return f;
    const list = orders.lists[Number(last.value.slice(orders.marker.length))];
    if (!list) return f;
    const inner = new Converter(this.offset + list.offset, this.hints);
    return { ...f, args: f.args.slice(0, -1), orderBy: list.ast.map((x: N) => inner.convertOrder(x)) };
  }

  /** What parse.ts read of the call with OVER that node-sql-parser sees as `e` (its `max(1)`). */
  private windowHint(e: N): WindowCallHint | undefined {
    const at = e.loc?.start?.offset;
    return typeof at === 'number' ? this.hints.windows?.calls.get(at) : undefined;
  }

  /** An OVER clause; `spec` is the specification parse.ts read (null: `OVER name`, or none seen). */
  convertOver(over: N, spec: WindowSpec | null): WindowSpec | null {
    if (!over) return null;
    // OVER w: a reference to a named window, as a bare string.
    if (typeof over.as_window_specification === 'string') return { name: identName(over.as_window_specification), partitionBy: [], orderBy: [], frame: null };
    if (spec) return spec;
    const raw = over.as_window_specification?.window_specification ?? over.window_specification ?? over;
    if (raw.window_frame_clause) unsupported('this window frame');
    return {
      name: null,
      partitionBy: (raw.partitionby ?? []).map((p: N) => this.convertExpr(p.expr ?? p)),
      orderBy: (raw.orderby ?? []).map((x: N) => this.convertOrder(x)),
      frame: null,
    };
  }

  convertBinary(e: N, pos: number | undefined): Expr {
    const op = String(e.operator).toUpperCase();
    const left = this.convertExpr(e.left);
    // `L = __is_distinct__(R)`: IS [NOT] DISTINCT FROM as parse.ts's rewriteDistinctFrom wrote it.
    if (op === '=' && e.right?.type === 'function') {
      const fn = String(e.right.name?.name?.[0]?.value ?? e.right.name ?? '').toLowerCase();
      if (fn === '__is_distinct__' || fn === '__not_distinct__') {
        const args = e.right.args?.value ?? [];
        if (args.length === 1) return { kind: 'is_distinct', left, right: this.convertExpr(args[0]), negated: fn === '__not_distinct__' };
      }
    }
    switch (op) {
      case 'IS':
      case 'IS NOT': {
        const negated = op === 'IS NOT';
        if (e.right?.type === 'null') return { kind: 'is_null', expr: left, negated };
        if (e.right?.type === 'bool' || e.right?.type === 'boolean') return { kind: 'is_bool', expr: left, value: !!e.right.value, negated };
        return unsupported(`IS ${JSON.stringify(e.right?.type)}`);
      }
      case 'IS DISTINCT FROM':
      case 'IS NOT DISTINCT FROM':
        return { kind: 'is_distinct', left, right: this.convertExpr(e.right), negated: op === 'IS NOT DISTINCT FROM' };
      case 'IN':
      case 'NOT IN': {
        if (e.right?.type !== 'expr_list') unsupported(`${op} with this right-hand side`);
        const only = e.right.value.length === 1 ? e.right.value[0] : null;
        if (only && only.type === undefined && only.ast?.type === 'select') return { kind: 'in_subquery', expr: left, query: this.convertQuery(only.ast), negated: op === 'NOT IN', pos };
        return { kind: 'in', expr: left, list: e.right.value.map((x: N) => this.convertExpr(x)), negated: op === 'NOT IN' };
      }
      case 'BETWEEN':
      case 'NOT BETWEEN':
        return { kind: 'between', expr: left, low: this.convertExpr(e.right.value[0]), high: this.convertExpr(e.right.value[1]), negated: op === 'NOT BETWEEN' };
      case 'LIKE':
      case 'NOT LIKE':
      case 'ILIKE':
      case 'NOT ILIKE':
        return { kind: 'like', expr: left, pattern: this.convertExpr(e.right), negated: op.startsWith('NOT'), insensitive: op.includes('ILIKE') };
      case '~':
      case '~*':
      case '!~':
      case '!~*': {
        // PostgreSQL's regex match operators, as the regexp_like they are.
        const args = [left, this.convertExpr(e.right), ...(op.endsWith('*') ? [{ kind: 'literal' as const, value: 'i', type: 'varchar' as const }] : [])];
        const m: Expr = { kind: 'func', name: 'regexp_like', args, star: false, distinct: false, filter: null, orderBy: [], over: null, pos };
        return op.startsWith('!') ? { kind: 'unary', op: 'not', expr: m } : m;
      }
      case 'SIMILAR TO':
      case 'NOT SIMILAR TO': {
        const m = internalCall('__similar', [left, this.convertExpr(e.right)], pos);
        return op.startsWith('NOT') ? { kind: 'unary', op: 'not', expr: m } : m;
      }
      case '->':
      case '->>':
        return { kind: 'func', name: op === '->' ? 'json_get' : 'json_get_text', args: [left, this.convertExpr(e.right)], star: false, distinct: false, filter: null, orderBy: [], over: null, pos };
      case '#>':
      case '#>>':
      case '#-':
      case '@>':
      case '<@':
      case '?':
      case '?|':
      case '?&':
        // jsonb's operators (and array containment): the scalar functions that implement them.
        return internalCall(JSONB_OPERATORS[op]!, [left, this.convertExpr(e.right)], pos);
      default: {
        const bop = BINARY[op];
        if (!bop) return unsupported(`operator ${op}`);
        const quant = e.right?.type === 'function' ? funcName(e.right) : '';
        if (quant === 'any' || quant === 'some' || quant === 'all') {
          // x op ANY (array) / x op ALL (array)
          const arr = (e.right.args?.value ?? []).map((x: N) => this.convertExpr(x));
          if (arr.length !== 1) unsupported(`${quant.toUpperCase()} with ${arr.length} arguments`);
          if (arr[0]!.kind === 'subquery') return { kind: 'quantified', op: bop, all: quant === 'all', expr: left, query: arr[0]!.query, pos };
          return internalCall(quant === 'all' ? '__all' : '__any', [left, arr[0], { kind: 'literal', value: bop, type: 'varchar' }], pos);
        }
        return { kind: 'binary', op: bop, left, right: this.convertExpr(e.right), pos };
      }
    }
  }
}
