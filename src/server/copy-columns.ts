/**
 * COPY FROM STDIN in the text format, parsed straight into the target columns: no array per
 * row, and int and double fields read from the line's characters into typed arrays without a
 * string each. A line with a backslash (escapes, the default NULL marker `\N`) goes through
 * copy-format.ts's field splitter. Values are converted exactly as bulk-load.ts converts text
 * fields: a plain number (or any varchar) in JS, anything else left as text for DuckDB's CAST,
 * a whole column at once (a column that meets such a value turns to text for the batch).
 */
import type { SqlType, Value } from '../common/types.js';
import { newBitmap } from '../common/column.js';
import type { CopyOptions } from '../parser/index.js';
import { plainDouble, plainValue, type ParsedBatch, type ParsedColumn } from '../exec/runtime/bulk-load.js';
import { textLineFields } from './copy-format.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** 10^k for the decimal fractions a double reads exactly (m / 10^k with m < 2^53 is correctly rounded). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** The fields of one target column of a batch. */
class ColumnFields {
  private kind: 'int' | 'double' | 'values' | 'text';
  private nums: Int32Array | Float64Array;
  private validity: Uint8Array | null = null;
  private vals: (Value | string)[] = [];
  length = 0;

  constructor(private readonly type: SqlType, private readonly cap: number) {
    this.kind = type === 'int' ? 'int' : type === 'double' ? 'double' : type === 'varchar' || type === 'bigint' || type === 'boolean' ? 'values' : 'text';
    this.nums = type === 'int' ? new Int32Array(cap) : type === 'double' ? new Float64Array(cap) : new Int32Array(0);
  }

  /** Adds the field s[a, b) (no escapes, not the NULL marker). */
  addRange(s: string, a: number, b: number): void {
    if (this.kind === 'int') {
      const v = intAt(s, a, b);
      if (v !== undefined) return this.addNumber(v);
    } else if (this.kind === 'double') {
      const v = doubleAt(s, a, b);
      if (v !== undefined) return this.addNumber(v);
    }
    this.add(s.slice(a, b));
  }

  /** Adds a field's value (null: the NULL marker). */
  add(v: string | null): void {
    const i = this.length;
    if (v === null) {
      if (this.kind === 'int' || this.kind === 'double') {
        this.grow(i);
        this.validity ??= newBitmap(this.nums.length, true);
        this.validity[i >> 3]! &= ~(1 << (i & 7));
        this.length++;
        return;
      }
      this.vals.push(null);
      this.length++;
      return;
    }
    if (this.kind === 'int' || this.kind === 'double') {
      const x = this.kind === 'int' ? plainValue(v, 'int') : plainDouble(v);
      if (x !== undefined) return this.addNumber(x as number);
      this.toText();
    } else if (this.kind === 'values' && this.type !== 'varchar') {
      const x = plainValue(v, this.type);
      if (x !== undefined) {
        this.vals.push(x);
        this.length++;
        return;
      }
      this.toText();
    }
    this.vals.push(v);
    this.length++;
  }

  /** The column of the batch. */
  finish(): ParsedColumn {
    if (this.kind === 'int' || this.kind === 'double') return { kind: 'numbers', values: this.nums.subarray(0, this.length), validity: this.validity };
    return this.kind === 'values' ? { kind: 'values', values: this.vals as Value[] } : { kind: 'text', values: this.vals as (string | null)[] };
  }

  private addNumber(v: number): void {
    const i = this.length;
    this.grow(i);
    this.nums[i] = v;
    this.length++;
  }

  private grow(i: number): void {
    if (i < this.nums.length) return;
    const bigger = this.kind === 'int' ? new Int32Array(Math.max(16, this.nums.length * 2)) : new Float64Array(Math.max(16, this.nums.length * 2));
    bigger.set(this.nums);
    this.nums = bigger;
    if (this.validity) {
      const v = newBitmap(bigger.length, true);
      v.set(this.validity);
      this.validity = v;
    }
  }

  /** From here on the column is text for DuckDB to cast; the values so far are written back as text. */
  private toText(): void {
    const out: (string | null)[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) {
      if (this.kind === 'int' || this.kind === 'double') {
        const valid = !this.validity || (this.validity[i >> 3]! >> (i & 7)) & 1;
        const x = this.nums[i]!;
        out[i] = valid ? (Object.is(x, -0) ? '-0' : String(x)) : null;
      } else {
        const x = this.vals[i];
        out[i] = x === null || x === undefined ? null : String(x);
      }
    }
    this.vals = out;
    this.kind = 'text';
  }
}

