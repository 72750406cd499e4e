/**
 * The statement front: splits a script, recognises sluice's own statements (streaming DDL,
 * DML heads, SHOW/SET/FLUSH/EXPLAIN…) with a small recursive-descent parser over lex.ts tokens,
 * and hands queries and expressions to node-sql-parser (through convert.ts).
 */
import { rewriteValuesQueries } from './values-query.js';
import { rewriteGroupingSets } from './grouping-sets.js';
import nodeSqlParser from 'node-sql-parser/build/postgresql.js';
import { SluiceError } from '../common/errors.js';
import { parseTypeName } from '../common/types.js';
import type { ColumnDef, CopyOptions, Expr, FrameBound, FromItem, IndexKey, InnerStatement, ObjectKind, OrderItem, Options, Query, QueryBody, Select, Statement, WatermarkDef, WindowFrame, WindowSpec } from './ast.js';
import { parseDuration } from '../common/interval.js';
import { convertExprAt, convertQueryAt, WITHIN_GROUP_SUFFIX, type AggregateOrders, type WindowHints } from './convert.js';
import { SETOP_ALL_MARKER } from './setop-marker.js';
import { closingParen, foldIdentifiers, lex, NOT_AN_ALIAS, protectStrings, rewriteEscapeStrings, rewriteExtractFields, rewriteOffsetLimit, rewriteTokens, rewriteTypedLiterals, splitStatements, TokenStream, type Token } from './lexer.js';
import { parseCreateFunction, parseDropFunction } from './create-function.js';

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
  // A query in parentheses: `(SELECT …) UNION (SELECT …)`, `(SELECT 1 UNION SELECT 2)`.
  if (first.kind === 'symbol' && first.value === '(') return parseSelect(stmt, offset);
  if (first.kind !== 'ident') ts.fail('expected a statement');
  switch (first.value) {
    case 'create':
      return parseCreate(ts, stmt, offset);
    case 'insert':
    case 'update':
    case 'delete':
      return parseDml(ts, stmt, offset);
    case 'truncate':
      return parseTruncate(ts);
    case 'drop':
      return ts.tokens[1]?.kind === 'ident' && (ts.tokens[1].value === 'user' || ts.tokens[1].value === 'role') ? parseDropUser(ts) : parseDrop(ts);
    case 'alter':
      return ts.tokens[1]?.kind === 'ident' && (ts.tokens[1].value === 'user' || ts.tokens[1].value === 'role') ? parseUserPassword(ts, 'alter') : parseAlter(ts);
    case 'grant':
    case 'revoke':
      return parseGrant(ts);
    case 'comment':
      return parseComment(ts);
    case 'show':
      return parseShow(ts);
    case 'reset':
      // RESET TimeZone | RESET TIME ZONE: back to the server's zone (other settings have no RESET).
      if (ts.acceptKeyword('reset', 'timezone') || ts.acceptKeyword('reset', 'time', 'zone')) {
        expectEnd(ts);
        return { kind: 'set', name: 'timezone', value: 'DEFAULT' };
      }
      return ts.fail('RESET takes TimeZone (other settings: SET name = value)');
    case 'set': {
      ts.next();
      ts.acceptKeyword('session');
      if (ts.acceptKeyword('time', 'zone')) return setTimeZone(ts);
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
      return parseCopy(ts, whole);
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
    case 'subscribe':
      return parseSubscribe(ts);
    case 'declare':
      return parseDeclare(ts, whole);
    case 'fetch':
      return parseFetch(ts);
    case 'close': {
      ts.next();
      const pos = ts.position();
      const name = ts.acceptKeyword('all') ? null : ts.identifier('a cursor name');
      expectEnd(ts);
      return { kind: 'close_cursor', name, pos };
    }
    case 'begin':
    case 'start':
    case 'commit':
    case 'end':
    case 'rollback':
    case 'abort':
      return parseTransaction(ts);
    case 'savepoint':
    case 'release':
    case 'prepare':
      if (first.value === 'prepare' && !ts.isKeyword('prepare', 'transaction')) return ts.fail('unknown statement');
      throw new SluiceError('not_supported', `${first.value === 'prepare' ? 'PREPARE TRANSACTION' : first.value.toUpperCase()} is not supported: transactions have no savepoints and no two-phase commit`, { position: first.start + 1 });
    default:
      return ts.fail('unknown statement');
  }
}

/**
 * BEGIN [WORK | TRANSACTION] [modes], START TRANSACTION [modes], COMMIT / END / ROLLBACK / ABORT
 * [WORK | TRANSACTION] [AND NO CHAIN]. Modes: ISOLATION LEVEL …, READ WRITE | READ ONLY,
 * [NOT] DEFERRABLE, separated by commas or spaces (PostgreSQL's grammar).
 */
function parseTransaction(ts: TokenStream): Statement {
  const word = ts.next();
  const action = word.value === 'begin' || word.value === 'start' ? 'begin' : word.value === 'rollback' || word.value === 'abort' ? 'rollback' : 'commit';
  if (word.value === 'start') ts.expectKeyword('transaction');
  else if (!ts.acceptKeyword('work')) ts.acceptKeyword('transaction');
  let readOnly = false;
  if (action === 'begin') {
    let first = true;
    while (!ts.atEnd()) {
      if (!first) ts.acceptSymbol(',');
      first = false;
      if (ts.acceptKeyword('isolation', 'level')) {
        if (ts.acceptKeyword('read')) {
          if (!ts.acceptKeyword('committed')) ts.expectKeyword('uncommitted');
        } else if (!ts.acceptKeyword('serializable')) ts.expectKeyword('repeatable', 'read');
      } else if (ts.acceptKeyword('read')) {
        if (ts.acceptKeyword('only')) readOnly = true;
        else ts.expectKeyword('write');
      } else if (!ts.acceptKeyword('deferrable') && !ts.acceptKeyword('not', 'deferrable')) {
        ts.fail('expected a transaction mode (ISOLATION LEVEL, READ WRITE, READ ONLY, DEFERRABLE)');
      }
    }
  } else if (ts.isKeyword('to') && action === 'rollback') {
    throw new SluiceError('not_supported', 'ROLLBACK TO SAVEPOINT is not supported: transactions have no savepoints', { position: ts.position() });
  } else if (ts.isKeyword('and')) {
    ts.next();
    if (ts.isKeyword('chain')) throw new SluiceError('not_supported', `${action.toUpperCase()} AND CHAIN is not supported`, { position: ts.position() });
    ts.expectKeyword('no', 'chain');
  }
  expectEnd(ts);
  return { kind: 'transaction', action, readOnly, tag: word.value === 'start' ? 'START TRANSACTION' : action.toUpperCase() };
}

/**
 * The value of `SET TIME ZONE …`: LOCAL and DEFAULT (as `DEFAULT`), a zone name or number, or
 * `INTERVAL '…' [HOUR TO MINUTE]` (as `INTERVAL '…'`, which the setting reads as hours east).
 */
function setTimeZone(ts: TokenStream): Statement {
  let value: string;
  if (ts.acceptKeyword('local') || ts.acceptKeyword('default')) value = 'DEFAULT';
  else if (ts.acceptKeyword('interval')) {
    const t = ts.next();
    if (t.kind !== 'string') ts.fail('expected an interval literal');
    value = `INTERVAL '${t.value.replace(/'/g, "''")}'`;
    if (ts.acceptKeyword('hour')) ts.expectKeyword('to', 'minute');
  } else {
    const sign = ts.acceptSymbol('-') ? '-' : ts.acceptSymbol('+') ? '+' : '';
    const t = ts.next();
    if (t.kind !== 'string' && t.kind !== 'number' && t.kind !== 'ident' && t.kind !== 'quoted') ts.fail('expected a time zone');
    value = sign + t.value;
  }
  expectEnd(ts);
  return { kind: 'set', name: 'timezone', value };
}

function dottedName(ts: TokenStream): string {
  let name = ts.identifier('a name');
  while (ts.acceptSymbol('.')) name += '.' + ts.identifier('a name');
  return name;
}

function parseCreate(ts: TokenStream, stmt: string, offset: number): Statement {
  if (ts.tokens[1]?.kind === 'ident' && (ts.tokens[1].value === 'user' || ts.tokens[1].value === 'role')) return parseUserPassword(ts, 'create');
  const createAt = ts.position();
  ts.expectKeyword('create');
  const orReplace = ts.acceptKeyword('or', 'replace');
  if (ts.acceptKeyword('function')) return parseCreateFunction(ts, stmt, orReplace);
  if (ts.isKeyword('index') || ts.isKeyword('unique', 'index')) return parseCreateIndex(ts, stmt, createAt);
  if (ts.acceptKeyword('source')) return parseCreateRelation(ts, 'source', stmt);
  if (ts.acceptKeyword('table')) return parseCreateRelation(ts, 'table', stmt);
  if (ts.acceptKeyword('materialized', 'view') || ts.acceptKeyword('view')) return parseCreateView(ts, stmt, offset);
  if (ts.acceptKeyword('model')) return parseCreateModel(ts, stmt, offset);
  if (ts.acceptKeyword('sink')) return parseCreateSink(ts, stmt, offset);
  return ts.fail('expected SOURCE, TABLE, MATERIALIZED VIEW, SINK or MODEL after CREATE');
}

