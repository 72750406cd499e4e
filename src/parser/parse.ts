/**
 * The statement front: splits a script, recognises sluice's own statements (streaming DDL,
 * DML heads, SHOW/SET/FLUSH/EXPLAIN…) with a small recursive-descent parser over lex.ts tokens,
 * and hands queries and expressions to node-sql-parser (through convert.ts).
 */
import nodeSqlParser from 'node-sql-parser/build/postgresql.js';
import { SluiceError } from '../common/errors.js';
import { parseTypeName } from '../common/types.js';
import type { ColumnDef, Expr, FromItem, ObjectKind, Options, Query, QueryBody, Statement, WatermarkDef } from './ast.js';
import { convertExprAt, convertQueryAt } from './convert.js';
import { lex, splitStatements, TokenStream } from './lexer.js';

const parser = new nodeSqlParser.Parser();
const OPT = { database: 'postgresql', parseOptions: { includeLocations: true } };

/** Parses a script of one or more statements. Positions are relative to `text`. */
export function parseSql(text: string): Statement[] {
  return splitStatements(text).map((s) => parseStatement(s.text, s.offset, text));
}

/** Parses one statement whose text starts at `offset` within `whole`. */
export function parseStatement(stmt: string, offset = 0, whole = stmt): Statement {
  const ts = new TokenStream(lex(stmt, offset), whole, 0);
  const first = ts.peek();
  if (first.kind !== 'ident') ts.fail('expected a statement');
  switch (first.value) {
    case 'create':
      return parseCreate(ts, stmt, offset);
    case 'insert':
    case 'update':
    case 'delete':
      return parseDml(ts, stmt, offset);
    case 'drop':
      return ts.tokens[1]?.kind === 'ident' && (ts.tokens[1].value === 'user' || ts.tokens[1].value === 'role') ? parseDropUser(ts) : parseDrop(ts);
    case 'alter':
      return parseUserPassword(ts, 'alter');
    case 'grant':
    case 'revoke':
      return parseGrant(ts);
    case 'show':
      return parseShow(ts);
    case 'set': {
      ts.next();
      const name = dottedName(ts);
      if (!ts.acceptSymbol('=')) ts.expectKeyword('to');
      const v = ts.next();
      const value = v.kind === 'eof' ? ts.fail('expected a value') : v.value;
      const rest = ts.peek();
      return { kind: 'set', name, value: rest.kind === 'eof' ? value : stmt.slice(v.start - offset).trim() };
    }
    case 'describe':
    case 'desc': {
      ts.next();
      const pos = ts.position();
      const name = ts.objectName();
      return { kind: 'describe', name, pos };
    }
    case 'explain': {
      ts.next();
      // EXPLAIN options such as (VERBOSE) or ANALYZE are accepted and ignored.
      if (ts.isSymbol('(')) {
        while (!ts.atEnd() && !ts.acceptSymbol(')')) ts.next();
      }
      ts.acceptKeyword('analyze');
      ts.acceptKeyword('verbose');
      const inner = ts.peek();
      return { kind: 'explain', statement: parseStatement(stmt.slice(inner.start - offset), inner.start, whole) };
    }
    case 'install':
    case 'load':
    case 'attach':
    case 'detach':
    case 'pragma':
    case 'export':
    case 'import':
    case 'checkpoint':
    case 'vacuum':
      throw new SluiceError('insufficient_privilege', `permission denied: ${first.value.toUpperCase()} is not available to clients`, {
        position: first.start + 1,
        hint: 'sluice does not let clients load extensions, attach databases or touch server files.',
      });
    case 'copy':
      return refuseCopy(ts);
    case 'flush':
      ts.next();
      if (!ts.atEnd()) ts.fail('FLUSH takes no arguments');
      return { kind: 'flush' };
    case 'replay': {
      ts.next();
      if (!ts.acceptKeyword('epoch')) ts.fail('REPLAY takes EPOCH n');
      const n = ts.next();
      if (n.kind !== 'number' || !/^\d+$/.test(n.value)) ts.fail('REPLAY EPOCH takes an epoch number');
      expectEnd(ts);
      return { kind: 'replay', epoch: Number(n.value) };
    }
    case 'select':
    case 'with':
    case 'values':
      return parseSelect(stmt, offset);
    case 'subscribe': {
      ts.next();
      ts.acceptKeyword('to');
      const pos = ts.position();
      const name = ts.objectName();
      let snapshot = true;
      if (ts.isKeyword('with')) {
        const opts = parseOptions(ts);
        for (const [k, v] of Object.entries(opts)) {
          if (k !== 'snapshot') throw new SluiceError('invalid_parameter', `unknown SUBSCRIBE option "${k}"`, { hint: 'SUBSCRIBE takes WITH (snapshot = true | false).' });
          snapshot = !['false', 'off', '0', 'f'].includes(v.toLowerCase());
        }
      }
      expectEnd(ts);
      return { kind: 'subscribe', name, snapshot, pos };
    }
    case 'begin':
    case 'start':
    case 'commit':
    case 'end':
    case 'rollback':
    case 'abort': {
      const word = ts.next().value;
      while (!ts.atEnd()) ts.next();
      const tag = word === 'begin' || word === 'start' ? 'BEGIN' : word === 'rollback' || word === 'abort' ? 'ROLLBACK' : 'COMMIT';
      return { kind: 'transaction', tag };
    }
    default:
      return ts.fail('unknown statement');
  }
}

