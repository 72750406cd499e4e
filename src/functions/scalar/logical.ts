/**
 * Boolean scalar functions: AND, OR, NOT (three-valued, a byte of rows at a time), IS [NOT] NULL
 * and IS [NOT] TRUE/FALSE.
 */
import { getBit, isValid, newBitmap, setBit, type Column } from '../../common/column.js';
import { boolColumn, syntaxFunctions, type ScalarFunction } from './scalar-function.js';

/** Three-valued AND / OR of two boolean columns. */
export function logical(fn: 'and' | 'or', a: Column, b: Column, n: number): Column {
  const bytes = (n + 7) >> 3;
  const out = new Uint8Array(bytes);
  const ad = a.values as Uint8Array;
  const bd = b.values as Uint8Array;
  if (!a.validity && !b.validity) {
    for (let k = 0; k < bytes; k++) out[k] = fn === 'and' ? ad[k]! & bd[k]! : ad[k]! | bd[k]!;
    return boolColumn(out, null, n);
  }
  const valid = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k++) {
    const av = a.validity ? a.validity[k]! : 255;
    const bv = b.validity ? b.validity[k]! : 255;
    const x = ad[k]! & av;
    const y = bd[k]! & bv;
    if (fn === 'and') {
      out[k] = x & y;
      valid[k] = (av & bv) | (av & ~x) | (bv & ~y);
    } else {
      out[k] = x | y;
      valid[k] = (av & bv) | x | y;
    }
  }
  return boolColumn(out, valid, n);
}
function connective(fn: 'and' | 'or'): ScalarFunction {
  return (args) => (b, ctx) => logical(fn, args[0]!(b, ctx), args[1]!(b, ctx), b.length);
}

const not: ScalarFunction = (args) => (b, ctx) => {
  const a = args[0]!(b, ctx);
  return boolColumn((a.values as Uint8Array).map((x) => ~x & 255), a.validity, b.length);
};

function nullTest(fn: 'is_null' | 'is_not_null'): ScalarFunction {
  return (args) => (b, ctx) => {
    const a = args[0]!(b, ctx);
    const n = b.length;
    if (!a.validity) return boolColumn(newBitmap(n, fn === 'is_not_null'), null, n);
    const out = fn === 'is_not_null' ? a.validity.slice() : a.validity.map((x) => ~x & 255);
    return boolColumn(out, null, n);
  };
}

function truthTest(fn: 'is_true' | 'is_not_true' | 'is_false' | 'is_not_false'): ScalarFunction {
  const wantTrue = fn === 'is_true' || fn === 'is_not_true';
  const negate = fn === 'is_not_true' || fn === 'is_not_false';
  return (args) => (b, ctx) => {
    const a = args[0]!(b, ctx);
    const out = newBitmap(b.length, false);
    for (let i = 0; i < b.length; i++) {
      const r = isValid(a, i) && getBit(a.values as Uint8Array, i) === wantTrue;
      if (r !== negate) setBit(out, i, true);
    }
    return boolColumn(out, null, b.length);
  };
}

/** The boolean functions' implementations. */
export const LOGICAL_FUNCTIONS = syntaxFunctions({
  and: connective('and'),
  or: connective('or'),
  not,
  is_null: nullTest('is_null'),
  is_not_null: nullTest('is_not_null'),
  is_true: truthTest('is_true'),
  is_not_true: truthTest('is_not_true'),
  is_false: truthTest('is_false'),
  is_not_false: truthTest('is_not_false'),
});