/**
 * CREATE [UNIQUE] INDEX [CONCURRENTLY] [[IF NOT EXISTS] name] ON [ONLY] rel [USING method]
 * (key [COLLATE c] [opclass] [ASC | DESC] [NULLS FIRST | LAST], …) [INCLUDE (…)] [NULLS [NOT]
 * DISTINCT] [WITH (…)] [TABLESPACE t] [WHERE …] — PostgreSQL's form; RisingWave's
 * `DISTRIBUTED BY (…)` is read too. A key is a column or an expression in parentheses.
 */
function parseCreateIndex(ts: TokenStream, stmt: string, pos: number): Statement {
  const unique = ts.acceptKeyword('unique');
  ts.expectKeyword('index');
  ts.acceptKeyword('concurrently');
  const ifNotExists = ts.acceptKeyword('if', 'not', 'exists');
  const name = ts.isKeyword('on') && !ifNotExists ? null : ts.objectName();
  ts.expectKeyword('on');
  ts.acceptKeyword('only');
  const tablePos = ts.position();
  const table = ts.objectName();
  if (ts.acceptKeyword('using')) ts.identifier('an index method');
  ts.expectSymbol('(');
  const keys: IndexKey[] = [];
  const base = ts.base;
  for (;;) {
    const start = ts.peek();
    const kpos = ts.position();
    let column: string | null = null;
    if (ts.isSymbol('(') || (ts.peek(1).kind === 'symbol' && ts.peek(1).value === '(')) {
      // An expression: `(a + b)` or a function call `lower(a)`; kept as text.
      if (!ts.isSymbol('(')) ts.next();
      let depth = 0;
      do {
        const t = ts.next();
        if (t.kind === 'eof') ts.fail('expected ")"');
        if (t.kind === 'symbol' && t.value === '(') depth++;
        else if (t.kind === 'symbol' && t.value === ')') depth--;
      } while (depth > 0);
    } else column = ts.identifier('a column name or an expression in parentheses');
    const end = ts.tokens[ts.index - 1]!.end;
    keys.push({ column, text: ts.text.slice(start.start - base, end - base), pos: kpos });
    // COLLATE, an operator class, ordering: they change nothing sluice keeps.
    if (ts.acceptKeyword('collate')) ts.objectName();
    if (ts.peek().kind === 'ident' && !['asc', 'desc', 'nulls'].includes(ts.peek().value)) ts.objectName();
    if (!ts.acceptKeyword('asc')) ts.acceptKeyword('desc');
    if (!ts.acceptKeyword('nulls', 'first')) ts.acceptKeyword('nulls', 'last');
    if (ts.acceptSymbol(')')) break;
    ts.expectSymbol(',');
  }
  const skipParens = (): void => {
    ts.expectSymbol('(');
    let depth = 1;
    while (depth > 0) {
      const t = ts.next();
      if (t.kind === 'eof') ts.fail('expected ")"');
      if (t.kind === 'symbol' && t.value === '(') depth++;
      else if (t.kind === 'symbol' && t.value === ')') depth--;
    }
  };
  if (ts.acceptKeyword('include')) skipParens();
  if (!ts.acceptKeyword('nulls', 'not', 'distinct')) ts.acceptKeyword('nulls', 'distinct');
  if (ts.acceptKeyword('distributed', 'by')) skipParens();
  if (ts.acceptKeyword('with')) skipParens();
  if (ts.acceptKeyword('tablespace')) ts.identifier('a tablespace');
  if (ts.acceptKeyword('where')) while (!ts.atEnd()) ts.next();
  expectEnd(ts);
  return { kind: 'create_index', name, table, keys, unique, ifNotExists, text: stmt, pos, tablePos };
}

/** DROP INDEX [CONCURRENTLY] [IF EXISTS] name [, …] [CASCADE | RESTRICT]. */
function parseDropIndex(ts: TokenStream): Statement {
  const pos = ts.position();
  ts.expectKeyword('drop');
  ts.expectKeyword('index');
  ts.acceptKeyword('concurrently');
  const ifExists = ts.acceptKeyword('if', 'exists');
  const names: { name: string; pos: number }[] = [];
  do {
    const p = ts.position();
    names.push({ name: ts.objectName(), pos: p });
  } while (ts.acceptSymbol(','));
  if (!ts.acceptKeyword('cascade')) ts.acceptKeyword('restrict');
  expectEnd(ts);
  return { kind: 'drop_index', names, ifExists, pos };
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
    ast = parser.astify(prefix + protectStrings(rewriteExtractFields(rewriteTypedLiterals(foldIdentifiers(rewriteEscapeStrings(text))))), OPT) as unknown as { columns: { expr: unknown }[] };
  } catch (e) {
    throw syntaxFromParser(e, offset - prefix.length, prefix + text);
  }
  const a = Array.isArray(ast) ? ast[0] : ast;
  return convertExprAt(a.columns[0]!.expr, offset - prefix.length);
}

/** SUBSCRIBE [TO] name [WITH (snapshot [= bool], progress [= bool])]. */
function parseSubscribe(ts: TokenStream): Statement {
  ts.next();
  ts.acceptKeyword('to');
  const pos = ts.position();
  const name = ts.objectName();
  let snapshot = true;
  let progress = false;
  if (ts.acceptKeyword('with')) {
    ts.expectSymbol('(');
    do {
      const at = ts.position();
      const key = ts.identifier('an option name');
      let on = true;
      if (ts.acceptSymbol('=')) {
        const v = ts.next();
        on = booleanOption(v.value, key, at);
      }
      if (key === 'snapshot') snapshot = on;
      else if (key === 'progress') progress = on;
      else throw new SluiceError('invalid_parameter', `unknown SUBSCRIBE option "${key}"`, { position: at, hint: 'SUBSCRIBE takes WITH (snapshot = true | false, progress = true | false).' });
    } while (ts.acceptSymbol(','));
    ts.expectSymbol(')');
  }
  expectEnd(ts);
  return { kind: 'subscribe', name, snapshot, progress, pos };
}

/** A boolean option value as PostgreSQL reads one (true/false, on/off, yes/no, 1/0). */
function booleanOption(value: string, option: string, position: number): boolean {
  const v = value.toLowerCase();
  if (['true', 'on', 'yes', '1', 't', 'y'].includes(v)) return true;
  if (['false', 'off', 'no', '0', 'f', 'n'].includes(v)) return false;
  throw new SluiceError('syntax', `${option} requires a Boolean value`, { position });
}

/** The statement between the parentheses at the current token, parsed; the stream moves past ')'. */
function parenthesizedStatement(ts: TokenStream, whole: string, what: string): InnerStatement {
  const open = ts.peek();
  ts.expectSymbol('(');
  let depth = 1;
  let close = ts.peek();
  while (!ts.atEnd()) {
    close = ts.next();
    if (close.kind === 'symbol' && close.value === '(') depth++;
    if (close.kind === 'symbol' && close.value === ')' && --depth === 0) break;
  }
  if (depth !== 0) ts.fail('expected ")"');
  return innerStatement(whole, open.end, close.start, what);
}

/** Parses whole[start, end) as a statement that may stand inside another: a query or SUBSCRIBE. */
function innerStatement(whole: string, start: number, end: number, what: string): InnerStatement {
  const raw = whole.slice(start, end);
  const lead = raw.length - raw.trimStart().length;
  const text = raw.trim();
  const offset = start + lead;
  if (text === '') throw new SluiceError('syntax', `${what} needs a query`, { position: start + 1 });
  const statement = parseStatement(text, offset, whole);
  if (statement.kind !== 'select' && statement.kind !== 'subscribe') {
    throw new SluiceError('not_supported', `${what} takes a SELECT, VALUES or SUBSCRIBE, not ${text.split(/\s/)[0]!.toUpperCase()}`, { position: offset + 1 });
  }
  return { statement, text, offset };
}

/**
 * COPY (query | SUBSCRIBE …) TO STDOUT, COPY relation [(columns)] TO STDOUT and COPY table
 * [(columns)] FROM STDIN, with PostgreSQL's options in either spelling (`WITH (FORMAT csv,
 * HEADER)` or `CSV HEADER`). COPY to or from a file on the server is refused (42501, as
 * PostgreSQL does for users who may not touch its files).
 */