function dottedName(ts: TokenStream): string {
  let name = ts.identifier('a name');
  while (ts.acceptSymbol('.')) name += '.' + ts.identifier('a name');
  return name;
}

function parseCreate(ts: TokenStream, stmt: string, offset: number): Statement {
  if (ts.tokens[1]?.kind === 'ident' && (ts.tokens[1].value === 'user' || ts.tokens[1].value === 'role')) return parseUserPassword(ts, 'create');
  ts.expectKeyword('create');
  ts.acceptKeyword('or', 'replace');
  if (ts.acceptKeyword('source')) return parseCreateRelation(ts, 'source', stmt);
  if (ts.acceptKeyword('table')) return parseCreateRelation(ts, 'table', stmt);
  if (ts.acceptKeyword('materialized', 'view') || ts.acceptKeyword('view')) return parseCreateView(ts, stmt, offset);
  if (ts.acceptKeyword('model')) return parseCreateModel(ts, stmt, offset);
  if (ts.acceptKeyword('sink')) {
    const ifNotExists = ts.acceptKeyword('if', 'not', 'exists');
    const name = ts.objectName();
    if (ts.isKeyword('as')) throw new SluiceError('not_supported', 'CREATE SINK … AS SELECT is not supported yet', { position: ts.position(), hint: 'Create a materialized view first, then CREATE SINK name FROM view WITH (…).' });
    ts.expectKeyword('from');
    const from = ts.objectName();
    const options = ts.isKeyword('with') ? parseOptions(ts) : {};
    expectEnd(ts);
    return { kind: 'create_sink', name, ifNotExists, from, options, text: stmt };
  }
  return ts.fail('expected SOURCE, TABLE, MATERIALIZED VIEW, SINK or MODEL after CREATE');
}

function expectEnd(ts: TokenStream): void {
  if (!ts.atEnd()) ts.fail('expected end of statement');
}

