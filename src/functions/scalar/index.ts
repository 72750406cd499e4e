/**
 * The scalar functions, one family file each, and their registry. A function is one entry in a
 * family file: its signature (the names SQL calls it by and how a call is typed) beside its
 * kernel. The set of functions the planner can bind, `ScalarFn`, is this registry's keys, so a
 * new function is that entry (or a new family file and one line here) and nothing else.
 */
import { call } from '../../planner/coercion.js';
import type { BoundExpr } from '../../planner/expr.js';
import { ARITHMETIC_FUNCTIONS } from './arithmetic.js';
import { ARRAY_FUNCTIONS } from './array.js';
import { CALENDAR_FUNCTIONS } from './calendar.js';
import { COMPARISON_FUNCTIONS } from './comparison.js';
import { CONDITIONAL_FUNCTIONS } from './conditional.js';
import { JSON_FUNCTIONS } from './json.js';
import { LOGICAL_FUNCTIONS } from './logical.js';
import { MATH_FUNCTIONS } from './math.js';
import { ML_FUNCTIONS } from './ml.js';
import { REGEX_FUNCTIONS } from './regex.js';
import type { ScalarDefinition } from './scalar-function.js';
import { noFunction, type ScalarBinder } from './signature.js';
import { STRING_FUNCTIONS } from './string.js';
import { SUBQUERY_FUNCTIONS } from './subquery.js';
import { TEXT_FORMAT_FUNCTIONS } from './text-format.js';
import { TIME_FUNCTIONS } from './time.js';
import { ZONE_FUNCTIONS } from './zone.js';

export type { ScalarDefinition, ScalarFunction } from './scalar-function.js';
export type { ScalarBinder, ScalarCallSite, ScalarSignature } from './signature.js';

/** Every scalar function, by function: its signature and its kernel. */
export const SCALARS = {
  ...ARITHMETIC_FUNCTIONS,
  ...COMPARISON_FUNCTIONS,
  ...LOGICAL_FUNCTIONS,
  ...STRING_FUNCTIONS,
  ...CONDITIONAL_FUNCTIONS,
  ...MATH_FUNCTIONS,
  ...TIME_FUNCTIONS,
  ...JSON_FUNCTIONS,
  ...ARRAY_FUNCTIONS,
  ...SUBQUERY_FUNCTIONS,
  ...ML_FUNCTIONS,
  ...REGEX_FUNCTIONS,
  ...CALENDAR_FUNCTIONS,
  ...TEXT_FORMAT_FUNCTIONS,
  ...ZONE_FUNCTIONS,
} satisfies Record<string, ScalarDefinition>;

/** A scalar function, as bound expressions name it: a key of the registry. */
export type ScalarFn = keyof typeof SCALARS;

const BY_NAME = new Map<string, { readonly fn: ScalarFn; readonly bind: ScalarBinder }>();
for (const fn of Object.keys(SCALARS) as ScalarFn[]) {
  const sig = SCALARS[fn].signature;
  if (sig.kind === 'function') for (const name of sig.names) BY_NAME.set(name, { fn, bind: sig.bind });
}

/** Binds a call `name(args…)` of a scalar function, or throws undefined_function when there is none of that name. */
export function bindScalar(name: string, args: BoundExpr[], pos: number | undefined): BoundExpr {
  const entry = BY_NAME.get(name);
  if (!entry) throw noFunction(name, args, pos);
  const { fn, bind } = entry;
  return bind(args, { name: fn, pos, make: (typed, type) => call(fn, typed, type) });
}

/** Whether a scalar function goes by `name`. */
export function hasScalar(name: string): boolean {
  return BY_NAME.has(name);
}
