/**
 * What makes an ad-hoc SELECT, which runs in DuckDB as written, answer as PostgreSQL would:
 *
 * - result column names as PostgreSQL's FigureColname gives them (`count`, `sum`, `?column?`,
 *   `now`, the column's name, the alias) instead of DuckDB's (`count_star()`, `(1 + 1)`);
 * - the session's values: `current_user`, `session_user`, `user`, `current_role`,
 *   `current_database()`, `current_catalog`, `current_schema[()]` (DuckDB answers `duckdb`,
 *   `memory` and `main`);
 * - division and modulo that raise 22012 on a zero divisor (DuckDB gives NULL or Infinity),
 *   by calling the macros of duck.ts wherever DuckDB's own parse tree divides.
 */
import type { Expr, Query, QueryBody, SelectItem } from '../../parser/index.js';
import { lex } from '../../parser/index.js';
import type { SqlType } from '../../common/types.js';

/** The session a query runs in, as its SQL functions see it. */
export interface SessionValues {
  readonly user: string;
  readonly database: string;
}

const USER_WORDS = new Set(['current_user', 'session_user', 'user', 'current_role']);
const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The query text with the session's values written in as literals (positions of what follows
 * may move; errors about names are located in the original text). Unchanged when it names none.
 */
export function withSessionValues(text: string, session: SessionValues): string {
  const toks = lex(text);
  let out = '';
  let copied = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'ident') continue;
    const prev = toks[i - 1];
    const next = toks[i + 1];
    const call = next?.kind === 'symbol' && next.value === '(' && toks[i + 2]?.value === ')';
    // A qualified name (t.user), an alias (AS user) or a call of something else is not ours.
    if (prev && ((prev.kind === 'symbol' && prev.value === '.') || (prev.kind === 'ident' && prev.value === 'as'))) continue;
    if (next?.kind === 'symbol' && next.value === '.') continue;
    let value: string | null = null;
    let end = t.end;
    if (USER_WORDS.has(t.value) && !(next?.kind === 'symbol' && next.value === '(')) value = session.user;
    else if (t.value === 'current_catalog' && !call) value = session.database;
    else if (t.value === 'current_database' && call) value = session.database;
    else if (t.value === 'current_schema') value = 'public';
    if (value === null) continue;
    if (call) end = toks[i + 2]!.end;
    out += text.slice(copied, t.start) + quote(value);
    copied = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * The query text with the type name `jsonb` as DuckDB's `json` (DuckDB has no jsonb; its JSON
 * results come back as sluice's jsonb, canonical). Unchanged when it names none.
 */
export function jsonbAsJson(text: string): string {
  const toks = lex(text);
  let out = '';
  let copied = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'ident' || t.value !== 'jsonb' || text.slice(t.start, t.end).startsWith('"')) continue;
    const prev = toks[i - 1];
    const next = toks[i + 1];
    if (prev?.kind === 'symbol' && prev.value === '.') continue;
    if (next?.kind === 'symbol' && (next.value === '(' || next.value === '.')) continue;
    out += text.slice(copied, t.start) + 'json';
    copied = t.end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Whether the text divides or takes a modulo (a `/` or `%` outside strings and comments). */
export function divides(text: string): boolean {
  return lex(text).some((t) => t.kind === 'symbol' && (t.value === '/' || t.value === '%'));
}

/**
 * DuckDB's serialized parse tree with every `/`, `//` and `%` replaced by the raising macros
 * (sluice_div, sluice_mod). Returns whether anything was replaced.
 */
export function raiseOnZeroDivisor(node: unknown): boolean {
  let changed = false;
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    if (n === null || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.class === 'FUNCTION' && (o.function_name === '/' || o.function_name === '//' || o.function_name === '%') && Array.isArray(o.children) && o.children.length === 2) {
      o.function_name = o.function_name === '%' ? 'sluice_mod' : 'sluice_div';
      o.is_operator = false;
      o.schema = '';
      o.catalog = '';
      changed = true;
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(node);
  return changed;
}

/** PostgreSQL's name of a type in a column heading (`'1'::int` is named int4). */
const TYPE_NAME: Partial<Record<SqlType, string>> = {
  boolean: 'bool', int: 'int4', bigint: 'int8', double: 'float8', numeric: 'numeric', varchar: 'text',
  timestamp: 'timestamp', timestamptz: 'timestamptz', date: 'date', interval: 'interval',
};

/** Functions whose AST name is not what the query wrote (rewritten by the parser). */
const FUNCTION_ALIASES: Readonly<Record<string, string>> = { __subscript: '' };

/**
 * The name PostgreSQL gives a select-list expression (FigureColname): a column's name, a
 * function's name, a cast's operand or else its type, `case`, `?column?` for the rest. `text` is the statement, `offset` its place in the script (for
 * reading a function's name as written: current_timestamp is parsed as now()).
 */
function figureName(e: Expr, text: string, offset: number): string | null {
  switch (e.kind) {
    case 'column':
      return e.name;
    case 'func': {
      if (e.name in FUNCTION_ALIASES) return e.name === '__subscript' && e.args[0] ? figureName(e.args[0], text, offset) : null;
      if (e.pos !== undefined) {
        const written = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(e.pos - 1 - offset));
        if (written) return written[0].toLowerCase();
      }
      return e.name.replace(/_distinct$/, '');
    }
    case 'cast':
      return figureName(e.expr, text, offset) ?? TYPE_NAME[e.type] ?? null;
    case 'case':
      return 'case';
    case 'extract':
      return 'extract';
    default:
      // Constants (PostgreSQL 15 names `true` ?column? too), operators, IS NULL, IN, …
      return null;
  }
}

/** The select list PostgreSQL names result columns by: the first SELECT of a UNION. */
function firstSelectItems(body: QueryBody): readonly SelectItem[] {
  return body.kind === 'union' ? firstSelectItems(body.inputs[0]!) : body.kind === 'setop' ? firstSelectItems(body.left) : body.items;
}

/**
 * PostgreSQL's result column names for a query, given DuckDB's: every column a select-list
 * item gives gets that item's name; columns a `*` expands to keep theirs (the relation's column
 * names). When the list and the columns do not line up, DuckDB's names stay.
 */
export function pgColumnNames(query: Query, duckNames: readonly string[], text: string, offset: number): string[] {
  const items = firstSelectItems(query.body);
  const out = duckNames.slice();
  const stars = items.flatMap((it, i) => (it.expr.kind === 'star' ? [i] : []));
  const name = (it: SelectItem) => it.alias ?? figureName(it.expr, text, offset) ?? '?column?';
  if (stars.length === 0) {
    if (items.length !== duckNames.length) return out;
    return items.map(name);
  }
  const first = stars[0]!;
  const last = stars[stars.length - 1]!;
  const after = items.length - 1 - last;
  if (first + after > duckNames.length) return out;
  for (let i = 0; i < first; i++) out[i] = name(items[i]!);
  for (let k = 0; k < after; k++) out[duckNames.length - after + k] = name(items[last + 1 + k]!);
  return out;
}