function parseCreateRelation(ts: TokenStream, kind: 'source' | 'table', stmt: string): Statement {
  const ifNotExists = ts.acceptKeyword('if', 'not', 'exists');
  const name = ts.objectName();
  const columns: ColumnDef[] = [];
  const primaryKey: string[] = [];
  let watermark: WatermarkDef | null = null;
  ts.expectSymbol('(');
  for (;;) {
    if (ts.acceptKeyword('primary', 'key')) {
      ts.expectSymbol('(');
      do primaryKey.push(ts.identifier('a column name'));
      while (ts.acceptSymbol(','));
      ts.expectSymbol(')');
    } else if (ts.acceptKeyword('watermark', 'for')) {
      const column = ts.identifier('a column name');
      ts.expectKeyword('as');
      watermark = { column, expr: parseExprUntilComma(ts) };
    } else {
      const colName = ts.identifier('a column name');
      const typeStart = ts.peek();
      let depth = 0;
      let typeEnd = typeStart.end;
      let notNull = false;
      while (!ts.atEnd()) {
        const t = ts.peek();
        if (depth === 0 && t.kind === 'symbol' && (t.value === ',' || t.value === ')')) break;
        if (depth === 0 && t.kind === 'ident' && (t.value === 'not' || t.value === 'null' || t.value === 'primary' || t.value === 'default')) break;
        if (t.kind === 'symbol' && t.value === '(') depth++;
        if (t.kind === 'symbol' && t.value === ')') depth--;
        typeEnd = t.end;
        ts.next();
      }
      if (typeEnd === typeStart.end && typeStart.kind !== 'ident') ts.fail('expected a type name');
      const typeName = ts.text.slice(typeStart.start, typeEnd);
      let type;
      try {
        type = parseTypeName(typeName);
      } catch (e) {
        throw (e as SluiceError).withPosition(typeStart.start + 1);
      }
      for (;;) {
        if (ts.acceptKeyword('not', 'null')) notNull = true;
        else if (ts.acceptKeyword('null')) notNull = false;
        else if (ts.acceptKeyword('primary', 'key')) primaryKey.push(colName);
        else break;
      }
      if (columns.some((c) => c.name === colName)) throw new SluiceError('duplicate_object', `column "${colName}" specified more than once`, { position: typeStart.start });
      columns.push({ name: colName, type, typeName, notNull });
    }
    if (ts.acceptSymbol(',')) continue;
    ts.expectSymbol(')');
    break;
  }
  let appendOnly = false;
  let options: Options = {};
  for (;;) {
    if (ts.acceptKeyword('append', 'only')) appendOnly = true;
    else if (ts.isKeyword('with')) options = parseOptions(ts);
    else if (ts.acceptKeyword('format')) {
      // RisingWave's FORMAT PLAIN ENCODE JSON: the encode becomes the format option.
      ts.identifier('a format');
      ts.expectKeyword('encode');
      options = { ...options, format: ts.identifier('an encoding') };
    } else break;
  }
  expectEnd(ts);
  if (watermark && !columns.some((c) => c.name === watermark!.column)) {
    throw new SluiceError('undefined_column', `watermark column "${watermark.column}" does not exist`);
  }
  for (const k of primaryKey) {
    if (!columns.some((c) => c.name === k)) throw new SluiceError('undefined_column', `primary key column "${k}" does not exist`);
  }
  if (kind === 'source') {
    if (primaryKey.length > 0) throw new SluiceError('not_supported', 'a source is append-only and takes no PRIMARY KEY', { hint: 'Use CREATE TABLE for keyed data.' });
    return { kind: 'create_source', name, ifNotExists, columns, watermark, options, text: stmt };
  }
  return { kind: 'create_table', name, ifNotExists, columns, primaryKey, appendOnly, watermark, options, text: stmt };
}

/** Reads tokens up to a top-level ',' or ')' and parses them as an expression. */
function parseExprUntilComma(ts: TokenStream): Expr {
  const start = ts.peek();
  let end = start.start;
  let depth = 0;
  while (!ts.atEnd()) {
    const t = ts.peek();
    if (depth === 0 && t.kind === 'symbol' && (t.value === ',' || t.value === ')')) break;
    if (t.kind === 'symbol' && t.value === '(') depth++;
    if (t.kind === 'symbol' && t.value === ')') depth--;
    end = t.end;
    ts.next();
  }
  return parseExpression(ts.text.slice(start.start, end), start.start);
}

/** Parses a standalone SQL expression; `offset` is its 0-based place in the script. */
export function parseExpression(text: string, offset = 0): Expr {
  const prefix = 'SELECT ';
  let ast;
  try {
    ast = parser.astify(prefix + text, OPT) as unknown as { columns: { expr: unknown }[] };
  } catch (e) {
    throw syntaxFromParser(e, offset - prefix.length, prefix + text);
  }
  const a = Array.isArray(ast) ? ast[0] : ast;
  return convertExprAt(a.columns[0]!.expr, offset - prefix.length);
}

/** COPY to or from a server file is refused (42501, as PostgreSQL does for non-superusers). */
function refuseCopy(ts: TokenStream): never {
  const at = ts.peek().start + 1;
  const words = ts.tokens.filter((t) => t.kind === 'ident').map((t) => t.value);
  if (words.includes('stdout') || words.includes('stdin')) {
    throw new SluiceError('not_supported', 'COPY is not supported yet', { position: at, hint: 'Read rows with SELECT, and follow a view with SUBSCRIBE.' });
  }
  throw new SluiceError('insufficient_privilege', 'permission denied: COPY to or from a file on the server is not available to clients', {
    position: at,
    hint: "Write files with CREATE SINK … WITH (connector = 'file', …) under an allowed path.",
  });
}

