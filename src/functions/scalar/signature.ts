/**
 * What the binder knows of a scalar function: the names SQL calls it by and how a call is typed
 * (argument coercions, result type, the error when no signature matches), with the typing rules
 * the functions share. A signature stands beside its kernel in the function's family file.
 *
 * A binder is told which function it binds through its `ScalarCallSite` rather than by naming
 * it: the set of function names (`ScalarFn`) is derived from the registry, so a registry entry
 * may not name a function where its type is worked out (TypeScript would see a circle).
 */
import { SluiceError } from '../../common/errors.js';
import { commonType, isNumeric, typeDisplayName, type SqlType } from '../../common/types.js';
import { cast, isStringLit } from '../../planner/coercion.js';
import type { BoundExpr } from '../../planner/expr.js';

/** The call being bound: the function's name (for messages), its position, and how to build a call of it. */
export interface ScalarCallSite {
  readonly name: string;
  readonly pos: number | undefined;
  /** A call of this function over `args` returning `type`. */
  make(args: BoundExpr[], type: SqlType): BoundExpr;
}

/** Types a call from its bound arguments: coerces them and picks the result type, or throws undefined_function. */
export type ScalarBinder = (args: BoundExpr[], site: ScalarCallSite) => BoundExpr;

/**
 * The binder's view of one scalar function: either callable by name, or bound only by SQL
 * syntax (operators, IS NULL, IN, LIKE, …), whose typing rules are the binder's.
 */
export type ScalarSignature =
  | { readonly kind: 'function'; readonly names: readonly string[]; readonly bind: ScalarBinder }
  | { readonly kind: 'syntax' };

/** The undefined_function error for a call of `fn` whose arguments match no signature. */
export function noFunction(fn: string, args: readonly BoundExpr[], pos: number | undefined): SluiceError {
  return new SluiceError('undefined_function', `function ${fn}(${args.map((a) => typeDisplayName(a.type)).join(', ')}) does not exist`, {
    position: pos,
    hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
  });
}

/** Argument `a` coerced to `want`, or undefined_function (naming `fn`) when it does not coerce implicitly. */
export function coerceArg(fn: string, a: BoundExpr, want: SqlType, all: BoundExpr[], pos: number | undefined): BoundExpr {
  if (a.type === want || a.type === 'null') return cast(a, want);
  if (isStringLit(a)) return cast(a, want);
  if (isNumeric(a.type) && isNumeric(want)) return cast(a, want);
  if (want === 'timestamp' && a.type === 'date') return cast(a, want);
  if (want === 'timestamptz' && (a.type === 'date' || a.type === 'timestamp')) return cast(a, want);
  throw noFunction(fn, all, pos);
}

/** Exactly these parameter types, returning `ret`. */
export function fixed(params: readonly SqlType[], ret: SqlType): ScalarBinder {
  return (args, site) => {
    if (args.length !== params.length) throw noFunction(site.name, args, site.pos);
    return site.make(args.map((a, i) => coerceArg(site.name, a, params[i]!, args, site.pos)), ret);
  };
}

/** One numeric argument; integers stay integers when `keepInt`, else the result is double (numeric stays numeric). */
export function numericUnary(keepInt: boolean): ScalarBinder {
  return (args, site) => {
    if (args.length !== 1 || !(isNumeric(args[0]!.type) || args[0]!.type === 'null')) throw noFunction(site.name, args, site.pos);
    const t = args[0]!.type === 'null' ? 'double' : args[0]!.type;
    const ret: SqlType = keepInt || t === 'double' || t === 'numeric' ? t : 'double';
    return site.make([cast(args[0]!, ret)], ret);
  };
}

/** One or more arguments of a common type, which is also the result's (varchar when all are NULL). */
export const variadicCommon: ScalarBinder = (args, site) => {
  if (args.length === 0) throw noFunction(site.name, args, site.pos);
  let t: SqlType = 'null';
  for (const a of args) {
    const c: SqlType | null = commonType(t, a.type) ?? (isStringLit(a) ? t : null);
    if (c === null) throw new SluiceError('datatype_mismatch', `${site.name.toUpperCase()} types ${typeDisplayName(t)} and ${typeDisplayName(a.type)} cannot be matched`, { position: site.pos });
    t = c;
  }
  if (t === 'null') t = 'varchar';
  return site.make(args.map((a) => cast(a, t)), t);
};

/** A function called by `names`, typed by `bind`. */
export function callable(names: readonly string[], bind: ScalarBinder): ScalarSignature {
  return { kind: 'function', names, bind };
}

/** A function the binder produces only from SQL syntax (an operator, IS NULL, IN, LIKE, …). */
export const SYNTAX: ScalarSignature = { kind: 'syntax' };
