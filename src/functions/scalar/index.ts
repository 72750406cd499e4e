/**
 * The scalar functions' implementations, one file per family, and their registry. Every
 * function the planner can bind (`ScalarFn`, whose signatures are in
 * src/planner/scalar-signatures.ts) must have an entry here: the record is exhaustive, so a
 * function without an implementation does not compile.
 */
import type { ScalarFn } from '../../planner/expr.js';
import { ARITHMETIC_FUNCTIONS } from './arithmetic.js';
import { ARRAY_FUNCTIONS } from './array.js';
import { COMPARISON_FUNCTIONS } from './comparison.js';
import { CONDITIONAL_FUNCTIONS } from './conditional.js';
import { JSON_FUNCTIONS } from './json.js';
import { LOGICAL_FUNCTIONS } from './logical.js';
import { MATH_FUNCTIONS } from './math.js';
import type { ScalarFunction } from './scalar-function.js';
import { STRING_FUNCTIONS } from './string.js';
import { TIME_FUNCTIONS } from './time.js';

export type { ScalarFunction } from './scalar-function.js';

/** Every scalar function's implementation, by function. */
export const SCALARS: Readonly<Record<ScalarFn, ScalarFunction>> = {
  ...ARITHMETIC_FUNCTIONS,
  ...COMPARISON_FUNCTIONS,
  ...LOGICAL_FUNCTIONS,
  ...STRING_FUNCTIONS,
  ...CONDITIONAL_FUNCTIONS,
  ...MATH_FUNCTIONS,
  ...TIME_FUNCTIONS,
  ...JSON_FUNCTIONS,
  ...ARRAY_FUNCTIONS,
};