function parseCopy(ts: TokenStream, whole: string): Statement {
  ts.next();
  let query: InnerStatement | null = null;
  let relation: { name: string; columns: string[] | null; pos: number } | null = null;
  if (ts.isSymbol('(')) query = parenthesizedStatement(ts, whole, 'COPY (…)');
  else {
    const pos = ts.position();
    const name = ts.objectName();
    let columns: string[] | null = null;
    if (ts.acceptSymbol('(')) {
      columns = [];
      do columns.push(ts.identifier('a column name'));
      while (ts.acceptSymbol(','));
      ts.expectSymbol(')');
    }
    relation = { name, columns, pos };
  }
  const dirAt = ts.position();
  const to = ts.acceptKeyword('to');
  if (!to && !ts.acceptKeyword('from')) ts.fail('expected TO or FROM');
  const target = ts.peek();
  if (!(target.kind === 'ident' && (target.value === 'stdout' || target.value === 'stdin'))) {
    if (target.kind === 'string' || (target.kind === 'ident' && target.value === 'program')) {
      throw new SluiceError('insufficient_privilege', 'permission denied: COPY to or from a file on the server is not available to clients', {
        position: target.start + 1,
        hint: `Use COPY … ${to ? 'TO STDOUT' : 'FROM STDIN'} (psql's \\copy), or a file ${to ? 'sink' : 'table'} under an allowed path.`,
      });
    }
    ts.fail(`expected ${to ? 'STDOUT' : 'STDIN'}`);
  }
  ts.next();
  if (to !== (target.value === 'stdout')) {
    throw new SluiceError('syntax', `COPY ${to ? 'TO' : 'FROM'} takes ${to ? 'STDOUT' : 'STDIN'}`, { position: target.start + 1 });
  }
  const options = parseCopyOptions(ts);
  expectEnd(ts);
  if (to) return { kind: 'copy_to', query, relation, options };
  if (!relation) throw new SluiceError('syntax', 'COPY FROM takes a table, not a query', { position: dirAt });
  return { kind: 'copy_from', table: relation.name, columns: relation.columns, options, pos: relation.pos };
}

/** COPY's options: `[WITH] (name [value], …)` or the older `[WITH] [CSV] [HEADER] [DELIMITER [AS] 'c'] …`. */
function parseCopyOptions(ts: TokenStream): CopyOptions {
  const given: Record<string, { value: string; pos: number }> = {};
  const set = (key: string, value: string, pos: number) => {
    if (given[key]) throw new SluiceError('syntax', 'conflicting or redundant options', { position: pos });
    given[key] = { value, pos };
  };
  ts.acceptKeyword('with');
  if (ts.acceptSymbol('(')) {
    do {
      const pos = ts.position();
      const key = ts.identifier('a COPY option');
      const v = ts.peek();
      let value = 'true';
      if (!(v.kind === 'symbol' && (v.value === ',' || v.value === ')'))) {
        if (v.kind === 'symbol' && v.value === '(') ts.fail(`COPY option ${key.toUpperCase()} with a column list is not supported`);
        value = ts.next().value;
      }
      set(key, value, pos);
    } while (ts.acceptSymbol(','));
    ts.expectSymbol(')');
  } else {
    while (!ts.atEnd()) {
      const pos = ts.position();
      const word = ts.identifier('a COPY option');
      if (word === 'csv' || word === 'binary') set('format', word, pos);
      else if (word === 'header') set('header', 'true', pos);
      else if (['delimiter', 'null', 'quote', 'escape', 'encoding'].includes(word)) {
        ts.acceptKeyword('as');
        const v = ts.next();
        if (v.kind !== 'string') throw new SluiceError('syntax', `COPY ${word.toUpperCase()} takes a string`, { position: v.start + 1 });
        set(word, v.value, pos);
      } else set(word, 'true', pos);
    }
  }
  for (const [key, { value, pos }] of Object.entries(given)) {
    if (key === 'format' && !['text', 'csv', 'binary'].includes(value.toLowerCase())) throw new SluiceError('invalid_parameter', `COPY format "${value}" not recognized`, { position: pos });
    if (key === 'encoding' && !/^utf-?8$/i.test(value)) throw new SluiceError('not_supported', `COPY encoding "${value}" is not supported: sluice speaks UTF8`, { position: pos });
    if (!['format', 'header', 'delimiter', 'null', 'quote', 'escape', 'encoding', 'freeze'].includes(key)) {
      throw new SluiceError('not_supported', `COPY option "${key}" is not supported`, { position: pos, hint: 'COPY takes FORMAT text | csv, HEADER, DELIMITER, NULL, QUOTE and ESCAPE.' });
    }
  }
  const format = (given.format?.value ?? 'text').toLowerCase();
  if (format === 'binary') throw new SluiceError('not_supported', 'COPY in binary format is not supported', { position: given.format!.pos, hint: 'Use FORMAT text or FORMAT csv.' });
  const csv = format === 'csv';
  const oneChar = (key: string, dflt: string, what: string): string => {
    const g = given[key];
    if (!g) return dflt;
    if (g.value.length !== 1) throw new SluiceError('invalid_parameter', `COPY ${what} must be a single one-byte character`, { position: g.pos });
    return g.value;
  };
  for (const key of ['quote', 'escape']) {
    if (given[key] && !csv) throw new SluiceError('not_supported', `COPY ${key} available only in CSV mode`, { position: given[key]!.pos });
  }
  const delimiter = oneChar('delimiter', csv ? ',' : '\t', 'delimiter');
  if (delimiter === '\n' || delimiter === '\r') throw new SluiceError('invalid_parameter', 'COPY delimiter cannot be newline or carriage return', { position: given.delimiter!.pos });
  if (!csv && (delimiter === '\\' || /[a-z0-9.]/i.test(delimiter))) throw new SluiceError('invalid_parameter', `COPY delimiter cannot be "${delimiter}"`, { position: given.delimiter!.pos });
  const header = given.header ? booleanOption(given.header.value, 'header', given.header.pos) : false;
  const quote = oneChar('quote', '"', 'quote');
  const escape = oneChar('escape', quote, 'escape');
  const nullMarker = given.null?.value ?? (csv ? '' : '\\N');
  if (csv && delimiter === quote) throw new SluiceError('invalid_parameter', 'COPY delimiter and quote must be different', { position: given.delimiter?.pos ?? given.quote?.pos });
  if (nullMarker.includes(delimiter)) throw new SluiceError('invalid_parameter', 'COPY delimiter must not appear in the NULL specification', { position: given.null?.pos ?? given.delimiter?.pos });
  return { format: csv ? 'csv' : 'text', header, delimiter, null: nullMarker, quote, escape };
}

/** DECLARE name [NO SCROLL] CURSOR [WITH[OUT] HOLD] FOR query | SUBSCRIBE …. */
function parseDeclare(ts: TokenStream, whole: string): Statement {
  ts.next();
  const pos = ts.position();
  const name = ts.identifier('a cursor name');
  for (;;) {
    const at = ts.peek();
    if (ts.acceptKeyword('binary')) throw new SluiceError('not_supported', 'binary cursors are not supported', { position: at.start + 1 });
    if (ts.acceptKeyword('scroll')) throw new SluiceError('not_supported', 'scrollable cursors are not supported', { position: at.start + 1, hint: 'Cursors go forward only (NO SCROLL).' });
    if (ts.acceptKeyword('no', 'scroll') || ts.acceptKeyword('insensitive') || ts.acceptKeyword('asensitive')) continue;
    break;
  }
  ts.expectKeyword('cursor');
  if (!ts.acceptKeyword('with', 'hold')) ts.acceptKeyword('without', 'hold');
  ts.expectKeyword('for');
  const start = ts.peek().start;
  const query = innerStatement(whole, start, ts.tokens[ts.tokens.length - 1]!.start, 'DECLARE … CURSOR FOR');
  return { kind: 'declare', name, query, pos };
}

