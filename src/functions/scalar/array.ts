/**
 * Array scalar functions: the ARRAY[…] constructor, subscripts, array_length, cardinality,
 * `x op ANY/ALL (array)`, `||` on arrays, string_to_array and regexp_split_to_array, each entry
 * its signature beside its kernel. Values are JS arrays of their elements (see column.ts for the
 * list layout); every kernel follows PostgreSQL's rules for NULLs and empty arrays.
 */
import { SluiceError } from '../../common/errors.js';
import { arrayOf, elementType, isArrayType, type ArrayType, type SqlType, type Value } from '../../common/types.js';
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
/**
 * An array and elements of its element type, at the places `shape` gives ('a' the array, 'e' an
 * element); a NULL array takes the elements' array type.
 */
function arrayWith(shape: string, ret: 'array' | SqlType): ScalarBinder {
  return (args, site) => {
    if (args.length !== shape.length) throw noFunction(site.name, args, site.pos);
    const ai = shape.indexOf('a');
    let at = args[ai]!.type;
    if (!isArrayType(at)) {
      const firstElem = args.find((_, i) => shape[i] === 'e' && args[i]!.type !== 'null');
      const made = at === 'null' && firstElem ? arrayOf(firstElem.type) : null;
      if (!made) throw noFunction(site.name, args, site.pos);
      at = made;
    }
    const elem = elementType(at as ArrayType);
    const bound = args.map((x, i) => (shape[i] === 'a' ? coerceArg(site.name, x, at, args, site.pos) : shape[i] === 'e' ? coerceArg(site.name, x, elem, args, site.pos) : x));
    return site.make(bound, ret === 'array' ? at : ret);
  };
}

/** IS NOT DISTINCT FROM between two element values. */
const sameElement = (a: Value, b: Value): boolean => a === b || (a !== null && b !== null && typeof a === 'object' && JSON.stringify(a) === JSON.stringify(b));

const arrayToStringArgs: ScalarBinder = (args, site) => {
  if ((args.length !== 2 && args.length !== 3) || !isArrayType(args[0]!.type)) throw noFunction(site.name, args, site.pos);
  // Elements other than numbers, text and booleans are written as their text cast.
  const elem = elementType(args[0]!.type as ArrayType);
  const arr = ['int', 'smallint', 'bigint', 'double', 'real', 'numeric', 'varchar', 'boolean'].includes(elem) ? args[0]! : coerceArg(site.name, args[0]!, 'varchar[]', args, site.pos);
  return site.make([arr, ...args.slice(1).map((x) => coerceArg(site.name, x, 'varchar', args, site.pos))], 'varchar');
};

/** An element as array_to_string writes it: its text (booleans as t/f, as PostgreSQL prints them). */
function elementText(v: Value): string {
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return String(v);
}

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
  array_append: byName(['array_append'], arrayWith('ae', 'array'), rowWiseFunction(([a, e]) => (a === null ? [e!] : [...(a as readonly Value[]), e!]), false)),
  array_prepend: byName(['array_prepend'], arrayWith('ea', 'array'), rowWiseFunction(([e, a]) => (a === null ? [e!] : [e!, ...(a as readonly Value[])]), false)),
  array_cat_fn: byName(['array_cat'], arrayWith('aa', 'array'), rowWiseFunction(([a, b]) => (a === null ? b! : b === null ? a! : [...(a as readonly Value[]), ...(b as readonly Value[])]), false)),
  array_position: byName(['array_position'], arrayWith('ae', 'int'), rowWiseFunction(([a, e]) => {
    if (a === null) return null;
    const i = (a as readonly Value[]).findIndex((x) => sameElement(x, e!));
    return i < 0 ? null : i + 1;
  }, false)),
  array_remove: byName(['array_remove'], arrayWith('ae', 'array'), rowWiseFunction(([a, e]) => (a === null ? null : (a as readonly Value[]).filter((x) => !sameElement(x, e!))), false)),
  array_replace: byName(['array_replace'], arrayWith('aee', 'array'), rowWiseFunction(([a, from, to]) => (a === null ? null : (a as readonly Value[]).map((x) => (sameElement(x, from!) ? to! : x))), false)),
  array_upper: byName(['array_upper'], overArray(['int'], 'int'), rowWiseFunction(([arr, dim]) => (Number(dim) === 1 && (arr as readonly Value[]).length > 0 ? (arr as readonly Value[]).length : null))),
  array_lower: byName(['array_lower'], overArray(['int'], 'int'), rowWiseFunction(([arr, dim]) => (Number(dim) === 1 && (arr as readonly Value[]).length > 0 ? 1 : null))),
  array_to_string: byName(['array_to_string'], arrayToStringArgs, rowWiseFunction(([a, sep, nullText]) => {
    if (a === null || sep === null) return null;
    const parts: string[] = [];
    for (const v of a as readonly Value[]) {
      if (v !== null) parts.push(elementText(v));
      else if (nullText !== undefined && nullText !== null) parts.push(nullText as string);
    }
    return parts.join(sep as string);
  }, false)),
} satisfies Record<string, ScalarDefinition>;
