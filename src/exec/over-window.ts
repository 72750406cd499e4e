/**
 * OverWindowExec: window functions over partitions (`f(…) OVER (PARTITION BY … ORDER BY …
 * frame)`), maintained incrementally. State: every input row of every partition with its
 * multiplicity and the PARTITION BY / ORDER BY / argument / RANGE-bound values computed when it
 * came in. A partition the epoch changed is recomputed twice — as it was before the epoch
 * (from a copy taken at its first change) and as it is now — and only the output rows that
 * differ go out (retracting the old, inserting the new); other partitions are not touched.
 * The output of a partition is a function of its rows alone (ties in the ORDER BY are broken
 * by the row's own values), so no emitted rows need to be kept: after a restart the previous
 * output is recomputed from the restored rows.
 */
import { addIntervals, decodeInterval, encodeInterval, intervalKey, scaleInterval, ZERO_INTERVAL, type IntervalParts } from '../common/interval.js';
import { getValue, type Batch } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import type { BoundExpr } from '../planner/expr.js';
import type { FrameEdge, WindowCall } from '../planner/logical.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { ChangeBuilder } from './changes.js';
import { compile, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable } from './state/state-table.js';
import { compareValues } from './top-n.js';
import { addDec, decOf, divDec, formatDec, type Dec } from '../common/decimal.js';

type OverWindowPlan = Extract<PhysicalPlan, { kind: 'OverWindowExec' }>;

interface Row {
  readonly row: readonly Value[];
  /** The values of the node's expressions (see OverWindowOp.exprs) for this row. */
  readonly vals: readonly Value[];
  readonly enc: string;
  count: number;
}

interface Partition {
  readonly key: readonly Value[];
  readonly rows: Map<string, Row>;
  /** The partition's rows and counts before this epoch's first change (null: unchanged). */
  before: (readonly [Row, number])[] | null;
}

/** Where a call's inputs sit among the node's expressions. */
interface CallLayout {
  readonly call: WindowCall;
  readonly args: readonly number[];
  readonly startValue: number;
  readonly endValue: number;
}

export class OverWindowOp implements Operator {
  readonly name = 'OverWindowExec';
  readonly state: readonly StateTable[];
  private readonly parts = new Map<string, Partition>();
  private readonly dirty = new Set<string>();
  /** Every expression the node evaluates per row: PARTITION BY, ORDER BY, call arguments, RANGE bounds. */
  private readonly exprs: BoundExpr[] = [];
  private readonly kernels: Kernel[];
  private readonly nPart: number;
  private readonly nSort: number;
  private readonly layouts: CallLayout[];
  private readonly outTypes: SqlType[];

  constructor(readonly id: string, private readonly plan: OverWindowPlan) {
    this.exprs.push(...plan.partitionBy, ...plan.orderBy.map((o) => o.expr));
    this.nPart = plan.partitionBy.length;
    this.nSort = plan.orderBy.length;
    this.layouts = plan.calls.map((call) => {
      const args = call.args.map((a) => this.exprs.push(a) - 1);
      const at = (e: FrameEdge) => (e.value ? this.exprs.push(e.value) - 1 : -1);
      return { call, args, startValue: at(call.frame.start), endValue: at(call.frame.end) };
    });
    this.kernels = this.exprs.map(compile);
    this.outTypes = plan.schema.map((f) => f.type);
    this.state = [this.rowsTable()];
  }

