/**
 * The expression compiler: turns a BoundExpr into a kernel `(batch, ctx) => Column` that works
 * column-at-a-time over typed arrays and validity bitmaps. Kernels are chosen once per
 * expression node (at compile time) by storage class, so the per-batch work is tight loops.
 *
 * Row-level errors (division by zero, overflow, a bad cast) make that row's value NULL and are
 * reported through ctx.onRowError: a bad row never stops a view (as in RisingWave).
 */
import { createHash } from 'node:crypto';
import {
  ColumnBuilder, constantColumn, decodeUtf8, getBit, getString, isValid, newBitmap, setBit, getValue,
  type Batch, type Column,
} from '../common/column.js';
import { SluiceError, assertNever } from '../common/errors.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import { castValue, roundHalfAway, formatTimestamp } from '../common/values.js';
import type { BoundExpr, ScalarFn } from '../planner/expr.js';

export interface EvalContext {
  /** The epoch's batch time T_n in microseconds: now() and PROCTIME(). */
  readonly now: bigint;
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

export type Kernel = (b: Batch, ctx: EvalContext) => Column;

type Storage = 'i32' | 'i64' | 'f64' | 'bool' | 'utf8' | 'null';

export function storageOf(t: SqlType): Storage {
  switch (t) {
    case 'int':
    case 'date':
      return 'i32';
    case 'bigint':
    case 'timestamp':
    case 'interval':
      return 'i64';
    case 'double':
    case 'numeric':
      return 'f64';
    case 'boolean':
      return 'bool';
    case 'varchar':
      return 'utf8';
    case 'null':
      return 'null';
  }
}

export function compile(e: BoundExpr): Kernel {
  switch (e.kind) {
    case 'col': {
      const idx = e.index;
      return (b) => b.columns[idx]!;
    }
    case 'lit': {
      const { value, type } = e;
      return (b) => constantColumn(type, value, b.length);
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
      return compileCall(e.fn, e.args, e.type);
    default:
      return assertNever(e);
  }
}

function andValidity(a: Column, b: Column, n: number): Uint8Array | null {
  if (!a.validity && !b.validity) return null;
  if (!a.validity) return b.validity!.slice();
  if (!b.validity) return a.validity.slice();
  const out = new Uint8Array((n + 7) >> 3);
  for (let k = 0; k < out.length; k++) out[k] = a.validity[k]! & b.validity[k]!;
  return out;
}

function boolColumn(values: Uint8Array, validity: Uint8Array | null, n: number): Column {
  return { type: 'boolean', length: n, values, validity };
}

function markNull(validity: Uint8Array | null, n: number, i: number): Uint8Array {
  const v = validity ?? newBitmap(n, true);
  setBit(v, i, false);
  return v;
}

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

function arithmetic(fn: 'add' | 'sub' | 'mul' | 'div' | 'mod', type: SqlType, leftType: SqlType, rightType: SqlType): (a: Column, b: Column, n: number, ctx: EvalContext) => Column {
  const ls = storageOf(leftType);
  const rs = storageOf(rightType);
  const outStorage = storageOf(type);
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
      for (let i = 0; i < n; i++) {
        if (validity !== null && !getBit(validity, i)) continue;
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
    if (ls === 'i64' && rs === 'f64' && outStorage === 'i64') {
      // interval * number, interval / number
      const x = a.values as BigInt64Array;
      const y = b.values as Float64Array;
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        if (validity !== null && !getBit(validity, i)) continue;
        if (fn === 'div' && y[i] === 0) {
          err(i, new SluiceError('division_by_zero', 'division by zero'));
          continue;
        }
        out[i] = BigInt(Math.round(fn === 'mul' ? Number(x[i]!) * y[i]! : Number(x[i]!) / y[i]!));
      }
      return { type, length: n, values: out, validity };
    }
    throw new SluiceError('internal', `no arithmetic kernel for ${leftType} ${fn} ${rightType}`);
  };
}

type Cmp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

function compareKernel(fn: Cmp, type: SqlType): (a: Column, b: Column, n: number) => Column {
  const s = storageOf(type);
  return (a, b, n) => {
    const validity = andValidity(a, b, n);
    const out = newBitmap(n, false);
    if (s === 'utf8') {
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

function logical(fn: 'and' | 'or', a: Column, b: Column, n: number): Column {
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

function mapStrings(type: SqlType, f: (s: string, i: number) => Value): (cols: Column[], n: number) => Column {
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

function rowWise(type: SqlType, f: (vals: Value[]) => Value, strict = true): (cols: Column[], n: number, ctx: EvalContext) => Column {
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

export function likeToRegExp(pattern: string, insensitive: boolean): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', insensitive ? 'is' : 's');
}

const TRUNC_MICROS: Record<string, number> = {
  microseconds: 1, microsecond: 1, milliseconds: 1000, millisecond: 1000, second: 1e6, seconds: 1e6,
  minute: 6e7, minutes: 6e7, hour: 3.6e9, hours: 3.6e9, day: 8.64e10, days: 8.64e10,
};

export function dateTrunc(unit: string, micros: bigint): bigint {
  const u = unit.toLowerCase();
  const step = TRUNC_MICROS[u];
  if (step !== undefined) {
    const s = BigInt(step);
    const r = micros % s;
    return micros - (r < 0n ? r + s : r);
  }
  const d = new Date(Number(micros / 1000n) - (micros % 1000n < 0n ? 1 : 0));
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (u) {
    case 'week': {
      const day = Date.UTC(y, m, d.getUTCDate());
      const dow = (new Date(day).getUTCDay() + 6) % 7;
      return BigInt(day - dow * 86_400_000) * 1000n;
    }
    case 'month':
      return BigInt(Date.UTC(y, m, 1)) * 1000n;
    case 'quarter':
      return BigInt(Date.UTC(y, m - (m % 3), 1)) * 1000n;
    case 'year':
      return BigInt(Date.UTC(y, 0, 1)) * 1000n;
    case 'decade':
      return BigInt(Date.UTC(y - (y % 10), 0, 1)) * 1000n;
    default:
      throw new SluiceError('invalid_parameter', `unit "${unit}" not recognized for date_trunc`, { hint: 'Use second, minute, hour, day, week, month, quarter or year.' });
  }
}

export function extractField(field: string, micros: bigint, type: SqlType): number {
  const f = field.toLowerCase();
  if (type === 'interval') {
    const us = Number(micros);
    switch (f) {
      case 'epoch': return us / 1e6;
      case 'day': case 'days': return Math.trunc(us / 8.64e10);
      case 'hour': case 'hours': return Math.trunc((us % 8.64e10) / 3.6e9);
      case 'minute': case 'minutes': return Math.trunc((us % 3.6e9) / 6e7);
      case 'second': case 'seconds': return (us % 6e7) / 1e6;
      default: throw new SluiceError('invalid_parameter', `interval unit "${field}" not supported`);
    }
  }
  const ms = Number(micros / 1000n) - (micros % 1000n < 0n ? 1 : 0);
  const d = new Date(ms);
  const subSecondMicros = Number(((micros % 60_000_000n) + 60_000_000n) % 60_000_000n);
  switch (f) {
    case 'epoch': return Number(micros) / 1e6;
    case 'year': case 'years': return d.getUTCFullYear();
    case 'quarter': return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'month': case 'months': return d.getUTCMonth() + 1;
    case 'day': case 'days': return d.getUTCDate();
    case 'hour': case 'hours': return d.getUTCHours();
    case 'minute': case 'minutes': return d.getUTCMinutes();
    case 'second': case 'seconds': return subSecondMicros / 1e6;
    case 'millisecond': case 'milliseconds': return subSecondMicros / 1e3;
    case 'microsecond': case 'microseconds': return subSecondMicros;
    case 'dow': return d.getUTCDay();
    case 'isodow': return d.getUTCDay() === 0 ? 7 : d.getUTCDay();
    case 'doy': return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
    case 'week': {
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      const dayNum = (t.getUTCDay() + 6) % 7;
      t.setUTCDate(t.getUTCDate() - dayNum + 3);
      const firstThursday = new Date(Date.UTC(t.getUTCFullYear(), 0, 4));
      return 1 + Math.round(((t.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
    }
    default:
      throw new SluiceError('invalid_parameter', `unit "${field}" not recognized for extract`, { hint: 'Use epoch, year, quarter, month, week, day, dow, doy, hour, minute or second.' });
  }
}

function toChar(micros: bigint, fmt: string): string {
  const s = formatTimestamp(micros);
  const [date, time = '00:00:00'] = s.split(' ');
  const [Y, M, D] = date!.split('-');
  const [h, mi, sec] = time.split(':');
  return fmt
    .replace(/YYYY/g, Y!)
    .replace(/MM/g, M!)
    .replace(/DD/g, D!)
    .replace(/HH24/g, h!)
    .replace(/MI/g, mi!)
    .replace(/SS/g, sec!.slice(0, 2));
}

function jsonGet(doc: string, key: string, asText: boolean): Value {
  let v: unknown;
  try {
    v = JSON.parse(doc);
  } catch {
    throw new SluiceError('invalid_input', `invalid input syntax for type json: "${doc.slice(0, 40)}"`);
  }
  let r: unknown;
  if (Array.isArray(v)) {
    const idx = Number(key);
    r = Number.isInteger(idx) ? v[idx < 0 ? v.length + idx : idx] : undefined;
  } else if (v !== null && typeof v === 'object') r = (v as Record<string, unknown>)[key];
  if (r === undefined) return null;
  if (asText) return r === null ? null : typeof r === 'string' ? r : JSON.stringify(r);
  return JSON.stringify(r);
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

function compileCall(fn: ScalarFn, argExprs: readonly BoundExpr[], type: SqlType): Kernel {
  const args = argExprs.map(compile);
  const argTypes = argExprs.map((a) => a.type);
  const evalArgs = (b: Batch, ctx: EvalContext) => args.map((k) => k(b, ctx));
  switch (fn) {
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
    case 'mod': {
      const k = arithmetic(fn, type, argTypes[0]!, argTypes[1]!);
      return (b, ctx) => k(args[0]!(b, ctx), args[1]!(b, ctx), b.length, ctx);
    }
    case 'neg': {
      const s = storageOf(type);
      return (b, ctx) => {
        const a = args[0]!(b, ctx);
        const n = b.length;
        if (s === 'f64') return { ...a, values: (a.values as Float64Array).map((x) => -x) };
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
    }
    case 'eq':
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      const k = compareKernel(fn, argTypes[0]!);
      return (b, ctx) => k(args[0]!(b, ctx), args[1]!(b, ctx), b.length);
    }
    case 'is_distinct':
    case 'is_not_distinct': {
      const k = compareKernel('eq', argTypes[0]!);
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
    }
    case 'and':
    case 'or':
      return (b, ctx) => logical(fn, args[0]!(b, ctx), args[1]!(b, ctx), b.length);
    case 'not':
      return (b, ctx) => {
        const a = args[0]!(b, ctx);
        return boolColumn((a.values as Uint8Array).map((x) => ~x & 255), a.validity, b.length);
      };
    case 'is_null':
    case 'is_not_null':
      return (b, ctx) => {
        const a = args[0]!(b, ctx);
        const n = b.length;
        if (!a.validity) return boolColumn(newBitmap(n, fn === 'is_not_null'), null, n);
        const out = fn === 'is_not_null' ? a.validity.slice() : a.validity.map((x) => ~x & 255);
        return boolColumn(out, null, n);
      };
    case 'is_true':
    case 'is_not_true':
    case 'is_false':
    case 'is_not_false': {
      const wantTrue = fn === 'is_true' || fn === 'is_not_true';
      const negate = fn === 'is_not_true' || fn === 'is_not_false';
      return (b, ctx) => {
        const a = args[0]!(b, ctx);
        const out = newBitmap(b.length, false);
        for (let i = 0; i < b.length; i++) {
          const r = isValid(a, i) && getBit(a.values as Uint8Array, i) === wantTrue;
          if (r !== negate) setBit(out, i, true);
        }
        return boolColumn(out, null, b.length);
      };
    }
    case 'in': {
      const t = argTypes[0]!;
      const eq = compareKernel('eq', t);
      return (b, ctx) => {
        const cols = evalArgs(b, ctx);
        let acc: Column | null = null;
        for (let k = 1; k < cols.length; k++) {
          const c = eq(cols[0]!, cols[k]!, b.length);
          acc = acc ? logical('or', acc, c, b.length) : c;
        }
        return acc!;
      };
    }
    case 'like':
    case 'ilike': {
      const insensitive = fn === 'ilike';
      const pat = argExprs[1]!;
      if (pat.kind === 'lit' && typeof pat.value === 'string') {
        const p = pat.value;
        const simple = !insensitive && !/[_\\]/.test(p);
        const inner = p.replace(/^%/, '').replace(/%$/, '');
        let test: (s: string) => boolean;
        if (simple && !inner.includes('%')) {
          if (p.startsWith('%') && p.endsWith('%') && p.length >= 2) test = (s) => s.includes(inner);
          else if (p.endsWith('%')) test = (s) => s.startsWith(inner);
          else if (p.startsWith('%')) test = (s) => s.endsWith(inner);
          else test = (s) => s === p;
        } else {
          const re = likeToRegExp(p, insensitive);
          test = (s) => re.test(s);
        }
        return (b, ctx) => {
          const a = args[0]!(b, ctx);
          const out = newBitmap(b.length, false);
          for (let i = 0; i < b.length; i++) if (isValid(a, i) && test(getString(a, i))) setBit(out, i, true);
          return boolColumn(out, a.validity ? a.validity.slice() : null, b.length);
        };
      }
      const k = rowWise('boolean', ([s, p]) => likeToRegExp(p as string, insensitive).test(s as string));
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'concat':
      return (b, ctx) => {
        const [x, y] = evalArgs(b, ctx) as [Column, Column];
        const n = b.length;
        const out = new ColumnBuilder('varchar', n);
        const xo = x.offsets!;
        const yo = y.offsets!;
        for (let i = 0; i < n; i++) {
          if (!isValid(x, i) || !isValid(y, i)) out.appendNull();
          else out.appendString(decodeUtf8(x.values as Uint8Array, xo[i]!, xo[i + 1]!) + decodeUtf8(y.values as Uint8Array, yo[i]!, yo[i + 1]!));
        }
        return out.finish();
      };
    case 'concat_ws': {
      // NULL separator → NULL; NULL elements are skipped (PostgreSQL's concat_ws).
      const k = rowWise('varchar', ([sep, ...parts]) => (sep === null ? null : parts.filter((p) => p !== null).join(sep as string)), false);
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'upper':
    case 'lower':
    case 'trim':
    case 'ltrim':
    case 'rtrim':
    case 'reverse':
    case 'md5':
    case 'length': {
      const f: (s: string) => Value = {
        upper: (s: string) => s.toUpperCase(),
        lower: (s: string) => s.toLowerCase(),
        trim: (s: string) => s.trim(),
        ltrim: (s: string) => s.trimStart(),
        rtrim: (s: string) => s.trimEnd(),
        reverse: (s: string) => [...s].reverse().join(''),
        md5: (s: string) => md5(s),
        length: (s: string) => [...s].length,
      }[fn];
      const k = mapStrings(type, f);
      return (b, ctx) => k(evalArgs(b, ctx), b.length);
    }
    case 'substr':
    case 'replace':
    case 'strpos':
    case 'left':
    case 'right':
    case 'split_part':
    case 'starts_with':
    case 'lpad':
    case 'rpad': {
      const f: (v: Value[]) => Value = {
        substr: ([s, from, len]: Value[]) => {
          const chars = [...(s as string)];
          const start = (from as number) - 1;
          if (len === undefined) return chars.slice(Math.max(0, start)).join('');
          if ((len as number) < 0) throw new SluiceError('invalid_parameter', 'negative substring length not allowed');
          const end = start + (len as number);
          return chars.slice(Math.max(0, start), Math.max(0, end)).join('');
        },
        replace: ([s, a, r]: Value[]) => (a === '' ? (s as string) : (s as string).split(a as string).join(r as string)),
        strpos: ([s, sub]: Value[]) => [...(s as string).slice(0, Math.max(0, (s as string).indexOf(sub as string)))].length + ((s as string).includes(sub as string) ? 1 : 0) * 1 - ((s as string).includes(sub as string) ? 0 : 0),
        left: ([s, k]: Value[]) => { const c = [...(s as string)]; const n = k as number; return (n >= 0 ? c.slice(0, n) : c.slice(0, Math.max(0, c.length + n))).join(''); },
        right: ([s, k]: Value[]) => { const c = [...(s as string)]; const n = k as number; return (n >= 0 ? c.slice(Math.max(0, c.length - n)) : c.slice(-n)).join(''); },
        split_part: ([s, d, k]: Value[]) => {
          if ((k as number) === 0) throw new SluiceError('invalid_parameter', 'field position must not be zero');
          const parts = (d as string) === '' ? [s as string] : (s as string).split(d as string);
          const idx = (k as number) > 0 ? (k as number) - 1 : parts.length + (k as number);
          return parts[idx] ?? '';
        },
        starts_with: ([s, p]: Value[]) => (s as string).startsWith(p as string),
        lpad: ([s, len, fill]: Value[]) => pad(s as string, len as number, fill as string, true),
        rpad: ([s, len, fill]: Value[]) => pad(s as string, len as number, fill as string, false),
      }[fn];
      const strposFix = fn === 'strpos' ? ([s, sub]: Value[]) => {
        const i = (s as string).indexOf(sub as string);
        return i < 0 ? 0 : [...(s as string).slice(0, i)].length + 1;
      } : f;
      const k = rowWise(type, strposFix);
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'coalesce':
      return (b, ctx) => {
        const cols = evalArgs(b, ctx);
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
    case 'nullif': {
      const eq = compareKernel('eq', type);
      return (b, ctx) => {
        const [x, y] = evalArgs(b, ctx) as [Column, Column];
        const e = eq(x, y, b.length);
        let validity: Uint8Array | null = x.validity ? x.validity.slice() : null;
        for (let i = 0; i < b.length; i++) if (isValid(e, i) && getBit(e.values as Uint8Array, i)) validity = markNull(validity, b.length, i);
        return { ...x, validity };
      };
    }
    case 'greatest':
    case 'least': {
      const gt = compareKernel(fn === 'greatest' ? 'gt' : 'lt', type);
      return (b, ctx) => {
        const cols = evalArgs(b, ctx);
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
    }
    case 'abs':
    case 'floor':
    case 'ceil':
    case 'sqrt':
    case 'ln':
    case 'exp':
    case 'sign':
    case 'trunc':
    case 'round':
    case 'power': {
      const f: (v: Value[]) => Value = (vals) => {
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
      };
      const k = rowWise(type, f);
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'date_trunc': {
      const k = rowWise(type, ([u, t]) => dateTrunc(u as string, t as bigint));
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'extract': {
      const srcType = argTypes[1]!;
      const k = rowWise('double', ([f, t]) => extractField(f as string, t as bigint, srcType));
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'now':
      return (b, ctx) => constantColumn('timestamp', ctx.now, b.length);
    case 'json_get':
    case 'json_get_text': {
      const k = rowWise(type, ([d, key]) => jsonGet(d as string, key as string, fn === 'json_get_text'));
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    case 'to_char': {
      const k = rowWise(type, ([t, f]) => toChar(t as bigint, f as string));
      return (b, ctx) => k(evalArgs(b, ctx), b.length, ctx);
    }
    default:
      return assertNever(fn);
  }
}

function pad(s: string, len: number, fill: string, left: boolean): string {
  const chars = [...s];
  if (chars.length >= len) return chars.slice(0, Math.max(0, len)).join('');
  if (fill === '') return s;
  let p = '';
  while ([...p].length < len - chars.length) p += fill;
  p = [...p].slice(0, len - chars.length).join('');
  return left ? p + s : s + p;
}

/** Casts a whole column; rows that do not convert become NULL and are reported. */
export function castColumn(a: Column, from: SqlType, to: SqlType, ctx: EvalContext): Column {
  if (from === to) return a;
  const n = a.length;
  const fs = storageOf(from);
  const ts = storageOf(to);
  if (fs === ts && fs !== 'utf8' && !(from === 'date' || to === 'date')) return { ...a, type: to };
  if (fs === 'null') return constantColumn(to, null, n);
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
  const out = new ColumnBuilder(to, n);
  for (let i = 0; i < n; i++) {
    const v = getValue(a, i);
    if (v === null) {
      out.appendNull();
      continue;
    }
    try {
      out.append(castValue(v, from, to));
    } catch (e) {
      if (!(e instanceof SluiceError)) throw e;
      ctx.onRowError(e);
      out.appendNull();
    }
  }
  return out.finish();
}
