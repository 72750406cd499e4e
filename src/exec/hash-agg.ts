/**
 * HashAggExec: incremental hash aggregation. State per group: row count (sum of weights) and
 * one accumulator per aggregate. Each epoch, the groups it touched emit −old/+new rows.
 */
import { batchFromRows, type Batch } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Value } from '../common/types.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { createAccumulator, type GroupsAccumulator } from '../functions/aggregate/index.js';
import { AggregateInputs } from './aggregate-inputs.js';
import { ChangeBuilder, sameRow } from './changes.js';
import { createGroupTable, type GroupTable } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable } from './state/state-table.js';

export class HashAggOp implements Operator {
  readonly name = 'HashAggExec';
  readonly state: readonly StateTable[];
  private readonly table: GroupTable;
  private readonly inputs: AggregateInputs;
  private readonly accs: GroupsAccumulator[];
  private rows = new Float64Array(256);
  private emitted = new Uint8Array(256);
  private dirtyFlag = new Uint8Array(256);
  private dirty: number[] = [];
  private oldRows = new Map<number, Value[]>();
  private gids = new Int32Array(1024);
  private readonly global: boolean;
  private started = false;

  constructor(readonly id: string, private readonly plan: Extract<PhysicalPlan, { kind: 'HashAggExec' }>) {
    this.table = createGroupTable(plan.keyStrategy, plan.groupKeys.map((k) => k.type));
    this.inputs = new AggregateInputs(plan.groupKeys, plan.aggs);
    this.accs = plan.aggs.map((a) => createAccumulator(a, plan.retracting));
    this.global = plan.groupKeys.length === 0;
    this.state = this.stateTables();
  }

  /**
   * `groups`: one row per group id, in id order (so a restore reassigns the same ids): the key,
   * the row count, whether its row is emitted, and each accumulator's scalar state.
   * `a<i>_values`: the value multiset of each accumulator that keeps one (min/max under
   * retraction, DISTINCT), by group key and value.
   */
  private stateTables(): StateTable[] {
    const keyFields = this.plan.groupKeys.map((k, i) => ({ name: this.plan.schema[i]!.name, type: k.type }));
    const nk = keyFields.length;
    const keyIdx = keyFields.map((_, i) => i);
    const accFields = this.accs.flatMap((a, i) => a.stateLayout.scalar.map((f) => ({ name: `a${i}_${f.name}`, type: f.type })));
    const groups = rowStateTable(
      { name: 'groups', schema: [...keyFields, { name: '_rows', type: 'bigint' }, { name: '_emitted', type: 'boolean' }, ...accFields], key: keyIdx },
      {
        readRows: () => this.groupRows(),
        loadRows: (rows) => {
          const gids = this.assignRestored(rows, nk);
          rows.forEach((r, i) => {
            const g = gids[i]!;
            this.rows[g] = Number(r[nk] as bigint);
            this.emitted[g] = r[nk + 1] === true ? 1 : 0;
            let at = nk + 2;
            for (const a of this.accs) {
              const width = a.stateLayout.scalar.length;
              a.loadGroup(g, r.slice(at, at + width));
              at += width;
            }
          });
          if (this.global) this.started = this.emitted[0] === 1;
        },
        count: () => this.table.size,
      },
    );
    const values = this.accs.flatMap((a, i) => {
      const type = a.stateLayout.values;
      if (type === null) return [];
      return [rowStateTable(
        { name: `a${i}_values`, schema: [...keyFields, { name: 'value', type }, { name: '_count', type: 'bigint' }], key: [...keyIdx, nk] },
        {
          readRows: () => this.valueRows(a, nk),
          loadRows: (rows) => {
            const gids = this.assignRestored(rows, nk);
            rows.forEach((r, j) => a.loadValues(gids[j]!, [[r[nk]!, Number(r[nk + 1] as bigint)]]));
          },
          count: () => [...this.valueRows(a, nk)].length,
        },
      )];
    });
    return [groups, ...values];
  }

