/**
 * Operators of the per-epoch pipeline. Push-based: a child hands each output batch to its
 * parent's `push`; `endEpoch` runs bottom-up so stateful operators (HashAggExec) emit their
 * changes once per epoch, after all of the epoch's input.
 *
 *   ScanExec ─► FilterExec ─► ProjectExec ─► HashAggExec ─► … ─► view (Materialize)
 */
import { ColumnBuilder, takeBatch, trueMask, type Batch } from '../common/column.js';
import { assertNever, SluiceError } from '../common/errors.js';
import type { Value } from '../common/types.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { createAccumulator, type Accumulator } from './accumulators.js';
import { compile, type EvalContext, type Kernel } from './eval.js';
import { createGroupTable, type GroupTable } from './group-table.js';
import { SessionAggOp, WindowAggOp, WindowOp } from './window.js';
import { DuckLookupOp, JoinOp } from './join.js';
import { TopNOp } from './top-n.js';

export type Emit = (b: Batch) => void;

export interface Operator {
  push(b: Batch, ctx: EvalContext): void;
  /** May be async: an operator that asks DuckDB (the DuckDB lookup join) awaits it here. */
  endEpoch(ctx: EvalContext): void | Promise<void>;
}

/** The compiled pipeline of one view: where each scanned relation's delta enters. */
export interface Pipeline {
  /** Entry points per relation name (a relation scanned twice has two). */
  readonly scans: ReadonlyMap<string, readonly Operator[]>;
  readonly root: Operator;
  /** Stateful operators with time-based cleanup, for state-size and late-row counters. */
  readonly windows: readonly (WindowAggOp | SessionAggOp | JoinOp)[];
}

export function buildPipeline(plan: PhysicalPlan, emit: Emit): Pipeline {
  const scans = new Map<string, Operator[]>();
  const windows: (WindowAggOp | SessionAggOp | JoinOp)[] = [];
  const root = build(plan, emit, scans, windows);
  return { scans, root, windows };
}

function build(plan: PhysicalPlan, emit: Emit, scans: Map<string, Operator[]>, windows: (WindowAggOp | SessionAggOp | JoinOp)[]): Operator {
  switch (plan.kind) {
    case 'ScanExec': {
      const op = new ScanOp(plan.columns, emit);
      const list = scans.get(plan.relation) ?? [];
      list.push(op);
      scans.set(plan.relation, list);
      return op;
    }
    case 'FilterExec': {
      const op = new FilterOp(compile(plan.predicate), emit);
      return new Chain(op, build(plan.input, (b) => op.push(b), scans, windows));
    }
    case 'ProjectExec': {
      const op = new ProjectOp(plan.exprs.map(compile), emit);
      return new Chain(op, build(plan.input, (b) => op.push(b), scans, windows));
    }
    case 'HashAggExec': {
      const op = new HashAggOp(plan, emit);
      return new Chain(op, build(plan.input, (b) => op.push(b), scans, windows));
    }
    case 'UnionExec': {
      const inputs = plan.inputs.map((p) => build(p, emit, scans, windows));
      return new Fanin(inputs);
    }
    case 'ValuesExec':
      return new ValuesOp(plan.rows, plan.schema.map((f) => f.type), emit);
    case 'TopNExec': {
      const op = new TopNOp(plan, emit, ctxNow);
      return new Chain(op, build(plan.input, (b) => op.push(b), scans, windows));
    }
    case 'HashJoinExec': {
      const op = plan.lookupStrategy === 'duckdb' ? new DuckLookupOp(plan, emit, ctxNow) : new JoinOp(plan, emit, ctxNow);
      if (plan.timeBound && op instanceof JoinOp) windows.push(op);
      const left = build(plan.left, (b) => op.pushLeft(b), scans, windows);
      const right = build(plan.right, (b) => op.pushRight(b), scans, windows);
      return new Chain(op, new Fanin([left, right]));
    }
    case 'WindowExec': {
      const op = new WindowOp(plan, emit, ctxNow);
      return new Chain(op, build(plan.input, (b) => op.push(b), scans, windows));
    }
    case 'WindowAggExec': {
      const op = plan.window.kind === 'session' ? new SessionAggOp(plan, emit, ctxNow) : new WindowAggOp(plan, emit, ctxNow);
      windows.push(op);
      return new Chain(op, build(plan.input, (b) => op.push(b), scans, windows));
    }
    default:
      return assertNever(plan);
  }
}

