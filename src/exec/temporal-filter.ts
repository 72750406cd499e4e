/**
 * TemporalFilterExec: a view's rows valid while valid_from <= T_n < valid_until, where T_n is
 * the epoch's batch time (now()) and the bounds come from the row (planner/temporal.ts).
 *
 * A change (row, w) arriving at T_n goes out at once when the row is valid now, or waits in
 * state until T_n reaches valid_from; its retraction (row, −w) waits until T_n reaches
 * valid_until. A delete of an input row is a change with w = −1: it retracts the row now (if it
 * is in the view) and cancels the waiting retraction, since waiting changes of the same row and
 * time add up (and go when they reach zero). So at the end of every epoch the output holds
 * exactly the input rows whose conditions hold at T_n.
 *
 *   Δinput ──► bounds(row) ──► valid now: pass through (columnar take)
 *                          └─► later: pending[valid_from] += (row, w); pending[valid_until] += (row, −w)
 *   first input or endEpoch(T_n) ──► every pending change with time <= T_n, consolidated ──► out
 */
import { isValid, rowOf, takeBatch, type Batch, type Column } from '../common/column.js';
import type { Field, SqlType, Value } from '../common/types.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { ChangeBuilder } from './changes.js';
import { compile, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable } from './state/state-table.js';

type TemporalPlan = Extract<PhysicalPlan, { kind: 'TemporalFilterExec' }>;

interface Pending {
  readonly row: Value[];
  w: number;
}

/** A bound's kernel and the µs added to it: `now() > b` holds from b + 1, `now() <= b` until b + 1. */
interface Bound {
  readonly k: Kernel;
  readonly adj: bigint;
}

/** A binary min-heap of times (µs). */
class TimeHeap {
  private readonly a: bigint[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): bigint | undefined {
    return this.a[0];
  }
  push(t: bigint): void {
    const a = this.a;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= t) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = t;
  }
  pop(): bigint {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
  clear(): void {
    this.a.length = 0;
  }
}

export class TemporalFilterOp implements Operator {
  readonly name = 'TemporalFilterExec';
  readonly state: readonly StateTable[];
  private readonly lower: Bound[] = [];
  private readonly upper: Bound[] = [];
  private readonly types: SqlType[];
  /** Changes waiting for their batch time: by time, then by the row's encoding. */
  private readonly pending = new Map<bigint, Map<string, Pending>>();
  private readonly times = new TimeHeap();
  private count = 0;

  constructor(readonly id: string, plan: TemporalPlan) {
    for (const c of plan.conditions) {
      const k = compile(c.bound);
      if (c.op === 'ge') this.lower.push({ k, adj: 0n });
      else if (c.op === 'gt') this.lower.push({ k, adj: 1n });
      else if (c.op === 'lt') this.upper.push({ k, adj: 0n });
      else this.upper.push({ k, adj: 1n });
    }
    this.types = plan.schema.map((f) => f.type);
    const taken = new Set(plan.schema.map((f) => f.name));
    const fresh = (base: string): string => {
      let n = base;
      while (taken.has(n)) n = `_${n}`;
      taken.add(n);
      return n;
    };
    const schema: Field[] = [{ name: fresh('_at'), type: 'timestamp' }, { name: fresh('_weight'), type: 'bigint' }, ...plan.schema];
    const width = plan.schema.length;
    this.state = [
      rowStateTable(
        { name: 'pending', schema, key: [0, ...plan.schema.map((_, i) => i + 2)], cleanup: { column: schema[0]!.name, note: `a row's change leaves state when T_n reaches its ${schema[0]!.name}` } },
        {
          readRows: () => this.readRows(),
          loadRows: (rows) => {
            this.pending.clear();
            this.times.clear();
            this.count = 0;
            for (const r of rows) this.schedule(r[0] as bigint, r.slice(2, 2 + width), Number(r[1] as bigint));
          },
          count: () => this.count,
        },
      ),
    ];
  }

  private *readRows(): Iterable<Value[]> {
    for (const [t, m] of this.pending) for (const e of m.values()) yield [t, BigInt(e.w), ...e.row];
  }

  /** Adds weight `w` of `row` at batch time `t`; a pair that cancels leaves state. */
  private schedule(t: bigint, row: Value[], w: number): void {
    let m = this.pending.get(t);
    if (!m) {
      this.pending.set(t, (m = new Map()));
      this.times.push(t);
    }
    const key = encodeValues(row);
    const e = m.get(key);
    if (!e) {
      m.set(key, { row, w });
      this.count++;
      return;
    }
    e.w += w;
    if (e.w === 0) {
      m.delete(key);
      this.count--;
    }
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    const n = b.length;
    if (n === 0) return;
    const now = ctx.now;
    // What came due goes first: it is the view as of T_n before this epoch's changes (a keyed
    // view must see an expired version of a row leave before the input's new version arrives).
    this.emitDue(now, out);
    const lo = this.lower.map((l) => l.k(b, ctx));
    const hi = this.upper.map((u) => u.k(b, ctx));
    const idx = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const from = extreme(lo, this.lower, i, true);
      if (from === null) continue;
      const until = extreme(hi, this.upper, i, false);
      if (until === null) continue;
      const enters = from === undefined || from <= now ? now : from;
      if (until !== undefined && until <= enters) continue;
      const w = b.weights ? b.weights[i]! : 1;
      let row: Value[] | null = null;
      if (enters === now) idx[k++] = i;
      else this.schedule(from!, (row = rowOf(b, i)), w);
      if (until !== undefined) this.schedule(until, row ?? rowOf(b, i), -w);
    }
    if (k === 0) return;
    out(k === n ? b : takeBatch(b, idx, k));
  }

  endEpoch(ctx: OperatorContext, out: Collector): void {
    this.emitDue(ctx.now, out);
  }

  /** Emits every pending change whose time is at or before `now` (nothing scheduled later in the epoch is due). */
  private emitDue(now: bigint, out: Collector): void {
    let head = this.times.peek();
    if (head === undefined || head > now) return;
    // Changes of the same row due in this epoch (it entered and left since the last) add up.
    const due = new Map<string, Pending>();
    while (head !== undefined && head <= now) {
      this.times.pop();
      const m = this.pending.get(head);
      if (m) {
        this.pending.delete(head);
        this.count -= m.size;
        for (const [key, e] of m) {
          const d = due.get(key);
          if (d) d.w += e.w;
          else due.set(key, { row: e.row, w: e.w });
        }
      }
      head = this.times.peek();
    }
    const cb = new ChangeBuilder(this.types);
    for (const e of due.values()) cb.add(e.row, e.w);
    cb.flush(out);
  }

  stateRows(): number {
    return this.count;
  }
}

/**
 * The largest lower bound (`max`) or smallest upper bound of row `i`: undefined when there are
 * no bounds of that side, null when one is NULL (the condition is not true: the row never shows).
 */
function extreme(cols: readonly Column[], bounds: readonly Bound[], i: number, max: boolean): bigint | null | undefined {
  let r: bigint | undefined;
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j]!;
    if (!isValid(c, i)) return null;
    const v = (c.values as BigInt64Array)[i]! + bounds[j]!.adj;
    if (r === undefined || (max ? v > r : v < r)) r = v;
  }
  return r;
}