  private *groupRows(): Iterable<Value[]> {
    for (let g = 0; g < this.table.size; g++) {
      const row: Value[] = [];
      for (let k = 0; k < this.plan.groupKeys.length; k++) row.push(this.table.keyValue(g, k));
      row.push(BigInt(this.rows[g]!), this.emitted[g] === 1);
      for (const a of this.accs) row.push(...a.saveGroup(g));
      yield row;
    }
  }

  private *valueRows(a: GroupsAccumulator, nk: number): Iterable<Value[]> {
    for (let g = 0; g < this.table.size; g++) {
      const key: Value[] = [];
      for (let k = 0; k < nk; k++) key.push(this.table.keyValue(g, k));
      for (const [v, c] of a.saveValues(g)) yield [...key, v, BigInt(c)];
    }
  }

  /** Group ids of restored rows whose first `nk` values are a group key (new groups are added). */
  private assignRestored(rows: readonly Value[][], nk: number): Int32Array {
    const keys = batchFromRows(this.plan.groupKeys.map((k) => k.type), rows.map((r) => r.slice(0, nk)));
    const gids = new Int32Array(Math.max(1, rows.length));
    this.table.assign(keys.columns, rows.length, gids);
    this.ensure(this.table.size);
    return gids;
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext): void {
    const n = b.length;
    if (n === 0) return;
    if (this.gids.length < n) this.gids = new Int32Array(n * 2);
    const gids = this.gids;
    this.table.assign(this.inputs.keyColumns(b, ctx), n, gids);
    this.ensure(this.table.size);
    // Snapshot the current output row of each group this batch touches first this epoch.
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (this.dirtyFlag[g] === 0) {
        this.dirtyFlag[g] = 1;
        this.dirty.push(g);
        if (this.emitted[g] === 1) this.oldRows.set(g, this.outputRow(g, null));
      }
    }
    const w = b.weights;
    const rows = this.rows;
    if (w === null) for (let i = 0; i < n; i++) rows[gids[i]!]!++;
    else for (let i = 0; i < n; i++) rows[gids[i]!]! += w[i]!;
    this.inputs.update(this.accs, b, ctx, gids);
  }

  private ensure(size: number): void {
    if (size <= this.rows.length) return;
    const cap = Math.max(size, this.rows.length * 2);
    const r = new Float64Array(cap);
    r.set(this.rows);
    this.rows = r;
    const e = new Uint8Array(cap);
    e.set(this.emitted);
    this.emitted = e;
    const d = new Uint8Array(cap);
    d.set(this.dirtyFlag);
    this.dirtyFlag = d;
  }

  /**
   * A group's output row. An aggregate that cannot give its value (a sum out of range) gives
   * NULL, as a row-level error does: counted through `ctx` when the row is new output.
   */
  private outputRow(g: number, ctx: OperatorContext | null): Value[] {
    const row: Value[] = [];
    for (let k = 0; k < this.plan.groupKeys.length; k++) row.push(this.table.keyValue(g, k));
    for (const a of this.accs) {
      try {
        row.push(a.evaluate(g));
      } catch (e) {
        if (!(e instanceof SluiceError) || e.category !== 'numeric_out_of_range') throw e;
        row.push(null);
        ctx?.onRowError(e);
      }
    }
    return row;
  }

  endEpoch(ctx: OperatorContext, out: Collector): void {
    if (this.global && !this.started) {
      this.ensure(1);
      if (this.dirtyFlag[0] === 0) {
        this.dirtyFlag[0] = 1;
        this.dirty.push(0);
      }
    }
    this.started = true;
    if (this.dirty.length === 0) return;
    const changes = new ChangeBuilder(this.plan.schema.map((f) => f.type), this.dirty.length * 2);
    for (const g of this.dirty) {
      this.dirtyFlag[g] = 0;
      const old = this.oldRows.get(g);
      const rowsNow = this.rows[g]!;
      if (rowsNow < 0) throw new SluiceError('internal', `group ${g} has a negative row count: a delete arrived for a row never inserted`);
      const exists = this.global || rowsNow > 0;
      const fresh = exists ? this.outputRow(g, ctx) : null;
      if (old && fresh && sameRow(old, fresh)) continue;
      changes.update(old, fresh);
      this.emitted[g] = exists ? 1 : 0;
    }
    this.dirty = [];
    this.oldRows.clear();
    changes.flush(out);
  }
}