/** Links an operator to its input so endEpoch runs input first. */
class Chain implements Operator {
  constructor(private readonly op: Operator, private readonly input: Operator) {}
  push(b: Batch, ctx: EvalContext): void {
    this.op.push(b, ctx);
  }
  async endEpoch(ctx: EvalContext): Promise<void> {
    await this.input.endEpoch(ctx);
    await this.op.endEpoch(ctx);
  }
}

class Fanin implements Operator {
  constructor(private readonly inputs: readonly Operator[]) {}
  push(): void {
    throw new SluiceError('internal', 'union receives input through its branches');
  }
  async endEpoch(ctx: EvalContext): Promise<void> {
    for (const i of this.inputs) await i.endEpoch(ctx);
  }
}

/** Receives a relation's delta and keeps the columns the plan reads (zero-copy). */
class ScanOp implements Operator {
  constructor(private readonly columns: readonly number[], private readonly emit: Emit) {}
  push(b: Batch): void {
    if (b.length === 0) return;
    this.emit({ columns: this.columns.map((i) => b.columns[i]!), length: b.length, weights: b.weights });
  }
  endEpoch(): void {}
}

/** The EvalContext of the operator currently running; set by the runtime per epoch. */
let current: EvalContext | null = null;
/** Runs f with ctx as the operators' context; views run one at a time, so async is safe. */
export async function withContext<T>(ctx: EvalContext, f: () => T | Promise<T>): Promise<T> {
  const prev = current;
  current = ctx;
  try {
    return await f();
  } finally {
    current = prev;
  }
}
function ctxNow(): EvalContext {
  if (!current) throw new SluiceError('internal', 'operator ran outside an epoch');
  return current;
}

class FilterOp implements Operator {
  constructor(private readonly pred: Kernel, private readonly emit: Emit) {}
  push(b: Batch): void {
    const c = this.pred(b, ctxNow());
    const n = b.length;
    const bits = c.values as Uint8Array;
    const validity = c.validity;
    const idx = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (((bits[i >> 3]! >> (i & 7)) & 1) === 1 && (validity === null || ((validity[i >> 3]! >> (i & 7)) & 1) === 1)) idx[k++] = i;
    }
    if (k === 0) return;
    this.emit(k === n ? b : takeBatch(b, idx, k));
  }
  endEpoch(): void {}
}

class ProjectOp implements Operator {
  constructor(private readonly exprs: readonly Kernel[], private readonly emit: Emit) {}
  push(b: Batch): void {
    const ctx = ctxNow();
    this.emit({ columns: this.exprs.map((k) => k(b, ctx)), length: b.length, weights: b.weights });
  }
  endEpoch(): void {}
}

class ValuesOp implements Operator {
  private done = false;
  constructor(private readonly rows: readonly (readonly Value[])[], private readonly types: readonly import('../common/types.js').SqlType[], private readonly emit: Emit) {}
  push(): void {}
  endEpoch(): void {
    if (this.done) return;
    this.done = true;
    const builders = this.types.map((t) => new ColumnBuilder(t, this.rows.length));
    for (const r of this.rows) r.forEach((v, j) => builders[j]!.append(v));
    this.emit({ columns: builders.map((b) => b.finish()), length: this.rows.length, weights: null });
  }
}

/**
 * Incremental hash aggregation. State per group: row count (sum of weights) and one
 * accumulator per aggregate. Each epoch, the groups it touched emit −old/+new rows.
 */
export class HashAggOp implements Operator {
  private readonly table: GroupTable;
  private readonly keyKernels: Kernel[];
  private readonly argKernels: (Kernel | null)[];
  private readonly filterKernels: (Kernel | null)[];
  private readonly accs: Accumulator[];
  private rows = new Float64Array(256);
  private emitted = new Uint8Array(256);
  private dirtyFlag = new Uint8Array(256);
  private dirty: number[] = [];
  private oldRows = new Map<number, Value[]>();
  private gids = new Int32Array(1024);
  private readonly global: boolean;
  private started = false;

