/**
 * HashAggExec: incremental hash aggregation. State per group: row count (sum of weights) and
 * one accumulator per aggregate. Each epoch, the groups it touched emit −old/+new rows.
 */
import { batchFromRows, batchRows, ColumnBuilder, getBit, getValue, isValid, newBitmap, newKeyIdOwner, setBit, type Batch, type Column } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Value } from '../common/types.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { createAccumulator, scalarStateColumns, type GroupsAccumulator } from '../functions/aggregate/index.js';
import { bigintColumnOf, loadBigintAsNumbers } from '../functions/aggregate/group-arrays.js';
import { FloatSumAccumulator } from '../functions/aggregate/sum.js';
import { AggregateInputs } from './aggregate-inputs.js';
import { createGroupTable, type GroupTable } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { SlotColumn } from './slot-columns.js';
import { batchBytes, rowStateTable, type ChangeTracking, type StateTable } from './state/state-table.js';

export class HashAggOp implements Operator {
  readonly name = 'HashAggExec';
  readonly state: readonly StateTable[];
  private table: GroupTable;
  private readonly inputs: AggregateInputs;
  private accs: GroupsAccumulator[];
  private rows = new Float64Array(256);
  private emitted = new Uint8Array(256);
  private dirtyFlag = new Uint8Array(256);
  private dirty = new Int32Array(256);
  private nDirty = 0;
  /** Groups whose state changed since the last checkpoint (incremental checkpoints), by id and listed. */
  private ckptFlag = new Uint8Array(256);
  private ckptList = new Int32Array(256);
  private nCkpt = 0;
  /** Per aggregate: the value each group last emitted (by group id), and scratch columns. */
  private readonly prev: SlotColumn[];
  private readonly fresh: SlotColumn[];
  private prevStale = false;
  private existing = new Int32Array(0);
  private outGid = new Int32Array(0);
  private outFrom = new Int32Array(0);
  private outW = new Int32Array(0);
  private insFrom = new Int32Array(0);
  private insGid = new Int32Array(0);
  private gids = new Int32Array(1024);
  private readonly global: boolean;
  private started = false;
  /** Names this instance's group ids in the KeyIds of its output (a view store reuses them to find a group's row). */
  private readonly keyIdOwner = newKeyIdOwner();

