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
        checkLogArg(v);
        return Math.log(v);
      case 'exp': return Math.exp(v);
      case 'sign': return Math.sign(v);
      case 'trunc': {
        const d = (vals[1] as number | undefined) ?? 0;
        const m = 10 ** d;
        return Math.trunc(v * m) / m;
      }
      case 'round': {
        // round(double precision) is C's rint: a half goes to the even neighbour (2.5 → 2).
        if (vals[1] === undefined) return roundHalfEven(v);
        const d = vals[1] as number;
        const m = 10 ** d;
        return roundHalfAway(v * m) / m;
      }
      case 'power': return v ** (vals[1] as number);
    }
  });
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
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
      if (fn === 'ln') {
        checkLogDec(x);
        return numericLogText(lnFixed(x), x.scale);
      }
      return formatDec(decFromDouble(fn === 'sqrt' ? Math.sqrt(v) : fn === 'exp' ? Math.exp(v) : v ** (places ?? 1)));
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

/** PostgreSQL's errors for a logarithm's argument (2201E). */
function checkLogArg(v: number): void {
  if (v === 0) throw new SluiceError('invalid_argument_for_logarithm', 'cannot take logarithm of zero');
  if (v < 0) throw new SluiceError('invalid_argument_for_logarithm', 'cannot take logarithm of a negative number');
}

/** Fixed-point scale of the NUMERIC logarithms: 40 digits, well past the 16–20 shown. */
const LN_SCALE = 40n;
const ONE = 10n ** LN_SCALE;

/** ln(d) for d > 0, as a fixed-point integer scaled by 10^40: ln(m · 10^e) = ln(m) + e · ln(10), ln(m) by atanh's series. */
function lnFixed(d: Dec): bigint {
  const digits = d.digits.toString();
  // d = m × 10^e with m = 0.digits…: e = number of integer digits.
  const e = BigInt(digits.length - d.scale);
  const m = (d.digits * ONE) / 10n ** BigInt(digits.length); // m in [0.1, 1), scaled
  return lnOfScaled(m) + e * LN10;
}

/** ln(x) for a fixed-point x (scaled by 10^40) in (0, 10]: 2 · atanh((x − 1) / (x + 1)). */
function lnOfScaled(x: bigint): bigint {
  const z = ((x - ONE) * ONE) / (x + ONE);
  const z2 = (z * z) / ONE;
  let term = z;
  let sum = 0n;
  for (let k = 1n; term !== 0n; k += 2n) {
    sum += term / k;
    term = (term * z2) / ONE;
  }
  return 2n * sum;
}

const LN10 = lnOfScaled(10n * ONE);

/**
 * A NUMERIC logarithm (fixed point, scaled by 10^40) as PostgreSQL shows it: 16 digits after the
 * point, fewer as the result grows past 10, at least the arguments' scales; rounded half away
 * from zero.
 */
function numericLogText(v: bigint, minScale: number): string {
  const abs = v < 0n ? -v : v;
  const intDigits = (abs / ONE).toString().length;
  const mag = abs >= ONE ? intDigits - 1 : 0;
  const scale = Math.max(16 - mag, minScale, 0);
  const drop = 10n ** (LN_SCALE - BigInt(scale));
  const q = (abs + drop / 2n) / drop;
  return formatDec({ digits: v < 0n ? -q : q, scale });
}

function checkLogDec(d: Dec): void {
  checkLogArg(d.digits === 0n ? 0 : d.digits < 0n ? -1 : 1);
}

/** log10(x) and log(x): double for double and integer arguments, NUMERIC for NUMERIC. */
function log10Value(vals: Value[]): Value {
  const x = vals[0]!;
  if (typeof x === 'string') {
    const d = decOf(x);
    checkLogDec(d);
    return numericLogText((lnFixed(d) * ONE) / LN10, d.scale);
  }
  const v = Number(x);
  checkLogArg(v);
  return Math.log10(v);
}

/** log(b, x): NUMERIC, the logarithm of x to base b. */
function logBaseValue(vals: Value[]): Value {
  const b = decOf(vals[0] as string);
  const x = decOf(vals[1] as string);
  checkLogDec(b);
  checkLogDec(x);
  const lb = lnFixed(b);
  if (lb === 0n) throw new SluiceError('division_by_zero', 'division by zero');
  return numericLogText((lnFixed(x) * ONE) / lb, Math.max(b.scale, x.scale));
}

const bindLog: ScalarBinder = (args, site) => (args.length === 2 ? fixed(['numeric', 'numeric'], 'numeric')(args, site) : numericUnary(false)(args, site));

/** Double precision functions of one argument (trigonometry, cbrt, degrees, radians). */
function doubleFn(f: (v: number) => number, domain?: (v: number) => boolean): ScalarFunction {
  return rowWiseFunction((vals: Value[]): Value => {
    const v = vals[0] as number;
    if (domain && !domain(v)) throw new SluiceError('numeric_out_of_range', 'input is out of range');
    return f(v);
  });
}

const unit = (v: number) => v >= -1 && v <= 1;

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
  log: byName(['log', 'log10'], bindLog, rowWiseFunction((vals: Value[]): Value => (vals.length === 2 ? logBaseValue(vals) : log10Value(vals)))),
  cbrt: byName(['cbrt'], fixed(['double'], 'double'), doubleFn(Math.cbrt)),
  degrees: byName(['degrees'], fixed(['double'], 'double'), doubleFn((v) => (v * 180) / Math.PI)),
  radians: byName(['radians'], fixed(['double'], 'double'), doubleFn((v) => (v * Math.PI) / 180)),
  sin: byName(['sin'], fixed(['double'], 'double'), doubleFn(Math.sin)),
  cos: byName(['cos'], fixed(['double'], 'double'), doubleFn(Math.cos)),
  tan: byName(['tan'], fixed(['double'], 'double'), doubleFn(Math.tan)),
  cot: byName(['cot'], fixed(['double'], 'double'), doubleFn((v) => 1 / Math.tan(v))),
  asin: byName(['asin'], fixed(['double'], 'double'), doubleFn(Math.asin, unit)),
  acos: byName(['acos'], fixed(['double'], 'double'), doubleFn(Math.acos, unit)),
  atan: byName(['atan'], fixed(['double'], 'double'), doubleFn(Math.atan)),
  atan2: byName(['atan2'], fixed(['double', 'double'], 'double'), rowWiseFunction((vals: Value[]): Value => Math.atan2(vals[0] as number, vals[1] as number))),
  pi: byName(['pi'], fixed([], 'double'), rowWiseFunction((): Value => Math.PI)),
} satisfies Record<string, ScalarDefinition>;