function parseOptions(ts: TokenStream, positions?: Record<string, number>): Options {
  ts.expectKeyword('with');
  ts.expectSymbol('(');
  const out: Record<string, string> = {};
  if (ts.acceptSymbol(')')) return out;
  for (;;) {
    const keyAt = ts.position();
    let key = ts.peek().kind === 'string' ? ts.next().value : ts.identifier('an option name');
    while (ts.acceptSymbol('.')) key += '.' + ts.identifier('an option name');
    ts.expectSymbol('=');
    const v = ts.next();
    if (v.kind === 'eof' || (v.kind === 'symbol' && v.value !== '-')) ts.fail('expected an option value');
    let value = v.value;
    if (v.kind === 'symbol' && v.value === '-') value = '-' + ts.next().value;
    if (v.kind === 'ident' && v.value === 'interval') value = ts.next().value;
    out[key.toLowerCase()] = value;
    if (positions) positions[key.toLowerCase()] = keyAt;
    if (ts.acceptSymbol(',')) continue;
    ts.expectSymbol(')');
    return out;
  }
}

function parseCreateView(ts: TokenStream, stmt: string, offset: number): Statement {
  const ifNotExists = ts.acceptKeyword('if', 'not', 'exists');
  const name = ts.objectName();
  const options = ts.isKeyword('with') ? parseOptions(ts) : {};
  ts.expectKeyword('as');
  const qStart = ts.peek().start;
  // EMIT ON WINDOW CLOSE ends the statement; strip it before the query parser sees it.
  let queryEnd = offset + stmt.length;
  let emitOnWindowClose = false;
  const toks = ts.tokens;
  const n = toks.length - 1;
  if (n >= 4) {
    const tail = toks.slice(n - 4, n).map((t) => (t.kind === 'ident' ? t.value : ''));
    if (tail.join(' ') === 'emit on window close') {
      emitOnWindowClose = true;
      queryEnd = toks[n - 4]!.start;
    }
  }
  // FETCH FIRST n ROWS {ONLY | WITH TIES} (which node-sql-parser does not read) ends the query.
  let fetch: { limit: number; withTies: boolean } | null = null;
  const fetchAt = toks.findIndex((t, i) => t.kind === 'ident' && t.value === 'fetch' && toks[i + 1]?.kind === 'ident' && ['first', 'next'].includes(toks[i + 1]!.value) && t.start >= qStart && t.start < queryEnd);
  if (fetchAt >= 0) {
    const rest = toks.slice(fetchAt, toks.length - 1).filter((t) => t.start < queryEnd);
    const words = rest.map((t) => t.value);
    const n = rest[2]?.kind === 'number' ? Number(rest[2].value) : 1;
    const tail = words.slice(rest[2]?.kind === 'number' ? 3 : 2).join(' ');
    if (!['rows only', 'row only', 'rows with ties', 'row with ties'].includes(tail)) {
      throw new SluiceError('syntax', 'expected FETCH FIRST n ROWS ONLY or FETCH FIRST n ROWS WITH TIES', { position: toks[fetchAt]!.start + 1 });
    }
    fetch = { limit: n, withTies: tail.endsWith('ties') };
    queryEnd = toks[fetchAt]!.start;
  }
  const queryText = ts.text.slice(qStart, queryEnd);
  const parsed = parseQueryText(queryText, qStart);
  const query = fetch ? { ...parsed, limit: fetch.limit, withTies: fetch.withTies } : parsed;
  return { kind: 'create_view', name, ifNotExists, query, queryText, queryOffset: qStart - offset, emitOnWindowClose, options, text: stmt };
}

