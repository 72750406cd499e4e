/**
 * Numeric scalar functions (abs, floor, ceil, sqrt, ln, exp, sign, trunc, round, power), row by
 * row. Integer arguments of the integer-preserving functions stay integers.
 */
import { SluiceError } from '../../common/errors.js';
import { roundHalfAway } from '../../common/values.js';
import { applyTypmod, decFromDouble, decOf, decToDouble, floorDec, formatDec, negDec, roundDec, truncDec, type Dec } from '../../common/decimal.js';
import { isNumeric, type SqlType, type Value } from '../../common/types.js';
import { cast } from '../../planner/coercion.js';
import { byName, rowWiseFunction, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { fixed, noFunction, numericUnary, type ScalarBinder } from './signature.js';

type MathFn = 'abs' | 'floor' | 'ceil' | 'sqrt' | 'ln' | 'exp' | 'sign' | 'trunc' | 'round' | 'power';

function numeric(fn: MathFn): ScalarFunction {
  return rowWiseFunction((vals: Value[]): Value => {
    const x = vals[0]!;
    if (typeof x === 'string') return numericMath(fn, decOf(x), vals[1] as number | undefined);
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

/** A math function of a NUMERIC value: exact where PostgreSQL's is (sqrt, ln, exp go through a double). */
function numericMath(fn: MathFn, x: Dec, places: number | undefined): Value {
  switch (fn) {
    case 'abs': return formatDec(x.digits < 0n ? negDec(x) : x);
    case 'floor': return formatDec(floorDec(x, false));
    case 'ceil': return formatDec(floorDec(x, true));
    case 'sign': return x.digits > 0n ? '1' : x.digits < 0n ? '-1' : '0';
    case 'trunc': return formatDec(truncDec(x, places ?? 0));
    case 'round': return formatDec(roundDec(x, places ?? 0));
    default: {
      const v = decToDouble(x);
      if (fn === 'sqrt' && v < 0) throw new SluiceError('invalid_parameter', 'cannot take square root of a negative number');
      if (fn === 'ln' && v <= 0) throw new SluiceError('invalid_parameter', 'cannot take logarithm of zero or a negative number');
      return formatDec(decFromDouble(fn === 'sqrt' ? Math.sqrt(v) : fn === 'ln' ? Math.log(v) : fn === 'exp' ? Math.exp(v) : v ** (places ?? 1)));
    }
  }
}

/** The numeric functions' implementations. */
// round(x) and trunc(x) keep x's type; round(x, digits) and trunc(x, digits) are numeric for numeric x, else double.
const bindRound: ScalarBinder = (args, site) => {
  if (args.length === 1) return numericUnary(true)(args, site);
  if (args.length === 2 && isNumeric(args[0]!.type)) {
    const t: SqlType = args[0]!.type === 'numeric' ? 'numeric' : 'double';
    return site.make([cast(args[0]!, t), cast(args[1]!, 'int')], t);
  }
  throw noFunction(site.name, args, site.pos);
};

/** NUMERIC(p, s) applied to a numeric value (a cast to the type with a typmod). */
const numericTypmod: ScalarFunction = rowWiseFunction((vals: Value[]): Value => formatDec(applyTypmod(decOf(vals[0] as string), vals[1] as number, vals[2] as number)));

export const MATH_FUNCTIONS = {
  numeric_typmod: byName(['__numeric_typmod'], fixed(['numeric', 'int', 'int'], 'numeric'), numericTypmod),
  abs: byName(['abs'], numericUnary(true), numeric('abs')),
  floor: byName(['floor'], numericUnary(true), numeric('floor')),
  ceil: byName(['ceil', 'ceiling'], numericUnary(true), numeric('ceil')),
  sqrt: byName(['sqrt'], numericUnary(false), numeric('sqrt')),
  ln: byName(['ln'], numericUnary(false), numeric('ln')),
  exp: byName(['exp'], numericUnary(false), numeric('exp')),
  sign: byName(['sign'], numericUnary(true), numeric('sign')),
  trunc: byName(['trunc'], bindRound, numeric('trunc')),
  round: byName(['round'], bindRound, numeric('round')),
  power: byName(['power', 'pow'], fixed(['double', 'double'], 'double'), numeric('power')),
} satisfies Record<string, ScalarDefinition>;