/** FETCH [NEXT | FORWARD [n | ALL] | n | ALL] [FROM | IN] name [WITH (timeout = 'interval')]. */
function parseFetch(ts: TokenStream): Statement {
  ts.next();
  let count: number | null = 1;
  const dir = ts.peek();
  const countOf = (): boolean => {
    const t = ts.peek();
    if (t.kind === 'number') {
      if (!/^\d+$/.test(t.value)) ts.fail('expected a whole number of rows');
      count = Number(ts.next().value);
      return true;
    }
    if (ts.acceptKeyword('all')) {
      count = null;
      return true;
    }
    return false;
  };
  if (dir.kind === 'ident' && ['prior', 'first', 'last', 'absolute', 'relative', 'backward'].includes(dir.value)) {
    throw new SluiceError('not_supported', `FETCH ${dir.value.toUpperCase()} is not supported`, { position: dir.start + 1, hint: 'Cursors go forward only: FETCH [n | ALL] name.' });
  }
  if (ts.acceptKeyword('forward')) countOf();
  else if (!ts.acceptKeyword('next')) countOf();
  if (!ts.acceptKeyword('from')) ts.acceptKeyword('in');
  const pos = ts.position();
  const name = ts.identifier('a cursor name');
  let timeoutMs: number | null = null;
  if (ts.acceptKeyword('with')) {
    ts.expectSymbol('(');
    do {
      const at = ts.position();
      const key = ts.identifier('an option name');
      if (key !== 'timeout') throw new SluiceError('invalid_parameter', `unknown FETCH option "${key}"`, { position: at, hint: "FETCH takes WITH (timeout = '1s')." });
      ts.expectSymbol('=');
      const v = ts.next();
      if (v.kind !== 'string' && v.kind !== 'number') throw new SluiceError('syntax', 'FETCH timeout takes an interval such as \'1s\'', { position: v.start + 1 });
      let micros: bigint;
      try {
        micros = v.kind === 'number' ? BigInt(Math.round(Number(v.value) * 1e6)) : parseDuration(v.value, 'a FETCH timeout');
      } catch (e) {
        throw e instanceof SluiceError ? e.withPosition(v.start + 1) : e;
      }
      if (micros < 0n) throw new SluiceError('invalid_parameter', 'FETCH timeout cannot be negative', { position: v.start + 1 });
      timeoutMs = Number(micros / 1000n);
    } while (ts.acceptSymbol(','));
    ts.expectSymbol(')');
  }
  expectEnd(ts);
  return { kind: 'fetch', name, count, timeoutMs, pos };
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
  // CREATE MATERIALIZED VIEW name (a, b) AS …: names for the first columns (PostgreSQL).
  const columnNames: string[] = [];
  const namesAt = ts.position();
  if (ts.acceptSymbol('(')) {
    do columnNames.push(ts.identifier('a column name'));
    while (ts.acceptSymbol(','));
    ts.expectSymbol(')');
  }
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
  let query: Query = fetch ? { ...parsed, limit: fetch.limit, withTies: fetch.withTies } : parsed;
  if (columnNames.length > 0) {
    if (new Set(columnNames).size !== columnNames.length) {
      const dup = columnNames.find((c, i) => columnNames.indexOf(c) !== i)!;
      throw new SluiceError('duplicate_column', `column "${dup}" specified more than once`, { position: namesAt + 1 });
    }
    // The query as a subquery whose first columns take the names (more names than columns is
    // refused there, 42601 as PostgreSQL's "too many column names").
    const body: Select = { kind: 'select', distinct: false, distinctOn: null, items: [{ expr: { kind: 'star', table: null }, alias: null }], from: { kind: 'subquery', query, alias: name, columnAliases: columnNames }, where: null, groupBy: [], having: null };
    query = { with: [], body, orderBy: [], limit: null, offset: null, withTies: false };
  }
  return { kind: 'create_view', name, ifNotExists, query, queryText, queryOffset: qStart - offset, emitOnWindowClose, options, text: stmt };
}

/**
 * CREATE SINK [IF NOT EXISTS] name FROM relation [WITH (…)], or RisingWave's CREATE SINK name
 * AS query WITH (…): the query runs for the sink alone, its WITH clause the statement's last.
 */
function parseCreateSink(ts: TokenStream, stmt: string, offset: number): Statement {
  const ifNotExists = ts.acceptKeyword('if', 'not', 'exists');
  const name = ts.objectName();
  if (ts.acceptKeyword('as')) {
    const qStart = ts.peek().start;
    // The sink's WITH (…) is the top-level WITH whose parentheses close the statement (a
    // query's own WITH names a CTE: `WITH x AS (…)`).
    const toks = ts.tokens;
    const last = toks.length - 2;
    let withAt = -1;
    if (toks[last]?.kind === 'symbol' && toks[last].value === ')') {
      let depth = 0;
      for (let i = last; i > ts.index; i--) {
        const t = toks[i]!;
        if (t.kind === 'symbol' && t.value === ')') depth++;
        else if (t.kind === 'symbol' && t.value === '(') depth--;
        if (depth === 0) {
          if (toks[i - 1]?.kind === 'ident' && toks[i - 1]!.value === 'with') withAt = i - 1;
          break;
        }
      }
    }
    let queryEnd = withAt >= 0 ? toks[withAt]!.start : offset + stmt.length;
    // EMIT ON WINDOW CLOSE ends the query, as in a view.
    const before = withAt >= 0 ? withAt : toks.length - 1;
    const tail = toks.slice(Math.max(0, before - 4), before).map((t) => (t.kind === 'ident' ? t.value : ''));
    const emitOnWindowClose = before >= 4 && tail.join(' ') === 'emit on window close';
    if (emitOnWindowClose) queryEnd = toks[before - 4]!.start;
    const queryText = ts.text.slice(qStart, queryEnd);
    const query = parseQueryText(queryText, qStart);
    while (withAt >= 0 ? ts.index < withAt : !ts.atEnd()) ts.next();
    const options = withAt >= 0 ? parseOptions(ts) : {};
    expectEnd(ts);
    return { kind: 'create_sink', name, ifNotExists, from: null, query: { query, queryText, queryOffset: qStart - offset, emitOnWindowClose }, options, text: stmt };
  }
  ts.expectKeyword('from');
  const from = ts.objectName();
  const options = ts.isKeyword('with') ? parseOptions(ts) : {};
  expectEnd(ts);
  return { kind: 'create_sink', name, ifNotExists, from, query: null, options, text: stmt };
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

/** Words followed by a parenthesis that are not function calls whose arguments could hold DISTINCT or ORDER BY. */
const NOT_CALLS = new Set(['over', 'group', 'within', 'filter', 'in', 'exists', 'values', 'as', 'from', 'join', 'on', 'using', 'lateral', 'and', 'or', 'not', 'when', 'then', 'else', 'select', 'where', 'by', 'any', 'all', 'some', 'array', 'case', 'is', 'between', 'like', 'ilike', 'union', 'except', 'intersect']);

/** The aggregates node-sql-parser reads itself, with their FILTER clause. */
const NATIVE_AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'string_agg', 'array_agg', 'group_concat']);

/**
 * `f(direct args) WITHIN GROUP (ORDER BY …)` whose direct argument is not a plain number
 * (node-sql-parser reads only `percentile_cont(0.5) WITHIN GROUP …`): rewritten, at the same
 * length, to `f__wg(direct args ORDER BY …)`, which rewriteAggregateCalls then reads as an
 * ordered call and convert.ts turns back into a WITHIN GROUP call.
 */
function rewriteWithinGroup(text: string): string {
  if (!/\bwithin\s+group\b/i.test(text)) return text;
  const toks = lex(text);
  let out = text;
  for (let i = 0; i + 1 < toks.length; i++) {
    const [f, open] = [toks[i]!, toks[i + 1]!];
    if (f.kind !== 'ident' || open.kind !== 'symbol' || open.value !== '(') continue;
    const close = closingParen(toks, i + 1);
    if (close < 0) continue;
    const [w, g, o] = [toks[close + 1], toks[close + 2], toks[close + 3]];
    if (!(w?.kind === 'ident' && w.value === 'within' && g?.kind === 'ident' && g.value === 'group' && o?.kind === 'symbol' && o.value === '(')) continue;
    const end = closingParen(toks, close + 3);
    if (end < 0) continue;
    const direct = toks.slice(i + 2, close);
    // A single number literal (or none): node-sql-parser reads the call as written.
    if (direct.length === 0 || (direct.length === 1 && direct[0]!.kind === 'number')) continue;
    const args = text.slice(open.end, toks[close]!.start);
    const order = text.slice(toks[close + 3]!.end, toks[end]!.start);
    const call = `${text.slice(f.start, f.end)}${WITHIN_GROUP_SUFFIX}(${args} ${order})`;
    const span = toks[end]!.end - f.start;
    if (call.length > span) continue;
    out = out.slice(0, f.start) + call + ' '.repeat(span - call.length) + out.slice(toks[end]!.end);
    i = end;
  }
  return out;
}

/**
 * What node-sql-parser does not read in aggregate calls, rewritten keeping positions:
 * `f(DISTINCT x)` becomes a call of `f_distinct(x)` (same length) that convert.ts maps back; an
 * ORDER BY inside a call's parentheses (`string_agg(s, ',' ORDER BY t)`, `first_value(x ORDER BY
 * t)`) is parsed on its own and replaced by a marker string argument naming the parsed list.
 */
