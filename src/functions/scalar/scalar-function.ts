/**
 * The shape of a scalar function — its signature and its kernel, one registry entry — and the
 * helpers its kernels share: validity intersection, boolean columns, and the value-at-a-time
 * adapters for functions without a typed-array loop.
 */
import { ColumnBuilder, getString, getValue, isValid, newBitmap, setBit, type Batch, type Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SqlType, Value } from '../../common/types.js';
import type { EvalContext, Kernel } from '../../exec/eval.js';
import type { BoundExpr } from '../../planner/expr.js';
import { callable, SYNTAX, type ScalarBinder, type ScalarSignature } from './signature.js';

/**
 * A scalar function's implementation: given its compiled arguments, the bound argument
 * expressions (for their types, and for literal arguments a kernel can specialise on) and the
 * result type, the kernel for one call.
 */
export type ScalarFunction = (args: readonly Kernel[], argExprs: readonly BoundExpr[], type: SqlType) => Kernel;

/** One scalar function, as its registry entry holds it: how the binder types a call, and its kernel. */
export interface ScalarDefinition {
  readonly signature: ScalarSignature;
  readonly kernel: ScalarFunction;
}

/** A function SQL calls by any of `names`, typed by `bind`. */
export function byName(names: readonly string[], bind: ScalarBinder, kernel: ScalarFunction): ScalarDefinition {
  return { signature: callable(names, bind), kernel };
}

/** A function the binder produces only from SQL syntax (an operator, IS NULL, IN, LIKE, …). */
export function bySyntax(kernel: ScalarFunction): ScalarDefinition {
  return { signature: SYNTAX, kernel };
}

/** Functions bound only from SQL syntax, by name: each kernel as {@link bySyntax} makes it. */
export function syntaxFunctions<K extends string>(kernels: Readonly<Record<K, ScalarFunction>>): Record<K, ScalarDefinition> {
  const out = {} as Record<K, ScalarDefinition>;
  for (const k of Object.keys(kernels) as K[]) out[k] = bySyntax(kernels[k]);
  return out;
}

/** Evaluates every argument kernel over a batch. */
export function evalAll(args: readonly Kernel[], b: Batch, ctx: EvalContext): Column[] {
  return args.map((k) => k(b, ctx));
}

/** The validity bitmap of a binary operation: valid where both inputs are (null when both have none). */
export function andValidity(a: Column, b: Column, n: number): Uint8Array | null {
  if (!a.validity && !b.validity) return null;
  if (!a.validity) return b.validity!.slice();
  if (!b.validity) return a.validity.slice();
  const out = new Uint8Array((n + 7) >> 3);
  for (let k = 0; k < out.length; k++) out[k] = a.validity[k]! & b.validity[k]!;
  return out;
}

/** A boolean column over a value bitmap. */
export function boolColumn(values: Uint8Array, validity: Uint8Array | null, n: number): Column {
  return { type: 'boolean', length: n, values, validity };
}

/** Marks row `i` NULL, allocating an all-valid bitmap first when there is none. */
export function markNull(validity: Uint8Array | null, n: number, i: number): Uint8Array {
  const v = validity ?? newBitmap(n, true);
  setBit(v, i, false);
  return v;
}

/** A kernel body applying `f` to the first (string) argument of rows where no argument is NULL. */
export function mapStrings(type: SqlType, f: (s: string, i: number) => Value): (cols: Column[], n: number) => Column {
  return (cols, n) => {
    const a = cols[0]!;
    const out = new ColumnBuilder(type, n);
    for (let i = 0; i < n; i++) {
      let ok = true;
      for (const c of cols) if (!isValid(c, i)) { ok = false; break; }
      if (!ok) out.appendNull();
      else out.append(f(getString(a, i), i));
    }
    return out.finish();
  };
}

/**
 * A kernel body applying `f` to each row's values; `strict` makes a row with a NULL argument
 * NULL without calling `f`. A SluiceError from `f` makes that row NULL and is reported.
 */
export function rowWise(type: SqlType, f: (vals: Value[]) => Value, strict = true): (cols: Column[], n: number, ctx: EvalContext) => Column {
  return (cols, n, ctx) => {
    const out = new ColumnBuilder(type, n);
    const vals: Value[] = new Array(cols.length);
    for (let i = 0; i < n; i++) {
      let anyNull = false;
      for (let k = 0; k < cols.length; k++) {
        vals[k] = getValue(cols[k]!, i);
        if (vals[k] === null) anyNull = true;
      }
      if (strict && anyNull) {
        out.appendNull();
        continue;
      }
      try {
        out.append(f(vals));
      } catch (e) {
        if (!(e instanceof SluiceError)) throw e;
        ctx.onRowError(e);
        out.appendNull();
      }
    }
    return out.finish();
  };
}

/** A scalar function computed row by row with `f` (see rowWise). */
export function rowWiseFunction(f: (vals: Value[]) => Value, strict = true): ScalarFunction {
  return (args, _argExprs, type) => {
    const k = rowWise(type, f, strict);
    return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
  };
}
