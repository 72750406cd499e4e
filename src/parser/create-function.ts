/**
 * CREATE [OR REPLACE] FUNCTION and DROP FUNCTION: scalar SQL functions, whose body is one
 * expression (`AS $$ SELECT expr $$` or the standard `RETURN expr`). Anything a function body
 * cannot be inlined from — FROM, several statements, another language, set-returning or OUT
 * parameters — is refused with 0A000 naming it.
 */
import { SluiceError } from '../common/errors.js';
import { parseTypeName, type SqlType } from '../common/types.js';
import type { Expr, FunctionParam, Statement } from './ast.js';
import { lex, type Token, type TokenStream } from './lexer.js';
import { parseQueryText } from './parse.js';

const ATTRIBUTE_WORDS = new Set(['language', 'as', 'immutable', 'stable', 'volatile', 'strict', 'called', 'returns', 'return', 'parallel', 'leakproof', 'not', 'security', 'cost', 'rows', 'set', 'begin', 'window', 'support', 'transform', 'external']);

function notSupported(message: string, position: number, hint?: string): SluiceError {
  return new SluiceError('not_supported', message, { position, hint });
}

/** The text of tokens [from, to) as written. */
function textOf(ts: TokenStream, from: Token, to: Token | null): string {
  return ts.text.slice(from.start, to ? to.end : from.end);
}

/** A type written from the current token up to a top-level `,`/`)` or an attribute keyword. */
function readType(ts: TokenStream, stopAtAttribute: boolean): { text: string; pos: number } {
  const first = ts.peek();
  let last: Token | null = null;
  let depth = 0;
  for (;;) {
    const t = ts.peek();
    if (t.kind === 'eof') break;
    if (depth === 0 && t.kind === 'symbol' && (t.value === ',' || t.value === ')')) break;
    if (stopAtAttribute && depth === 0 && last !== null && t.kind === 'ident' && ATTRIBUTE_WORDS.has(t.value)) break;
    if (t.kind === 'symbol' && t.value === '(') depth++;
    if (t.kind === 'symbol' && t.value === ')') depth--;
    last = t;
    ts.next();
  }
  if (last === null) ts.fail('expected a type');
  return { text: textOf(ts, first, last), pos: first.start + 1 };
}

function typeAt(text: string, pos: number): SqlType {
  try {
    return parseTypeName(text);
  } catch (e) {
    throw e instanceof SluiceError ? e.withPosition(pos) : e;
  }
}