  constructor(readonly id: string, private readonly plan: Extract<PhysicalPlan, { kind: 'HashAggExec' }>) {
    this.table = createGroupTable(plan.keyStrategy, plan.groupKeys.map((k) => k.type));
    this.inputs = new AggregateInputs(plan.groupKeys, plan.aggs);
    this.accs = plan.aggs.map((a) => createAccumulator(a, plan.retracting));
    this.global = plan.groupKeys.length === 0;
    const aggTypes = plan.aggs.map((_, j) => plan.schema[plan.groupKeys.length + j]!.type);
    this.prev = aggTypes.map((t) => new SlotColumn(t));
    this.fresh = aggTypes.map((t) => new SlotColumn(t));
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
    const acc = scalarStateColumns(this.accs.map((a) => a.stateLayout), nk + 2);
    const groupsSchema = [...keyFields, { name: '_rows', type: 'bigint' as const }, { name: '_emitted', type: 'boolean' as const }, ...acc.fields];
    const groups: StateTable = {
      spec: { name: 'groups', schema: groupsSchema, key: keyIdx, ...(acc.added.length > 0 ? { added: acc.added } : {}) },
      snapshot: () => [this.groupsBatch()],
      restore: (batches) => {
        for (const b of batches) {
          if (b.columns.length !== groupsSchema.length) throw new SluiceError('internal', `state table groups: snapshot has ${b.columns.length} columns, expected ${groupsSchema.length}`);
          this.loadGroups(b, nk);
        }
        if (this.global) this.started = this.emitted[0] === 1;
        // After the value tables are restored too: min and max read them.
        this.prevStale = true;
      },
      rows: () => this.table.size,
      bytes: () => batchBytes(this.groupsBatch()),
      // Groups are never removed (a group whose rows all went keeps its id), so a delta is the
      // changed groups' rows, loaded over the restored ones.
      changes: this.tracking(keyIdx, () => ({ removed: this.keysOf(this.changedGids()), rows: [this.groupsBatch(this.changedGids())] }), (d) => {
        for (const b of d.rows) this.loadGroups(b, nk);
        if (this.global) this.started = this.emitted[0] === 1;
        this.prevStale = true;
      }),
    };
    const values = this.accs.flatMap((a, i) => {
      const type = a.stateLayout.values;
      if (type === null) return [];
      const valueTypes = [...keyFields.map((f) => f.type), type, 'bigint' as const];
      const table = rowStateTable(
        { name: `a${i}_values`, schema: [...keyFields, { name: 'value', type }, { name: '_count', type: 'bigint' }], key: [...keyIdx, nk] },
        {
          readRows: () => this.valueRows(a, nk),
          loadRows: (rows) => {
            const gids = this.assignRestored(rows, nk);
            rows.forEach((r, j) => a.loadValues(gids[j]!, [[r[nk]!, Number(r[nk + 1] as bigint)]]));
          },
          count: () => [...this.valueRows(a, nk)].length,
        },
      );
      // A delta replaces the whole multiset of each changed group: reset, then its values loaded.
      // (Only where the accumulator has no scalar state, which a reset would lose too.)
      if (a.stateLayout.scalar.length > 0) return [table];
      const changes = this.tracking(keyIdx, () => {
        const gids = this.changedGids();
        return { removed: this.keysOf(gids), rows: [batchFromRows(valueTypes, [...this.valueRows(a, nk, gids)])] };
      }, (d) => {
        const keys = batchRows(d.removed);
        const gids = this.assignRestored(keys, nk);
        for (let j = 0; j < keys.length; j++) a.reset(gids[j]!);
        for (const b of d.rows) {
          const rows = batchRows(b);
          const vg = this.assignRestored(rows, nk);
          rows.forEach((r, j) => a.loadValues(vg[j]!, [[r[nk]!, Number(r[nk + 1] as bigint)]]));
        }
        this.prevStale = true;
      });
      return [{ ...table, changes }];
    });
    return [groups, ...values];
  }

  /** Change tracking over the groups changed since the last checkpoint (shared by every table of the operator). */
  private tracking(deltaKey: readonly number[], delta: ChangeTracking['delta'], apply: ChangeTracking['apply']): ChangeTracking {
    return {
      deltaKey,
      pending: () => this.nCkpt,
      delta,
      apply,
      clear: () => {
        for (let k = 0; k < this.nCkpt; k++) this.ckptFlag[this.ckptList[k]!] = 0;
        this.nCkpt = 0;
      },
    };
  }

  private changedGids(): Int32Array {
    return this.ckptList.slice(0, this.nCkpt);
  }

  /** The group keys of `gids` as a batch of the key columns. */
  private keysOf(gids: Int32Array): Batch {
    const cols: Column[] = [];
    for (let k = 0; k < this.plan.groupKeys.length; k++) cols.push(this.table.keyColumn(k, gids, gids.length));
    return { columns: cols, length: gids.length, weights: null };
  }

  private markChanged(g: number): void {
    if (this.ckptFlag[g] === 1) return;
    this.ckptFlag[g] = 1;
    if (this.nCkpt === this.ckptList.length) {
      const l = new Int32Array(this.ckptList.length * 2);
      l.set(this.ckptList);
      this.ckptList = l;
    }
    this.ckptList[this.nCkpt++] = g;
  }

  /**
   * The `groups` table: one row per group id, in id order, built column by column; with `gids`,
   * the rows of those groups only (a delta: the state columns gathered, the keys built for them alone).
   */
  private groupsBatch(gids: Int32Array | null = null): Batch {
    const n = this.table.size;
    if (gids !== null) return { columns: [...this.keysOf(gids).columns, ...this.stateColumns(gids.length, gids)], length: gids.length, weights: null };
    const state = this.stateColumns(n, null);
    const cols: Column[] = [];
    for (let k = 0; k < this.plan.groupKeys.length; k++) cols.push(this.table.keyColumn(k, null, n));
    return { columns: [...cols, ...state], length: n, weights: null };
  }

