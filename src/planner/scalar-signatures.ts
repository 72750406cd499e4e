/**
 * What the planner knows of each scalar function: the names SQL calls it by and how a call is
 * typed (argument coercions, result type, the error when no signature matches). The keys are
 * the functions (`ScalarFn`); their implementations are in src/functions/scalar, whose registry
 * is keyed by the same union, so a function added here does not compile until it is
 * implemented. This file imports nothing from src/exec.
 */
import { SluiceError } from '../common/errors.js';
import { commonType, isArrayType, isNumeric, typeDisplayName, type SqlType } from '../common/types.js';
import { call, cast, isStringLit } from './coercion.js';
import type { BoundExpr, ScalarFn } from './expr.js';

/** Types a call from its bound arguments: coerces them and picks the result type, or throws undefined_function. */
export type ScalarBinder = (args: BoundExpr[], pos: number | undefined) => BoundExpr;

/**
 * The binder's view of one scalar function: either callable by name, or bound only by SQL
 * syntax (operators, IS NULL, IN, LIKE, …), whose typing rules are the binder's.
 */
export type ScalarSignature =
  | { readonly kind: 'function'; readonly names: readonly string[]; readonly bind: ScalarBinder }
  | { readonly kind: 'syntax' };

function fixed(fn: ScalarFn, params: readonly SqlType[], ret: SqlType): ScalarBinder {
  return (args, pos) => {
    if (args.length !== params.length) throw noFunction(fn, args, pos);
    return call(fn, args.map((a, i) => coerceArg(fn, a, params[i]!, args, pos)), ret);
  };
}

function coerceArg(fn: string, a: BoundExpr, want: SqlType, all: BoundExpr[], pos: number | undefined): BoundExpr {
  if (a.type === want || a.type === 'null') return cast(a, want);
  if (isStringLit(a)) return cast(a, want);
  if (isNumeric(a.type) && isNumeric(want)) return cast(a, want);
  if (want === 'timestamp' && a.type === 'date') return cast(a, want);
  throw noFunction(fn, all, pos);
}

function noFunction(fn: string, args: readonly BoundExpr[], pos: number | undefined): SluiceError {
  return new SluiceError('undefined_function', `function ${fn}(${args.map((a) => typeDisplayName(a.type)).join(', ')}) does not exist`, {
    position: pos,
    hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
  });
}

function numericUnary(fn: ScalarFn, keepInt: boolean): ScalarBinder {
  return (args, pos) => {
    if (args.length !== 1 || !(isNumeric(args[0]!.type) || args[0]!.type === 'null')) throw noFunction(fn, args, pos);
    const t = args[0]!.type === 'null' ? 'double' : args[0]!.type;
    const ret: SqlType = keepInt || t === 'double' || t === 'numeric' ? t : 'double';
    return call(fn, [cast(args[0]!, ret)], ret);
  };
}

function variadicCommon(fn: ScalarFn): ScalarBinder {
  return (args, pos) => {
    if (args.length === 0) throw noFunction(fn, args, pos);
    let t: SqlType = 'null';
    for (const a of args) {
      const c: SqlType | null = commonType(t, a.type) ?? (isStringLit(a) ? t : null);
      if (c === null) throw new SluiceError('datatype_mismatch', `${fn.toUpperCase()} types ${typeDisplayName(t)} and ${typeDisplayName(a.type)} cannot be matched`, { position: pos });
      t = c;
    }
    if (t === 'null') t = 'varchar';
    return call(fn, args.map((a) => cast(a, t)), t);
  };
}

function jsonGet(fn: 'json_get' | 'json_get_text'): ScalarBinder {
  const typed = fixed(fn, ['varchar', 'varchar'], 'varchar');
  // json operators accept an integer index too; normalise it to text.
  return (args, pos) => typed(args[1] && args[1].type === 'int' ? [args[0]!, cast(args[1], 'varchar')] : args, pos);
}

