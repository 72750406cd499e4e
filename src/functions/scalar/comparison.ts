/**
 * Comparison scalar functions (= <> < <= > >=, IS [NOT] DISTINCT FROM, IN) and the comparison
 * kernel other families reuse. Strings compare byte-wise (code point order), NUMERIC by value.
 */
import { getBit, getString, isValid, newBitmap, setBit, type Column } from '../../common/column.js';
import { compareDecimalText } from '../../common/decimal.js';
import { SPAN_LEN } from '../../common/interval.js';
import type { SqlType } from '../../common/types.js';
import { storageOf } from '../../exec/storage.js';
import { logical } from './logical.js';
import { andValidity, boolColumn, evalAll, syntaxFunctions, type ScalarFunction } from './scalar-function.js';

/** A comparison operator. */
export type Cmp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** A kernel body comparing two columns of storage class `type` row by row. */
export function compareKernel(fn: Cmp, type: SqlType): (a: Column, b: Column, n: number) => Column {
  const s = storageOf(type);
  return (a, b, n) => {
    const validity = andValidity(a, b, n);
    const out = newBitmap(n, false);
    if (type === 'numeric') {
      for (let i = 0; i < n; i++) {
        if (validity !== null && !getBit(validity, i)) continue;
        if (test(fn, compareDecimalText(getString(a, i), getString(b, i)))) out[i >> 3]! |= 1 << (i & 7);
      }
    } else if (type === 'interval') {
      // By span ('1 mon' = '30 days'): the value's leading characters (common/interval.ts).
      const ao = a.offsets!;
      const bo = b.offsets!;
      const av = a.values as Uint8Array;
      const bv = b.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        if (validity !== null && !getBit(validity, i)) continue;
        const c = compareBytes(av, ao[i]!, ao[i]! + SPAN_LEN, bv, bo[i]!, bo[i]! + SPAN_LEN);
        if (test(fn, c)) out[i >> 3]! |= 1 << (i & 7);
      }
    } else if (s === 'utf8' && (fn === 'eq' || fn === 'ne')) {
      // Equality: values of different lengths differ, whatever their bytes (`word <> ''`).
      const ao = a.offsets!;
      const bo = b.offsets!;
      const av = a.values as Uint8Array;
      const bv = b.values as Uint8Array;
      const want = fn === 'eq';
      for (let i = 0; i < n; i++) {
        const as = ao[i]!;
        const bs = bo[i]!;
        const len = ao[i + 1]! - as;
        let same = bo[i + 1]! - bs === len;
        for (let k = 0; same && k < len; k++) same = av[as + k] === bv[bs + k];
        if (same === want) out[i >> 3]! |= 1 << (i & 7);
      }
    } else if (s === 'utf8') {
      const ao = a.offsets!;
      const bo = b.offsets!;
      const av = a.values as Uint8Array;
      const bv = b.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        const c = compareBytes(av, ao[i]!, ao[i + 1]!, bv, bo[i]!, bo[i + 1]!);
        if (test(fn, c)) out[i >> 3]! |= 1 << (i & 7);
      }
    } else if (s === 'bool') {
      const av = a.values as Uint8Array;
      const bv = b.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        const c = Number(getBit(av, i)) - Number(getBit(bv, i));
        if (test(fn, c)) out[i >> 3]! |= 1 << (i & 7);
      }
    } else if (s === 'null') {
      // all NULL: validity already empty
    } else {
      const x = a.values as Float64Array;
      const y = b.values as Float64Array;
      switch (fn) {
        case 'eq': for (let i = 0; i < n; i++) if (x[i] === y[i]) out[i >> 3]! |= 1 << (i & 7); break;
        case 'ne': for (let i = 0; i < n; i++) if (x[i] !== y[i]) out[i >> 3]! |= 1 << (i & 7); break;
        case 'lt': for (let i = 0; i < n; i++) if (x[i]! < y[i]!) out[i >> 3]! |= 1 << (i & 7); break;
        case 'le': for (let i = 0; i < n; i++) if (x[i]! <= y[i]!) out[i >> 3]! |= 1 << (i & 7); break;
        case 'gt': for (let i = 0; i < n; i++) if (x[i]! > y[i]!) out[i >> 3]! |= 1 << (i & 7); break;
        case 'ge': for (let i = 0; i < n; i++) if (x[i]! >= y[i]!) out[i >> 3]! |= 1 << (i & 7); break;
      }
    }
    return boolColumn(out, validity, n);
  };
}

function test(fn: Cmp, c: number): boolean {
  switch (fn) {
    case 'eq': return c === 0;
    case 'ne': return c !== 0;
    case 'lt': return c < 0;
    case 'le': return c <= 0;
    case 'gt': return c > 0;
    case 'ge': return c >= 0;
  }
}

/** Byte-wise comparison of UTF-8 (equals code point order, which is PostgreSQL's "C" collation). */
export function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  const m = la < lb ? la : lb;
  for (let k = 0; k < m; k++) {
    const d = a[as + k]! - b[bs + k]!;
    if (d !== 0) return d;
  }
  return la - lb;
}
function comparison(fn: Cmp): ScalarFunction {
  return (args, argExprs) => {
    const k = compareKernel(fn, argExprs[0]!.type);
    return (b, ctx) => k(args[0]!(b, ctx), args[1]!(b, ctx), b.length);
  };
}

function distinctness(fn: 'is_distinct' | 'is_not_distinct'): ScalarFunction {
  return (args, argExprs) => {
    const k = compareKernel('eq', argExprs[0]!.type);
    const want = fn === 'is_not_distinct';
    return (b, ctx) => {
      const x = args[0]!(b, ctx);
      const y = args[1]!(b, ctx);
      const eq = k(x, y, b.length);
      const out = newBitmap(b.length, false);
      for (let i = 0; i < b.length; i++) {
        const vx = isValid(x, i);
        const vy = isValid(y, i);
        const same = vx && vy ? getBit(eq.values as Uint8Array, i) : vx === vy;
        if (same === want) setBit(out, i, true);
      }
      return boolColumn(out, null, b.length);
    };
  };
}

const inList: ScalarFunction = (args, argExprs) => {
  const t = argExprs[0]!.type;
  const eq = compareKernel('eq', t);
  return (b, ctx) => {
    const cols = evalAll(args, b, ctx);
    let acc: Column | null = null;
    for (let k = 1; k < cols.length; k++) {
      const c = eq(cols[0]!, cols[k]!, b.length);
      acc = acc ? logical('or', acc, c, b.length) : c;
    }
    return acc!;
  };
};

/** The comparison functions' implementations. */
export const COMPARISON_FUNCTIONS = syntaxFunctions({
  eq: comparison('eq'),
  ne: comparison('ne'),
  lt: comparison('lt'),
  le: comparison('le'),
  gt: comparison('gt'),
  ge: comparison('ge'),
  is_distinct: distinctness('is_distinct'),
  is_not_distinct: distinctness('is_not_distinct'),
  in: inList,
});
