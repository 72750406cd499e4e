/**
 * WindowExec tags rows with their windows (TUMBLE: one, HOP: size/slide copies): each row goes
 * out once per window containing it, with the window's start and end appended.
 */
import { takeBatch, type Batch, type Column } from '../common/column.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { compile, type Kernel } from './eval.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import type { StateTable } from './state/state-table.js';
import { wordsOf } from './slot-columns.js';
import { floorTo, times } from './window-common.js';

/** Sets value k of a 64-bit column (its words `w`) to the integer `x`, without a BigInt. */
function setWords(w: Int32Array, k: number, x: number): void {
  const hi = Math.floor(x / 4294967296);
  w[2 * k] = (x - hi * 4294967296) | 0;
  w[2 * k + 1] = hi | 0;
}

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
    const n = b.length;
    const t = times(this.time(b, ctx), n);
    const size = this.size;
    const slide = this.slide;
    const offset = this.offset;
    // Every window [s, s + size) with s ≡ offset (mod slide) and s ≤ t < s + size: counted
    // first, so the output is sized once.
    let m = 0;
    for (let i = 0; i < n; i++) {
      const ti = t[i]!;
      if (Number.isNaN(ti)) continue;
      for (let s = floorTo(ti, slide, offset); s > ti - size; s -= slide) m++;
    }
    if (m === 0) return;
    // Rows in order, each row's windows by start (written from the last start down).
    const take = new Int32Array(m);
    const ws = new BigInt64Array(m);
    const we = new BigInt64Array(m);
    const sw = wordsOf(ws);
    const ew = wordsOf(we);
    let k = 0;
    let identity = m === n;
    for (let i = 0; i < n; i++) {
      const ti = t[i]!;
      if (Number.isNaN(ti)) continue;
      const last = floorTo(ti, slide, offset);
      let c = 0;
      for (let s = last; s > ti - size; s -= slide) c++;
      if (c !== 1 || k !== i) identity = false;
      let at = k + c - 1;
      for (let s = last; s > ti - size; s -= slide) {
        take[at] = i;
        setWords(sw, at, s);
        setWords(ew, at--, s + size);
      }
      k += c;
    }
    // TUMBLE over rows with a time: each row once, in place, so its columns go on as they are.
    const tagged = identity ? b : takeBatch(b, take, m);
    // The columns array is built in place: a closure made per batch for the two new columns was a
    // new call target each time, and V8 deoptimized this method on every batch for it.
    const nc = tagged.columns.length;
    const columns = new Array<Column>(nc + 2);
    for (let j = 0; j < nc; j++) columns[j] = tagged.columns[j]!;
    columns[nc] = timestampColumn(m, ws);
    columns[nc + 1] = timestampColumn(m, we);
    out({ columns, length: m, weights: tagged.weights });
  }
  endEpoch(): void {}
}

/** A timestamp column of m values without NULLs. */
function timestampColumn(m: number, values: BigInt64Array): Column {
  return { type: 'timestamp', length: m, values, validity: null };
}