/** A function of an array (first argument) and then `params`. */
function overArray(fn: ScalarFn, params: readonly SqlType[], ret: SqlType): ScalarBinder {
  return (args, pos) => {
    const a = args[0];
    if (!a || !isArrayType(a.type) || args.length !== params.length + 1) throw noFunction(fn, args, pos);
    return call(fn, [a, ...args.slice(1).map((x, i) => coerceArg(fn, x, params[i]!, args, pos))], ret);
  };
}

/** A function of text arguments (`min`…`max` of them) returning `ret`. */
function texts(fn: ScalarFn, min: number, max: number, ret: SqlType): ScalarBinder {
  return (args, pos) => {
    if (args.length < min || args.length > max) throw noFunction(fn, args, pos);
    return call(fn, args.map((a) => coerceArg(fn, a, 'varchar', args, pos)), ret);
  };
}

const fn = (names: readonly string[], bind: ScalarBinder): ScalarSignature => ({ kind: 'function', names, bind });
const syntax: ScalarSignature = { kind: 'syntax' };
const EMPTY: BoundExpr = { kind: 'lit', value: '', type: 'varchar' };

/** Every scalar function the binder can produce, by function. */
export const SCALAR_SIGNATURES: Readonly<Record<ScalarFn, ScalarSignature>> = {
  add: syntax, sub: syntax, mul: syntax, div: syntax, mod: syntax, neg: syntax,
  eq: syntax, ne: syntax, lt: syntax, le: syntax, gt: syntax, ge: syntax,
  and: syntax, or: syntax, not: syntax,
  is_null: syntax, is_not_null: syntax, is_true: syntax, is_not_true: syntax, is_false: syntax, is_not_false: syntax,
  is_distinct: syntax, is_not_distinct: syntax,
  in: syntax,
  like: syntax, ilike: syntax,
  // concat(a, b, …) skips NULLs; the binary `concat` it expands to is `||`, which does not.
  concat: fn(['concat'], (args) => {
    const parts = args.map((a) => call('coalesce', [cast(a, 'varchar'), EMPTY], 'varchar'));
    return parts.reduce((a, b) => call('concat', [a, b], 'varchar'), EMPTY);
  }),
  concat_ws: fn(['concat_ws'], (args, pos) => {
    if (args.length < 2) throw noFunction('concat_ws', args, pos);
    return call('concat_ws', args.map((a) => cast(a, 'varchar')), 'varchar');
  }),
  upper: fn(['upper'], fixed('upper', ['varchar'], 'varchar')),
  lower: fn(['lower'], fixed('lower', ['varchar'], 'varchar')),
  length: fn(['length', 'char_length', 'character_length'], fixed('length', ['varchar'], 'int')),
  substr: fn(['substr', 'substring'], (args, pos) => (args.length === 2 ? fixed('substr', ['varchar', 'int'], 'varchar')(args, pos) : fixed('substr', ['varchar', 'int', 'int'], 'varchar')(args, pos))),
  trim: fn(['trim', 'btrim'], fixed('trim', ['varchar'], 'varchar')),
  ltrim: fn(['ltrim'], fixed('ltrim', ['varchar'], 'varchar')),
  rtrim: fn(['rtrim'], fixed('rtrim', ['varchar'], 'varchar')),
  replace: fn(['replace'], fixed('replace', ['varchar', 'varchar', 'varchar'], 'varchar')),
  strpos: fn(['strpos'], fixed('strpos', ['varchar', 'varchar'], 'int')),
  left: fn(['left'], fixed('left', ['varchar', 'int'], 'varchar')),
  right: fn(['right'], fixed('right', ['varchar', 'int'], 'varchar')),
  split_part: fn(['split_part'], fixed('split_part', ['varchar', 'varchar', 'int'], 'varchar')),
  starts_with: fn(['starts_with'], fixed('starts_with', ['varchar', 'varchar'], 'boolean')),
  reverse: fn(['reverse'], fixed('reverse', ['varchar'], 'varchar')),
  md5: fn(['md5'], fixed('md5', ['varchar'], 'varchar')),
  lpad: fn(['lpad'], fixed('lpad', ['varchar', 'int', 'varchar'], 'varchar')),
  rpad: fn(['rpad'], fixed('rpad', ['varchar', 'int', 'varchar'], 'varchar')),
  coalesce: fn(['coalesce'], variadicCommon('coalesce')),
  nullif: fn(['nullif'], (args, pos) => {
    if (args.length !== 2) throw noFunction('nullif', args, pos);
    return variadicCommon('nullif')(args, pos);
  }),
  greatest: fn(['greatest'], variadicCommon('greatest')),
  least: fn(['least'], variadicCommon('least')),
  abs: fn(['abs'], numericUnary('abs', true)),
  round: fn(['round'], (args, pos) => {
    if (args.length === 1) return numericUnary('round', true)(args, pos);
    if (args.length === 2 && isNumeric(args[0]!.type)) {
      const t: SqlType = args[0]!.type === 'numeric' ? 'numeric' : 'double';
      return call('round', [cast(args[0]!, t), cast(args[1]!, 'int')], t);
    }
    throw noFunction('round', args, pos);
  }),
  floor: fn(['floor'], numericUnary('floor', true)),
  ceil: fn(['ceil', 'ceiling'], numericUnary('ceil', true)),
  sqrt: fn(['sqrt'], numericUnary('sqrt', false)),
  power: fn(['power', 'pow'], fixed('power', ['double', 'double'], 'double')),
  ln: fn(['ln'], numericUnary('ln', false)),
  exp: fn(['exp'], numericUnary('exp', false)),
  sign: fn(['sign'], numericUnary('sign', true)),
  trunc: fn(['trunc'], (args, pos) => (args.length === 1 ? numericUnary('trunc', true)(args, pos) : fixed('trunc', ['double', 'int'], 'double')(args, pos))),
  date_trunc: fn(['date_trunc'], (args, pos) => {
    if (args.length !== 2) throw noFunction('date_trunc', args, pos);
    const t = args[1]!.type === 'interval' ? 'interval' : 'timestamp';
    return call('date_trunc', [cast(args[0]!, 'varchar'), coerceArg('date_trunc', args[1]!, t, args, pos)], t);
  }),
  // EXTRACT(field FROM x) is syntax the binder types itself; date_part is its function form.
  extract: fn(['date_part'], (args, pos) => {
    if (args.length !== 2) throw noFunction('date_part', args, pos);
    const t = args[1]!.type === 'interval' ? 'interval' : 'timestamp';
    return call('extract', [cast(args[0]!, 'varchar'), coerceArg('date_part', args[1]!, t, args, pos)], 'double');
  }),
  now: fn(['now', 'proctime'], () => call('now', [], 'timestamp')),
  json_get: fn(['json_get'], jsonGet('json_get')),
  json_get_text: fn(['json_get_text'], jsonGet('json_get_text')),
  to_char: fn(['to_char'], fixed('to_char', ['timestamp', 'varchar'], 'varchar')),
  array_ctor: syntax, array_index: syntax, array_any: syntax, array_all: syntax, array_cat: syntax,
  array_length: fn(['array_length'], overArray('array_length', ['int'], 'int')),
  cardinality: fn(['cardinality'], overArray('cardinality', [], 'int')),
  string_to_array: fn(['string_to_array'], texts('string_to_array', 2, 3, 'varchar[]')),
  regexp_split_to_array: fn(['regexp_split_to_array'], texts('regexp_split_to_array', 2, 3, 'varchar[]')),
};

const BY_NAME = new Map<string, ScalarBinder>();
for (const sig of Object.values(SCALAR_SIGNATURES)) if (sig.kind === 'function') for (const name of sig.names) BY_NAME.set(name, sig.bind);

/** Binds a call `name(args…)` of a scalar function, or throws undefined_function when there is none of that name. */
export function bindScalar(name: string, args: BoundExpr[], pos: number | undefined): BoundExpr {
  const bind = BY_NAME.get(name);
  if (!bind) throw noFunction(name, args, pos);
  return bind(args, pos);
}
