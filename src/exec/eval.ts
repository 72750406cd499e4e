/**
 * The expression compiler: turns a BoundExpr into a kernel `(batch, ctx) => Column` that works
 * column-at-a-time over typed arrays and validity bitmaps. Kernels are chosen once per
 * expression node (at compile time) by storage class, so the per-batch work is tight loops.
 * Function calls dispatch through the scalar registry (src/functions/scalar), which holds every
 * function's kernels.
 *
 * Row-level errors (division by zero, overflow, a bad cast) make that row's value NULL and are
 * reported through ctx.onRowError: a bad row never stops a view (as in RisingWave).
 */
import { ColumnBuilder, columnHead, constantColumn, getBit, isValid, getValue, type Batch, type Column } from '../common/column.js';
import { SluiceError, assertNever } from '../common/errors.js';
import { isArrayType, type Schema, type SqlType, type Value } from '../common/types.js';
import { castValue } from '../common/values.js';
import { scratchBytes, writeSmallDec } from '../common/decimal.js';
import { fixedOffset, UTC, type TimeZone } from '../common/time-zone.js';
import { SCALARS } from '../functions/scalar/index.js';
import { numericIntegerArithmetic } from '../functions/scalar/arithmetic.js';
import type { BoundExpr, ScalarFn } from '../planner/expr.js';
import { storageOf } from './storage.js';
import { compilePredict } from './ml/predict.js';

/** What kernels see of the running view besides the batch: the epoch's time, error and late-row sinks. */
export interface EvalContext {
  /** The epoch's batch time T_n in microseconds: now() and PROCTIME(). */
  readonly now: bigint;
  /**
   * The view's TimeZone (the session's when it was created), which zone-dependent casts and
   * functions of timestamptz read; UTC when absent (a source's watermark has no session).
   */
  readonly zone?: TimeZone;
  onRowError(e: SluiceError): void;
  /**
   * The view's event-time watermark (µs) before this epoch's input (rows below it are late)
   * and after it (windows ending at or before it close). Null when the view's inputs have none.
   */
  readonly watermark?: { readonly before: bigint | null; readonly after: bigint | null };
  /** Receives rows dropped as late, with the reason. */
  onLate?(rows: Batch, reason: string): void;
  /**
   * Joins stream rows with a table inside DuckDB (the DuckDB lookup strategy): returns rows of
   * the stream's columns followed by the table's `columns` (NULLs for LEFT without a match).
   */
  lookupInDuck?(req: {
    readonly table: string;
    readonly columns: readonly string[];
    readonly tableKeys: readonly string[];
    readonly streamKeys: readonly number[];
    readonly streamSchema: Schema;
    readonly batches: readonly Batch[];
    readonly left: boolean;
    readonly outputTypes: readonly SqlType[];
  }): Promise<Value[][]>;
}

/** A compiled expression: computes one column from a batch. */
export type Kernel = (b: Batch, ctx: EvalContext) => Column;

/** The kernel of a bound expression. */
export function compile(e: BoundExpr): Kernel {
  switch (e.kind) {
    case 'col': {
      const idx = e.index;
      return (b) => b.columns[idx]!;
    }
    case 'lit': {
      const { value, type } = e;
      // Finished columns are never written to, so one constant column, as long as the longest
      // batch so far, is shared by every batch: a shorter one gets a view of its head. (Rebuilt per
      // batch length, it was rebuilt for every file chunk, whose lengths all differ.)
      let cached: Column | null = null;
      const list = isArrayType(type);
      return (b) => {
        const n = b.length;
        if (cached === null || cached.length < n || (list && cached.length !== n)) cached = constantColumn(type, value, n);
        return cached.length === n ? cached : columnHead(cached, n);
      };
    }
    case 'cast': {
      const arg = compile(e.arg);
      const from = e.arg.type;
      const to = e.type;
      return (b, ctx) => castColumn(arg(b, ctx), from, to, ctx);
    }
    case 'case': {
      const whens = e.whens.map((w) => ({ when: compile(w.when), then: compile(w.then) }));
      const otherwise = e.otherwise ? compile(e.otherwise) : null;
      const type = e.type;
      return (b, ctx) => {
        const conds = whens.map((w) => w.when(b, ctx));
        const thens = whens.map((w) => w.then(b, ctx));
        const other = otherwise ? otherwise(b, ctx) : null;
        const out = new ColumnBuilder(type, b.length);
        for (let i = 0; i < b.length; i++) {
          let done = false;
          for (let k = 0; k < conds.length; k++) {
            const c = conds[k]!;
            if (isValid(c, i) && getBit(c.values as Uint8Array, i)) {
              out.appendFrom(thens[k]!, i);
              done = true;
              break;
            }
          }
          if (!done) {
            if (other) out.appendFrom(other, i);
            else out.appendNull();
          }
        }
        return out.finish();
      };
    }
    case 'call':
      if (e.model) return compilePredict(e.model, e.fn === 'predict_proba', e.args.map(compile), e.type);
      return compileCall(e.fn, e.args, e.type);
    default:
      return assertNever(e);
  }
}

function compileCall(fn: ScalarFn, argExprs: readonly BoundExpr[], type: SqlType): Kernel {
  return numericIntegerCall(fn, argExprs, type) ?? SCALARS[fn].kernel(argExprs.map(compile), argExprs, type);
}

