/**
 * Array scalar functions: the ARRAY[…] constructor, subscripts, array_length, cardinality,
 * `x op ANY/ALL (array)`, `||` on arrays, string_to_array and regexp_split_to_array, each entry
 * its signature beside its kernel. Values are JS arrays of their elements (see column.ts for the
 * list layout); every kernel follows PostgreSQL's rules for NULLs and empty arrays.
 */
import { SluiceError } from '../../common/errors.js';
import { isArrayType, type SqlType, type Value } from '../../common/types.js';
import { byName, rowWiseFunction, syntaxFunctions, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { coerceArg, noFunction, type ScalarBinder } from './signature.js';

/** Splits `s` as PostgreSQL's string_to_array does: NULL delimiter → characters, '' → one element. */
export function stringToArray(s: string, delim: string | null, nullStr: string | null): Value[] {
  if (s === '') return [];
  const parts = delim === null ? Array.from(s) : delim === '' ? [s] : s.split(delim);
  return nullStr === null ? parts : parts.map((p) => (p === nullStr ? null : p));
}

/** A JS RegExp for a PostgreSQL pattern and flags (i: case-insensitive; g is not allowed). */
export function pgRegExp(pattern: string, flags: string | null): RegExp {
  let js = '';
  for (const f of flags ?? '') {
    if (f === 'i') js += 'i';
    else if (f === 'c' || f === 'n' || f === 'p' || f === 'w' || f === 's') continue;
    else if (f === 'g') throw new SluiceError('invalid_parameter', 'regexp_split_to_array() does not support the "global" option', { hint: 'Splitting always uses every match.' });
    else throw new SluiceError('invalid_parameter', `invalid regular expression option: "${f}"`);
  }
  try {
    return new RegExp(pattern, js);
  } catch (e) {
    throw new SluiceError('invalid_parameter', `invalid regular expression: ${(e as Error).message}`);
  }
}

/** Splits `s` at the matches of `re` (zero-length matches at either end are ignored, as in PostgreSQL). */
export function regexpSplit(s: string, re: RegExp): string[] {
  if (s === '') return [''];
  return s.split(re);
}

/** PostgreSQL's comparison of two non-null elements by `op`. */
function compareValues(op: string, a: Value, b: Value): boolean {
  const c = a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    default:
      throw new SluiceError('internal', `unknown comparison ${op}`);
  }
}

/**
 * `x op ANY (arr)` (some element satisfies it) or `x op ALL (arr)` (every element does), with
 * SQL's three-valued logic: an undecided comparison against a NULL makes the result NULL.
 */
function quantified(all: boolean): ScalarFunction {
  return rowWiseFunction(([x, arr, op]) => {
    if (arr === null) return null;
    const a = arr as readonly Value[];
    if (a.length === 0) return all;
    if (x === null) return null;
    let sawNull = false;
    for (const e of a) {
      if (e === null) sawNull = true;
      else if (compareValues(op as string, x as Value, e) !== all) return !all;
    }
    return sawNull ? null : all;
  }, false);
}

/** A function of an array (first argument) and then `params`, returning `ret`. */
function overArray(params: readonly SqlType[], ret: SqlType): ScalarBinder {
  return (args, site) => {
    const a = args[0];
    if (!a || !isArrayType(a.type) || args.length !== params.length + 1) throw noFunction(site.name, args, site.pos);
    return site.make([a, ...args.slice(1).map((x, i) => coerceArg(site.name, x, params[i]!, args, site.pos))], ret);
  };
}

/** A function of text arguments (`min`…`max` of them) returning `ret`. */
function texts(min: number, max: number, ret: SqlType): ScalarBinder {
  return (args, site) => {
    if (args.length < min || args.length > max) throw noFunction(site.name, args, site.pos);
    return site.make(args.map((a) => coerceArg(site.name, a, 'varchar', args, site.pos)), ret);
  };
}

/** regexp_split_to_array's kernel: the pattern is nearly always a constant, so it is compiled once per distinct pattern and flags. */
const regexpSplitToArray: ScalarFunction = (args, argExprs, type) => {
  let key: string | null = null;
  let re: RegExp | null = null;
  return rowWiseFunction(([s, p, f]) => {
    const k = `${String(f ?? '')}/${String(p)}`;
    if (k !== key) {
      re = pgRegExp(p as string, (f ?? null) as string | null);
      key = k;
    }
    return regexpSplit(s as string, re!);
  })(args, argExprs, type);
};

/** The array functions: signature beside kernel. ARRAY[…], subscripts, `||` on arrays and ANY/ALL are bound from SQL syntax by the binder. */
export const ARRAY_FUNCTIONS = {
  ...syntaxFunctions({
    array_ctor: rowWiseFunction((vals) => [...vals], false),
    array_index: rowWiseFunction(([arr, i]) => {
      const a = arr as readonly Value[];
      const k = Number(i);
      return k >= 1 && k <= a.length ? a[k - 1]! : null;
    }),
    // a || b on arrays: a NULL array is left out (PostgreSQL's array_cat), both NULL is NULL.
    array_cat: rowWiseFunction(([a, b]) => (a === null ? b! : b === null ? a! : [...(a as readonly Value[]), ...(b as readonly Value[])]), false),
    array_any: quantified(false),
    array_all: quantified(true),
  }),
  array_length: byName(['array_length'], overArray(['int'], 'int'), rowWiseFunction(([arr, dim]) => {
    const a = arr as readonly Value[];
    return Number(dim) === 1 && a.length > 0 ? a.length : null;
  })),
  cardinality: byName(['cardinality'], overArray([], 'int'), rowWiseFunction(([arr]) => (arr as readonly Value[]).length)),
  string_to_array: byName(
    ['string_to_array'],
    texts(2, 3, 'varchar[]'),
    rowWiseFunction(([s, d, n]) => (s === null ? null : stringToArray(s as string, d as string | null, (n ?? null) as string | null)), false),
  ),
  regexp_split_to_array: byName(['regexp_split_to_array'], texts(2, 3, 'varchar[]'), regexpSplitToArray),
} satisfies Record<string, ScalarDefinition>;
