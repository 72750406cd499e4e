/**
 * Column generators of datagen: each builds one column of rows [from, from + n) straight into
 * typed arrays (no per-row Value), since this source feeds the benchmarks. Every value is a
 * function of (seed, column, row index) — see hash.ts — except 'now' columns, which take the
 * poll's time.
 *
 * 64-bit columns are written through an Int32Array view of the BigInt64Array as two 32-bit
 * halves when the values are safe integers and the platform is little-endian: creating a
 * BigInt per value would cost several times the rest of the loop.
 */
import { microsInterval } from '../../common/interval.js';
import { ColumnBuilder, columnFromValues, constantColumn, isValid, newBitmap, setBit, takeColumn, type Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Field, SqlType } from '../../common/types.js';
import { MICROS_PER_DAY, typeDisplayName } from '../../common/types.js';
import { HashStream, mix32 } from './hash.js';
import type { FieldSpec } from './options.js';

/** Builds rows [from, from + n) of one column; `nowMicros` is the poll's time. */
export type ColumnGenerator = (from: number, n: number, nowMicros: bigint) => Column;

/** What generators need from the running source. */
export interface GeneratorContext {
  readonly seed: bigint;
  /** Wall-clock time of start(), in µs: the default start of timestamp and date sequences. */
  readonly startMicros: bigint;
  readonly rowsPerSecond: number;
}

const TWO32 = 4294967296;
const TWO53 = 9007199254740992;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// 64 entries so six random bits pick a character with a mask, not a division; 'x' and 'y'
// appear twice, a bias that does not matter for generated data.
const ALPHANUM64 = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789xy');

