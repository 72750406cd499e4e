/**
 * Arithmetic scalar functions (+ - * / % and unary minus) over typed arrays. Overflow and
 * division by zero make the row NULL and are reported.
 */
import { ColumnBuilder, getBit, getString, getValue, isValid, type Column } from '../../common/column.js';
import {
  addIntervals, addIntervalToTimestamp, addIntervalToTimestamptz, DAY_US, decodeInterval, encodeInterval, negateInterval, scaleInterval, subIntervals, timestampDifference, ZERO_INTERVAL, type IntervalParts,
} from '../../common/interval.js';
import { addDec, decOf, divDec, formatDec, modDec, mulDec, negDec, scratchBytes, SMALL_DEC_MAX_SCALE, smallDecAt, smallDecScale, subDec, writeSmallDec } from '../../common/decimal.js';
import { SluiceError } from '../../common/errors.js';
import type { SqlType, Value } from '../../common/types.js';
import type { EvalContext } from '../../exec/eval.js';
import type { BoundExpr } from '../../planner/expr.js';
import { storageOf } from '../../exec/storage.js';
import { andValidity, markNull, syntaxFunctions, type ScalarFunction } from './scalar-function.js';
import { UTC, type TimeZone } from '../../common/time-zone.js';

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

function arithmetic(fn: 'add' | 'sub' | 'mul' | 'div' | 'mod', type: SqlType, leftType: SqlType, rightType: SqlType, constantRight = false): (a: Column, b: Column, n: number, ctx: EvalContext) => Column {
  const ls = storageOf(leftType);
  const rs = storageOf(rightType);
  const outStorage = storageOf(type);
  if (type === 'numeric') return numericArithmetic(fn, type);
  if (leftType === 'interval' || rightType === 'interval' || type === 'interval') return intervalArithmetic(fn, type, leftType, rightType, constantRight);
  return (a, b, n, ctx) => {
    let validity = andValidity(a, b, n);
    const err = (i: number, e: SluiceError) => {
      validity = markNull(validity, n, i);
      ctx.onRowError(e);
    };
    if (ls === 'f64' && rs === 'f64') {
      const x = a.values as Float64Array;
      const y = b.values as Float64Array;
      const out = new Float64Array(n);
      switch (fn) {
        case 'add': for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]!; break;
        case 'sub': for (let i = 0; i < n; i++) out[i] = x[i]! - y[i]!; break;
        case 'mul': for (let i = 0; i < n; i++) out[i] = x[i]! * y[i]!; break;
        case 'div':
        case 'mod':
          for (let i = 0; i < n; i++) {
            if (y[i] === 0) {
              if (validity === null || getBit(validity, i)) err(i, new SluiceError('division_by_zero', 'division by zero'));
              continue;
            }
            out[i] = fn === 'div' ? x[i]! / y[i]! : x[i]! % y[i]!;
          }
      }
      return { type, length: n, values: out, validity };
    }
    if (ls === 'i32' && rs === 'i32') {
      const x = a.values as Int32Array;
      const y = b.values as Int32Array;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let r: number;
        const xi = x[i]!;
        const yi = y[i]!;
        switch (fn) {
          case 'add': r = xi + yi; break;
          case 'sub': r = xi - yi; break;
          case 'mul': r = xi * yi; break;
          case 'div':
          case 'mod':
            if (yi === 0) {
              if (validity === null || getBit(validity, i)) err(i, new SluiceError('division_by_zero', 'division by zero'));
              continue;
            }
            r = fn === 'div' ? Math.trunc(xi / yi) : xi % yi;
        }
        if (r > I32_MAX || r < I32_MIN) {
          if (validity === null || getBit(validity, i)) err(i, new SluiceError('numeric_out_of_range', 'integer out of range'));
          continue;
        }
        out[i] = r;
      }
      return { type, length: n, values: out, validity };
    }
    if (ls === 'i64' && rs === 'i64') {
      const x = a.values as BigInt64Array;
      const y = b.values as BigInt64Array;
      const out = new BigInt64Array(n);
      // The values' 32-bit words: operands within ±2^53 are computed as doubles, exactly (below).
      const xw = new Int32Array(x.buffer, x.byteOffset, 2 * n);
      const yw = new Int32Array(y.buffer, y.byteOffset, 2 * n);
      const ow = new Int32Array(out.buffer, 0, 2 * n);
      const fast = fn !== 'div';
      for (let i = 0; i < n; i++) {
        if (validity !== null && !getBit(validity, i)) continue;
        if (fast) {
          const xh = xw[2 * i + 1]!;
          const yh = yw[2 * i + 1]!;
          if (xh >= -2097152 && xh < 2097152 && yh >= -2097152 && yh < 2097152) {
            // Both are safe integers. A sum, difference or product whose double lies within
            // ±2^53 is exact (a result of magnitude 2^53 or more rounds to at least 2^53), and a
            // remainder of doubles is always exact (sign of the dividend, as BigInt's and
            // PostgreSQL's): no BigInt per row. Anything else takes the BigInt way below.
            const xv = xh * 4294967296 + (xw[2 * i]! >>> 0);
            const yv = yh * 4294967296 + (yw[2 * i]! >>> 0);
            const r = fn === 'add' ? xv + yv : fn === 'sub' ? xv - yv : fn === 'mul' ? xv * yv : yv === 0 ? NaN : xv % yv;
            if (r > -9007199254740992 && r < 9007199254740992) {
              const hi = Math.floor(r / 4294967296);
              ow[2 * i] = (r - hi * 4294967296) | 0;
              ow[2 * i + 1] = hi | 0;
              continue;
            }
          }
        }
        const xi = x[i]!;
        const yi = y[i]!;
        let r: bigint;
        switch (fn) {
          case 'add': r = xi + yi; break;
          case 'sub': r = xi - yi; break;
          case 'mul': r = xi * yi; break;
          case 'div':
          case 'mod':
            if (yi === 0n) {
              err(i, new SluiceError('division_by_zero', 'division by zero'));
              continue;
            }
            r = fn === 'div' ? xi / yi : xi % yi;
        }
        if (r > I64_MAX || r < I64_MIN) {
          err(i, new SluiceError('numeric_out_of_range', 'bigint out of range'));
          continue;
        }
        out[i] = r;
      }
      return { type, length: n, values: out, validity };
    }
    throw new SluiceError('internal', `no arithmetic kernel for ${leftType} ${fn} ${rightType}`);
  };
}
/** An interval value's parts, remembering the last one decoded (a constant operand decodes once). */
function intervalReader(): (v: string) => IntervalParts {
  let last = '';
  let parts: IntervalParts = ZERO_INTERVAL;
  return (v) => {
    if (v !== last) {
      parts = decodeInterval(v);
      last = v;
    }
    return parts;
  };
}

