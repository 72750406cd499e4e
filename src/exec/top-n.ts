/**
 * TopNExec: per partition, the rows ranked offset+1 … offset+limit by the ORDER BY (plus ties
 * when asked), as ORDER BY … LIMIT and ROW_NUMBER() … WHERE rank <= N define them. Each epoch,
 * the partitions that changed are re-ranked and the difference to what was emitted goes out
 * (a delete inside the top promotes the next row). Over an append-only input only the top rows
 * are kept, since a row that falls out can never come back.
 */
import { getValue, type Batch } from '../common/column.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import { compareDecimalText } from '../common/decimal.js';
import { compareIntervals } from '../common/interval.js';
import type { BoundExpr } from '../planner/expr.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { ChangeBuilder } from './changes.js';
import { compile, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable } from './state/state-table.js';

type TopNPlan = Extract<PhysicalPlan, { kind: 'TopNExec' }>;

interface Row {
  readonly row: Value[];
  readonly sort: Value[];
  readonly enc: string;
  count: number;
}

interface Partition {
  /** The PARTITION BY values (what `partEnc` encodes), kept for the state tables. */
  readonly key: readonly Value[];
  readonly rows: Map<string, Row>;
  emitted: Value[][];
}

/**
 * Where each of some key expressions' values sits in a state row: a PARTITION BY / ORDER BY
 * key that is a plain column is read from the row itself; any other expression has its own
 * column (`${prefix}${k}`) appended after `first`, except one of type null (ORDER BY NULL),
always NULL, which gets none (-1): there is nothing to keep, and Arrow's Null columns do not
come back from a snapshot. Storing the computed values, rather than
 * re-evaluating the kernels on restore, keeps exactly what the operator computed when the row
 * came in: a key over now() is evaluated at that epoch's T_n, a row error is not reported
 * twice, and restoring needs no evaluation context.
 */
function keyLayout(exprs: readonly BoundExpr[], first: number, prefix: string): { readonly at: number[]; readonly stored: number[]; readonly schema: Schema } {
  const at: number[] = [];
  const stored: number[] = [];
  const schema: { name: string; type: BoundExpr['type'] }[] = [];
  exprs.forEach((e, k) => {
    if (e.kind === 'col') at.push(e.index);
    else if (e.type === 'null') at.push(-1);
    else {
      at.push(first + stored.length);
      stored.push(k);
      schema.push({ name: `${prefix}${k}`, type: e.type });
    }
  });
  return { at, stored, schema };
}

/** The values at `at` of a state row (see {@link keyLayout}). */
function pick(s: readonly Value[], at: readonly number[]): Value[] {
  return at.map((j) => (j < 0 ? null : s[j]!));
}

export class TopNOp implements Operator {
  readonly name = 'TopNExec';
  readonly state: readonly StateTable[];
  private readonly parts = new Map<string, Partition>();
  private readonly dirty = new Set<string>();
  private readonly partKernels: Kernel[];
  private readonly sortKernels: Kernel[];

  constructor(readonly id: string, private readonly plan: TopNPlan) {
    this.partKernels = plan.partitionBy.map(compile);
    this.sortKernels = plan.orderBy.map((o) => compile(o.expr));
    this.state = [this.inputTable(), this.emittedTable()];
  }

  /**
   * `input`: every input row held, with its multiplicity — the row's columns, the computed
   * PARTITION BY / ORDER BY values that are not plain columns (`_part<k>`, `_sort<k>`), and
   * `_count`. Key: the row plus its stored partition values (a row is in one partition unless
   * the partition key is volatile, and then the pair still identifies it).
   */
  private inputTable(): StateTable {
    const inSchema = this.plan.input.schema;
    const width = inSchema.length;
    const part = keyLayout(this.plan.partitionBy, width, '_part');
    const sort = keyLayout(this.plan.orderBy.map((o) => o.expr), width + part.stored.length, '_sort');
    const countAt = width + part.stored.length + sort.stored.length;
    const schema: Schema = [...inSchema, ...part.schema, ...sort.schema, { name: '_count', type: 'int' }];
    const key = [...inSchema.map((_, j) => j), ...part.stored.map((_, i) => width + i)];
    return rowStateTable({ name: 'input', schema, key }, {
      readRows: () => {
        const out: Value[][] = [];
        for (const p of this.parts.values()) {
          const extra = part.stored.map((k) => p.key[k]!);
          for (const r of p.rows.values()) out.push([...r.row, ...extra, ...sort.stored.map((k) => r.sort[k]!), r.count]);
        }
        return out;
      },
      loadRows: (rows) => {
        for (const p of this.parts.values()) p.rows.clear();
        for (const s of rows) {
          const row = s.slice(0, width);
          const enc = encodeValues(row);
          const p = this.partition(pick(s, part.at));
          p.rows.set(enc, { row, sort: pick(s, sort.at), enc, count: s[countAt] as number });
        }
        this.dropEmpty();
      },
      count: () => {
        let n = 0;
        for (const p of this.parts.values()) n += p.rows.size;
        return n;
      },
    });
  }

