/**
 * A view's compiled pipeline: the operator tree built from its physical plan through one
 * exhaustive factory table, and the driver that runs an epoch through it. Each relation's
 * delta enters at its scans; a batch an operator emits goes to its parent's input at once
 * (push-based); `endEpoch` runs children first, so an aggregate emits once per epoch after
 * all of the epoch's input.
 *
 *   ScanExec ─► FilterExec ─► ProjectExec ─► HashAggExec ─► … ─► view output
 */
import type { Batch } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import { typeDisplayName } from '../common/types.js';
import { WINDOW_KINDS } from '../functions/window/index.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { compile } from './eval.js';
import { HashAggOp } from './hash-agg.js';
import { DuckLookupOp } from './join.js';
import { createJoinOp } from './columnar-join.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { FilterOp, ProjectOp, ScanOp, UnionOp, ValuesOp } from './operators.js';
import { ProjectSetOp } from './project-set.js';
import type { StateTable } from './state/state-table.js';
import { TemporalFilterOp } from './temporal-filter.js';
import { TopNOp } from './top-n.js';
import { OverWindowOp } from './over-window.js';

type Kind = PhysicalPlan['kind'];
type Factory<K extends Kind> = (id: string, plan: Extract<PhysicalPlan, { kind: K }>) => Operator;

/** One factory per physical node kind: a new kind does not compile until it has one. */
const FACTORIES: { readonly [K in Kind]: Factory<K> } = {
  ScanExec: (id, p) => new ScanOp(id, p.columns),
  FilterExec: (id, p) => new FilterOp(id, compile(p.predicate)),
  ProjectExec: (id, p) => new ProjectOp(id, p.exprs.map(compile)),
  HashAggExec: (id, p) => new HashAggOp(id, p),
  UnionExec: (id) => new UnionOp(id),
  ValuesExec: (id, p) => new ValuesOp(id, p.rows, p.schema.map((f) => f.type)),
  TopNExec: (id, p) => new TopNOp(id, p),
  OverWindowExec: (id, p) => new OverWindowOp(id, p),
  HashJoinExec: (id, p) => (p.lookupStrategy === 'duckdb' ? new DuckLookupOp(id, p) : createJoinOp(id, p)),
  WindowExec: (id, p) => {
    const tagging = WINDOW_KINDS[p.window.kind].tagging;
    if (tagging.kind === 'refuse') throw new SluiceError('not_supported', tagging.message, { hint: tagging.hint });
    return tagging.operator(id, p);
  },
  WindowAggExec: (id, p) => WINDOW_KINDS[p.window.kind].aggregation.operator(id, p),
  ProjectSetExec: (id, p) => new ProjectSetOp(id, p.keep, p.calls, p.ordinality, p.outer),
  TemporalFilterExec: (id, p) => new TemporalFilterOp(id, p),
};

/** The inputs of a physical node, in input-index order. */
export function physicalChildren(p: PhysicalPlan): readonly PhysicalPlan[] {
  switch (p.kind) {
    case 'ScanExec':
    case 'ValuesExec':
      return [];
    case 'UnionExec':
      return p.inputs;
    case 'HashJoinExec':
      return [p.left, p.right];
    case 'FilterExec':
    case 'ProjectExec':
    case 'HashAggExec':
    case 'TopNExec':
    case 'OverWindowExec':
    case 'WindowExec':
    case 'WindowAggExec':
    case 'ProjectSetExec':
    case 'TemporalFilterExec':
      return [p.input];
  }
}

/** Rows through one operator: in the last epoch run and since the pipeline was built. */
export interface OperatorCounters {
  epochRowsIn: number;
  epochRowsOut: number;
  rowsIn: number;
  rowsOut: number;
}

/** One operator of a pipeline as the monitor shows it: its place in the tree and its counters. */
export interface OperatorInfo {
  readonly op: Operator;
  /** The id of the operator its output goes to (null: the view's output). */
  readonly parent: string | null;
  readonly counters: Readonly<OperatorCounters>;
}

interface Node {
  readonly op: Operator;
  readonly children: readonly Node[];
  /** Where this node's output goes in the running epoch: its parent's input, or the view's output. */
  out: Collector;
  // Counted per batch (not per row), so the cost is a few additions per batch.
  readonly counters: OperatorCounters;
}

export class Pipeline {
  /** Every operator, parents before children (plan order). */
  readonly operators: readonly Operator[];
  /** Scan nodes per relation name (a relation scanned twice has two). */
  private readonly scans = new Map<string, Node[]>();
  private readonly root: Node;
  private readonly nodes: { readonly node: Node; readonly parent: string | null }[] = [];