  constructor(private readonly plan: Extract<PhysicalPlan, { kind: 'HashAggExec' }>, private readonly emit: Emit) {
    this.table = createGroupTable(plan.keyStrategy, plan.groupKeys.map((k) => k.type));
    this.keyKernels = plan.groupKeys.map(compile);
    this.argKernels = plan.aggs.map((a) => (a.arg ? compile(a.arg) : null));
    this.filterKernels = plan.aggs.map((a) => (a.filter ? compile(a.filter) : null));
    this.accs = plan.aggs.map((a) => createAccumulator(a, plan.retracting));
    this.global = plan.groupKeys.length === 0;
  }

  /** Number of groups with at least one row (for metrics and tests). */
  liveGroups(): number {
    let n = 0;
    for (let g = 0; g < this.table.size; g++) if (this.rows[g]! > 0) n++;
    return n;
  }

  push(b: Batch): void {
    const ctx = ctxNow();
    const n = b.length;
    if (n === 0) return;
    if (this.gids.length < n) this.gids = new Int32Array(n * 2);
    const gids = this.gids;
    this.table.assign(this.keyKernels.map((k) => k(b, ctx)), n, gids);
    this.ensure(this.table.size);
    // Snapshot the current output row of each group this batch touches first this epoch.
    for (let i = 0; i < n; i++) {
      const g = gids[i]!;
      if (this.dirtyFlag[g] === 0) {
        this.dirtyFlag[g] = 1;
        this.dirty.push(g);
        if (this.emitted[g] === 1) this.oldRows.set(g, this.outputRow(g));
      }
    }
    const w = b.weights;
    const rows = this.rows;
    if (w === null) for (let i = 0; i < n; i++) rows[gids[i]!]!++;
    else for (let i = 0; i < n; i++) rows[gids[i]!]! += w[i]!;
    for (let a = 0; a < this.accs.length; a++) {
      const arg = this.argKernels[a] ? this.argKernels[a]!(b, ctx) : null;
      let mask: Uint8Array | null = null;
      if (this.filterKernels[a]) {
        const f = this.filterKernels[a]!(b, ctx);
        mask = trueMask(f);
      }
      this.accs[a]!.update(gids, n, arg, w, mask);
    }
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

  private outputRow(g: number): Value[] {
    const row: Value[] = [];
    for (let k = 0; k < this.plan.groupKeys.length; k++) row.push(this.table.keyValue(g, k));
    for (const a of this.accs) row.push(a.result(g));
    return row;
  }

  endEpoch(): void {
    if (this.global && !this.started) {
      this.ensure(1);
      if (this.dirtyFlag[0] === 0) {
        this.dirtyFlag[0] = 1;
        this.dirty.push(0);
      }
    }
    this.started = true;
    if (this.dirty.length === 0) return;
    const types = this.plan.schema.map((f) => f.type);
    const builders = types.map((t) => new ColumnBuilder(t, this.dirty.length * 2));
    const weights: number[] = [];
    const add = (row: Value[], w: number) => {
      for (let j = 0; j < row.length; j++) builders[j]!.append(row[j]!);
      weights.push(w);
    };
    for (const g of this.dirty) {
      this.dirtyFlag[g] = 0;
      const old = this.oldRows.get(g);
      const rowsNow = this.rows[g]!;
      if (rowsNow < 0) throw new SluiceError('internal', `group ${g} has a negative row count: a delete arrived for a row never inserted`);
      const exists = this.global || rowsNow > 0;
      const fresh = exists ? this.outputRow(g) : null;
      if (old && fresh && sameRow(old, fresh)) continue;
      if (old) add(old, -1);
      if (fresh) add(fresh, 1);
      this.emitted[g] = exists ? 1 : 0;
    }
    this.dirty = [];
    this.oldRows.clear();
    if (weights.length === 0) return;
    this.emit({ columns: builders.map((b) => b.finish()), length: weights.length, weights: Int32Array.from(weights) });
  }
}

function sameRow(a: readonly Value[], b: readonly Value[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}


