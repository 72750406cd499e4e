/**
 * Builders for typed bound expressions with explicit coercions: calls, casts (folded into
 * literals) and the untyped-string-literal test the coercion rules share.
 */
import type { SqlType } from '../common/types.js';
import { castConstant } from './constant.js';
import type { BoundExpr, ScalarFn } from './expr.js';

/** Whether an expression is a string literal, which coerces to whatever type its context wants. */
export function isStringLit(e: BoundExpr): e is BoundExpr & { kind: 'lit' } {
  return e.kind === 'lit' && e.type === 'varchar';
}

/** A call of scalar function `fn` returning `type`. */
export function call(fn: ScalarFn, args: BoundExpr[], type: SqlType): BoundExpr {
  return { kind: 'call', fn, args, type };
}

/** `e` as `type`: itself when it already is, a converted literal for a literal, else a cast node. */
export function cast(e: BoundExpr, type: SqlType): BoundExpr {
  if (e.type === type) return e;
  if (e.kind === 'lit') return constCast(e, type);
  return { kind: 'cast', arg: e, type };
}

/** A literal converted to `type` at plan time. */
export function constCast(e: BoundExpr & { kind: 'lit' }, type: SqlType): BoundExpr {
  return { kind: 'lit', value: castConstant(e.value, e.type, type), type };
}