  /**
   * Builds the operators of `plan` with ids `${view}/${path}`; `emit` receives the view's output.
   * A `terminal` operator (a model's trainer, id `${view}/model`) takes the plan's output and
   * gives the view's.
   */
  constructor(view: string, plan: PhysicalPlan, private readonly emit: Collector, terminal?: (id: string) => Operator) {
    const operators: Operator[] = [];
    const top = terminal?.(`${view}/model`) ?? null;
    if (top) operators.push(top);
    const build = (p: PhysicalPlan, path: string, parent: string | null): Node => {
      const op = (FACTORIES[p.kind] as Factory<Kind>)(`${view}/${path}`, p as never);
      operators.push(op);
      const children = physicalChildren(p).map((c, i) => build(c, `${path}.${i}`, op.id));
      const node: Node = { op, children, out: emit, counters: { epochRowsIn: 0, epochRowsOut: 0, rowsIn: 0, rowsOut: 0 } };
      this.nodes.push({ node, parent });
      if (p.kind === 'ScanExec') {
        const list = this.scans.get(p.relation) ?? [];
        list.push(node);
        this.scans.set(p.relation, list);
      }
      return node;
    };
    const planRoot = build(plan, '0', top?.id ?? null);
    if (top) {
      this.root = { op: top, children: [planRoot], out: emit, counters: { epochRowsIn: 0, epochRowsOut: 0, rowsIn: 0, rowsOut: 0 } };
      this.nodes.push({ node: this.root, parent: null });
    } else this.root = planRoot;
    this.operators = operators;
  }

  /** Every operator's state tables, by operator id. */
  stateTables(): Map<string, readonly StateTable[]> {
    const out = new Map<string, readonly StateTable[]>();
    for (const op of this.operators) if (op.state.length) out.set(op.id, op.state);
    return out;
  }

  /** Rows held in state the watermark cleans (windows, time-bounded joins). */
  windowStateRows(): number {
    let n = 0;
    for (const op of this.operators) n += op.stateRows?.() ?? 0;
    return n;
  }

  /** Every operator with its parent and row counters, in plan order. */
  operatorInfo(): OperatorInfo[] {
    const byId = new Map(this.nodes.map((n) => [n.node.op.id, n]));
    return this.operators.map((op) => {
      const n = byId.get(op.id)!;
      return { op, parent: n.parent, counters: n.node.counters };
    });
  }

  /** Runs one epoch: each relation's delta into its scans, then endEpoch from the leaves up. */
  async runEpoch(deltas: ReadonlyMap<string, readonly Batch[]>, ctx: OperatorContext): Promise<void> {
    for (const { node } of this.nodes) node.counters.epochRowsIn = node.counters.epochRowsOut = 0;
    this.bind(this.root, this.emit, ctx);
    for (const [rel, nodes] of this.scans) {
      const bs = deltas.get(rel);
      if (!bs) continue;
      for (const node of nodes) {
        for (const b of bs) {
          countIn(node.counters, b.length);
          node.op.processBatch(0, b, ctx, node.out);
        }
      }
    }
    await this.end(this.root, ctx);
  }

  /** Points each node's output at its parent's input for this epoch's context, counting rows on the way. */
  private bind(node: Node, out: Collector, ctx: OperatorContext): void {
    const c = node.counters;
    node.out = (b) => {
      c.epochRowsOut += b.length;
      c.rowsOut += b.length;
      out(b);
    };
    node.children.forEach((child, i) => this.bind(child, (b) => {
      countIn(c, b.length);
      node.op.processBatch(i, b, ctx, node.out);
    }, ctx));
  }

  private async end(node: Node, ctx: OperatorContext): Promise<void> {
    for (const c of node.children) await this.end(c, ctx);
    await node.op.endEpoch(ctx, node.out);
  }
}

function countIn(c: OperatorCounters, n: number): void {
  c.epochRowsIn += n;
  c.rowsIn += n;
}

/** EXPLAIN's listing of a pipeline's state tables: operator, table, key, columns, cleanup. */
export function explainState(p: Pipeline): string[] {
  const lines: string[] = [];
  for (const op of p.operators) {
    for (const t of op.state) {
      const { name, schema, key, cleanup } = t.spec;
      const cols = schema.map((f) => `${f.name} ${typeDisplayName(f.type)}`).join(', ');
      const keyText = key.length ? key.map((k) => schema[k]!.name).join(', ') : 'single row';
      lines.push(`  ${op.id} ${op.name} table ${name}: key=(${keyText}) columns=[${cols}]${cleanup ? ` cleanup=[${cleanup.note}]` : ''}`);
    }
  }
  return lines.length ? ['State tables:', ...lines] : ['State tables: none'];
}