/**
 * Interval arithmetic, row by row as PostgreSQL's: timestamp ± interval (months on the calendar),
 * timestamp - timestamp (days and time), interval ± interval, interval * or / a number.
 */
function intervalArithmetic(fn: 'add' | 'sub' | 'mul' | 'div' | 'mod', type: SqlType, leftType: SqlType, rightType: SqlType, constantRight: boolean): (a: Column, b: Column, n: number, ctx: EvalContext) => Column {
  const readA = intervalReader();
  const readB = intervalReader();
  let op: (a: Value, b: Value, zone: TimeZone) => Value;
  if (leftType === 'timestamptz' && rightType === 'interval') {
    op = fn === 'add' ? (x, y, z) => addIntervalToTimestamptz(x as bigint, readB(y as string), z) : (x, y, z) => addIntervalToTimestamptz(x as bigint, negateInterval(readB(y as string)), z);
  } else if (leftType === 'timestamptz' && rightType === 'timestamptz') {
    op = (x, y) => encodeInterval(timestampDifference(x as bigint, y as bigint));
  } else if (leftType === 'timestamp' && rightType === 'interval') {
    op = fn === 'add' ? (x, y) => addIntervalToTimestamp(x as bigint, readB(y as string)) : (x, y) => addIntervalToTimestamp(x as bigint, negateInterval(readB(y as string)));
  } else if (leftType === 'timestamp' && rightType === 'timestamp') {
    op = (x, y) => encodeInterval(timestampDifference(x as bigint, y as bigint));
  } else if (leftType === 'interval' && rightType === 'interval') {
    op = fn === 'add' ? (x, y) => encodeInterval(addIntervals(readA(x as string), readB(y as string))) : (x, y) => encodeInterval(subIntervals(readA(x as string), readB(y as string)));
  } else if (leftType === 'interval' && rightType === 'double' && (fn === 'mul' || fn === 'div')) {
    op = (x, y) => encodeInterval(scaleInterval(readA(x as string), y as number, fn));
  } else throw new SluiceError('internal', `no arithmetic kernel for ${leftType} ${fn} ${rightType}`);
  const shifts = (leftType === 'timestamp' || leftType === 'timestamptz') && rightType === 'interval';
  return (a, b, n, ctx) => {
    if (shifts) {
      const shift = fixedShift(b, n, fn === 'sub', leftType === 'timestamptz', constantRight);
      if (shift !== null) return shiftTimestamps(type, a, b, n, shift, op, ctx);
    }
    const out = new ColumnBuilder(type, n);
    const zone = ctx.zone ?? UTC;
    for (let i = 0; i < n; i++) {
      const x = getValue(a, i);
      const y = getValue(b, i);
      if (x === null || y === null) {
        out.appendNull();
        continue;
      }
      try {
        out.append(op(x, y, zone));
      } catch (e) {
        if (!(e instanceof SluiceError)) throw e;
        ctx.onRowError(e);
        out.appendNull();
      }
    }
    return out.finish();
  };
}