function rewriteAggregateCalls(text: string, offset: number): { text: string; orders: AggregateOrders } {
  const toks = lex(text);
  let marker = '\u0001o';
  while (text.includes(marker)) marker += 'o';
  const orders: AggregateOrders = { marker, lists: [], filters: new Map() };
  let out = text;
  let skipUntil = -1;
  for (let i = 0; i + 2 < toks.length; i++) {
    const [f, paren] = [toks[i]!, toks[i + 1]!];
    if (f.start < skipUntil) continue;
    if (f.kind !== 'ident' || NOT_CALLS.has(f.value) || paren.kind !== 'symbol' || paren.value !== '(') continue;
    const first = toks[i + 2]!;
    if (first.kind === 'ident' && ['select', 'with', 'values'].includes(first.value)) continue;
    // The call's closing parenthesis, and an ORDER BY at its top level.
    let depth = 0;
    let close = -1;
    let orderAt = -1;
    for (let j = i + 2; j < toks.length && toks[j]!.kind !== 'eof'; j++) {
      const t = toks[j]!;
      if (t.kind === 'symbol' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'symbol' && (t.value === ')' || t.value === ']')) {
        if (depth === 0) {
          close = j;
          break;
        }
        depth--;
      } else if (depth === 0 && orderAt < 0 && t.kind === 'ident' && t.value === 'order' && toks[j + 1]?.kind === 'ident' && toks[j + 1]!.value === 'by') orderAt = j;
    }
    if (close < 0) continue;
    const renamed = first.kind === 'ident' && first.value === 'distinct' && first.start === paren.end && /\s/.test(text[first.end] ?? '');
    if (renamed) out = out.slice(0, f.start) + `${text.slice(f.start, f.end)}_distinct(` + out.slice(first.end + 1);
    // FILTER (WHERE …) after a call node-sql-parser reads as a plain function: parsed on its own
    // and blanked out, found again by the call's end offset.
    const ordered = orderAt > i + 2;
    const native = NATIVE_AGGREGATES.has(f.value) && !renamed && !(ordered && f.value === 'string_agg');
    const [fw, fp, fwhere] = [toks[close + 1], toks[close + 2], toks[close + 3]];
    if (!native && fw?.value === 'filter' && fp?.value === '(' && fwhere?.value === 'where') {
      let d = 0;
      let end = -1;
      for (let j = close + 4; j < toks.length && toks[j]!.kind !== 'eof'; j++) {
        const t = toks[j]!;
        if (t.kind === 'symbol' && t.value === '(') d++;
        else if (t.kind === 'symbol' && t.value === ')') {
          if (d === 0) {
            end = j;
            break;
          }
          d--;
        }
      }
      if (end > 0) {
        const condText = text.slice(fwhere.end, toks[end]!.start);
        orders.filters.set(toks[close]!.end, parseExpression(condText, offset + fwhere.end));
        out = out.slice(0, fw.start) + ' '.repeat(toks[end]!.end - fw.start) + out.slice(toks[end]!.end);
      }
    }
    if (ordered) {
      const from = toks[orderAt]!.start;
      const to = toks[close]!.start;
      const itemsAt = toks[orderAt + 1]!.end;
      const prefix = 'SELECT 1 ORDER BY';
      let ast: { orderby?: unknown[] } | { orderby?: unknown[] }[];
      try {
        ast = parser.astify(prefix + text.slice(itemsAt, to), OPT) as typeof ast;
      } catch (e) {
        throw syntaxFromParser(e, offset + itemsAt - prefix.length, prefix + text.slice(itemsAt, to));
      }
      const list = (Array.isArray(ast) ? ast[0] : ast)?.orderby ?? [];
      const arg = `,'${marker}${orders.lists.length}'`;
      if (arg.length > to - from) continue;
      orders.lists.push({ ast: list, offset: itemsAt - prefix.length });
      out = out.slice(0, from) + arg + ' '.repeat(to - from - arg.length) + out.slice(to);
      skipUntil = to;
    }
  }
  return { text: out, orders };
}


/**
 * What node-sql-parser does not read in window clauses, taken out of the text (blanked, same
 * length, so positions stay right) and handed to convert.ts by the offset of the function the
 * OVER belongs to (or by the name of a WINDOW definition). node-sql-parser reads window calls
 * without locations, some not at all (`percent_rank()`, `count(*) … RANGE …`), and window
 * specifications only in part (no frames, no expressions beyond simple ones): every call with
 * OVER becomes `max(1)` padded with blanks (read with its location), its name and arguments
 * kept in the hint, and every window specification is read here whole and blanked out.
 */
function rewriteWindows(text: string, offset: number): { text: string; windows: WindowHints } {
  const toks = lex(text);
  const windows: WindowHints = { calls: new Map(), named: new Map() };
  let out = text;
  const blank = (start: number, end: number) => {
    out = out.slice(0, start) + out.slice(start, end).replace(/[^\n]/g, ' ') + out.slice(end);
  };
  const closing = (open: number): number => {
    let depth = 0;
    for (let j = open; j < toks.length; j++) {
      const t = toks[j]!;
      if (t.kind === 'symbol' && t.value === '(') depth++;
      else if (t.kind === 'symbol' && t.value === ')' && --depth === 0) return j;
    }
    return -1;
  };
  const opening = (close: number): number => {
    let depth = 0;
    for (let j = close; j >= 0; j--) {
      const t = toks[j]!;
      if (t.kind === 'symbol' && t.value === ')') depth++;
      else if (t.kind === 'symbol' && t.value === '(' && --depth === 0) return j;
    }
    return -1;
  };
  // A window specification, tokens (open, close): read here whole (node-sql-parser reads
  // only simple PARTITION BY / ORDER BY expressions), and blanked out.
  const spec = (open: number, close: number): WindowSpec => {
    let name: string | null = null;
    let j = open + 1;
    const first = toks[j]!;
    if (j < close && (first.kind === 'ident' || first.kind === 'quoted') && !(first.kind === 'ident' && ['partition', 'order', 'rows', 'range', 'groups'].includes(first.value))) {
      name = first.value;
      j++;
    }
    // Clause starts at depth 0: PARTITION BY, ORDER BY, the frame.
    const starts: { at: number; kind: 'partition' | 'order' | 'frame' }[] = [];
    let depth = 0;
    for (let m = j; m < close; m++) {
      const t = toks[m]!;
      if (t.kind === 'symbol' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'symbol' && (t.value === ')' || t.value === ']')) depth--;
      else if (depth === 0 && t.kind === 'ident') {
        const prev = toks[m - 1]!.value;
        if ((t.value === 'partition' || t.value === 'order') && toks[m + 1]?.value === 'by') starts.push({ at: m, kind: t.value });
        else if (['rows', 'range', 'groups'].includes(t.value) && !['by', ','].includes(prev) && !starts.some((x) => x.kind === 'frame')) starts.push({ at: m, kind: 'frame' });
      }
    }
    if (j < close && (starts.length === 0 || starts[0]!.at !== j)) {
      throw new SluiceError('syntax', `syntax error at or near "${text.slice(toks[j]!.start, toks[j]!.end)}" in a window specification`, { position: offset + toks[j]!.start + 1 });
    }
    const end = (k: number) => (k + 1 < starts.length ? starts[k + 1]!.at : close);
    let partitionBy: Expr[] = [];
    let orderBy: OrderItem[] = [];
    let frame: WindowFrame | null = null;
    starts.forEach((c, k) => {
      if (c.kind === 'frame') frame = parseFrame(text, toks.slice(c.at, end(k)), toks[end(k)]!, offset);
      else if (c.kind === 'partition') partitionBy = splitList(toks, c.at + 2, end(k)).map(([a, z]) => parseExpression(text.slice(toks[a]!.start, toks[z - 1]!.end), offset + toks[a]!.start));
      else orderBy = splitList(toks, c.at + 2, end(k)).map(([a, z]) => orderItem(text, toks, a, z, offset));
    });
    if (open + 1 < close) blank(toks[open + 1]!.start, toks[close - 1]!.end);
    return { name, partitionBy, orderBy, frame };
  };
  for (let i = 0; i + 1 < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'ident') continue;
    if (t.value === 'window' && toks[i + 2]?.value === 'as' && toks[i + 3]?.value === '(' && (toks[i + 1]!.kind === 'ident' || toks[i + 1]!.kind === 'quoted')) {
      const close = closing(i + 3);
      if (close < 0) continue;
      const name = toks[i + 1]!.value;
      if (windows.named.has(name)) throw new SluiceError('not_supported', `window "${name}" is defined twice in one statement`, { position: offset + toks[i + 1]!.start + 1, hint: 'Give the windows of different subqueries different names.' });
      windows.named.set(name, spec(i + 3, close));
      i = close;
      continue;
    }
    if (t.value !== 'over' || toks[i - 1]?.value !== ')') continue;
    // The function the OVER belongs to: name ( … ) [FILTER ( … )] OVER.
    let open = opening(i - 1);
    if (open > 0 && toks[open - 1]!.value === 'filter' && toks[open - 2]?.value === ')') open = opening(open - 2);
    const fn = toks[open - 1];
    if (!fn || fn.kind !== 'ident') continue;
    // The call itself becomes `max(1)` (read with its location); its name and arguments are kept.
    const callEnd = closing(open);
    if (callEnd < 0 || toks[i - 1]!.end - fn.start < 6) continue;
    let star = false;
    let distinct = false;
    let argStart = open + 1;
    if (toks[argStart]?.value === 'distinct' && toks[argStart]!.kind === 'ident') {
      distinct = true;
      argStart++;
    }
    let args: Expr[] = [];
    if (toks[argStart]?.value === '*' && argStart + 1 === callEnd) star = true;
    else args = splitList(toks, argStart, callEnd).map(([a, z]) => parseExpression(text.slice(toks[a]!.start, toks[z - 1]!.end), offset + toks[a]!.start));
    // f(DISTINCT x) reaches here as f_distinct(x) (rewriteAggregateCalls ran first).
    const distinctCall = /^(.+)_distinct$/.exec(fn.value);
    const rename = { name: distinctCall ? distinctCall[1]! : fn.value, args, star, distinct: distinct || distinctCall !== null };
    out = out.slice(0, fn.start) + 'max(1)'.padEnd(toks[i - 1]!.end - fn.start, ' ') + out.slice(toks[i - 1]!.end);
    let entry: WindowSpec | null = null;
    if (toks[i + 1]?.value === '(') {
      const close = closing(i + 1);
      if (close > 0) entry = spec(i + 1, close);
    }
    windows.calls.set(fn.start, { spec: entry, rename });
  }
  return { text: out, windows };
}