  /**
   * `rows`: every input row held, with its multiplicity — the row's columns, the values of the
   * node's expressions that are not plain columns or constants (`_e<k>`) and `_count`. Key: the row plus
   * its stored PARTITION BY values. Stored values, rather than kernels re-run on restore, keep
   * what was computed when the row came in (now(), errors already reported).
   */
  private rowsTable(): StateTable {
    const inSchema = this.plan.input.schema;
    const width = inSchema.length;
    const at: number[] = [];
    const storedSchema: { name: string; type: SqlType }[] = [];
    const stored: number[] = [];
    // Constants (lag's default offset, ntile's bucket count, …) are not stored either.
    const constant = (k: number): Value => {
      const e = this.exprs[k]!;
      return e.kind === 'lit' ? e.value : null;
    };
    this.exprs.forEach((e, k) => {
      if (e.kind === 'col') at.push(e.index);
      else if (e.type === 'null' || e.kind === 'lit') at.push(-1);
      else {
        at.push(width + stored.length);
        stored.push(k);
        storedSchema.push({ name: `_e${k}`, type: e.type });
      }
    });
    const countAt = width + stored.length;
    const schema: Schema = [...inSchema, ...storedSchema, { name: '_count', type: 'int' }];
    const key = [...inSchema.map((_, j) => j), ...stored.filter((k) => k < this.nPart).map((_, i) => width + i)];
    return rowStateTable({ name: 'rows', schema, key }, {
      readRows: () => {
        const out: Value[][] = [];
        for (const p of this.parts.values()) for (const r of p.rows.values()) out.push([...r.row, ...stored.map((k) => r.vals[k]!), r.count]);
        return out;
      },
      loadRows: (rows) => {
        this.parts.clear();
        for (const s of rows) {
          const row = s.slice(0, width);
          const vals = at.map((j, k) => (j < 0 ? constant(k) : s[j]!));
          const part = this.partition(vals.slice(0, this.nPart));
          const enc = encodeValues(row);
          part.rows.set(enc, { row, vals, enc, count: s[countAt] as number });
        }
      },
      count: () => {
        let n = 0;
        for (const p of this.parts.values()) n += p.rows.size;
        return n;
      },
    });
  }

  /** A partition key's encoding; intervals by span, so '1 mon' and '30 days' share a partition (PostgreSQL's equality). */
  private partEnc(key: readonly Value[]): string {
    const ps = this.plan.partitionBy;
    return encodeValues(ps.some((e) => e.type === 'interval') ? key.map((v, j) => (ps[j]!.type === 'interval' && v !== null ? intervalKey(v as string) : v)) : key);
  }

  private partition(key: Value[]): Partition {
    const enc = this.partEnc(key);
    let p = this.parts.get(enc);
    if (!p) this.parts.set(enc, (p = { key, rows: new Map(), before: null }));
    return p;
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext): void {
    const cols = this.kernels.map((k) => k(b, ctx));
    const width = b.columns.length;
    for (let i = 0; i < b.length; i++) {
      const vals: Value[] = cols.map((c) => getValue(c, i));
      const key = vals.slice(0, this.nPart);
      const partEnc = this.partEnc(key);
      let part = this.parts.get(partEnc);
      if (!part) this.parts.set(partEnc, (part = { key, rows: new Map(), before: null }));
      if (!this.dirty.has(partEnc)) {
        part.before = [...part.rows.values()].map((r) => [r, r.count] as const);
        this.dirty.add(partEnc);
      }
      const row: Value[] = new Array(width);
      for (let j = 0; j < width; j++) row[j] = getValue(b.columns[j]!, i);
      const enc = encodeValues(row);
      const w = b.weights ? b.weights[i]! : 1;
      const cur = part.rows.get(enc);
      if (cur) {
        cur.count += w;
        if (cur.count === 0) part.rows.delete(enc);
      } else part.rows.set(enc, { row, vals, enc, count: w });
    }
  }

  endEpoch(_ctx: OperatorContext, out: Collector): void {
    const changes = new ChangeBuilder(this.outTypes);
    for (const partEnc of this.dirty) {
      const part = this.parts.get(partEnc)!;
      const before = this.compute(part.before ?? []);
      const after = this.compute([...part.rows.values()].map((r) => [r, r.count] as const));
      part.before = null;
      if (part.rows.size === 0) this.parts.delete(partEnc);
      // Only the rows that changed go out.
      const old = new Map<string, { row: Value[]; n: number }>();
      for (const r of before) {
        const e = encodeValues(r);
        const o = old.get(e);
        if (o) o.n++;
        else old.set(e, { row: r, n: 1 });
      }
      for (const r of after) {
        const e = encodeValues(r);
        const o = old.get(e);
        if (o && o.n > 0) o.n--;
        else changes.add(r, 1);
      }
      for (const o of old.values()) for (let k = 0; k < o.n; k++) changes.add(o.row, -1);
    }
    this.dirty.clear();
    changes.flush(out);
  }