/** CREATE MODEL [IF NOT EXISTS] name WITH (type = …, …) AS query. */
function parseCreateModel(ts: TokenStream, stmt: string, offset: number): Statement {
  const ifNotExists = ts.acceptKeyword('if', 'not', 'exists');
  const pos = ts.position();
  const name = ts.objectName();
  const optionPositions: Record<string, number> = {};
  if (!ts.isKeyword('with')) throw new SluiceError('syntax', 'CREATE MODEL needs WITH (type = …)', { position: ts.position(), hint: "Write CREATE MODEL name WITH (type = 'kmeans' | 'linear_regression' | 'logistic_regression', …) AS SELECT …" });
  const options = parseOptions(ts, optionPositions);
  ts.expectKeyword('as');
  const qStart = ts.peek().start;
  const queryText = ts.text.slice(qStart, offset + stmt.length);
  const query = parseQueryText(queryText, qStart);
  return { kind: 'create_model', name, ifNotExists, query, queryText, queryOffset: qStart - offset, queryPos: qStart + 1, options, optionPositions, pos, text: stmt };
}

/**
 * node-sql-parser reads count(DISTINCT x) but not sum/avg/min/max(DISTINCT x): those become
 * calls of `sum_distinct(x)` etc. (same length, so positions stay right) that convert.ts maps back.
 */
function rewriteDistinctAggregates(text: string): string {
  const toks = lex(text);
  let out = text;
  for (let i = 0; i + 2 < toks.length; i++) {
    const [f, paren, d] = [toks[i]!, toks[i + 1]!, toks[i + 2]!];
    if (f.kind !== 'ident' || !['sum', 'avg', 'min', 'max'].includes(f.value)) continue;
    if (paren.kind !== 'symbol' || paren.value !== '(' || paren.start !== f.end) continue;
    if (d.kind !== 'ident' || d.value !== 'distinct' || d.start !== paren.end || !/\s/.test(text[d.end] ?? '')) continue;
    out = out.slice(0, f.start) + `${text.slice(f.start, f.end)}_distinct(` + out.slice(d.end + 1);
  }
  return out;
}

/**
 * `rel FOR SYSTEM_TIME AS OF PROCTIME()` (a lookup join, which node-sql-parser does not read)
 * is blanked out (same length, positions stay right); the relation names are returned.
 */
function stripSystemTime(text: string): { text: string; lookups: Set<string> } {
  const toks = lex(text);
  const lookups = new Set<string>();
  let out = text;
  for (let i = 1; i + 4 < toks.length; i++) {
    const w = toks.slice(i, i + 4).map((t) => t.value).join(' ');
    if (w !== 'for system_time as of') continue;
    const rel = toks[i - 1]!;
    if (rel.kind !== 'ident' && rel.kind !== 'quoted') continue;
    let j = i + 4;
    // PROCTIME() / NOW() / a column such as o.proctime: up to the alias, ON or the next keyword.
    const fn = toks[j];
    if (fn && (fn.value === 'proctime' || fn.value === 'now' || fn.value === 'current_timestamp')) {
      j++;
      if (toks[j]?.value === '(' && toks[j + 1]?.value === ')') j += 2;
    } else {
      while (toks[j] && (toks[j]!.kind === 'ident' || toks[j]!.value === '.') && !['on', 'as', 'where', 'join', 'left', 'inner'].includes(toks[j]!.value)) j++;
    }
    const start = toks[i]!.start;
    const end = toks[j - 1]!.end;
    out = out.slice(0, start) + ' '.repeat(end - start) + out.slice(end);
    lookups.add(rel.value);
  }
  return { text: out, lookups };
}

/**
 * Subscripts other than an integer constant (`a[i]`, `a[n + 1]`), which node-sql-parser does not
 * read, become string subscripts (`a['i']`) whose text the converter parses as an expression;
 * returned by their string value. (Positions after such a subscript move by its quotes.)
 */
