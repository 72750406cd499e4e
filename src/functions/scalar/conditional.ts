/**
 * Conditional scalar functions: COALESCE, NULLIF, GREATEST and LEAST. Their arguments are
 * already cast to one common type, so rows are copied column to column.
 */
import { ColumnBuilder, getBit, isValid, type Column } from '../../common/column.js';
import { compareKernel } from './comparison.js';
import { byName, evalAll, markNull, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { noFunction, variadicCommon } from './signature.js';

const coalesce: ScalarFunction = (args, _argExprs, type) => (b, ctx) => {
  const cols = evalAll(args, b, ctx);
  const out = new ColumnBuilder(type, b.length);
  for (let i = 0; i < b.length; i++) {
    let done = false;
    for (const c of cols) {
      if (isValid(c, i)) {
        out.appendFrom(c, i);
        done = true;
        break;
      }
    }
    if (!done) out.appendNull();
  }
  return out.finish();
};

const nullif: ScalarFunction = (args, _argExprs, type) => {
  const eq = compareKernel('eq', type);
  return (b, ctx) => {
    const [x, y] = evalAll(args, b, ctx) as [Column, Column];
    const e = eq(x, y, b.length);
    let validity: Uint8Array | null = x.validity ? x.validity.slice() : null;
    for (let i = 0; i < b.length; i++) if (isValid(e, i) && getBit(e.values as Uint8Array, i)) validity = markNull(validity, b.length, i);
    return { ...x, validity };
  };
};

function extreme(fn: 'greatest' | 'least'): ScalarFunction {
  return (args, _argExprs, type) => {
    const gt = compareKernel(fn === 'greatest' ? 'gt' : 'lt', type);
    return (b, ctx) => {
      const cols = evalAll(args, b, ctx);
      const out = new ColumnBuilder(type, b.length);
      const cmps = cols.map((c) => cols.map((d) => gt(c, d, b.length)));
      for (let i = 0; i < b.length; i++) {
        let best = -1;
        for (let k = 0; k < cols.length; k++) {
          if (!isValid(cols[k]!, i)) continue;
          if (best < 0 || getBit(cmps[k]![best]!.values as Uint8Array, i)) best = k;
        }
        if (best < 0) out.appendNull();
        else out.appendFrom(cols[best]!, i);
      }
      return out.finish();
    };
  };
}

/** The conditional functions' implementations. */
export const CONDITIONAL_FUNCTIONS = {
  coalesce: byName(['coalesce'], variadicCommon, coalesce),
  nullif: byName(['nullif'], (args, site) => {
    if (args.length !== 2) throw noFunction(site.name, args, site.pos);
    return variadicCommon(args, site);
  }, nullif),
  greatest: byName(['greatest'], variadicCommon, extreme('greatest')),
  least: byName(['least'], variadicCommon, extreme('least')),
} satisfies Record<string, ScalarDefinition>;