/** s[a, b) as an int32 when it is [+-]digits in range, else undefined (as plainInt). */
function intAt(s: string, a: number, b: number): number | undefined {
  let i = a;
  let c = s.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  if (i === b || b - i > 10) return undefined;
  let v = 0;
  for (; i < b; i++) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
  }
  if (neg) v = -v;
  return v >= INT32_MIN && v <= INT32_MAX ? v + 0 : undefined;
}

/**
 * s[a, b) as a double when it is [+-]digits[.digits] of at most 15 significant digits (what
 * plainDouble takes without an exponent), read as digits / 10^k; else undefined (the caller
 * then tries plainDouble on the text).
 */
function doubleAt(s: string, a: number, b: number): number | undefined {
  let i = a;
  let c = s.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  let m = 0;
  let digits = 0;
  let significant = 0;
  let frac = 0;
  let point = false;
  for (; i < b; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (c !== 48 || significant > 0) significant++;
      m = m * 10 + (c - 48);
      if (point) frac++;
    } else if (c === 46 && !point) point = true;
    else return undefined;
  }
  if (digits === 0 || significant > 15 || frac > 22) return undefined;
  const v = frac ? m / POW10[frac]! : m;
  return neg ? -v : v;
}

/**
 * Reads text-format COPY data as it arrives in pieces (which may cut lines anywhere) into the
 * target columns' fields; `take` hands the batch so far. A line with too few or too many fields
 * ends the data: it is the batch's `bad` line, and what follows is not read.
 */
export class CopyColumnReader {
  private pending = '';
  private headerLeft: boolean;
  private done = false;
  private cols: ColumnFields[];
  private bad: { at: number; fields: number } | null = null;
  private readonly nullMarker: string;
  /** Where each field of the line being read starts. */
  private readonly bounds: Int32Array;

  constructor(private readonly o: CopyOptions, private readonly types: readonly SqlType[], private readonly batchRows: number) {
    this.headerLeft = o.header;
    this.nullMarker = o.null;
    this.cols = types.map((t) => new ColumnFields(t, batchRows));
    this.bounds = new Int32Array(Math.max(1, types.length));
  }

  /** Rows read into the current batch. */
  get length(): number {
    return this.cols[0]?.length ?? 0;
  }

  push(chunk: string): void {
    if (this.done) return;
    this.pending += chunk;
    this.lines(false);
  }

  end(): void {
    if (this.done) return;
    this.lines(true);
    this.done = true;
  }

  /** The batch so far; the next starts empty. */
  take(): ParsedBatch {
    const b: ParsedBatch = { length: this.length, columns: this.cols.map((c) => c.finish()), bad: this.bad };
    this.cols = this.types.map((t) => new ColumnFields(t, this.batchRows));
    return b;
  }

  private lines(atEnd: boolean): void {
    const s = this.pending;
    const d = this.o.delimiter.charCodeAt(0);
    const width = this.cols.length;
    let from = 0;
    let backslash = s.indexOf('\\');
    while (!this.done) {
      let nl = s.indexOf('\n', from);
      if (nl < 0) {
        if (!atEnd || from >= s.length) break;
        nl = s.length;
      }
      const end = nl > from && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      const start = from;
      from = nl + 1;
      if (end - start === 2 && s.charCodeAt(start) === 92 && s.charCodeAt(start + 1) === 46) {
        this.done = true;
        break;
      }
      if (this.headerLeft) {
        this.headerLeft = false;
        continue;
      }
      if (backslash >= 0 && backslash < start) backslash = s.indexOf('\\', start);
      if (backslash >= 0 && backslash < end) {
        const fields = textLineFields(s.slice(start, end), this.o);
        if (fields.length !== width) {
          this.fail(fields.length);
          break;
        }
        for (let k = 0; k < width; k++) this.cols[k]!.add(fields[k]!);
        continue;
      }
      // The field boundaries first, so a line with the wrong number of fields adds nothing.
      const at = this.bounds;
      let k = 0;
      at[0] = start;
      for (let i = start; i < end; i++) {
        if (s.charCodeAt(i) !== d) continue;
        if (++k >= width) break;
        at[k] = i + 1;
      }
      if (k !== width - 1) {
        this.fail(k + 1);
        break;
      }
      for (k = 0; k < width; k++) {
        const a = at[k]!;
        const b = k + 1 < width ? at[k + 1]! - 1 : end;
        const col = this.cols[k]!;
        if (b - a === this.nullMarker.length && s.startsWith(this.nullMarker, a)) col.add(null);
        else col.addRange(s, a, b);
      }
    }
    this.pending = this.done ? '' : s.slice(from);
  }

  private fail(fields: number): void {
    this.bad = { at: this.length, fields };
    this.done = true;
  }
}