  /**
   * `emitted`: the rows last emitted (the view's current contents), in `plan.schema`, with the
   * stored partition values and `_pos`, the row's place in its partition's emitted list. The
   * order is kept because endEpoch's retractions go out in that order. Key: partition + `_pos`
   * (a row emitted twice appears twice).
   */
  private emittedTable(): StateTable {
    const outSchema = this.plan.schema;
    const width = outSchema.length;
    // A plain-column partition key indexes the input row, which leads the output row.
    const part = keyLayout(this.plan.partitionBy, width, '_part');
    const posAt = width + part.stored.length;
    const schema: Schema = [...outSchema, ...part.schema, { name: '_pos', type: 'int' }];
    const key = [...part.at.filter((j) => j >= 0), posAt];
    return rowStateTable({ name: 'emitted', schema, key }, {
      readRows: () => {
        const out: Value[][] = [];
        for (const p of this.parts.values()) {
          const extra = part.stored.map((k) => p.key[k]!);
          p.emitted.forEach((r, i) => out.push([...r, ...extra, i]));
        }
        return out;
      },
      loadRows: (rows) => {
        for (const p of this.parts.values()) p.emitted = [];
        for (const s of rows) this.partition(pick(s, part.at)).emitted[s[posAt] as number] = s.slice(0, width);
        this.dropEmpty();
      },
      count: () => {
        let n = 0;
        for (const p of this.parts.values()) n += p.emitted.length;
        return n;
      },
    });
  }

  /** The partition of the given PARTITION BY values, created empty if new (restore only). */
  private partition(key: Value[]): Partition {
    const partEnc = encodeValues(key);
    let p = this.parts.get(partEnc);
    if (!p) this.parts.set(partEnc, (p = { key, rows: new Map(), emitted: [] }));
    return p;
  }

  private dropEmpty(): void {
    for (const [enc, p] of this.parts) if (p.rows.size === 0 && p.emitted.length === 0) this.parts.delete(enc);
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext): void {
    const pk = this.partKernels.map((k) => k(b, ctx));
    const sk = this.sortKernels.map((k) => k(b, ctx));
    const width = b.columns.length;
    for (let i = 0; i < b.length; i++) {
      const key = pk.map((c) => getValue(c, i));
      const partEnc = encodeValues(key);
      let part = this.parts.get(partEnc);
      if (!part) this.parts.set(partEnc, (part = { key, rows: new Map(), emitted: [] }));
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
      const c = compareValues(x, y, true, keys[k]!.expr.type);
      if (c !== 0) return keys[k]!.desc ? -c : c;
    }
    return 0;
  };

  endEpoch(_ctx: OperatorContext, out: Collector): void {
    const changes = new ChangeBuilder(this.plan.schema.map((f) => f.type));
    const add = (row: Value[], w: number) => changes.add(row, w);
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
    changes.flush(out);
  }
}

/** Ascending order of two values of one type; NULLs first or last as asked. NUMERIC texts need their `type`. */
export function compareValues(a: Value, b: Value, nullsFirst: boolean, type?: SqlType): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    return (a === null) === nullsFirst ? -1 : 1;
  }
  if (type === 'numeric') return compareDecimalText(a as string, b as string);
  // Intervals by span, so equal ones ('1 mon', '30 days') tie as in PostgreSQL.
  if (type === 'interval') return compareIntervals(a as string, b as string);
  if (typeof a === 'object' && typeof b === 'object') {
    // Arrays as PostgreSQL orders them: element by element (a NULL element after any value),
    // then the shorter first.
    for (let k = 0; k < a.length && k < b.length; k++) {
      const c = compareValues(a[k]!, b[k]!, false);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