function isSafe(v: bigint): boolean {
  return v >= -SAFE && v <= SAFE;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** The generator for column `column` of the schema. */
export function makeGenerator(field: Field, spec: FieldSpec, column: number, ctx: GeneratorContext): ColumnGenerator {
  const t = field.type;
  const stream = (k: number) => new HashStream(ctx.seed, column, k);
  if (t === 'null') return (_from, n) => constantColumn('null', null, n);
  if (spec.values !== null) return valuesGenerator(t, spec, stream(0));
  switch (t) {
    case 'boolean':
      return booleanGenerator(spec, stream(0));
    case 'int':
    case 'date':
      return int32Generator(t, spec, ctx, stream(0));
    case 'bigint':
    case 'timestamp':
      return int64Generator(t, spec, ctx, stream(0), stream(1));
    case 'interval': {
      // Generated as microseconds, held as intervals of that many microseconds.
      const gen = int64Generator(t, spec, ctx, stream(0), stream(1));
      return (from, n, now) => {
        const c = gen(from, n, now);
        const v = c.values as BigInt64Array;
        const b = new ColumnBuilder('interval', n);
        for (let i = 0; i < c.length; i++) b.append(isValid(c, i) ? microsInterval(v[i]!) : null);
        return b.finish();
      };
    }
    case 'double':
      return float64Generator(t, spec, stream(0), stream(1));
    case 'numeric': {
      // Generated as doubles, held as their decimal text (15 significant digits).
      const gen = float64Generator('double', spec, stream(0), stream(1));
      return (from, n, now) => {
        const c = gen(from, n, now);
        return columnFromValues('numeric', Array.from(c.values as Float64Array));
      };
    }
    case 'varchar':
      return spec.kind === 'sequence' ? decimalGenerator(spec) : stringGenerator(spec.length, stream(0));
    default:
      throw new SluiceError('not_supported', `the datagen connector cannot generate ${typeDisplayName(t)} columns`, { hint: 'Generate the elements as text and build the array in a view (string_to_array).' });
  }
}

function valuesGenerator(t: SqlType, spec: FieldSpec, hs: HashStream): ColumnGenerator {
  const choices = columnFromValues(t, spec.values!);
  const m = choices.length;
  return (from, n) => {
    const idx = new Int32Array(n);
    if (spec.kind === 'sequence') {
      let off = from % m;
      for (let k = 0; k < n; k++) {
        idx[k] = off;
        if (++off === m) off = 0;
      }
    } else {
      const h = hs.fill(from, n);
      for (let k = 0; k < n; k++) idx[k] = Math.floor((h[k]! * m) / TWO32);
    }
    return takeColumn(choices, idx, n);
  };
}

function booleanGenerator(spec: FieldSpec, hs: HashStream): ColumnGenerator {
  return (from, n) => {
    const bits = newBitmap(n, false);
    if (spec.kind === 'sequence') {
      for (let k = 0; k < n; k++) if ((from + k) % 2 === 1) setBit(bits, k, true);
    } else {
      const h = hs.fill(from, n);
      for (let k = 0; k < n; k++) if (h[k]! & 1) setBit(bits, k, true);
    }
    return { type: 'boolean', length: n, values: bits, validity: null };
  };
}

function int32Generator(t: 'int' | 'date', spec: FieldSpec, ctx: GeneratorContext, hs: HashStream): ColumnGenerator {
  if (spec.kind === 'now') {
    return (_from, n, now) => constantColumn(t, Number(floorDiv(now, MICROS_PER_DAY)), n);
  }
  const start = Number((spec.start as bigint | null) ?? floorDiv(ctx.startMicros, MICROS_PER_DAY));
  const size = Number(spec.end as bigint) - start + 1;
  return (from, n) => {
    const out = new Int32Array(n);
    if (spec.kind === 'sequence') {
      let off = from % size;
      for (let k = 0; k < n; k++) {
        out[k] = start + off;
        if (++off === size) off = 0;
      }
    } else {
      const h = hs.fill(from, n);
      for (let k = 0; k < n; k++) out[k] = start + Math.floor((h[k]! * size) / TWO32);
    }
    return { type: t, length: n, values: out, validity: null };
  };
}

function int64Generator(t: 'bigint' | 'timestamp' | 'interval', spec: FieldSpec, ctx: GeneratorContext, hs1: HashStream, hs2: HashStream): ColumnGenerator {
  if (spec.kind === 'now') return (_from, n, now) => constantColumn(t, now, n);
  const start = (spec.start as bigint | null) ?? ctx.startMicros;
  const end = spec.end as bigint;
  if (spec.kind === 'sequence') {
    const step = t === 'bigint' ? 1n : t === 'interval' ? 1_000_000n : BigInt(Math.max(1, Math.round(1e6 / ctx.rowsPerSecond)));
    const size = (end - start) / step + 1n;
    return (from, n) => {
      const out = new BigInt64Array(n);
      const lastOff = BigInt(from + n - 1) < size ? BigInt(from + n - 1) : size - 1n;
      if (LITTLE_ENDIAN && isSafe(start) && isSafe(start + lastOff * step)) {
        const view = new Int32Array(out.buffer);
        const sizeN = size > SAFE ? Infinity : Number(size);
        const startN = Number(start);
        const stepN = Number(step);
        let off = from % sizeN;
        for (let k = 0; k < n; k++) {
          const v = startN + off * stepN;
          const hi = Math.floor(v / TWO32);
          view[2 * k] = v - hi * TWO32;
          view[2 * k + 1] = hi;
          if (++off === sizeN) off = 0;
        }
      } else {
        let off = BigInt(from) % size;
        for (let k = 0; k < n; k++) {
          out[k] = start + off * step;
          if (++off === size) off = 0n;
        }
      }
      return { type: t, length: n, values: out, validity: null };
    };
  }
  const size = end - start + 1n;
  return (from, n) => {
    const out = new BigInt64Array(n);
    const h1 = hs1.fill(from, n);
    if (start === BIGINT_MIN && end === BIGINT_MAX) {
      // The whole range: the two hash words are the value.
      const h2 = hs2.fill(from, n);
      if (LITTLE_ENDIAN) {
        const view = new Int32Array(out.buffer);
        for (let k = 0; k < n; k++) {
          view[2 * k] = h1[k]!;
          view[2 * k + 1] = h2[k]!;
        }
      } else {
        for (let k = 0; k < n; k++) out[k] = BigInt.asIntN(64, (BigInt(h2[k]!) << 32n) | BigInt(h1[k]!));
      }
    } else if (LITTLE_ENDIAN && isSafe(start) && isSafe(end)) {
      const view = new Int32Array(out.buffer);
      const startN = Number(start);
      const sizeN = Number(size);
      const h2 = sizeN > TWO32 ? hs2.fill(from, n) : null;
      for (let k = 0; k < n; k++) {
        let off: number;
        if (h2 === null) off = Math.floor((h1[k]! * sizeN) / TWO32);
        else off = Math.min(sizeN - 1, Math.floor((((h1[k]! >>> 5) * 67108864 + (h2[k]! >>> 6)) / TWO53) * sizeN));
        const v = startN + off;
        const hi = Math.floor(v / TWO32);
        view[2 * k] = v - hi * TWO32;
        view[2 * k + 1] = hi;
      }
    } else {
      const h2 = hs2.fill(from, n);
      for (let k = 0; k < n; k++) out[k] = start + (((BigInt(h1[k]!) << 32n) | BigInt(h2[k]!)) % size);
    }
    return { type: t, length: n, values: out, validity: null };
  };
}

function float64Generator(t: 'double' | 'numeric', spec: FieldSpec, hs1: HashStream, hs2: HashStream): ColumnGenerator {
  const start = spec.start as number;
  const end = spec.end as number;
  if (spec.kind === 'sequence') {
    const span = Math.floor(end - start) + 1;
    const size = span > Number.MAX_SAFE_INTEGER ? Infinity : span;
    return (from, n) => {
      const out = new Float64Array(n);
      let off = from % size;
      for (let k = 0; k < n; k++) {
        out[k] = start + off;
        if (++off === size) off = 0;
      }
      return { type: t, length: n, values: out, validity: null };
    };
  }
  const width = end - start;
  return (from, n) => {
    const out = new Float64Array(n);
    const h1 = hs1.fill(from, n);
    const h2 = hs2.fill(from, n);
    for (let k = 0; k < n; k++) out[k] = start + (((h1[k]! >>> 5) * 67108864 + (h2[k]! >>> 6)) / TWO53) * width;
    return { type: t, length: n, values: out, validity: null };
  };
}

function checkBytes(n: number, perRow: number): void {
  if (n * perRow > 2 ** 31 - 1) {
    throw new SluiceError('invalid_parameter', `datagen cannot build ${n} strings of ${perRow} bytes in one batch (over 2 GiB); lower max_batch_rows or fields.<column>.length`);
  }
}

/** Random alphanumeric strings of a fixed length: five characters (6 bits each) per 32-bit word. */
function stringGenerator(length: number, hs: HashStream): ColumnGenerator {
  return (from, n) => {
    checkBytes(n, length);
    const bytes = new Uint8Array(n * length);
    const offsets = new Int32Array(n + 1);
    const h = hs.fill(from, n);
    let p = 0;
    for (let k = 0; k < n; k++) {
      let chain = h[k]!;
      let x = chain;
      let left = 5;
      for (let q = 0; q < length; q++) {
        if (left === 0) {
          chain = mix32((chain + 0x9e3779b9) >>> 0);
          x = chain;
          left = 5;
        }
        bytes[p++] = ALPHANUM64[x & 63]!;
        x >>>= 6;
        left--;
      }
      offsets[k + 1] = p;
    }
    return { type: 'varchar', length: n, values: bytes, offsets, validity: null };
  };
}

/** A VARCHAR sequence: the decimal text of start, start + 1, … (wrapping after end). */
function decimalGenerator(spec: FieldSpec): ColumnGenerator {
  const start = spec.start as bigint;
  const size = (spec.end as bigint) - start + 1n;
  return (from, n) => {
    checkBytes(n, 20);
    const bytes = new Uint8Array(n * 20);
    const offsets = new Int32Array(n + 1);
    let p = 0;
    const lastOff = BigInt(from + n - 1) < size ? BigInt(from + n - 1) : size - 1n;
    if (isSafe(start) && isSafe(start + lastOff)) {
      const startN = Number(start);
      const sizeN = size > SAFE ? Infinity : Number(size);
      let off = from % sizeN;
      for (let k = 0; k < n; k++) {
        p = writeDecimal(startN + off, bytes, p);
        offsets[k + 1] = p;
        if (++off === sizeN) off = 0;
      }
    } else {
      let off = BigInt(from) % size;
      for (let k = 0; k < n; k++) {
        const s = String(start + off);
        for (let q = 0; q < s.length; q++) bytes[p++] = s.charCodeAt(q);
        offsets[k + 1] = p;
        if (++off === size) off = 0n;
      }
    }
    return { type: 'varchar', length: n, values: bytes.slice(0, p), offsets, validity: null };
  };
}

/** Writes the decimal digits of a safe integer at p; returns the end. */
function writeDecimal(v: number, buf: Uint8Array, p: number): number {
  if (v < 0) {
    buf[p++] = 45;
    v = -v;
  }
  const begin = p;
  do {
    const q = Math.floor(v / 10);
    buf[p++] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
  // Digits came out least significant first.
  for (let i = begin, j = p - 1; i < j; i++, j--) {
    const c = buf[i]!;
    buf[i] = buf[j]!;
    buf[j] = c;
  }
  return p;
}