  /** Orders rows by the ORDER BY, ties by the row's encoding (deterministic). */
  private compare = (a: Row, b: Row): number => {
    const keys = this.plan.orderBy;
    for (let k = 0; k < keys.length; k++) {
      const x = a.vals[this.nPart + k]!;
      const y = b.vals[this.nPart + k]!;
      if (x === null || y === null) {
        const c = compareValues(x, y, keys[k]!.nullsFirst);
        if (c !== 0) return c;
        continue;
      }
      const c = compareValues(x, y, true, keys[k]!.expr.type);
      if (c !== 0) return keys[k]!.desc ? -c : c;
    }
    return 0;
  };

  /** The output rows of a partition holding `rows` (with counts). */
  private compute(rows: readonly (readonly [Row, number])[]): Value[][] {
    if (rows.length === 0) return [];
    const sorted = [...rows].sort((a, b) => this.compare(a[0], b[0]) || (a[0].enc < b[0].enc ? -1 : a[0].enc > b[0].enc ? 1 : 0));
    const list: Row[] = [];
    for (const [r, c] of sorted) for (let k = 0; k < c; k++) list.push(r);
    const n = list.length;
    // Peer groups: rows equal in the ORDER BY (all rows, without one).
    const peerStart = new Int32Array(n);
    const peerEnd = new Int32Array(n);
    const group = new Int32Array(n);
    let g = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0 && this.compare(list[i - 1]!, list[i]!) !== 0) g++;
      group[i] = g;
      peerStart[i] = i > 0 && group[i - 1] === g ? peerStart[i - 1]! : i;
    }
    for (let i = n - 1; i >= 0; i--) peerEnd[i] = i < n - 1 && group[i + 1] === group[i] ? peerEnd[i + 1]! : i + 1;
    const ctx: PartitionView = { list, n, peerStart, peerEnd, group, groups: g + 1 };
    const results = this.layouts.map((l) => this.evaluate(l, ctx));
    return list.map((r, i) => [...r.row, ...results.map((col) => col[i]!)]);
  }

  private evaluate(l: CallLayout, p: PartitionView): Value[] {
    const { list, n, peerStart, peerEnd, group } = p;
    const out: Value[] = new Array(n);
    const arg = (i: number, k: number): Value => list[i]!.vals[l.args[k]!]!;
    switch (l.call.fn) {
      case 'row_number':
        for (let i = 0; i < n; i++) out[i] = BigInt(i + 1);
        return out;
      case 'rank':
        for (let i = 0; i < n; i++) out[i] = BigInt(peerStart[i]! + 1);
        return out;
      case 'dense_rank':
        for (let i = 0; i < n; i++) out[i] = BigInt(group[i]! + 1);
        return out;
      case 'percent_rank':
        for (let i = 0; i < n; i++) out[i] = n > 1 ? peerStart[i]! / (n - 1) : 0;
        return out;
      case 'cume_dist':
        for (let i = 0; i < n; i++) out[i] = peerEnd[i]! / n;
        return out;
      case 'ntile': {
        // PostgreSQL reads the bucket count at the partition's first row.
        const b = arg(0, 0);
        if (b === null) return out.fill(null);
        const buckets = Number(b);
        if (buckets <= 0) throw new SluiceError('invalid_ntile_argument', 'argument of ntile must be greater than zero');
        const per = Math.floor(n / buckets);
        const extra = n % buckets;
        // The first `extra` buckets hold per + 1 rows.
        for (let i = 0; i < n; i++) {
          const big = extra * (per + 1);
          out[i] = i < big ? Math.floor(i / (per + 1)) + 1 : per === 0 ? i + 1 : extra + Math.floor((i - big) / per) + 1;
        }
        return out;
      }
      case 'lag':
      case 'lead':
        for (let i = 0; i < n; i++) {
          const off = arg(i, 1);
          if (off === null) {
            out[i] = null;
            continue;
          }
          const t = l.call.fn === 'lag' ? i - Number(off) : i + Number(off);
          out[i] = t >= 0 && t < n ? arg(t, 0) : arg(i, 2);
        }
        return out;
      default:
        break;
    }
    const { start, end } = this.frames(l, p);
    switch (l.call.fn) {
      case 'first_value':
        for (let i = 0; i < n; i++) out[i] = start[i]! < end[i]! ? arg(start[i]!, 0) : null;
        return out;
      case 'last_value':
        for (let i = 0; i < n; i++) out[i] = start[i]! < end[i]! ? arg(end[i]! - 1, 0) : null;
        return out;
      case 'nth_value':
        for (let i = 0; i < n; i++) {
          const k = arg(i, 1);
          if (k === null) {
            out[i] = null;
            continue;
          }
          if (Number(k) <= 0) throw new SluiceError('invalid_nth_value_argument', 'argument of nth_value must be greater than zero');
          const at = start[i]! + Number(k) - 1;
          out[i] = at < end[i]! ? arg(at, 0) : null;
        }
        return out;
      default:
        return frameAggregate(l.call, (i) => (l.args.length ? arg(i, 0) : true), start, end, n);
    }
  }

  /** Each row's frame as [start, end) positions in the partition's order. */
  private frames(l: CallLayout, p: PartitionView): { start: Int32Array; end: Int32Array } {
    const { n, peerStart, peerEnd } = p;
    const start = new Int32Array(n);
    const end = new Int32Array(n);
    const { mode } = l.call.frame;
    const edge = (e: FrameEdge, valueAt: number, isStart: boolean, i: number): number => {
      switch (e.kind) {
        case 'unbounded_preceding':
          return 0;
        case 'unbounded_following':
          return n;
        case 'current_row':
          if (mode === 'rows') return isStart ? i : i + 1;
          return isStart ? peerStart[i]! : peerEnd[i]!;
        default:
          if (mode === 'rows') {
            const at = e.kind === 'preceding' ? i - e.rows : i + e.rows;
            return Math.max(0, Math.min(n, isStart ? at : at + 1));
          }
          return this.rangeEdge(p, i, p.list[i]!.vals[valueAt]!, isStart);
      }
    };
    for (let i = 0; i < n; i++) {
      start[i] = edge(l.call.frame.start, l.startValue, true, i);
      end[i] = Math.max(start[i]!, edge(l.call.frame.end, l.endValue, false, i));
    }
    return { start, end };
  }

  /**
   * A RANGE offset edge of row `i`: the first row at or after `bound` in the ORDER BY (a
   * frame start) or the first after it (a frame end). A row whose key is NULL has its NULL
   * peers as the frame edge; NULL keys are never within an offset of a non-NULL key.
   */
  private rangeEdge(p: PartitionView, i: number, bound: Value, isStart: boolean): number {
    const { list, n, peerStart, peerEnd } = p;
    const keyOf = (j: number) => list[j]!.vals[this.nPart]!;
    if (keyOf(i) === null) return isStart ? peerStart[i]! : peerEnd[i]!;
    const sk = this.plan.orderBy[0]!;
    // The non-NULL block of the partition.
    let lo = 0;
    let hi = n;
    if (sk.nullsFirst) while (lo < n && keyOf(lo) === null) lo = peerEnd[lo]!;
    else while (hi > 0 && keyOf(hi - 1) === null) hi = peerStart[hi - 1]!;
    if (bound === null) return isStart ? lo : hi;
    // cmp(j) < 0: row j comes before the bound in the ORDER BY direction.
    const cmp = (j: number) => {
      const c = compareValues(keyOf(j), bound, true, sk.expr.type);
      return sk.desc ? -c : c;
    };
    // Binary search: the first j in [lo, hi) with cmp(j) >= 0 (start) or > 0 (end).
    let a = lo;
    let b = hi;
    while (a < b) {
      const m = (a + b) >> 1;
      const c = cmp(m);
      if (isStart ? c < 0 : c <= 0) a = m + 1;
      else b = m;
    }
    return a;
  }
}

