/**
 * sum(interval) and avg(interval) as PostgreSQL's: months, days and microseconds are summed
 * each on its own (no justification), and the average is that sum divided by the count with
 * interval_div's cascade of fractional months and days. Exact under retractions: the fields'
 * sums are JS bigints, checked against the interval's field ranges only when evaluated.
 */
import { getString, isValid, type Column } from '../../common/column.js';
import { checkedInterval, decodeInterval, encodeInterval, scaleInterval } from '../../common/interval.js';
import type { Value } from '../../common/types.js';
import { NO_VALUES, selected } from './group-arrays.js';
import type { AccumulatorState, GroupsAccumulator } from './groups-accumulator.js';

export class IntervalSumAccumulator implements GroupsAccumulator {
  readonly combinable = true;
  private months: bigint[] = [];
  private days: bigint[] = [];
  private micros: bigint[] = [];
  private counts: number[] = [];
  readonly stateLayout: AccumulatorState = {
    scalar: [{ name: 'months', type: 'numeric' }, { name: 'days', type: 'numeric' }, { name: 'micros', type: 'numeric' }, { name: 'count', type: 'bigint' }],
    values: null,
  };
  readonly invertible = true;
  readonly saveValues = NO_VALUES.saveValues;
  readonly loadValues = NO_VALUES.loadValues;
  constructor(private readonly out: 'sum' | 'avg') {}

  private grow(need: number): void {
    while (this.counts.length < need) {
      this.months.push(0n);
      this.days.push(0n);
      this.micros.push(0n);
      this.counts.push(0);
    }
  }
  saveGroup(gid: number): Value[] {
    if (gid >= this.counts.length) return ['0', '0', '0', 0n];
    return [String(this.months[gid]!), String(this.days[gid]!), String(this.micros[gid]!), BigInt(this.counts[gid]!)];
  }
  loadGroup(gid: number, state: readonly Value[]): void {
    this.grow(gid + 1);
    this.months[gid] = BigInt((state[0] as string | null) ?? '0');
    this.days[gid] = BigInt((state[1] as string | null) ?? '0');
    this.micros[gid] = BigInt((state[2] as string | null) ?? '0');
    this.counts[gid] = Number(state[3] ?? 0n);
  }
  add(gid: number, v: Value, w: number): void {
    this.grow(gid + 1);
    if (v === null) return;
    const p = decodeInterval(v as string);
    const bw = BigInt(w);
    this.months[gid] = this.months[gid]! + BigInt(p.months) * bw;
    this.days[gid] = this.days[gid]! + BigInt(p.days) * bw;
    this.micros[gid] = this.micros[gid]! + p.micros * bw;
    this.counts[gid]! += w;
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null): void {
    const a = arg!;
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i) || !isValid(a, i)) continue;
      this.add(gids[i]!, getString(a, i), weights === null ? 1 : weights[i]!);
    }
  }
  merge(gid: number, src: IntervalSumAccumulator, srcGid: number, sign: 1 | -1): void {
    this.grow(gid + 1);
    if (srcGid >= src.counts.length) return;
    const s = BigInt(sign);
    this.months[gid] = this.months[gid]! + s * src.months[srcGid]!;
    this.days[gid] = this.days[gid]! + s * src.days[srcGid]!;
    this.micros[gid] = this.micros[gid]! + s * src.micros[srcGid]!;
    this.counts[gid]! += sign * src.counts[srcGid]!;
  }
  evaluate(gid: number): Value {
    if (gid >= this.counts.length || this.counts[gid] === 0) return null;
    const sum = checkedInterval(Number(this.months[gid]!), Number(this.days[gid]!), this.micros[gid]!);
    return encodeInterval(this.out === 'sum' ? sum : scaleInterval(sum, this.counts[gid]!, 'div'));
  }
  reset(gid: number): void {
    if (gid < this.counts.length) {
      this.months[gid] = 0n;
      this.days[gid] = 0n;
      this.micros[gid] = 0n;
      this.counts[gid] = 0;
    }
  }
}