/** One parameter: `[IN] [name] type [DEFAULT …]`. */
function readParam(ts: TokenStream, n: number): FunctionParam {
  const at = ts.position();
  if (ts.isKeyword('out') || ts.isKeyword('inout') || ts.isKeyword('variadic')) throw notSupported(`${ts.peek().value.toUpperCase()} parameters are not supported`, at, 'SQL functions here take IN parameters and return one value.');
  ts.acceptKeyword('in');
  const { text, pos } = readType(ts, false);
  if (/\s(default\b|=)/i.test(text)) throw notSupported('parameter defaults are not supported', pos);
  // `name type` or just `type`: a name is a first word after which a type still follows.
  let type: SqlType;
  let name = `$${n}`;
  try {
    type = parseTypeName(text);
  } catch {
    const m = /^("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s+([\s\S]+)$/.exec(text);
    if (!m) throw new SluiceError('syntax', `syntax error at or near "${text}": expected a parameter type`, { position: pos });
    name = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!.toLowerCase();
    type = typeAt(m[2]!, pos);
  }
  return { name, type };
}

/** The body's text with `$n` replaced by the n-th parameter's name (quoted where it must be). */
function substitutePositional(body: string, params: readonly FunctionParam[], bodyPos: number): string {
  const toks = lex(body);
  let out = '';
  let at = 0;
  for (let i = 0; i + 1 < toks.length; i++) {
    const t = toks[i]!;
    const nTok = toks[i + 1]!;
    if (t.kind !== 'symbol' || t.value !== '$' || nTok.kind !== 'number' || nTok.start !== t.end) continue;
    const k = Number(nTok.value);
    const p = params[k - 1];
    if (!p) throw new SluiceError('undefined_parameter', `there is no parameter $${k}`, { position: bodyPos + t.start });
    out += body.slice(at, t.start) + `"${p.name.replace(/"/g, '""')}"`;
    at = nTok.end;
  }
  return out + body.slice(at);
}

/** The one expression of a body `SELECT expr [;]`, or 0A000 for anything else. */
function bodyExpression(body: string, pos: number): { expr: Expr; text: string } {
  const trimmed = body.trim().replace(/;\s*$/, '');
  if (/;/.test(lex(trimmed).filter((t) => t.kind === 'symbol').map((t) => t.value).join(''))) {
    throw notSupported('a SQL function body of several statements is not supported', pos, 'Write the body as one SELECT of one expression: AS $$ SELECT … $$, or RETURN ….');
  }
  if (!/^select\b/i.test(trimmed)) throw notSupported('only a SQL function whose body is one SELECT of one expression can be inlined', pos, 'Write the body as AS $$ SELECT expression $$ or RETURN expression.');
  const q = parseQueryText(trimmed, pos - 1);
  const b = q.body;
  if (b.kind !== 'select' || b.from !== null || b.where !== null || b.groupBy.length > 0 || b.having !== null || b.items.length !== 1 || q.with.length > 0 || q.limit !== null || b.distinct) {
    throw notSupported('only a SQL function whose body is one SELECT of one expression, without FROM, can be inlined', pos, 'Functions that read tables are not supported; write the expression over the parameters.');
  }
  const item = b.items[0]!;
  if (item.expr.kind === 'star') throw notSupported('a SQL function body must select one expression', pos);
  const text = trimmed.replace(/^select\s+/i, '');
  return { expr: item.expr, text };
}

/** After `CREATE [OR REPLACE] FUNCTION`. */
export function parseCreateFunction(ts: TokenStream, stmt: string, orReplace: boolean): Statement {
  const pos = ts.position();
  const name = ts.objectName();
  ts.expectSymbol('(');
  const params: FunctionParam[] = [];
  if (!ts.acceptSymbol(')')) {
    for (;;) {
      params.push(readParam(ts, params.length + 1));
      if (ts.acceptSymbol(')')) break;
      ts.expectSymbol(',');
    }
  }
  const names = params.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new SluiceError('invalid_function_definition', `parameter name "${dup}" used more than once`, { position: pos });
  if (!ts.isKeyword('returns')) ts.fail('expected RETURNS');
  ts.next();
  const retAt = ts.position();
  if (ts.isKeyword('table') || ts.isKeyword('setof')) throw notSupported('set-returning SQL functions (RETURNS TABLE, RETURNS SETOF) are not supported', retAt, 'A SQL function here returns one value.');
  const ret = readType(ts, true);
  const returns = typeAt(ret.text, ret.pos);
  let language: string | null = null;
  let strict = false;
  let volatility: 'immutable' | 'stable' | 'volatile' = 'volatile';
  let body: { text: string; pos: number } | null = null;
  while (!ts.atEnd()) {
    const at = ts.position();
    if (ts.acceptKeyword('language')) language = ts.identifier('a language name');
    else if (ts.acceptKeyword('immutable')) volatility = 'immutable';
    else if (ts.acceptKeyword('stable')) volatility = 'stable';
    else if (ts.acceptKeyword('volatile')) volatility = 'volatile';
    else if (ts.acceptKeyword('strict') || ts.acceptKeyword('returns', 'null', 'on', 'null', 'input')) strict = true;
    else if (ts.acceptKeyword('called', 'on', 'null', 'input')) strict = false;
    else if (ts.acceptKeyword('not', 'leakproof') || ts.acceptKeyword('leakproof')) continue;
    else if (ts.acceptKeyword('parallel')) ts.identifier('SAFE, RESTRICTED or UNSAFE');
    else if (ts.acceptKeyword('security')) ts.identifier('INVOKER or DEFINER');
    else if (ts.acceptKeyword('cost')) ts.next();
    else if (ts.acceptKeyword('as')) {
      const t = ts.next();
      if (t.kind !== 'string') ts.fail('expected the function body as a string');
      if (ts.acceptSymbol(',')) throw notSupported('AS \'object file\', \'link symbol\' is not supported', at);
      // Where the body's text starts in the script: after the opening quote or $tag$.
      const open = /^(\$[A-Za-z_]*\$|')/.exec(ts.text.slice(t.start))?.[0].length ?? 1;
      body = { text: t.value, pos: t.start + open + 1 };
    } else if (ts.acceptKeyword('return')) {
      const start = ts.peek();
      let last = start;
      while (!ts.atEnd()) last = ts.next();
      body = { text: `SELECT ${ts.text.slice(start.start, last.end)}`, pos: start.start + 1 - 'SELECT '.length };
    } else if (ts.isKeyword('begin')) throw notSupported('BEGIN ATOMIC function bodies are not supported', at, 'Write the body as RETURN expression.');
    else ts.fail('expected LANGUAGE, AS, RETURN or a function attribute');
  }
  if (language !== null && language !== 'sql') {
    throw notSupported(`functions in language "${language}" are not supported`, pos, 'Only LANGUAGE SQL functions, whose body is one expression, are supported.');
  }
  if (body === null) throw new SluiceError('invalid_function_definition', 'no function body specified', { position: pos });
  const substituted = substitutePositional(body.text, params, body.pos - 1);
  const { expr, text } = bodyExpression(substituted, body.pos);
  return { kind: 'create_function', name, orReplace, params, returns, body: expr, bodyText: text, strict, volatility, text: stmt, pos };
}

/** After `DROP FUNCTION`. */
export function parseDropFunction(ts: TokenStream): Statement {
  const ifExists = ts.acceptKeyword('if', 'exists');
  const pos = ts.position();
  const name = ts.objectName();
  let argTypes: SqlType[] | null = null;
  if (ts.acceptSymbol('(')) {
    argTypes = [];
    if (!ts.acceptSymbol(')')) {
      for (;;) {
        argTypes.push(readParam(ts, argTypes.length + 1).type);
        if (ts.acceptSymbol(')')) break;
        ts.expectSymbol(',');
      }
    }
  }
  const cascade = ts.acceptKeyword('cascade');
  if (!cascade) ts.acceptKeyword('restrict');
  if (!ts.atEnd()) ts.fail('expected end of statement');
  return { kind: 'drop_function', name, argTypes, ifExists, cascade, pos };
}

