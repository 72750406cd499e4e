/**
 * WindowExec tags rows with their windows (TUMBLE: one, HOP: size/slide copies): each row goes
 * out once per window containing it, with the window's start and end appended.
 */
import { takeBatch, type Batch, type Column } from '../common/column.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { compile, type Kernel } from './eval.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import type { StateTable } from './state/state-table.js';
import { floorTo, times } from './window-common.js';

type WindowPlan = Extract<PhysicalPlan, { kind: 'WindowExec' }>;

export class WindowOp implements Operator {
  readonly name = 'WindowExec';
  readonly state: readonly StateTable[] = [];
  private readonly time: Kernel;
  private readonly size: number;
  private readonly slide: number;
  private readonly offset: number;
  constructor(readonly id: string, plan: WindowPlan) {
    this.time = compile(plan.window.time);
    this.size = Number(plan.window.size);
    this.slide = Number(plan.window.slide);
    this.offset = Number(plan.window.offset);
  }
  processBatch(_input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    const t = times(this.time(b, ctx), b.length);
    const idx: number[] = [];
    const starts: number[] = [];
    for (let i = 0; i < b.length; i++) {
      const ti = t[i]!;
      if (Number.isNaN(ti)) continue;
      // Every window [s, s + size) with s ≡ offset (mod slide) and s ≤ t < s + size.
      for (let s = floorTo(ti, this.slide, this.offset); s > ti - this.size; s -= this.slide) {
        idx.push(i);
        starts.push(s);
      }
    }
    if (idx.length === 0) return;
    const order = idx.map((_, k) => k).sort((x, y) => idx[x]! - idx[y]! || starts[x]! - starts[y]!);
    const take = Int32Array.from(order.map((k) => idx[k]!));
    const tagged = takeBatch(b, take, take.length);
    const ws = new BigInt64Array(take.length);
    const we = new BigInt64Array(take.length);
    order.forEach((k, j) => {
      ws[j] = BigInt(starts[k]!);
      we[j] = BigInt(starts[k]! + this.size);
    });
    const col = (v: BigInt64Array): Column => ({ type: 'timestamp', length: take.length, values: v, validity: null });
    out({ columns: [...tagged.columns, col(ws), col(we)], length: take.length, weights: tagged.weights });
  }
  endEpoch(): void {}
}