/** The depth-0 comma-separated items of tokens [from, to), as [first, end) token ranges. */
function splitList(toks: readonly Token[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let a = from;
  for (let j = from; j <= to; j++) {
    const t = toks[j]!;
    if (j < to && t.kind === 'symbol' && (t.value === '(' || t.value === '[')) depth++;
    else if (j < to && t.kind === 'symbol' && (t.value === ')' || t.value === ']')) depth--;
    else if (j === to || (depth === 0 && t.kind === 'symbol' && t.value === ',')) {
      if (j === a) {
        if (j === to && out.length === 0) break;
        throw new SluiceError('syntax', `syntax error at or near "${t.value}"`, { position: t.start + 1 });
      }
      out.push([a, j]);
      a = j + 1;
    }
  }
  return out;
}

/** An ORDER BY item of tokens [a, z): expression [ASC | DESC] [NULLS FIRST | LAST]. */
function orderItem(text: string, toks: readonly Token[], a: number, z: number, offset: number): OrderItem {
  let nullsFirst: boolean | null = null;
  let desc = false;
  if (z - a > 2 && toks[z - 2]!.value === 'nulls' && (toks[z - 1]!.value === 'first' || toks[z - 1]!.value === 'last')) {
    nullsFirst = toks[z - 1]!.value === 'first';
    z -= 2;
  }
  if (z - a > 1 && toks[z - 1]!.kind === 'ident' && (toks[z - 1]!.value === 'asc' || toks[z - 1]!.value === 'desc')) {
    desc = toks[z - 1]!.value === 'desc';
    z--;
  }
  return { expr: parseExpression(text.slice(toks[a]!.start, toks[z - 1]!.end), offset + toks[a]!.start), desc, nullsFirst };
}

/** A frame clause, `toks` from ROWS/RANGE/GROUPS up to the closing parenthesis `end`. */
function parseFrame(text: string, toks: readonly Token[], end: Token, offset: number): WindowFrame {
  let i = 0;
  const at = (j: number) => toks[j] ?? end;
  const fail = (j: number, what: string): never => {
    throw new SluiceError('syntax', `syntax error at or near "${j < toks.length ? text.slice(at(j).start, at(j).end) : ')'}" in the window frame (expected ${what})`, { position: offset + at(j).start + 1 });
  };
  const mode = toks[0]!.value as WindowFrame['mode'];
  const pos = offset + toks[0]!.start + 1;
  i = 1;
  const bound = (): FrameBound => {
    const t = at(i);
    const bpos = offset + t.start + 1;
    if (t.value === 'unbounded') {
      const d = at(i + 1).value;
      if (d !== 'preceding' && d !== 'following') fail(i + 1, 'PRECEDING or FOLLOWING');
      i += 2;
      return { kind: d === 'preceding' ? 'unbounded_preceding' : 'unbounded_following', offset: null, pos: bpos };
    }
    if (t.value === 'current') {
      if (at(i + 1).value !== 'row') fail(i + 1, 'ROW');
      i += 2;
      return { kind: 'current_row', offset: null, pos: bpos };
    }
    // An offset expression up to PRECEDING/FOLLOWING at depth 0.
    let depth = 0;
    let j = i;
    for (; j < toks.length; j++) {
      const u = toks[j]!;
      if (u.kind === 'symbol' && u.value === '(') depth++;
      else if (u.kind === 'symbol' && u.value === ')') depth--;
      else if (depth === 0 && u.kind === 'ident' && (u.value === 'preceding' || u.value === 'following')) break;
    }
    if (j >= toks.length || j === i) fail(j, 'PRECEDING or FOLLOWING after an offset');
    const exprText = text.slice(toks[i]!.start, toks[j - 1]!.end);
    const offsetExpr = parseExpression(exprText, offset + toks[i]!.start);
    const kind = toks[j]!.value === 'preceding' ? 'preceding' : 'following';
    i = j + 1;
    return { kind, offset: offsetExpr, pos: bpos };
  };
  let start: FrameBound;
  let endBound: FrameBound | null = null;
  if (at(i).value === 'between') {
    i++;
    start = bound();
    if (at(i).value !== 'and') fail(i, 'AND');
    i++;
    endBound = bound();
  } else start = bound();
  let exclude: string | null = null;
  if (at(i).value === 'exclude') {
    const words: string[] = [];
    for (i++; i < toks.length; i++) words.push(toks[i]!.value);
    exclude = words.join(' ');
  }
  if (i < toks.length) fail(i, 'the end of the frame');
  return { mode, start, end: endBound, exclude, pos };
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

/**
 * `current_user` and `session_user` (which node-sql-parser does not read) become column names of
 * the same length that convert.ts turns back into `current_user` and `session_user` columns.
 */
function rewriteSessionUsers(text: string): string {
  if (!/current_user|session_user/i.test(text)) return text;
  let out = text;
  for (const t of lex(text)) {
    if (t.kind !== 'ident' || (t.value !== 'current_user' && t.value !== 'session_user')) continue;
    out = out.slice(0, t.start) + SESSION_USER_STANDINS[t.value] + out.slice(t.end);
  }
  return out;
}

/**
 * Query syntax node-sql-parser reads wrongly or not at all, refused by name with its position
 * (0A000) before it is: WITH RECURSIVE (the parser drops the word, and the CTE's self-reference
 * then looks like a missing relation) and TABLESAMPLE (read, then ignored). (GROUPING SETS,
 * ROLLUP and CUBE are rewritten instead: grouping-sets.ts.)
 */
function refuseUnsupportedSyntax(text: string, offset: number): void {
  if (!/\b(recursive|tablesample)\b/i.test(text)) return;
  const toks = lex(text);
  const refuse = (what: string, at: number, hint?: string): never => {
    throw new SluiceError('not_supported', `${what} is not supported yet`, { position: offset + at + 1, hint });
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'ident') continue;
    const prev = toks[i - 1];
    const next = toks[i + 1];
    if (t.value === 'recursive' && prev?.kind === 'ident' && prev.value === 'with') refuse('WITH RECURSIVE', prev.start);
    if (t.value === 'tablesample') refuse('TABLESAMPLE', t.start);
  }
}

/**
 * `INTERSECT ALL` / `EXCEPT ALL`, which node-sql-parser does not read: ALL becomes spaces and
 * the right operand's SELECT gets a first item `1 AS __sluice_setop_all`, which convert.ts takes
 * as the ALL and drops.
 */
function rewriteSetOpAll(text: string): string {
  if (!/\b(intersect|except)\s+all\b/i.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const t = toks[i]!;
    const next = toks[i + 1];
    if (!next || t.kind !== 'ident' || (t.value !== 'intersect' && t.value !== 'except') || next.kind !== 'ident' || next.value !== 'all') return null;
    let k = i + 2;
    while (toks[k]?.kind === 'symbol' && toks[k]!.value === '(') k++;
    if (toks[k]?.kind !== 'ident' || toks[k]!.value !== 'select') return null;
    // After SELECT, or after its DISTINCT / ALL (not DISTINCT ON).
    if (toks[k + 1]?.kind === 'ident' && (toks[k + 1]!.value === 'distinct' || toks[k + 1]!.value === 'all') && !(toks[k + 2]?.kind === 'ident' && toks[k + 2]!.value === 'on')) k++;
    const insertAt = toks[k]!.end;
    return { edit: { start: next.start, end: insertAt, text: ' '.repeat(next.end - next.start) + text.slice(next.end, insertAt) + ` 1 AS ${SETOP_ALL_MARKER},` }, skip: k - i };
  });
}

/** Whether token i lies inside parentheses. */
function insideParens(toks: readonly Token[], i: number): boolean {
  let depth = 0;
  for (let k = 0; k < i; k++) {
    const t = toks[k]!;
    if (t.kind === 'symbol' && t.value === '(') depth++;
    else if (t.kind === 'symbol' && t.value === ')') depth--;
  }
  return depth > 0;
}

/**
 * `a NATURAL [LEFT|RIGHT|FULL|INNER] JOIN b` (node-sql-parser reads NATURAL as a's alias, or
 * fails after an alias): the word goes and ` USING(_)` follows b, a sentinel USING list that
 * convert.ts reads as NATURAL (text after b moves by at most one character).
 */
