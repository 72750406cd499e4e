/**
 * Numeric scalar functions (abs, floor, ceil, sqrt, ln, exp, sign, trunc, round, power), row by
 * row. Integer arguments of the integer-preserving functions stay integers.
 */
import { SluiceError } from '../../common/errors.js';
import { roundHalfAway } from '../../common/values.js';
import { isNumeric, type SqlType, type Value } from '../../common/types.js';
import { cast } from '../../planner/coercion.js';
import { byName, rowWiseFunction, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { fixed, noFunction, numericUnary, type ScalarBinder } from './signature.js';

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
// round(x) keeps x's type; round(x, digits) is numeric for numeric x, else double.
const bindRound: ScalarBinder = (args, site) => {
  if (args.length === 1) return numericUnary(true)(args, site);
  if (args.length === 2 && isNumeric(args[0]!.type)) {
    const t: SqlType = args[0]!.type === 'numeric' ? 'numeric' : 'double';
    return site.make([cast(args[0]!, t), cast(args[1]!, 'int')], t);
  }
  throw noFunction(site.name, args, site.pos);
};

export const MATH_FUNCTIONS = {
  abs: byName(['abs'], numericUnary(true), numeric('abs')),
  floor: byName(['floor'], numericUnary(true), numeric('floor')),
  ceil: byName(['ceil', 'ceiling'], numericUnary(true), numeric('ceil')),
  sqrt: byName(['sqrt'], numericUnary(false), numeric('sqrt')),
  ln: byName(['ln'], numericUnary(false), numeric('ln')),
  exp: byName(['exp'], numericUnary(false), numeric('exp')),
  sign: byName(['sign'], numericUnary(true), numeric('sign')),
  trunc: byName(['trunc'], (args, site) => (args.length === 1 ? numericUnary(true) : fixed(['double', 'int'], 'double'))(args, site), numeric('trunc')),
  round: byName(['round'], bindRound, numeric('round')),
  power: byName(['power', 'pow'], fixed(['double', 'double'], 'double'), numeric('power')),
} satisfies Record<string, ScalarDefinition>;