const TWO_52 = 2 ** 52;

/**
 * The shift of `timestamp ± interval` in µs when the interval is one non-NULL value on every row
 * (a constant, as in a watermark's `ts - INTERVAL '1 second'`: `constant` when the expression is
 * one, else the rows are compared) without months (on timestamptz without days too: those follow
 * the calendar or the zone), within ±2^52; else null.
 */
function fixedShift(b: Column, n: number, negate: boolean, instant: boolean, constant: boolean): number | null {
  if (n === 0 || b.validity !== null) return null;
  const o = b.offsets!;
  const bytes = b.values as Uint8Array;
  const s0 = o[0]!;
  const len = o[1]! - s0;
  for (let i = 1; i < n && !constant; i++) {
    const s = o[i]!;
    if (o[i + 1]! - s !== len) return null;
    for (let k = 0; k < len; k++) if (bytes[s + k] !== bytes[s0 + k]) return null;
  }
  const p = decodeInterval(getString(b, 0));
  if (p.months !== 0 || (instant && p.days !== 0)) return null;
  const x = Number(BigInt(p.days) * DAY_US + p.micros);
  if (!(Math.abs(x) < TWO_52)) return null;
  return negate ? -x : x;
}

/**
 * Timestamps shifted by a fixed number of µs, in doubles where exact (both within ±2^52): no
 * BigInt or interval per row. A timestamp out there takes the row-by-row operation.
 */
function shiftTimestamps(type: SqlType, a: Column, b: Column, n: number, shift: number, op: (a: Value, b: Value, zone: TimeZone) => Value, ctx: EvalContext): Column {
  const src = a.values as BigInt64Array;
  const w = new Int32Array(src.buffer, src.byteOffset, 2 * n);
  const values = new BigInt64Array(n);
  const out = new Int32Array(values.buffer, 0, 2 * n);
  let validity: Uint8Array | null = a.validity ? a.validity.slice() : null;
  for (let i = 0; i < n; i++) {
    if (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const x = w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0);
    if (Math.abs(x) < TWO_52) {
      const r = x + shift;
      const hi = Math.floor(r / 4294967296);
      out[2 * i] = (r - hi * 4294967296) | 0;
      out[2 * i + 1] = hi | 0;
      continue;
    }
    try {
      values[i] = op(src[i]!, getString(b, i), ctx.zone ?? UTC) as bigint;
    } catch (e) {
      if (!(e instanceof SluiceError)) throw e;
      ctx.onRowError(e);
      validity = markNull(validity, n, i);
    }
  }
  return { type, length: n, values, validity };
}

const DEC_OPS = { add: addDec, sub: subDec, mul: mulDec, div: divDec, mod: modDec } as const;

const TWO_53 = 2 ** 53;

/**
 * a op b for small decimals (see smallDecAt), when the result's digits are exact as a double
 * too: written at out[at], returning the end; -1 when the exact way must do it.
 */
function smallDecOp(fn: 'add' | 'sub' | 'mul', x: number, xs: number, y: number, ys: number, out: Uint8Array, at: number): number {
  let r: number;
  let scale: number;
  if (fn === 'mul') {
    r = x * y;
    scale = xs + ys;
  } else {
    // PostgreSQL's scale of a sum is the larger one; the other operand is raised to it.
    scale = xs > ys ? xs : ys;
    if (scale - xs > 15 || scale - ys > 15) return -1;
    const xr = x * POW10_F[scale - xs]!;
    const yr = y * POW10_F[scale - ys]!;
    if (!(Math.abs(xr) < TWO_53 && Math.abs(yr) < TWO_53)) return -1;
    r = fn === 'add' ? xr + yr : xr - yr;
  }
  // A double product or sum below 2^53 in magnitude is the exact one.
  if (!(Math.abs(r) < TWO_53) || scale > SMALL_DEC_MAX_SCALE) return -1;
  return writeSmallDec(out, at, r, scale);
}

