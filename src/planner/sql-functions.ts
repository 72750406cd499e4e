/**
 * Inlining of SQL functions (CREATE FUNCTION … LANGUAGE SQL), as PostgreSQL inlines a simple
 * SQL function: a call is replaced by the function's body, bound over its parameters, with each
 * parameter replaced by the call's argument cast to the parameter's type, and the result cast to
 * the declared type. A STRICT function's call is NULL when any argument is.
 *
 *   CREATE FUNCTION add_tax(p numeric) RETURNS numeric AS $$ SELECT p * 1.25 $$
 *   SELECT add_tax(price) FROM …   binds as   SELECT CAST(price AS numeric) * 1.25 FROM …
 */
import { SluiceError } from '../common/errors.js';
import { isNumeric, typeDisplayName, type SqlType } from '../common/types.js';
import type { FunctionEntry } from '../catalog/catalog.js';
import type { Expr } from '../parser/ast.js';
import { call, cast, isStringLit } from './coercion.js';
import { mapColumns, type BoundExpr } from './expr.js';
import type { Ctx, Scope } from './expr-binder.js';

/** How deep calls of SQL functions may nest in one expression (a function that calls itself never ends). */
const MAX_DEPTH = 32;

const NUMERIC_RANK: Partial<Record<SqlType, number>> = { int: 0, bigint: 1, numeric: 2, double: 3 };

/** Whether `from` converts to `to` implicitly, as an argument or a result (PostgreSQL's implicit casts sluice has). */
export function implicitlyCoercible(e: BoundExpr, to: SqlType): boolean {
  const from = e.type;
  if (from === to || from === 'null' || isStringLit(e)) return true;
  if (isNumeric(from) && isNumeric(to)) return NUMERIC_RANK[from]! <= NUMERIC_RANK[to]!;
  return from === 'date' && to === 'timestamp';
}

/** The scope a body is bound in: one column per parameter. */
export function parameterScope(params: FunctionEntry['params']): Scope {
  return { fields: params.map((p) => ({ qualifier: null, name: p.name, type: p.type })) };
}

/** What inlining needs of the binder: binding an expression in a scope. */
export interface BodyBinder {
  bindExpr(e: Expr, ctx: Ctx): BoundExpr;
}

/** The body of `fn` bound over its parameters and cast to its result type, or 42P13 when its type does not fit. */
export function bindBody(fn: Pick<FunctionEntry, 'name' | 'params' | 'returns' | 'body'>, binder: BodyBinder): BoundExpr {
  const body = binder.bindExpr(fn.body, { scope: parameterScope(fn.params), agg: null, noAggIn: 'functions' });
  if (!implicitlyCoercible(body, fn.returns)) {
    throw new SluiceError('invalid_function_definition', `return type mismatch in function declared to return ${typeDisplayName(fn.returns)}`, {
      hint: `The body's type is ${typeDisplayName(body.type)}; cast it to ${typeDisplayName(fn.returns)}.`,
    });
  }
  return cast(body, fn.returns);
}

/**
 * The inlined call of `fn` with bound arguments `args`, or 42883 when they do not fit its
 * parameters; `depth` is how many SQL function calls enclose this one.
 */
export function inlineCall(fn: FunctionEntry, args: readonly BoundExpr[], binder: BodyBinder, depth: number, pos: number | undefined): BoundExpr {
  if (args.length !== fn.params.length || args.some((a, i) => !implicitlyCoercible(a, fn.params[i]!.type))) {
    throw new SluiceError('undefined_function', `function ${fn.name}(${args.map((a) => typeDisplayName(a.type)).join(', ')}) does not exist`, {
      position: pos,
      hint: `${fn.name} takes (${fn.params.map((p) => typeDisplayName(p.type)).join(', ')}). You might need to add explicit type casts.`,
    });
  }
  if (depth >= MAX_DEPTH) {
    throw new SluiceError('statement_too_complex', `SQL function "${fn.name}" calls itself (or nests deeper than ${MAX_DEPTH} calls)`, { position: pos, hint: 'A SQL function is inlined where it is called, so it cannot recurse.' });
  }
  const typed = args.map((a, i) => cast(a, fn.params[i]!.type));
  const inlined = mapColumns(bindBody(fn, binder), (i) => typed[i]!);
  if (!fn.strict || typed.length === 0) return inlined;
  const anyNull = typed.map((a) => call('is_null', [a], 'boolean')).reduce((x, y) => call('or', [x, y], 'boolean'));
  return { kind: 'case', whens: [{ when: anyNull, then: { kind: 'lit', value: null, type: fn.returns } }], otherwise: inlined, type: fn.returns };
}
