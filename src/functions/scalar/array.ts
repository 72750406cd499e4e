/**
 * Array scalar functions: the ARRAY[…] constructor, subscripts, array_length, cardinality,
 * `x op ANY/ALL (array)`, string_to_array and regexp_split_to_array. Values are JS arrays of
 * their elements (see column.ts for the list layout); every kernel follows PostgreSQL's rules
 * for NULLs and empty arrays.
 */
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import type { ScalarFn } from '../../planner/expr.js';
import { rowWiseFunction, type ScalarFunction } from './scalar-function.js';

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

/** The array functions' implementations. */
export const ARRAY_FUNCTIONS = {
  array_ctor: rowWiseFunction((vals) => [...vals], false),
  array_index: rowWiseFunction(([arr, i]) => {
    const a = arr as readonly Value[];
    const k = Number(i);
    return k >= 1 && k <= a.length ? a[k - 1]! : null;
  }),
  array_length: rowWiseFunction(([arr, dim]) => {
    const a = arr as readonly Value[];
    return Number(dim) === 1 && a.length > 0 ? a.length : null;
  }),
  cardinality: rowWiseFunction(([arr]) => (arr as readonly Value[]).length),
  // a || b on arrays: a NULL array is left out (PostgreSQL's array_cat), both NULL is NULL.
  array_cat: rowWiseFunction(([a, b]) => (a === null ? b! : b === null ? a! : [...(a as readonly Value[]), ...(b as readonly Value[])]), false),
  array_any: quantified(false),
  array_all: quantified(true),
  string_to_array: rowWiseFunction(([s, d, n]) => (s === null ? null : stringToArray(s as string, d as string | null, (n ?? null) as string | null)), false),
  regexp_split_to_array: (args, argExprs, type) => {
    // The pattern is nearly always a constant: compile it once per distinct pattern and flags.
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
  },
} satisfies Partial<Record<ScalarFn, ScalarFunction>>;