export function rewriteNatural(text: string): string {
  if (!/\bnatural\b/i.test(text)) return text;
  const toks = lex(text);
  const edits: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i + 1 < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'ident' || t.value !== 'natural') continue;
    let j = i + 1;
    while (toks[j]?.kind === 'ident' && ['left', 'right', 'full', 'inner', 'outer'].includes(toks[j]!.value)) j++;
    if (toks[j]?.kind !== 'ident' || toks[j]!.value !== 'join') continue;
    j++;
    // The joined item: a parenthesized subquery or a (qualified) name, an alias, its columns.
    const skipParens = (k: number): number => {
      let depth = 0;
      for (; k < toks.length; k++) {
        const v = toks[k]!;
        if (v.kind === 'symbol' && v.value === '(') depth++;
        else if (v.kind === 'symbol' && v.value === ')' && --depth === 0) return k + 1;
        else if (v.kind === 'eof') return k;
      }
      return k;
    };
    if (toks[j]?.kind === 'symbol' && toks[j]!.value === '(') j = skipParens(j);
    else {
      if (toks[j]?.kind !== 'ident' && toks[j]?.kind !== 'quoted') continue;
      j++;
      while (toks[j]?.kind === 'symbol' && toks[j]!.value === '.' && (toks[j + 1]?.kind === 'ident' || toks[j + 1]?.kind === 'quoted')) j += 2;
    }
    if (toks[j]?.kind === 'ident' && toks[j]!.value === 'as') j++;
    const alias = toks[j];
    if (alias && (alias.kind === 'quoted' || (alias.kind === 'ident' && !NOT_AN_ALIAS.has(alias.value)))) {
      j++;
      if (toks[j]?.kind === 'symbol' && toks[j]!.value === '(') j = skipParens(j);
    }
    const itemEnd = toks[j - 1]!.end;
    // Delete "NATURAL" and the blanks up to the next word; insert as many characters after the item.
    const cut = toks[i + 1]!.start - t.start;
    const insert = ' USING(_)';
    edits.push({ start: itemEnd, end: itemEnd, text: insert + ' '.repeat(Math.max(0, cut - insert.length)) });
    edits.push({ start: t.start, end: toks[i + 1]!.start, text: '' });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** Tokens that end the right operand of IS [NOT] DISTINCT FROM (at its parenthesis depth). */
const DISTINCT_OPERAND_END = new Set([
  'and', 'or', 'then', 'when', 'else', 'end', 'from', 'where', 'group', 'having', 'order', 'limit', 'offset', 'union',
  'except', 'intersect', 'window', 'as', 'asc', 'desc', 'nulls', 'is', 'isnull', 'notnull', 'on', 'join', 'left', 'right',
  'full', 'inner', 'cross', 'using', 'filter', 'over', 'for', 'returning', 'set', 'into', 'values', 'fetch',
]);

/**
 * `L IS [NOT] DISTINCT FROM R`, which node-sql-parser reads only with a column on the right,
 * becomes `L = __is_distinct__(R)` (or `__not_distinct__`), which convert.ts turns into the
 * is_distinct node. `=` gives L the extent PostgreSQL gives it (IS binds looser than arithmetic
 * and comparisons, tighter than NOT/AND/OR); R runs to the next token that cannot continue an
 * operand at its depth. The operator's own characters make room for the call, and the closing
 * parenthesis goes over a blank after R when there is one, so positions stay where they were.
 */
export function rewriteDistinctFrom(text: string): string {
  if (!/\bdistinct\s+from\b/i.test(text)) return text;
  const toks = lex(text);
  type Edit = { start: number; end: number; text: string };
  const edits: Edit[] = [];
  for (let i = 0; i + 2 < toks.length; i++) {
    const is = toks[i]!;
    if (is.kind !== 'ident' || is.value !== 'is') continue;
    const negated = toks[i + 1]!.kind === 'ident' && toks[i + 1]!.value === 'not';
    const d = toks[i + (negated ? 2 : 1)];
    const f = toks[i + (negated ? 3 : 2)];
    if (d?.kind !== 'ident' || d.value !== 'distinct' || f?.kind !== 'ident' || f.value !== 'from') continue;
    // The right operand: to a boundary at depth 0 (a closing parenthesis of an enclosing level
    // ends it too).
    let j = i + (negated ? 4 : 3);
    const rStart = toks[j]!.start;
    let depth = 0;
    for (; j < toks.length; j++) {
      const t = toks[j]!;
      if (t.kind === 'eof') break;
      if (t.kind === 'symbol' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'symbol' && (t.value === ')' || t.value === ']')) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && ((t.kind === 'symbol' && (t.value === ',' || t.value === ';')) || (t.kind === 'ident' && DISTINCT_OPERAND_END.has(t.value)))) break;
    }
    const rEnd = toks[j - 1]!.end;
    if (j === i + (negated ? 4 : 3)) continue; // no right operand: left to the parser's error
    const call = negated ? '__not_distinct__(' : '__is_distinct__(';
    // ' = ' + padding + call fills [is.start, rStart); it needs that many characters.
    const gap = rStart - is.start;
    const head = `= ${call}`;
    if (gap >= head.length) edits.push({ start: is.start, end: rStart, text: '= ' + ' '.repeat(gap - head.length) + call });
    else edits.push({ start: is.start, end: rStart, text: head });
    // The closing parenthesis over one blank after R, or inserted.
    if (text[rEnd] === ' ' || text[rEnd] === '\n' || text[rEnd] === '\t' || text[rEnd] === '\r') edits.push({ start: rEnd, end: rEnd + 1, text: ')' });
    else edits.push({ start: rEnd, end: rEnd, text: ')' });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start || b.end - a.end)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

const SESSION_USER_STANDINS: Readonly<Record<string, string>> = { current_user: '__cur_user__', session_user: '__ses_user__' };

/** Parses query text that starts at 0-based `offset` in the script. */
export function parseQueryText(text: string, offset: number): Query {
  let ast;
  refuseUnsupportedSyntax(text, offset);
  text = rewriteSetOpAll(unwrapParentheses(text));
  text = rewriteNatural(rewriteDistinctFrom(rewriteSessionUsers(rewriteGroupingSets(rewriteValuesQueries(text), offset))));
  const subs = rewriteSubscripts(text);
  const from = rewriteFromClause(subs.text);
  const stripped = stripSystemTime(from.text);
  text = stripped.text;
  const aggregates = rewriteAggregateCalls(rewriteWithinGroup(text), offset);
  let windows: WindowHints;
  try {
    const w = rewriteWindows(aggregates.text, offset);
    windows = w.windows;
    ast = parser.astify(protectStrings(rewriteOffsetLimit(rewriteExtractFields(rewriteTypedLiterals(foldIdentifiers(rewriteEscapeStrings(w.text)))))), OPT);
  } catch (e) {
    throw syntaxFromParser(e, offset, text);
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw new SluiceError('syntax', 'expected a single query', { position: offset + 1 });
    ast = ast[0]!;
  }
  if ((ast as { type?: string }).type !== 'select') throw new SluiceError('syntax', 'expected a SELECT query', { position: offset + 1 });
  try {
    return convertQueryAt(ast, offset, { lookups: stripped.lookups, ordinality: from.ordinality, subscripts: subs.subscripts, parseExpression, aggregateOrders: aggregates.orders, windows });
  } catch (e) {
    throw e instanceof SluiceError ? e.withPosition(offset + 1) : e;
  }
}

/**
 * A query wrapped whole in parentheses (`(SELECT 1 UNION ALL SELECT 2)`, a view's body as
 * `AS (…)`) without them, which node-sql-parser does not read around a set operation: the
 * parentheses become spaces, so positions stay.
 */
function unwrapParentheses(text: string): string {
  for (;;) {
    const toks = lex(text);
    if (toks.length < 3 || toks[0]!.kind !== 'symbol' || toks[0]!.value !== '(' || closingParen(toks, 0) !== toks.length - 2) return text;
    const open = toks[0]!;
    const close = toks[toks.length - 2]!;
    text = text.slice(0, open.start) + ' ' + text.slice(open.end, close.start) + ' ' + text.slice(close.end);
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
  // Subqueries in expressions (WHERE x IN (SELECT …), scalar subqueries, EXISTS) read relations too.
  const exprs = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(exprs);
    else if (v && typeof v === 'object') {
      const o = v as { kind?: string; query?: Query };
      if ((o.kind === 'subquery' || o.kind === 'exists' || o.kind === 'in_subquery' || o.kind === 'quantified') && o.query && 'body' in o.query) {
        for (const r of relationsOf(o.query, local)) out.add(r);
      }
      for (const [k, x] of Object.entries(o)) if (k !== 'query' && typeof x === 'object') exprs(x);
    }
  };
  const body = (b: QueryBody): void => {
    if (b.kind === 'union') b.inputs.forEach(body);
    else if (b.kind === 'setop') [b.left, b.right].forEach(body);
    else {
      fromItem(b.from);
      exprs([b.items, b.where, b.groupBy, b.having, b.distinctOn, joinConditions(b.from)]);
    }
  };
  body(q.body);
  return [...out];
}