  /** The `groups` table's columns after the keys, for groups 0…n-1 (or groups `gids[0…n-1]`). */
  private stateColumns(n: number, gids: Int32Array | null): Column[] {
    const cols: Column[] = [];
    cols.push(bigintColumnOf(this.rows, n, gids));
    const emitted = newBitmap(n, false);
    for (let i = 0; i < n; i++) if (this.emitted[gids === null ? i : gids[i]!] === 1) setBit(emitted, i, true);
    cols.push({ type: 'boolean', length: n, values: emitted, validity: null });
    for (const a of this.accs) {
      if (a.saveColumns) cols.push(...a.saveColumns(n, gids));
      else {
        const builders = a.stateLayout.scalar.map((f) => new ColumnBuilder(f.type, n));
        for (let i = 0; i < n; i++) a.saveGroup(gids === null ? i : gids[i]!).forEach((v, j) => builders[j]!.append(v));
        cols.push(...builders.map((b) => b.finish()));
      }
    }
    return cols;
  }

  /** Loads a batch of the `groups` table: keys assigned ids column-wise, state set by id. */
  private loadGroups(b: Batch, nk: number): void {
    const n = b.length;
    const gids = new Int32Array(Math.max(1, n));
    if (this.global) gids.fill(0);
    else {
      this.table.reserve?.(n);
      this.table.assign(b.columns.slice(0, nk), n, gids);
    }
    this.ensure(this.table.size);
    loadBigintAsNumbers(b.columns[nk]!, gids, n, this.rows);
    const emitted = b.columns[nk + 1]!;
    for (let i = 0; i < n; i++) this.emitted[gids[i]!] = isValid(emitted, i) && getBit(emitted.values as Uint8Array, i) ? 1 : 0;
    let at = nk + 2;
    for (const a of this.accs) {
      const width = a.stateLayout.scalar.length;
      const cols = b.columns.slice(at, at + width);
      if (a.loadColumns) a.loadColumns(gids, n, cols);
      else for (let i = 0; i < n; i++) a.loadGroup(gids[i]!, cols.map((c) => getValue(c, i)));
      at += width;
    }
  }

  /**
   * After a restore: the values last emitted are those of the restored state (every group a
   * checkpointed epoch touched emitted its value then), so they are computed, not stored.
   */
  private evaluatePrevious(): void {
    this.prevStale = false;
    const ids: number[] = [];
    for (let g = 0; g < this.table.size; g++) if (this.emitted[g] === 1) ids.push(g);
    const gids = Int32Array.from(ids);
    this.accs.forEach((a, j) => {
      this.prev[j]!.ensure(this.table.size);
      this.evaluate(a, gids, gids.length, this.prev[j]!, gids, null);
    });
  }

  /**
   * The value of each group `gids[k]` into slot `slots[k]` (null: k) of `out`. An aggregate
   * that cannot give its value (a sum out of range) gives NULL, as a row-level error does:
   * counted through `ctx` when the row is new output.
   */
  private evaluate(a: GroupsAccumulator, gids: Int32Array, n: number, out: SlotColumn, slots: Int32Array | null, ctx: OperatorContext | null): void {
    if (a.evaluateInto?.(gids, n, out, slots)) return;
    for (let k = 0; k < n; k++) {
      const slot = slots === null ? k : slots[k]!;
      try {
        out.set(slot, a.evaluate(gids[k]!));
      } catch (e) {
        if (!(e instanceof SluiceError) || e.category !== 'numeric_out_of_range') throw e;
        out.setNull(slot);
        ctx?.onRowError(e);
      }
    }
  }

