/**
 * bit_and(x), bit_or(x), bit_xor(x) over smallint, integer and bigint: per group, how many
 * non-NULL values have each of the 64 bits set, and how many values there are. A bit of the
 * result is set when every value has it (and), some value has it (or), or an odd number of
 * values have it (xor): each is exact under deletes.
 */
import type { Column } from '../../common/column.js';
import type { SqlType, Value } from '../../common/types.js';
import { growF64, maxGid, NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';

type BitOp = 'and' | 'or' | 'xor';

/** 64 bit counts, then the count of values, per group. */
const STRIDE = 65;

class BitAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  readonly invertible = true;
  private counts: Float64Array = new Float64Array(STRIDE * 16);
  readonly stateLayout: AccumulatorState = {
    scalar: [...Array.from({ length: 64 }, (_, b) => ({ name: `bit${b}`, type: 'bigint' as const })), { name: 'n', type: 'bigint' }],
    values: null,
  };
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly op: BitOp, private readonly wide: boolean) {}

  saveGroup(gid: number): Value[] {
    const out: Value[] = [];
    for (let k = 0; k < STRIDE; k++) out.push(BigInt(gid * STRIDE + k < this.counts.length ? this.counts[gid * STRIDE + k]! : 0));
    return out;
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    for (let k = 0; k < STRIDE; k++) this.counts[gid * STRIDE + k] = Number(state[k] ?? 0n);
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    this.grow(maxGid(gids, n) + 1);
    const a = arg!;
    const validity = a.validity;
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || (validity !== null && ((validity[i >> 3]! >> (i & 7)) & 1) === 0)) continue;
      this.addBits(gids[i]!, this.wide ? (a.values as BigInt64Array)[i]! : (a.values as Int32Array | Int16Array)[i]!, weights === null ? 1 : weights[i]!);
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.grow(gid + 1);
    if (v === null) return;
    this.addBits(gid, v as number | bigint, w);
  }
  private addBits(gid: number, v: number | bigint, w: number): void {
    const base = gid * STRIDE;
    if (typeof v === 'bigint') {
      const u = BigInt.asUintN(64, v);
      const lo = Number(u & 0xffffffffn);
      const hi = Number(u >> 32n);
      for (let b = 0; b < 32; b++) {
        if ((lo >>> b) & 1) this.counts[base + b]! += w;
        if ((hi >>> b) & 1) this.counts[base + 32 + b]! += w;
      }
    } else {
      // A negative smallint or integer has every bit above its width set, as it does widened.
      for (let b = 0; b < 32; b++) if ((v >>> b) & 1) this.counts[base + b]! += w;
      if (v < 0) for (let b = 32; b < 64; b++) this.counts[base + b]! += w;
    }
    this.counts[base + 64]! += w;
  }
  merge(gid: number, src: BitAccumulator, srcGid: number, sign: 1 | -1): void {
    this.grow(gid + 1);
    if ((srcGid + 1) * STRIDE > src.counts.length) return;
    for (let k = 0; k < STRIDE; k++) this.counts[gid * STRIDE + k]! += sign * src.counts[srcGid * STRIDE + k]!;
  }
  evaluate(gid: number): Value {
    if ((gid + 1) * STRIDE > this.counts.length) return null;
    const base = gid * STRIDE;
    const n = this.counts[base + 64]!;
    if (n === 0) return null;
    const set = (b: number): boolean => {
      const c = this.counts[base + b]!;
      return this.op === 'and' ? c === n : this.op === 'or' ? c > 0 : c % 2 !== 0;
    };
    if (this.wide) {
      let r = 0n;
      for (let b = 63; b >= 0; b--) r = (r << 1n) | (set(b) ? 1n : 0n);
      return BigInt.asIntN(64, r);
    }
    let r = 0;
    for (let b = 0; b < 32; b++) if (set(b)) r |= 1 << b;
    return r | 0;
  }
  reset(gid: number): void {
    if ((gid + 1) * STRIDE <= this.counts.length) this.counts.fill(0, gid * STRIDE, (gid + 1) * STRIDE);
  }
  private grow(need: number): void {
    this.counts = growF64(this.counts, need * STRIDE);
  }
}

const bitAgg = (op: BitOp): AggregateFunction => ({
  accumulator: (call) => new BitAccumulator(op, (call.arg?.type as SqlType | undefined) === 'bigint'),
});

export const bitAnd = bitAgg('and');
export const bitOr = bitAgg('or');
export const bitXor = bitAgg('xor');