/** An integer column cast to NUMERIC, as the binder writes it: the integer expression. */
function integerAsNumeric(e: BoundExpr): BoundExpr | null {
  return e.kind === 'cast' && e.type === 'numeric' && (e.arg.type === 'int' || e.arg.type === 'bigint') ? e.arg : null;
}

/**
 * NUMERIC +, - or * with an integer cast to NUMERIC on one side (`0.908 * price`): the integers
 * go into the arithmetic as they are, with no NUMERIC text column made of them in between.
 */
function numericIntegerCall(fn: ScalarFn, argExprs: readonly BoundExpr[], type: SqlType): Kernel | null {
  if ((fn !== 'add' && fn !== 'sub' && fn !== 'mul') || type !== 'numeric' || argExprs.length !== 2) return null;
  const [l, r] = argExprs as [BoundExpr, BoundExpr];
  const ri = integerAsNumeric(r);
  const li = ri === null ? integerAsNumeric(l) : null;
  const int = ri ?? li;
  const num = ri !== null ? l : r;
  if (int === null || num.type !== 'numeric') return null;
  const ik = compile(int);
  if (num.kind === 'lit' && num.value !== null) {
    // NULL literals keep the general path (their column makes every row NULL).
    const body = numericIntegerArithmetic(fn, ri !== null, int.type as 'int' | 'bigint', type, String(num.value));
    return (b, ctx) => body(null, ik(b, ctx), b.length);
  }
  const body = numericIntegerArithmetic(fn, ri !== null, int.type as 'int' | 'bigint', type);
  const nk = compile(num);
  return (b, ctx) => body(nk(b, ctx), ik(b, ctx), b.length);
}

/**
 * An INT or BIGINT column as NUMERIC: an integer's decimal text is its canonical NUMERIC text,
 * written digit by digit (a bigint beyond 2^53 through its string).
 */
function integersAsNumeric(a: Column, from: SqlType): Column {
  const n = a.length;
  const offsets = new Int32Array(n + 1);
  const out = scratchBytes(n * 20 + 1);
  const wide = from === 'bigint';
  const v = a.values as Int32Array | BigInt64Array;
  const halves = wide ? new Int32Array(v.buffer, v.byteOffset, 2 * n) : null;
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (isValid(a, i)) {
      let x: number;
      if (halves === null) x = (v as Int32Array)[i]!;
      else {
        const hi = halves[2 * i + 1]!;
        x = hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + (halves[2 * i]! >>> 0) : NaN;
      }
      if (Number.isNaN(x)) {
        const text = String((v as BigInt64Array)[i]!);
        for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
        at += text.length;
      } else at = writeSmallDec(out, at, x, 0);
    }
    offsets[i + 1] = at;
  }
  return { type: 'numeric', length: n, values: out.slice(0, at), offsets, validity: a.validity };
}

/** Casts a whole column; rows that do not convert become NULL and are reported. */
export function castColumn(a: Column, from: SqlType, to: SqlType, ctx: EvalContext): Column {
  if (from === to) return a;
  const n = a.length;
  const fs = storageOf(from);
  const ts = storageOf(to);
  if (fs === ts && fs !== 'utf8' && fs !== 'list' && !(from === 'date' || to === 'date') && from !== 'timestamptz' && to !== 'timestamptz' && from !== 'time' && to !== 'time') return { ...a, type: to };
  if (fs === 'null') return constantColumn(to, null, n);
  if ((from === 'timestamp' && to === 'timestamptz') || (from === 'timestamptz' && to === 'timestamp')) {
    // A fixed zone (UTC, where views of old and most streams run) shifts by a constant: no per-row lookup.
    const fixed = fixedOffset(ctx.zone ?? UTC);
    if (fixed === 0) return { ...a, type: to };
    if (fixed !== null) {
      const shift = BigInt(from === 'timestamp' ? -fixed : fixed) * 1_000_000n;
      const v = a.values as BigInt64Array;
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = v[i]! + shift;
      return { type: to, length: n, values: out, validity: a.validity };
    }
  }
  if (fs === 'i32' && ts === 'f64' && from === 'int') {
    const v = a.values as Int32Array;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = v[i]!;
    return { type: to, length: n, values: out, validity: a.validity };
  }
  if (fs === 'i32' && ts === 'i64' && from === 'int') {
    const v = a.values as Int32Array;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(v[i]!);
    return { type: to, length: n, values: out, validity: a.validity };
  }
  if (fs === 'i64' && ts === 'f64' && from === 'bigint') {
    const v = a.values as BigInt64Array;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = Number(v[i]!);
    return { type: to, length: n, values: out, validity: a.validity };
  }
  if (to === 'numeric' && (from === 'int' || from === 'bigint')) return integersAsNumeric(a, from);
  const out = new ColumnBuilder(to, n);
  for (let i = 0; i < n; i++) {
    const v = getValue(a, i);
    if (v === null) {
      out.appendNull();
      continue;
    }
    try {
      out.append(castValue(v, from, to, ctx.zone));
    } catch (e) {
      if (!(e instanceof SluiceError)) throw e;
      ctx.onRowError(e);
      out.appendNull();
    }
  }
  return out.finish();
}