  /** Rows of an accumulator's value table: of every group, or of groups `gids`. */
  private *valueRows(a: GroupsAccumulator, nk: number, gids: Int32Array | null = null): Iterable<Value[]> {
    const n = gids === null ? this.table.size : gids.length;
    for (let i = 0; i < n; i++) {
      const g = gids === null ? i : gids[i]!;
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
    if (this.prevStale) this.evaluatePrevious();
    if (this.gids.length < n) this.gids = new Int32Array(n * 2);
    const gids = this.gids;
    this.table.assign(this.inputs.keyColumns(b, ctx), n, gids);
    this.ensure(this.table.size);
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (this.dirtyFlag[g] === 0) this.markDirty(g);
    }
    const w = b.weights;
    const rows = this.rows;
    if (w === null) for (let i = 0; i < n; i++) rows[gids[i]!]!++;
    else for (let i = 0; i < n; i++) rows[gids[i]!]! += w[i]!;
    this.inputs.update(this.accs, b, ctx, gids);
  }

  /**
   * Whether partial aggregates of parts of this operator's input can be merged into it with the
   * same result as the rows themselves (see mergePartial): no DISTINCT or ORDER BY in a call,
   * and every accumulator combinable (exact, order-free, no value multiset). A global
   * aggregate's partial is its one row.
   */
  mergesParts(): boolean {
    return this.plan.aggs.every((a) => !a.distinct && !a.orderBy?.length) && this.accs.every((a) => a.combinable === true && a.stateLayout.values === null);
  }

  /** {@link mergesParts}, of a grouped aggregate (what cluster mode's exchange carries). */
  combinable(): boolean {
    return !this.global && this.mergesParts();
  }

  /** Whether a call sums integers in doubles (combinable since session 33; see ClusterView). */
  sumsIntegersInDoubles(): boolean {
    return this.accs.some((a) => a instanceof FloatSumAccumulator);
  }

  /**
   * The groups of the rows this operator has processed, as rows of its `groups` table: a partial
   * aggregate for mergePartial. The operator then forgets them (keeping its compiled
   * expressions, and their constant columns, for the next part).
   */
  takePartial(): Batch {
    const b = this.groupsBatch();
    this.table = createGroupTable(this.plan.keyStrategy, this.plan.groupKeys.map((k) => k.type));
    this.accs = this.plan.aggs.map((a) => createAccumulator(a, this.plan.retracting));
    this.rows.fill(0);
    this.emitted.fill(0);
    this.dirtyFlag.fill(0);
    this.nDirty = 0;
    return b;
  }