function rewriteSubscripts(text: string): { text: string; subscripts: Map<string, number> } {
  const subscripts = new Map<string, number>();
  const toks = lex(text);
  let out = '';
  let copied = 0;
  for (let i = 1; i < toks.length; i++) {
    const open = toks[i]!;
    const prev = toks[i - 1]!;
    if (open.kind !== 'symbol' || open.value !== '[') continue;
    const subscriptable = (prev.kind === 'ident' && prev.value !== 'array') || prev.kind === 'quoted' || (prev.kind === 'symbol' && (prev.value === ')' || prev.value === ']'));
    if (!subscriptable) continue;
    let depth = 0;
    let j = i + 1;
    for (; j < toks.length && toks[j]!.kind !== 'eof'; j++) {
      const t = toks[j]!;
      if (t.kind === 'symbol' && (t.value === '[' || t.value === '(')) depth++;
      else if (t.kind === 'symbol' && (t.value === ')' || (t.value === ']' && depth > 0))) depth--;
      else if (t.kind === 'symbol' && t.value === ']') break;
      else if (t.kind === 'symbol' && t.value === ':' && depth === 0) {
        throw new SluiceError('not_supported', 'array slices (a[i:j]) are not supported yet', { position: t.start + 1, hint: 'Take elements one at a time with a[i].' });
      }
    }
    if (j >= toks.length || toks[j]!.kind === 'eof' || j === i + 1) continue;
    if (j === i + 2 && (toks[i + 1]!.kind === 'number' || toks[i + 1]!.kind === 'string')) continue;
    const inner = text.slice(open.end, toks[j]!.start);
    subscripts.set(inner.trim(), open.end);
    out += text.slice(copied, open.end) + `'${inner.trim().replace(/'/g, "''")}'`;
    copied = toks[j]!.start;
    i = j;
  }
  return { text: out + text.slice(copied), subscripts };
}

/**
 * Rewrites, keeping positions, what node-sql-parser misreads or does not read in FROM:
 * `CROSS JOIN` (read as an alias "cross") becomes a comma, which means the same; `WITH
 * ORDINALITY` after a function call is blanked out, and the end offsets of those calls returned.
 */
function rewriteFromClause(text: string): { text: string; ordinality: Set<number> } {
  const toks = lex(text);
  const ordinality = new Set<number>();
  let out = text;
  const blank = (start: number, end: number, lead = '') => {
    out = out.slice(0, start) + lead + ' '.repeat(end - start - lead.length) + out.slice(end);
  };
  for (let i = 1; i + 1 < toks.length; i++) {
    const [a, b] = [toks[i]!, toks[i + 1]!];
    if (a.kind !== 'ident' || b.kind !== 'ident') continue;
    if (a.value === 'cross' && b.value === 'join') blank(a.start, b.end, ',');
    if (a.value === 'with' && b.value === 'ordinality' && toks[i - 1]!.value === ')') {
      blank(a.start, b.end);
      ordinality.add(toks[i - 1]!.end);
    }
  }
  return { text: out, ordinality };
}

/** Parses query text that starts at 0-based `offset` in the script. */
export function parseQueryText(text: string, offset: number): Query {
  let ast;
  const subs = rewriteSubscripts(text);
  const from = rewriteFromClause(subs.text);
  const stripped = stripSystemTime(from.text);
  text = stripped.text;
  try {
    ast = parser.astify(rewriteDistinctAggregates(text), OPT);
  } catch (e) {
    throw syntaxFromParser(e, offset, text);
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw new SluiceError('syntax', 'expected a single query', { position: offset + 1 });
    ast = ast[0]!;
  }
  if ((ast as { type?: string }).type !== 'select') throw new SluiceError('syntax', 'expected a SELECT query', { position: offset + 1 });
  try {
    return convertQueryAt(ast, offset, { lookups: stripped.lookups, ordinality: from.ordinality, subscripts: subs.subscripts, parseExpression });
  } catch (e) {
    throw e instanceof SluiceError ? e.withPosition(offset + 1) : e;
  }
}

function syntaxFromParser(e: unknown, offset: number, text: string): SluiceError {
  if (e instanceof SluiceError) return e;
  const loc = (e as { location?: { start?: { offset: number } } }).location?.start?.offset;
  if (typeof loc === 'number') {
    const toks = lex(text);
    const tok = toks.find((t) => t.start >= loc || (t.start <= loc && loc < t.end));
    const near = !tok || tok.kind === 'eof' ? null : `"${text.slice(tok.start, tok.end)}"`;
    const at = tok && tok.kind !== 'eof' ? tok.start : loc;
    return new SluiceError('syntax', near === null ? 'syntax error at end of input' : `syntax error at or near ${near}`, { position: offset + at + 1, cause: e });
  }
  return new SluiceError('syntax', `syntax error: ${(e as Error).message}`, { position: offset + 1, cause: e });
}

function parseSelect(stmt: string, offset: number): Statement {
  const query = parseQueryText(stmt, offset);
  return { kind: 'select', query, text: stmt, offset, relations: relationsOf(query) };
}

