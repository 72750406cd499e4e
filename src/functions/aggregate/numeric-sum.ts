/**
 * sum and avg with a NUMERIC result (PostgreSQL: sum(bigint), sum(numeric), avg of integers and
 * of numeric): an exact scaled-bigint sum per group. The sum's scale is the largest scale among
 * the group's current values, so each group counts its values by scale (a retracted value of the
 * largest scale lowers it again, as PostgreSQL recomputing over the remaining rows would).
 */
import { getBit, type Column } from '../../common/column.js';
import { addDec, decOf, divDec, formatDec, parseDec, pow10, smallDecAt, smallDecScale, type Dec } from '../../common/decimal.js';
import type { SqlType, Value } from '../../common/types.js';
import { storageOf } from '../../exec/storage.js';
import { growF64, maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, GroupsAccumulator } from './groups-accumulator.js';

const TWO_53 = 2 ** 53;

/** The exact sum (or average) of integer or NUMERIC values, per group. */
export class NumericSumAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  /** Each group's sum at scale `scales[g]`'s largest key (or 0). */
  private sums: bigint[] = [];
  private sumScale: number[] = [];
  private counts: Float64Array = new Float64Array(64);
  /**
   * Each group's values added since the last flush, as an exact double (digits at the group's
   * scale, |pending| < 2^53), and for NUMERIC input how many of them there were: a steady feed
   * adds with no bigint and no Map update per row, and flush() folds them in before anything
   * reads the sum or the scale counts.
   */
  private pending: Float64Array = new Float64Array(64);
  private pendingCount: Float64Array = new Float64Array(64);
  /** Per group, how many current values have each scale (NUMERIC input only). */
  private scales: (Map<number, number> | undefined)[] = [];
  readonly stateLayout: AccumulatorState = {
    scalar: [{ name: 'sum', type: 'numeric' }, { name: 'count', type: 'bigint' }, { name: 'scales', type: 'varchar' }],
    values: null,
  };
  readonly invertible = true;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  private readonly decimalInput: boolean;
  constructor(private readonly out: 'sum' | 'avg', argType: SqlType) {
    this.decimalInput = argType === 'numeric';
  }

  /** Folds group g's pending values into its bigint sum and scale counts. */
  private flush(g: number): void {
    if (g >= this.sums.length) return;
    const p = this.pending[g]!;
    if (p !== 0) {
      this.sums[g] = (this.sums[g] ?? 0n) + BigInt(p);
      this.pending[g] = 0;
    }
    const c = this.pendingCount[g]!;
    if (c !== 0) {
      let m = this.scales[g];
      if (m === undefined) this.scales[g] = m = new Map();
      const scale = this.sumScale[g] ?? 0;
      m.set(scale, (m.get(scale) ?? 0) + c);
      this.pendingCount[g] = 0;
    }
  }

  saveGroup(gid: number): Value[] {
    if (gid >= this.sums.length) return ['0', 0n, ''];
    this.flush(gid);
    const m = this.scales[gid];
    const scales = m ? [...m].filter(([, c]) => c !== 0).map(([s, c]) => `${s}:${c}`).join(',') : '';
    return [formatDec({ digits: this.sums[gid] ?? 0n, scale: this.sumScale[gid] ?? 0 }), BigInt(this.counts[gid]!), scales];
  }

  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    this.pending[gid] = 0;
    this.pendingCount[gid] = 0;
    const d = parseDec((state[0] as string | null) ?? '0');
    this.sums[gid] = d.digits;
    this.sumScale[gid] = d.scale;
    this.counts[gid] = Number(state[1] ?? 0n);
    const text = (state[2] as string | null) ?? '';
    if (text !== '') {
      const m = new Map<number, number>();
      for (const part of text.split(',')) {
        const [s, c] = part.split(':');
        m.set(Number(s), Number(c));
      }
      this.scales[gid] = m;
    }
  }

  /** Adds w × d to group g. */
  private addDec(g: number, d: Dec, w: number): void {
    this.flush(g);
    let scale = this.sumScale[g] ?? 0;
    let sum = this.sums[g] ?? 0n;
    if (this.decimalInput) {
      let m = this.scales[g];
      if (m === undefined) this.scales[g] = m = new Map();
      const c = (m.get(d.scale) ?? 0) + w;
      if (c === 0) m.delete(d.scale);
      else m.set(d.scale, c);
      // The largest scale present: only a scale whose count reached zero can lower it.
      let want = d.scale > scale ? d.scale : scale;
      if (c === 0 && d.scale === scale) {
        want = 0;
        for (const [s, n] of m) if (n !== 0 && s > want) want = s;
      }
      if (want > scale) {
        sum *= pow10(want - scale);
        scale = want;
      }
      const v = d.scale === scale ? d.digits : d.digits * pow10(scale - d.scale);
      sum += w === 1 ? v : v * BigInt(w);
      if (want < scale) {
        // Every remaining value has at most `want` places: the dropped digits are zeros.
        sum /= pow10(scale - want);
        scale = want;
      }
    } else sum += w === 1 ? d.digits : d.digits * BigInt(w);
    this.sums[g] = sum;
    this.sumScale[g] = scale;
    this.counts[g]! += w;
  }

  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    this.grow(maxGid(gids, n) + 1);
    const a = arg!;
    const validity = a.validity;
    const storage = storageOf(a.type);
    const v = a.values;
    const halves = storage === 'i64' ? new Int32Array(v.buffer, v.byteOffset, 2 * a.length) : null;
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && !getBit(validity, i))) continue;
      const w = weights === null ? 1 : weights[i]!;
      const g = gids[i]!;
      // The value as an exact double where it is one (NaN otherwise), and its scale.
      let x: number;
      let scale = 0;
      if (storage === 'i32') x = (v as Int32Array)[i]!;
      else if (halves !== null) {
        const hi = halves[2 * i + 1]!;
        x = hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + (halves[2 * i]! >>> 0) : NaN;
      } else {
        x = smallDecAt(v as Uint8Array, a.offsets![i]!, a.offsets![i + 1]!);
        scale = smallDecScale();
      }
      if (!Number.isNaN(x) && this.addPending(g, x, scale, w)) continue;
      let d: Dec;
      if (storage === 'i32') d = { digits: BigInt((v as Int32Array)[i]!), scale: 0 };
      else if (storage === 'i64') d = { digits: (v as BigInt64Array)[i]!, scale: 0 };
      else d = decOf(decodeAscii(v as Uint8Array, a.offsets![i]!, a.offsets![i + 1]!));
      this.addDec(g, d, w);
    }
  }

  /**
   * Adds w × x (x the digits of a value at `scale`) to group g's pending sum when that is exact
   * and changes no scale: the value has the group's scale (NUMERIC input, an insert, and a group
   * that already has values) or the input is integer. False: the caller adds it the exact way.
   */
  private addPending(g: number, x: number, scale: number, w: number): boolean {
    if (this.decimalInput && (w <= 0 || scale !== this.sumScale[g] || this.counts[g] === 0)) return false;
    const add = x * w;
    const next = this.pending[g]! + add;
    if (!(Math.abs(add) < TWO_53 && Math.abs(next) < TWO_53)) return false;
    this.pending[g] = next;
    this.counts[g]! += w;
    if (this.decimalInput) this.pendingCount[g]! += w;
    return true;
  }

  add(gid: number, v: Value, w: number): void {
    this.grow(gid + 1);
    if (v === null) return;
    this.addDec(gid, typeof v === 'string' ? decOf(v) : { digits: BigInt(v as number | bigint), scale: 0 }, w);
  }

  merge(gid: number, src: NumericSumAccumulator, srcGid: number, sign: 1 | -1): void {
    this.grow(gid + 1);
    this.flush(gid);
    src.flush(srcGid);
    if (srcGid >= src.sums.length || src.counts[srcGid] === 0) return;
    const m = src.scales[srcGid];
    if (this.decimalInput && m) {
      // Merge the scale counts, then the sum at the larger scale.
      let dst = this.scales[gid];
      if (dst === undefined) this.scales[gid] = dst = new Map();
      for (const [s, c] of m) {
        const next = (dst.get(s) ?? 0) + sign * c;
        if (next === 0) dst.delete(s);
        else dst.set(s, next);
      }
      let want = 0;
      for (const [s, c] of dst) if (c !== 0 && s > want) want = s;
      const sum = addDec({ digits: this.sums[gid] ?? 0n, scale: this.sumScale[gid] ?? 0 }, { digits: sign === 1 ? src.sums[srcGid]! : -src.sums[srcGid]!, scale: src.sumScale[srcGid]! });
      const exact = sum.scale >= want ? sum.digits / pow10(sum.scale - want) : sum.digits * pow10(want - sum.scale);
      this.sums[gid] = exact;
      this.sumScale[gid] = want;
    } else {
      this.sums[gid] = (this.sums[gid] ?? 0n) + (sign === 1 ? src.sums[srcGid]! : -src.sums[srcGid]!);
    }
    this.counts[gid]! += sign * src.counts[srcGid]!;
  }

  evaluate(gid: number): Value {
    if (gid >= this.sums.length || this.counts[gid] === 0) return null;
    this.flush(gid);
    const sum: Dec = { digits: this.sums[gid] ?? 0n, scale: this.sumScale[gid] ?? 0 };
    if (this.out === 'sum') return formatDec(sum);
    return formatDec(divDec(sum, { digits: BigInt(this.counts[gid]!), scale: 0 }));
  }

  reset(gid: number): void {
    if (gid < this.sums.length) {
      this.pending[gid] = 0;
      this.pendingCount[gid] = 0;
      this.sums[gid] = 0n;
      this.sumScale[gid] = 0;
      this.counts[gid] = 0;
      this.scales[gid] = undefined;
    }
  }

  private grow(need: number): void {
    this.counts = growF64(this.counts, need);
    this.pending = growF64(this.pending, need);
    this.pendingCount = growF64(this.pendingCount, need);
    while (this.sums.length < need) {
      this.sums.push(0n);
      this.sumScale.push(0);
      this.scales.push(undefined);
    }
  }
}

/** The ASCII text of bytes [start, end) (canonical NUMERIC text is ASCII). */
function decodeAscii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}