  /**
   * Adds a partial aggregate — rows of the `groups` table of another instance of this plan, run
   * over a part of this operator's input — to the groups, as if that part's rows had come
   * (only when `combinable()`): each row's count and accumulator states are merged into its
   * group, and the group emits its change at the end of the epoch.
   */
  mergePartial(b: Batch): void {
    const n = b.length;
    if (n === 0) return;
    if (this.prevStale) this.evaluatePrevious();
    const nk = this.plan.groupKeys.length;
    if (this.gids.length < n) this.gids = new Int32Array(n * 2);
    const gids = this.gids;
    this.table.assign(b.columns.slice(0, nk), n, gids);
    this.ensure(this.table.size);
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (this.dirtyFlag[g] === 0) this.markDirty(g);
    }
    const local = new Int32Array(n);
    for (let i = 0; i < n; i++) local[i] = i;
    const counts = new Float64Array(n);
    loadBigintAsNumbers(b.columns[nk]!, local, n, counts);
    for (let i = 0; i < n; i++) this.rows[gids[i]!]! += counts[i]!;
    let at = nk + 2;
    this.accs.forEach((a, j) => {
      const width = a.stateLayout.scalar.length;
      const cols = b.columns.slice(at, at + width);
      at += width;
      const part = createAccumulator(this.plan.aggs[j]!, this.plan.retracting);
      if (part.loadColumns) part.loadColumns(local, n, cols);
      else for (let i = 0; i < n; i++) part.loadGroup(i, cols.map((c) => getValue(c, i)));
      for (let i = 0; i < n; i++) a.merge(gids[i]!, part, i, 1);
    });
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
    const c = new Uint8Array(cap);
    c.set(this.ckptFlag);
    this.ckptFlag = c;
  }

  private markDirty(g: number): void {
    this.dirtyFlag[g] = 1;
    if (this.nDirty === this.dirty.length) {
      const d = new Int32Array(this.dirty.length * 2);
      d.set(this.dirty);
      this.dirty = d;
    }
    this.dirty[this.nDirty++] = g;
  }

  /**
   * The changes of the groups touched this epoch, a column at a time: each group's fresh values
   * are evaluated into scratch slot columns and compared with the values it last emitted
   * (kept per group in slot columns), and the −old/+new rows gathered from both.
   */
  endEpoch(ctx: OperatorContext, out: Collector): void {
    if (this.prevStale) this.evaluatePrevious();
    if (this.global && !this.started) {
      this.ensure(1);
      if (this.dirtyFlag[0] === 0) this.markDirty(0);
    }
    this.started = true;
    const nd = this.nDirty;
    if (nd === 0) return;
    this.nDirty = 0;
    const dirty = this.dirty;
    const rows = this.rows;
    // Which dirty groups exist now, then their values.
    let ne = 0;
    if (this.existing.length < nd) {
      this.existing = new Int32Array(nd * 2);
      this.outGid = new Int32Array(nd * 4);
      this.outFrom = new Int32Array(nd * 4);
      this.outW = new Int32Array(nd * 4);
      this.insFrom = new Int32Array(nd * 2);
      this.insGid = new Int32Array(nd * 2);
    }
    const existing = this.existing;
    for (let k = 0; k < nd; k++) {
      const g = dirty[k]!;
      this.dirtyFlag[g] = 0;
      this.markChanged(g);
      const rowsNow = rows[g]!;
      if (rowsNow < 0) throw new SluiceError('internal', `group ${g} has a negative row count: a delete arrived for a row never inserted`);
      if (this.global || rowsNow > 0) existing[ne++] = g;
    }
    const accs = this.accs;
    const fresh = this.fresh;
    for (let j = 0; j < accs.length; j++) {
      fresh[j]!.ensure(ne);
      this.evaluate(accs[j]!, existing, ne, fresh[j]!, null, ctx);
    }
    // −old/+new per group, in the order the groups were touched.
    const outGid = this.outGid;
    const outFrom = this.outFrom;
    const outW = this.outW;
    const emitted = this.emitted;
    let m = 0;
    let e = 0;
    for (let k = 0; k < nd; k++) {
      const g = dirty[k]!;
      const exists = e < ne && existing[e] === g;
      const was = emitted[g] === 1;
      if (exists && was) {
        let same = true;
        for (let j = 0; j < accs.length && same; j++) same = fresh[j]!.sameAs(e, this.prev[j]!, g);
        if (same) {
          e++;
          continue;
        }
      }
      if (was) {
        outGid[m] = g;
        outFrom[m] = -1;
        outW[m++] = -1;
      }
      if (exists) {
        outGid[m] = g;
        outFrom[m] = e++;
        outW[m++] = 1;
      }
      emitted[g] = exists ? 1 : 0;
    }
    if (m === 0) return;
    const gidsOut = outGid.slice(0, m);
    const cols: Column[] = [];
    for (let k = 0; k < this.plan.groupKeys.length; k++) cols.push(this.table.keyColumn(k, gidsOut, m));
    // The groups emitting a new row: their fresh values become the emitted ones.
    let ni = 0;
    for (let q = 0; q < m; q++) {
      if (outFrom[q]! < 0) continue;
      this.insFrom[ni] = outFrom[q]!;
      this.insGid[ni++] = outGid[q]!;
    }
    for (let j = 0; j < accs.length; j++) {
      const prev = this.prev[j]!;
      const f = fresh[j]!;
      cols.push(prev.gatherEither(outGid, f, outFrom, m));
      // What is emitted now is what the next epoch retracts.
      prev.ensure(this.table.size);
      prev.copySlots(f, this.insFrom, this.insGid, ni);
    }
    out({ columns: cols, length: m, weights: outW.slice(0, m), keyIds: { owner: this.keyIdOwner, ids: gidsOut } });
  }
}