/**
 * Names of the catalog relations a query reads (CTE names excluded). A relation of the system
 * schema keeps its schema (`sluice.epochs`); other schemas (public, pg_catalog, …) are dropped,
 * as sluice has one namespace.
 */
export function relationsOf(q: Query, ctes: ReadonlySet<string> = new Set()): string[] {
  const out = new Set<string>();
  const local = new Set(ctes);
  for (const w of q.with) {
    for (const r of relationsOf(w.query, local)) out.add(r);
    local.add(w.name);
  }
  const fromItem = (f: FromItem | null): void => {
    if (!f) return;
    switch (f.kind) {
      case 'relation':
        if (f.schema?.toLowerCase() === 'sluice') out.add(`sluice.${f.name}`);
        else if (!local.has(f.name)) out.add(f.name);
        break;
      case 'subquery':
        for (const r of relationsOf(f.query, local)) out.add(r);
        break;
      case 'table_function':
        // TUMBLE(rel, …) and friends name a relation; set-returning functions read columns.
        if (['tumble', 'hop', 'session'].includes(f.name)) for (const a of f.args) if (a.kind === 'column' && !local.has(a.name)) out.add(a.name);
        break;
      case 'join':
        fromItem(f.left);
        fromItem(f.right);
        break;
    }
  };
  const body = (b: QueryBody): void => {
    if (b.kind === 'union') b.inputs.forEach(body);
    else fromItem(b.from);
  };
  body(q.body);
  return [...out];
}

function parseDml(ts: TokenStream, stmt: string, offset: number): Statement {
  const verb = ts.next().value;
  if (verb === 'insert') ts.expectKeyword('into');
  if (verb === 'delete') ts.expectKeyword('from');
  const pos = ts.position();
  const table = ts.objectName();
  const returning = ts.tokens.find((t) => t.kind === 'ident' && t.value === 'returning');
  if (returning) throw new SluiceError('not_supported', 'RETURNING is not supported', { position: returning.start + 1 });
  // An INSERT runs in DuckDB as written and nothing here needs its tree: DuckDB's parser, which
  // is linear, checks it. node-sql-parser backtracks, and a bulk INSERT of many thousand rows
  // would take it seconds.
  if (verb === 'insert') return { kind: 'insert', table, text: stmt, pos, offset };
  let ast;
  try {
    ast = parser.astify(stmt, OPT) as unknown as Record<string, unknown>;
  } catch (e) {
    throw syntaxFromParser(e, offset, stmt);
  }
  if (Array.isArray(ast)) ast = ast[0] as Record<string, unknown>;
  if (verb === 'delete') return { kind: 'delete', table, text: stmt, pos };
  const select = {
    with: null, type: 'select', options: null, distinct: { type: null },
    columns: [{ expr: { type: 'column_ref', table: null, column: '*' }, as: null }],
    from: ast.table, where: ast.where ?? null, groupby: null, having: null, orderby: null, limit: null,
  };
  const selectOldText = parser.sqlify(select as never, { database: 'postgresql' });
  return { kind: 'update', table, text: stmt, selectOldText, pos };
}

function objectKind(ts: TokenStream): ObjectKind {
  if (ts.acceptKeyword('source')) return 'source';
  if (ts.acceptKeyword('table')) return 'table';
  if (ts.acceptKeyword('materialized', 'view') || ts.acceptKeyword('view')) return 'view';
  if (ts.acceptKeyword('sink')) return 'sink';
  if (ts.acceptKeyword('model')) return 'model';
  return ts.fail('expected SOURCE, TABLE, MATERIALIZED VIEW, SINK or MODEL');
}

function parseDrop(ts: TokenStream): Statement {
  ts.expectKeyword('drop');
  const objectKindV = objectKind(ts);
  const ifExists = ts.acceptKeyword('if', 'exists');
  const pos = ts.position();
  const name = ts.objectName();
  const cascade = ts.acceptKeyword('cascade');
  if (!cascade) ts.acceptKeyword('restrict');
  expectEnd(ts);
  return { kind: 'drop', objectKind: objectKindV, name, ifExists, cascade, pos };
}

