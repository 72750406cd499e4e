/**
 * TopNExec: per partition, the rows ranked offset+1 … offset+limit by the ORDER BY (plus ties
 * when asked), as ORDER BY … LIMIT and ROW_NUMBER() … WHERE rank <= N define them. Each epoch,
 * the partitions that changed are re-ranked and the difference to what was emitted goes out
 * (a delete inside the top promotes the next row). Over an append-only input only the top rows
 * are kept, since a row that falls out can never come back.
 */
import { ColumnBuilder, getValue, type Batch } from '../common/column.js';
import type { Value } from '../common/types.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { compile, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import type { StateTable } from './state/state-table.js';

type TopNPlan = Extract<PhysicalPlan, { kind: 'TopNExec' }>;

interface Row {
  readonly row: Value[];
  readonly sort: Value[];
  readonly enc: string;
  count: number;
}

interface Partition {
  readonly rows: Map<string, Row>;
  emitted: Value[][];
}

export class TopNOp implements Operator {
  readonly name = 'TopNExec';
  readonly state: readonly StateTable[] = [];
  private readonly parts = new Map<string, Partition>();
  private readonly dirty = new Set<string>();
  private readonly partKernels: Kernel[];
  private readonly sortKernels: Kernel[];

  constructor(readonly id: string, private readonly plan: TopNPlan) {
    this.partKernels = plan.partitionBy.map(compile);
    this.sortKernels = plan.orderBy.map((o) => compile(o.expr));
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext): void {
    const pk = this.partKernels.map((k) => k(b, ctx));
    const sk = this.sortKernels.map((k) => k(b, ctx));
    const width = b.columns.length;
    for (let i = 0; i < b.length; i++) {
      const partEnc = encodeValues(pk.map((c) => getValue(c, i)));
      let part = this.parts.get(partEnc);
      if (!part) this.parts.set(partEnc, (part = { rows: new Map(), emitted: [] }));
      const row: Value[] = new Array(width);
      for (let j = 0; j < width; j++) row[j] = getValue(b.columns[j]!, i);
      const enc = encodeValues(row);
      const w = b.weights ? b.weights[i]! : 1;
      const cur = part.rows.get(enc);
      if (cur) {
        cur.count += w;
        if (cur.count === 0) part.rows.delete(enc);
      } else part.rows.set(enc, { row, sort: sk.map((c) => getValue(c, i)), enc, count: w });
      this.dirty.add(partEnc);
    }
  }

  private compare = (a: Row, b: Row): number => {
    const keys = this.plan.orderBy;
    for (let k = 0; k < keys.length; k++) {
      const x = a.sort[k]!;
      const y = b.sort[k]!;
      // NULLS FIRST/LAST is absolute; DESC flips only the order of non-NULL values.
      if (x === null || y === null) {
        const c = compareValues(x, y, keys[k]!.nullsFirst);
        if (c !== 0) return c;
        continue;
      }
      const c = compareValues(x, y, true);
      if (c !== 0) return keys[k]!.desc ? -c : c;
    }
    return 0;
  };

  endEpoch(_ctx: OperatorContext, out: Collector): void {
    const builders = this.plan.schema.map((f) => new ColumnBuilder(f.type, 16));
    const weights: number[] = [];
    const add = (row: Value[], w: number) => {
      row.forEach((v, j) => builders[j]!.append(v));
      weights.push(w);
    };
    const { offset, limit, withTies, rank } = this.plan;
    for (const partEnc of this.dirty) {
      const part = this.parts.get(partEnc)!;
      // Ties in the ORDER BY are broken by the row itself, so the answer is deterministic.
      const sorted = [...part.rows.values()].sort((a, b) => this.compare(a, b) || (a.enc < b.enc ? -1 : a.enc > b.enc ? 1 : 0));
      const expanded: Row[] = [];
      for (const r of sorted) for (let c = 0; c < r.count; c++) expanded.push(r);
      let end = Math.min(expanded.length, offset + limit);
      if (withTies && end > 0) while (end < expanded.length && this.compare(expanded[end]!, expanded[end - 1]!) === 0) end++;
      const fresh = expanded.slice(offset, end).map((r, i) => (rank ? [...r.row, BigInt(offset + i + 1)] : r.row));
      const before = new Map<string, number>();
      for (const r of part.emitted) before.set(encodeValues(r), (before.get(encodeValues(r)) ?? 0) + 1);
      const after = new Map<string, number>();
      for (const r of fresh) after.set(encodeValues(r), (after.get(encodeValues(r)) ?? 0) + 1);
      for (const r of part.emitted) {
        const e = encodeValues(r);
        if ((after.get(e) ?? 0) < (before.get(e) ?? 0)) {
          add(r, -1);
          before.set(e, before.get(e)! - 1);
        }
      }
      const emittedNow = new Map<string, number>();
      for (const r of part.emitted) emittedNow.set(encodeValues(r), (emittedNow.get(encodeValues(r)) ?? 0) + 1);
      for (const r of fresh) {
        const e = encodeValues(r);
        const had = emittedNow.get(e) ?? 0;
        if (had > 0) emittedNow.set(e, had - 1);
        else add(r, 1);
      }
      part.emitted = fresh;
      // Over an append-only input a row below the top never comes back: forget it.
      if (!this.plan.retracting && end < expanded.length) {
        const keep = new Set(expanded.slice(0, end).map((r) => r.enc));
        for (const [enc] of part.rows) if (!keep.has(enc)) part.rows.delete(enc);
      }
      if (part.rows.size === 0 && part.emitted.length === 0) this.parts.delete(partEnc);
    }
    this.dirty.clear();
    if (weights.length) out({ columns: builders.map((b) => b.finish()), length: weights.length, weights: Int32Array.from(weights) });
  }
}

/** Ascending order of two values of one type; NULLs first or last as asked. */
export function compareValues(a: Value, b: Value, nullsFirst: boolean): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    return (a === null) === nullsFirst ? -1 : 1;
  }
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