interface PartitionView {
  readonly list: readonly Row[];
  readonly n: number;
  readonly peerStart: Int32Array;
  readonly peerEnd: Int32Array;
  readonly group: Int32Array;
  readonly groups: number;
}

/**
 * An aggregate (sum, avg, count, count(*), min, max) over each row's frame [start, end). A
 * frame from the partition's start grows with the row (one running pass, in order, as
 * PostgreSQL accumulates); other frames are summed over their rows one by one, in order, so
 * floating sums round as PostgreSQL's do.
 */
export function frameAggregate(call: WindowCall, value: (i: number) => Value, start: Int32Array, end: Int32Array, n: number): Value[] {
  const out: Value[] = new Array(n);
  const acc = accumulator(call);
  let running = true;
  for (let i = 0; i < n; i++) if (start[i] !== 0 || (i > 0 && end[i]! < end[i - 1]!)) running = false;
  if (running) {
    let p = 0;
    for (let i = 0; i < n; i++) {
      while (p < end[i]!) acc.add(value(p++));
      out[i] = acc.result();
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    acc.reset();
    for (let j = start[i]!; j < end[i]!; j++) acc.add(value(j));
    out[i] = acc.result();
  }
  return out;
}

interface Accumulator {
  reset(): void;
  add(v: Value): void;
  result(): Value;
}

function accumulator(call: WindowCall): Accumulator {
  const argType = call.args[0]?.type ?? 'null';
  switch (call.fn) {
    case 'count':
    case 'count_star': {
      let c = 0;
      return { reset: () => (c = 0), add: (v) => { if (v !== null) c++; }, result: () => BigInt(c) };
    }
    case 'sum':
    case 'avg': {
      if (call.type === 'numeric') {
        let sum: Dec = { digits: 0n, scale: 0 };
        let n = 0;
        return {
          reset: () => { sum = { digits: 0n, scale: 0 }; n = 0; },
          add: (v) => {
            if (v === null) return;
            n++;
            sum = addDec(sum, typeof v === 'string' ? decOf(v) : { digits: BigInt(v as number | bigint), scale: 0 });
          },
          result: () => (n === 0 ? null : formatDec(call.fn === 'avg' ? divDec(sum, { digits: BigInt(n), scale: 0 }) : sum)),
        };
      }
      if (argType === 'interval') {
        let sum: IntervalParts = ZERO_INTERVAL;
        let c = 0;
        return {
          reset: () => { sum = ZERO_INTERVAL; c = 0; },
          add: (v) => {
            if (v === null) return;
            c++;
            sum = addIntervals(sum, decodeInterval(v as string));
          },
          result: () => (c === 0 ? null : encodeInterval(call.fn === 'avg' ? scaleInterval(sum, c, 'div') : sum)),
        };
      }
      const exact = argType === 'int' || argType === 'bigint';
      let big = 0n;
      let f = 0;
      let c = 0;
      return {
        reset: () => { big = 0n; f = 0; c = 0; },
        add: (v) => {
          if (v === null) return;
          c++;
          if (exact) big += BigInt(v as number | bigint);
          else f += v as number;
        },
        result: () => {
          if (c === 0) return null;
          if (call.fn === 'avg') return (exact ? Number(big) : f) / c;
          return exact ? big : f;
        },
      };
    }
    case 'min':
    case 'max': {
      let best: Value = null;
      const sign = call.fn === 'min' ? 1 : -1;
      return {
        reset: () => (best = null),
        add: (v) => { if (v !== null && (best === null || sign * compareValues(v, best, false, call.args[0]?.type) < 0)) best = v; },
        result: () => best,
      };
    }
    default:
      throw new SluiceError('internal', `window function ${call.fn} is not an aggregate`);
  }
}
