/**
 * Numeric scalar functions (abs, floor, ceil, sqrt, ln, exp, sign, trunc, round, power), row by
 * row. Integer arguments of the integer-preserving functions stay integers.
 */
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { roundHalfAway } from '../../common/values.js';
import type { ScalarFn } from '../../planner/expr.js';
import { rowWiseFunction, type ScalarFunction } from './scalar-function.js';

type MathFn = 'abs' | 'floor' | 'ceil' | 'sqrt' | 'ln' | 'exp' | 'sign' | 'trunc' | 'round' | 'power';

function numeric(fn: MathFn): ScalarFunction {
  return rowWiseFunction((vals: Value[]): Value => {
    const x = vals[0]!;
    if (typeof x === 'bigint') {
      if (fn === 'abs') return x < 0n ? -x : x;
      if (fn === 'sign') return x > 0n ? 1n : x < 0n ? -1n : 0n;
      return x;
    }
    const v = x as number;
    switch (fn) {
      case 'abs': return Math.abs(v);
      case 'floor': return Math.floor(v);
      case 'ceil': return Math.ceil(v);
      case 'sqrt':
        if (v < 0) throw new SluiceError('invalid_parameter', 'cannot take square root of a negative number');
        return Math.sqrt(v);
      case 'ln':
        if (v <= 0) throw new SluiceError('invalid_parameter', 'cannot take logarithm of zero or a negative number');
        return Math.log(v);
      case 'exp': return Math.exp(v);
      case 'sign': return Math.sign(v);
      case 'trunc': {
        const d = (vals[1] as number | undefined) ?? 0;
        const m = 10 ** d;
        return Math.trunc(v * m) / m;
      }
      case 'round': {
        const d = (vals[1] as number | undefined) ?? 0;
        const m = 10 ** d;
        return roundHalfAway(v * m) / m;
      }
      case 'power': return v ** (vals[1] as number);
    }
  });
}

/** The numeric functions' implementations. */
export const MATH_FUNCTIONS = {
  abs: numeric('abs'),
  floor: numeric('floor'),
  ceil: numeric('ceil'),
  sqrt: numeric('sqrt'),
  ln: numeric('ln'),
  exp: numeric('exp'),
  sign: numeric('sign'),
  trunc: numeric('trunc'),
  round: numeric('round'),
  power: numeric('power'),
} satisfies Partial<Record<ScalarFn, ScalarFunction>>;