/** The ON conditions of the joins in a FROM clause. */
function joinConditions(f: FromItem | null): Expr[] {
  if (!f || f.kind !== 'join') return [];
  return [...joinConditions(f.left), ...joinConditions(f.right), ...(f.on ? [f.on] : [])];
}

/**
 * TRUNCATE [TABLE] [ONLY] name [RESTART IDENTITY | CONTINUE IDENTITY] [CASCADE | RESTRICT]: a
 * DELETE of every row (the views see each row retracted); sluice has no sequences or foreign
 * keys, so the options change nothing.
 */
function parseTruncate(ts: TokenStream): Statement {
  ts.next();
  ts.acceptKeyword('table');
  ts.acceptKeyword('only');
  const pos = ts.position();
  const table = ts.objectName();
  if (ts.peek().kind === 'symbol' && ts.peek().value === ',') {
    throw new SluiceError('not_supported', 'TRUNCATE of several tables in one statement is not supported yet', { position: ts.peek().start + 1, hint: 'Truncate them one by one, inside BEGIN … COMMIT to make it atomic.' });
  }
  if (ts.acceptKeyword('restart') || ts.acceptKeyword('continue')) ts.expectKeyword('identity');
  if (!ts.acceptKeyword('cascade')) ts.acceptKeyword('restrict');
  expectEnd(ts);
  return { kind: 'delete', table, text: `DELETE FROM "${table.replace(/"/g, '""')}"`, pos, truncate: true };
}

function parseDml(ts: TokenStream, stmt: string, offset: number): Statement {
  const verb = ts.next().value;
  if (verb === 'insert') ts.expectKeyword('into');
  if (verb === 'delete') ts.expectKeyword('from');
  const pos = ts.position();
  const table = ts.objectName();
  // RETURNING …: cut off the statement (it runs with RETURNING * for its changelog, the list
  // after it: dml.ts).
  const retAt = ts.tokens.findIndex((t, i) => t.kind === 'ident' && t.value === 'returning' && !insideParens(ts.tokens, i));
  let returning: string | undefined;
  if (retAt >= 0) {
    const tok = ts.tokens[retAt]!;
    returning = stmt.slice(tok.end).replace(/;\s*$/, '').trim();
    if (returning === '') throw new SluiceError('syntax', 'syntax error at end of input', { position: offset + stmt.length + 1 });
    stmt = stmt.slice(0, tok.start).trimEnd();
  }
  const ret = returning !== undefined ? { returning } : {};
  // An INSERT runs in DuckDB as written and nothing here needs its tree: DuckDB's parser, which
  // is linear, checks it. node-sql-parser backtracks, and a bulk INSERT of many thousand rows
  // would take it seconds.
  if (verb === 'insert') return { kind: 'insert', table, text: stmt, pos, offset, ...ret };
  // UPDATE … FROM / DELETE … USING: the changelog needs each target row once, and DuckDB
  // updates a row once per matching row of FROM.
  const joined = ts.tokens.find((t, i) => t.kind === 'ident' && ((verb === 'update' && t.value === 'from') || (verb === 'delete' && t.value === 'using')) && i > 2 && !insideParens(ts.tokens, i));
  if (joined) {
    throw new SluiceError('not_supported', `${verb === 'update' ? 'UPDATE … FROM' : 'DELETE … USING'} is not supported yet`, {
      position: joined.start + 1,
      hint: verb === 'update' ? 'Write the join as a subquery: UPDATE t SET c = (SELECT … FROM u WHERE u.k = t.k) WHERE k IN (SELECT k FROM u).' : 'Write the join as a subquery: DELETE FROM t WHERE k IN (SELECT k FROM u …).',
    });
  }
  let ast;
  try {
    ast = parser.astify(foldIdentifiers(stmt), OPT) as unknown as Record<string, unknown>;
  } catch (e) {
    throw syntaxFromParser(e, offset, stmt);
  }
  if (Array.isArray(ast)) ast = ast[0] as Record<string, unknown>;
  if (verb === 'delete') return { kind: 'delete', table, text: stmt, pos, ...ret };
  const select = {
    with: null, type: 'select', options: null, distinct: { type: null },
    columns: [{ expr: { type: 'column_ref', table: null, column: '*' }, as: null }],
    from: ast.table, where: ast.where ?? null, groupby: null, having: null, orderby: null, limit: null,
  };
  const selectOldText = parser.sqlify(select as never, { database: 'postgresql' });
  return { kind: 'update', table, text: stmt, selectOldText, pos, ...ret };
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
  if (ts.isKeyword('drop', 'index')) return parseDropIndex(ts);
  ts.expectKeyword('drop');
  if (ts.acceptKeyword('function')) return parseDropFunction(ts);
  const objectKindV = objectKind(ts);
  const ifExists = ts.acceptKeyword('if', 'exists');
  const pos = ts.position();
  const name = ts.objectName();
  const cascade = ts.acceptKeyword('cascade');
  if (!cascade) ts.acceptKeyword('restrict');
  expectEnd(ts);
  return { kind: 'drop', objectKind: objectKindV, name, ifExists, cascade, pos };
}

/**
 * ALTER {SOURCE | TABLE | MATERIALIZED VIEW | SINK} [IF EXISTS] name: SET (option = value, …),
 * SET PARALLELISM = n (the same as SET (parallelism = n)) and RESET (option, …) are read (the engine decides which options can change while running),
 * and RENAME TO new_name (exec/runtime/rename.ts); RENAME COLUMN is refused with 0A000.
 */
function parseAlter(ts: TokenStream): Statement {
  ts.expectKeyword('alter');
  const kind = objectKind(ts);
  const ifExists = ts.acceptKeyword('if', 'exists');
  const pos = ts.position();
  const name = ts.objectName();
  const at = ts.peek();
  // RisingWave's form: ALTER MATERIALIZED VIEW name SET PARALLELISM { = | TO } n.
  if (ts.acceptKeyword('set', 'parallelism')) {
    if (!ts.acceptSymbol('=')) ts.expectKeyword('to');
    const v = ts.next();
    if (v.kind !== 'number' && v.kind !== 'string') ts.fail('expected the number of instances');
    expectEnd(ts);
    return { kind: 'alter_set', objectKind: kind, name, options: { parallelism: v.value }, pos };
  }
  if (ts.acceptKeyword('set') || ts.isKeyword('reset')) {
    const reset = ts.acceptKeyword('reset');
    ts.expectSymbol('(');
    const options: Record<string, string | null> = {};
    do {
      const key = ts.identifier('an option name').toLowerCase();
      if (reset) options[key] = null;
      else {
        ts.expectSymbol('=');
        const v = ts.next();
        if (v.kind === 'eof' || (v.kind === 'symbol' && v.value !== '-')) ts.fail('expected an option value');
        options[key] = v.kind === 'symbol' ? '-' + ts.next().value : v.value;
      }
    } while (ts.acceptSymbol(','));
    ts.expectSymbol(')');
    expectEnd(ts);
    return { kind: 'alter_set', objectKind: kind, name, options, pos };
  }
  if (ts.acceptKeyword('rename')) {
    if (!ts.isKeyword('to')) {
      throw new SluiceError('not_supported', 'ALTER … RENAME COLUMN is not supported', { position: at.start + 1, hint: 'ALTER … RENAME TO new_name renames the object itself.' });
    }
    ts.expectKeyword('to');
    const newName = ts.objectName();
    expectEnd(ts);
    return { kind: 'alter_rename', objectKind: kind, name, newName, ifExists, pos };
  }
  return ts.fail('expected SET (…), RESET (…) or RENAME TO');
}

/**
 * COMMENT ON {SOURCE | TABLE | MATERIALIZED VIEW | VIEW | SINK | MODEL} name IS 'text' | NULL, and
 * COMMENT ON COLUMN [schema.]relation.column IS 'text' | NULL.
 */
function parseComment(ts: TokenStream): Statement {
  ts.expectKeyword('comment');
  ts.expectKeyword('on');
  const pos = ts.position();
  let kind: ObjectKind | 'column';
  let name: string;
  let column: string | null = null;
  if (ts.acceptKeyword('column')) {
    kind = 'column';
    const parts = [ts.identifier('a relation name')];
    while (ts.acceptSymbol('.')) parts.push(ts.identifier('a column name'));
    if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && parts[0] !== 'public')) ts.fail('expected relation.column');
    column = parts[parts.length - 1]!;
    name = parts[parts.length - 2]!;
  } else {
    kind = objectKind(ts);
    name = ts.objectName();
  }
  ts.expectKeyword('is');
  const v = ts.next();
  let text: string | null;
  if (v.kind === 'string') text = v.value;
  else if (v.kind === 'ident' && v.value === 'null') text = null;
  else return ts.fail("expected a string literal or NULL after IS");
  expectEnd(ts);
  return { kind: 'comment', objectKind: kind, name, column, text, pos };
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