const POW10_F = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Whether an expression is the same value on every row: a literal, or a cast of one. */
function isConstant(e: BoundExpr): boolean {
  return e.kind === 'lit' || (e.kind === 'cast' && isConstant(e.arg));
}

/** Exact NUMERIC arithmetic, row by row over the decimal texts (PostgreSQL's result scales). */
function numericArithmetic(fn: 'add' | 'sub' | 'mul' | 'div' | 'mod', type: SqlType): (a: Column, b: Column, n: number, ctx: EvalContext) => Column {
  const op = DEC_OPS[fn];
  if (fn === 'add' || fn === 'sub' || fn === 'mul') return smallNumericArithmetic(fn, type);
  return (a, b, n, ctx) => {
    const out = new ColumnBuilder(type, n);
    for (let i = 0; i < n; i++) {
      if (!isValid(a, i) || !isValid(b, i)) {
        out.appendNull();
        continue;
      }
      try {
        out.appendString(formatDec(op(decOf(getString(a, i)), decOf(getString(b, i)))));
      } catch (e) {
        if (!(e instanceof SluiceError)) throw e;
        ctx.onRowError(e);
        out.appendNull();
      }
    }
    return out.finish();
  };
}

/**
 * The scratch buffer `out` with `text` (a NUMERIC value's ASCII text, from the exact way) written
 * at `at`: a grown buffer, keeping out[0…at), when it does not fit.
 */
function putText(out: Uint8Array, at: number, text: string): Uint8Array {
  if (at + text.length > out.length) out = scratchBytes(at + text.length, at);
  for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
  return out;
}

/**
 * +, - and * of NUMERIC columns: small values straight from byte to byte (smallDecOp), others
 * through the exact decimal of their text. Neither can fail.
 */
function smallNumericArithmetic(fn: 'add' | 'sub' | 'mul', type: SqlType): (a: Column, b: Column, n: number) => Column {
  const op = DEC_OPS[fn];
  return (a, b, n) => {
    const validity = andValidity(a, b, n);
    const offsets = new Int32Array(n + 1);
    let out = scratchBytes(n * 12 + 64);
    let at = 0;
    const av = a.values as Uint8Array;
    const ao = a.offsets!;
    const bv = b.values as Uint8Array;
    const bo = b.offsets!;
    for (let i = 0; i < n; i++) {
      if (validity === null || getBit(validity, i)) {
        if (at + SMALL_DEC_MAX_SCALE + 20 > out.length) out = scratchBytes(2 * out.length, at);
        const x = smallDecAt(av, ao[i]!, ao[i + 1]!);
        const xs = smallDecScale();
        const y = smallDecAt(bv, bo[i]!, bo[i + 1]!);
        const ys = smallDecScale();
        let end = Number.isNaN(x) || Number.isNaN(y) ? -1 : smallDecOp(fn, x, xs, y, ys, out, at);
        if (end < 0) {
          const text = formatDec(op(decOf(getString(a, i)), decOf(getString(b, i))));
          out = putText(out, at, text);
          end = at + text.length;
        }
        at = end;
      }
      offsets[i + 1] = at;
    }
    return { type, length: n, values: out.slice(0, at), offsets, validity };
  };
}

/**
 * +, - and * of a NUMERIC column and an INT or BIGINT column cast to NUMERIC (`0.908 * price`),
 * without the cast's column: an integer below 10^15 in magnitude is what smallDecAt reads from
 * its decimal text (scale 0), so it goes straight into smallDecOp; other rows take the exact
 * way over the texts. The same values and texts as smallNumericArithmetic over the cast column.
 * (One kernel for both, reading b by its type row by row, ran this integer case about 5% slower
 * in an A/B run, so the two loops stay apart.)
 */