function parseShow(ts: TokenStream): Statement {
  ts.expectKeyword('show');
  if (ts.acceptKeyword('create')) {
    const objectKindV = objectKind(ts);
    const pos = ts.position();
    const name = ts.objectName();
    expectEnd(ts);
    return { kind: 'show_create', objectKind: objectKindV, name, pos };
  }
  if (ts.acceptKeyword('sources')) return { kind: 'show_objects', objectKind: 'source' };
  if (ts.acceptKeyword('tables')) return { kind: 'show_objects', objectKind: 'table' };
  if (ts.acceptKeyword('materialized', 'views') || ts.acceptKeyword('views')) return { kind: 'show_objects', objectKind: 'view' };
  if (ts.acceptKeyword('sinks')) return { kind: 'show_objects', objectKind: 'sink' };
  if (ts.acceptKeyword('models')) return { kind: 'show_objects', objectKind: 'model' };
  const name = dottedName(ts);
  expectEnd(ts);
  return { kind: 'show_variable', name };
}

/**
 * CREATE USER name [WITH] [LOGIN] PASSWORD 'secret' and ALTER USER name [WITH] PASSWORD 'secret'
 * (ROLE is read as USER). Errors never quote the password.
 */
function parseUserPassword(ts: TokenStream, verb: 'create' | 'alter'): Statement {
  ts.expectKeyword(verb);
  if (!ts.acceptKeyword('user')) ts.expectKeyword('role');
  const pos = ts.position();
  const name = ts.identifier('a user name');
  ts.acceptKeyword('with');
  let password: string | null = null;
  while (!ts.atEnd()) {
    if (ts.acceptKeyword('login') || ts.acceptKeyword('nosuperuser') || ts.acceptKeyword('inherit')) continue;
    const at = ts.position();
    if (!ts.acceptKeyword('password')) {
      throw new SluiceError('not_supported', `${verb.toUpperCase()} USER takes only [WITH] [LOGIN] PASSWORD '…'`, { position: at, hint: 'A user reads what it is granted (GRANT SELECT ON name TO user); the server\'s own user is the only superuser.' });
    }
    const v = ts.next();
    if (v.kind !== 'string') throw new SluiceError('syntax', 'expected a string literal after PASSWORD', { position: at });
    password = v.value;
  }
  if (password === null) throw new SluiceError('invalid_parameter', `${verb.toUpperCase()} USER needs PASSWORD '…'`, { position: pos, hint: 'Users authenticate with SCRAM-SHA-256 against a password.' });
  if (password === '') throw new SluiceError('invalid_parameter', 'a user\'s password cannot be empty', { position: pos });
  return { kind: verb === 'create' ? 'create_user' : 'alter_user', name, password, pos };
}

function parseDropUser(ts: TokenStream): Statement {
  ts.expectKeyword('drop');
  if (!ts.acceptKeyword('user')) ts.expectKeyword('role');
  const ifExists = ts.acceptKeyword('if', 'exists');
  const pos = ts.position();
  const name = ts.identifier('a user name');
  expectEnd(ts);
  return { kind: 'drop_user', name, ifExists, pos };
}

/**
 * GRANT SELECT ON [TABLE | SOURCE | MATERIALIZED VIEW] a, b TO user, and REVOKE … FROM user.
 * Only SELECT can be granted: users read, the superuser writes.
 */
function parseGrant(ts: TokenStream): Statement {
  const verb = ts.next().value as 'grant' | 'revoke';
  const privAt = ts.position();
  const priv = ts.identifier('a privilege');
  if (priv !== 'select') {
    throw new SluiceError('not_supported', `only SELECT can be granted, not ${priv.toUpperCase()}`, {
      position: privAt,
      hint: 'Users read (SELECT, SUBSCRIBE) what they are granted; writing and DDL belong to the superuser.',
    });
  }
  ts.expectKeyword('on');
  if (!ts.acceptKeyword('table') && !ts.acceptKeyword('source') && !ts.acceptKeyword('materialized', 'view')) ts.acceptKeyword('view');
  const relations: { name: string; pos: number }[] = [];
  do {
    const pos = ts.position();
    relations.push({ name: ts.objectName(), pos });
  } while (ts.acceptSymbol(','));
  ts.expectKeyword(verb === 'grant' ? 'to' : 'from');
  const userPos = ts.position();
  const user = ts.identifier('a user name');
  expectEnd(ts);
  return { kind: verb, relations, user, userPos };
}