export function numericIntegerArithmetic(fn: 'add' | 'sub' | 'mul', numericFirst: boolean, intType: 'int' | 'bigint', type: SqlType, constant: string | null = null): (a: Column | null, b: Column, n: number) => Column {
  const op = DEC_OPS[fn];
  // A NUMERIC constant (`0.908 * price`): read once, not from a column of n copies of it.
  const cBytes = constant === null ? null : Uint8Array.from(constant, (ch) => ch.charCodeAt(0));
  const cx = cBytes === null ? NaN : smallDecAt(cBytes, 0, cBytes.length);
  const cxs = cBytes === null ? 0 : smallDecScale();
  return (a, b, n) => {
    const validity = a === null ? (b.validity ? b.validity.slice() : null) : andValidity(a, b, n);
    const offsets = new Int32Array(n + 1);
    let out = scratchBytes(n * 12 + 64);
    let at = 0;
    const av = a === null ? null : (a.values as Uint8Array);
    const ao = a === null ? null : a.offsets!;
    const iv = b.values as Int32Array | BigInt64Array;
    const halves = intType === 'bigint' ? new Int32Array(iv.buffer, iv.byteOffset, 2 * n) : null;
    for (let i = 0; i < n; i++) {
      if (validity === null || getBit(validity, i)) {
        if (at + SMALL_DEC_MAX_SCALE + 20 > out.length) out = scratchBytes(2 * out.length, at);
        const x = av === null ? cx : smallDecAt(av, ao![i]!, ao![i + 1]!);
        const xs = av === null ? cxs : smallDecScale();
        let y: number;
        if (halves === null) y = (iv as Int32Array)[i]!;
        else {
          const hi = halves[2 * i + 1]!;
          y = hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + (halves[2 * i]! >>> 0) : NaN;
        }
        let end = -1;
        if (!Number.isNaN(x) && y > -1e15 && y < 1e15) end = numericFirst ? smallDecOp(fn, x, xs, y, 0, out, at) : smallDecOp(fn, y, 0, x, xs, out, at);
        if (end < 0) {
          const xd = decOf(a === null ? constant! : getString(a, i));
          const yd = decOf(String(halves === null ? (iv as Int32Array)[i]! : (iv as BigInt64Array)[i]!));
          const text = formatDec(numericFirst ? op(xd, yd) : op(yd, xd));
          out = putText(out, at, text);
          end = at + text.length;
        }
        at = end;
      }
      offsets[i + 1] = at;
    }
    return { type, length: n, values: out.slice(0, at), offsets, validity };
  };
}

function binary(fn: 'add' | 'sub' | 'mul' | 'div' | 'mod'): ScalarFunction {
  return (args, argExprs, type) => {
    const k = arithmetic(fn, type, argExprs[0]!.type, argExprs[1]!.type, isConstant(argExprs[1]!));
    return (b, ctx) => k(args[0]!(b, ctx), args[1]!(b, ctx), b.length, ctx);
  };
}

const neg: ScalarFunction = (args, _argExprs, type) => {
  const s = storageOf(type);
  return (b, ctx) => {
    const a = args[0]!(b, ctx);
    const n = b.length;
    if (s === 'f64') return { ...a, values: (a.values as Float64Array).map((x) => -x) };
    if (type === 'interval') {
      const out = new ColumnBuilder(type, n);
      for (let i = 0; i < n; i++) {
        if (!isValid(a, i)) {
          out.appendNull();
          continue;
        }
        try {
          out.appendString(encodeInterval(negateInterval(decodeInterval(getString(a, i)))));
        } catch (e) {
          if (!(e instanceof SluiceError)) throw e;
          ctx.onRowError(e);
          out.appendNull();
        }
      }
      return out.finish();
    }
    if (type === 'numeric') {
      const out = new ColumnBuilder(type, n);
      for (let i = 0; i < n; i++) {
        if (isValid(a, i)) out.appendString(formatDec(negDec(decOf(getString(a, i)))));
        else out.appendNull();
      }
      return out.finish();
    }
    if (s === 'i32') {
      let validity: Uint8Array | null = a.validity ? a.validity.slice() : null;
      const v = a.values as Int32Array;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        if (v[i] === I32_MIN && isValid(a, i)) {
          validity = markNull(validity, n, i);
          ctx.onRowError(new SluiceError('numeric_out_of_range', 'integer out of range'));
        } else out[i] = -v[i]!;
      }
      return { type, length: n, values: out, validity };
    }
    return { ...a, values: (a.values as BigInt64Array).map((x) => -x) };
  };
};

/** The arithmetic functions' implementations. */
export const ARITHMETIC_FUNCTIONS = syntaxFunctions({
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  mod: binary('mod'),
  neg,
});
