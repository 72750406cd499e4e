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
import { compile, type Kernel } from './eval.js';
import { KEY_GROUPS, splitByOwner } from './exchange.js';
import { showExpr, type BoundExpr } from '../planner/expr.js';
import { HashAggOp } from './hash-agg.js';
import { DuckLookupOp, JoinOp } from './join.js';
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
  HashJoinExec: (id, p) => (p.lookupStrategy === 'duckdb' ? new DuckLookupOp(id, p) : new JoinOp(id, p)),
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

/**
 * Where an operator runs: `single` (one instance) or `hash` (one instance per shard, each
 * owning the key groups of `keys`, expressions over its input `input`).
 */
export type Distribution =
  | { readonly kind: 'single' }
  | { readonly kind: 'hash'; readonly keys: readonly (readonly BoundExpr[])[]; readonly text: string };

/** One plan node of a pipeline as the monitor shows it: its place in the tree and its counters. */
export interface OperatorInfo {
  /** The node's id (`view/path`); with several instances, each instance's id adds `#s`. */
  readonly id: string;
  /** Its first instance (the name and the kind of every instance). */
  readonly op: Operator;
  /** The id of the node its output goes to (null: the view's output). */
  readonly parent: string | null;
  /** Counters summed over its instances. */
  readonly counters: Readonly<OperatorCounters>;
  /** How many instances run it. */
  readonly instances: number;
}

/** How a child's output reaches a node's instances. */
type Route =
  /** Child instance s feeds instance s (a stateless operator runs where its input is). */
  | { readonly kind: 'same' }
  /** Every child instance feeds instance 0. */
  | { readonly kind: 'gather' }
  /** Each row to the instance owning its key's key group. */
  | { readonly kind: 'hash'; readonly keys: readonly Kernel[] };

interface Node {
  readonly id: string;
  readonly plan: PhysicalPlan | null;
  /** One operator per instance. */
  readonly ops: readonly Operator[];
  readonly children: readonly Node[];
  /** Per input: how that child's batches reach this node's instances. */
  readonly routes: readonly Route[];
  /** What EXPLAIN says of where the node runs (an inheriting node: where its input runs). */
  readonly placement: string;
  /** Whether it runs where its input runs (a stateless operator, or per-row state). */
  readonly inherits: boolean;
  /** Where each instance's output goes in the running epoch: the parent's input, or the view's output. */
  outs: Collector[];
  // Counted per batch (not per row), so the cost is a few additions per batch.
  readonly counters: OperatorCounters;
}

/**
 * The distribution a physical node requires of its inputs: hash on its key (aggregates, window
 * aggregates, equi-joins, partitioned top-N and OVER windows), `single` where all rows must
 * meet in one instance (a global aggregate, a join without equi-keys, DuckDB lookups, unions,
 * scans and VALUES, which read their input once), or null: it keeps no state across rows that
 * could meet elsewhere, so it runs in every instance of its input (filters, projections, window
 * tagging, set-returning functions, temporal filters — whose state is per row, and each
 * instance's input is a changelog of its own).
 */
export function distributionOf(p: PhysicalPlan): Distribution | null {
  const hash = (keys: readonly (readonly BoundExpr[])[], inputs: readonly PhysicalPlan[]): Distribution => {
    const each = keys.map((ks, i) => `hash(${ks.map((k) => showExpr(k, inputs[i]!.schema.map((f) => f.name))).join(', ')})`);
    return { kind: 'hash', keys, text: each.length === 1 ? each[0]! : `${each.join(' and ')} of its inputs` };
  };
  switch (p.kind) {
    case 'ScanExec':
    case 'ValuesExec':
    case 'UnionExec':
      return { kind: 'single' };
    case 'FilterExec':
    case 'ProjectExec':
    case 'WindowExec':
    case 'ProjectSetExec':
    case 'TemporalFilterExec':
      return null;
    case 'HashAggExec':
      return p.groupKeys.length ? hash([p.groupKeys], [p.input]) : { kind: 'single' };
    case 'WindowAggExec':
      return p.keys.length ? hash([p.keys], [p.input]) : { kind: 'single' };
    case 'HashJoinExec':
      return p.leftKeys.length && p.lookupStrategy !== 'duckdb' ? hash([p.leftKeys, p.rightKeys], [p.left, p.right]) : { kind: 'single' };
    case 'TopNExec':
    case 'OverWindowExec':
      return p.partitionBy.length ? hash([p.partitionBy], [p.input]) : { kind: 'single' };
  }
}

/** Options of a pipeline. */
export interface PipelineOptions {
  /**
   * Instances of each hash-distributed operator (default 1). A view keeps the parallelism it was
   * created with: its operators' ids, and so its checkpoints, depend on it.
   */
  readonly parallelism?: number;
}

export class Pipeline {
  /** Every operator instance, parents before children (plan order; a node's instances together). */
  readonly operators: readonly Operator[];
  readonly parallelism: number;
  /** Scan nodes per relation name (a relation scanned twice has two). */
  private readonly scans = new Map<string, Node[]>();
  private readonly root: Node;
  private readonly nodes: { readonly node: Node; readonly parent: string | null }[] = [];

  /**
   * Builds the operators of `plan` with ids `${view}/${path}`; `emit` receives the view's output.
   * A `terminal` operator (a model's trainer, id `${view}/model`) takes the plan's output and
   * gives the view's.
   */
  constructor(view: string, plan: PhysicalPlan, private readonly emit: Collector, terminal?: (id: string) => Operator, opts: PipelineOptions = {}) {
    const parallelism = opts.parallelism ?? 1;
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new SluiceError('internal', `pipeline parallelism ${parallelism}`);
    this.parallelism = parallelism;
    const operators: Operator[] = [];
    const top = terminal?.(`${view}/model`) ?? null;
    if (top) operators.push(top);
    const counters = (): OperatorCounters => ({ epochRowsIn: 0, epochRowsOut: 0, rowsIn: 0, rowsOut: 0 });
    const build = (p: PhysicalPlan, path: string): Node => {
      const id = `${view}/${path}`;
      const slot = operators.length;
      operators.push(null as unknown as Operator); // this node's instances go here, before its children's
      const children = physicalChildren(p).map((c, i) => build(c, `${path}.${i}`));
      const dist = distributionOf(p);
      let count: number;
      let routes: Route[];
      let placement: string;
      if (dist === null) {
        // Runs where its input runs.
        const child = children[0]!;
        count = child.ops.length;
        routes = [{ kind: 'same' }];
        placement = child.placement;
      } else if (dist.kind === 'hash' && parallelism > 1) {
        count = parallelism;
        routes = dist.keys.map((ks) => ({ kind: 'hash', keys: ks.map(compile) }));
        placement = `${dist.text}, ${parallelism} instances`;
      } else {
        count = 1;
        routes = children.map((c) => (c.ops.length === 1 ? { kind: 'same' } : { kind: 'gather' }));
        placement = dist.kind === 'hash' ? `${dist.text}, 1 instance` : 'single';
      }
      const factory = FACTORIES[p.kind] as Factory<Kind>;
      const ops = Array.from({ length: count }, (_, s) => factory(count === 1 ? id : `${id}#${s}`, p as never));
      operators.splice(slot, 1, ...ops);
      const node: Node = { id, plan: p, ops, children, routes, placement, inherits: dist === null, outs: [], counters: counters() };
      if (p.kind === 'ScanExec') {
        const list = this.scans.get(p.relation) ?? [];
        list.push(node);
        this.scans.set(p.relation, list);
      }
      return node;
    };
    const planRoot = build(plan, '0');
    const link = (node: Node, parent: string | null): void => {
      this.nodes.push({ node, parent });
      for (const c of node.children) link(c, node.id);
    };
    if (top) {
      this.root = { id: top.id, plan: null, ops: [top], children: [planRoot], routes: [planRoot.ops.length === 1 ? { kind: 'same' } : { kind: 'gather' }], placement: 'single', inherits: false, outs: [], counters: counters() };
    } else this.root = planRoot;
    link(this.root, null);
    this.operators = operators;
  }

  /** Every operator's state tables, by node id (a node's instances together). */
  stateTables(): Map<string, readonly StateTable[]> {
    const out = new Map<string, readonly StateTable[]>();
    for (const { node } of this.nodes) {
      const tables = node.ops.flatMap((op) => op.state);
      if (tables.length) out.set(node.id, tables);
    }
    return out;
  }

  /** Rows held in state the watermark cleans (windows, time-bounded joins). */
  windowStateRows(): number {
    let n = 0;
    for (const op of this.operators) n += op.stateRows?.() ?? 0;
    return n;
  }

  /** Every plan node with its parent and row counters, in plan order. */
  operatorInfo(): OperatorInfo[] {
    return this.nodes.map(({ node, parent }) => ({ id: node.id, op: node.ops[0]!, parent, counters: node.counters, instances: node.ops.length }));
  }

  /** EXPLAIN's lines on where each operator runs. */
  explainDistribution(): string[] {
    const lines = [`Distribution (parallelism ${this.parallelism}; keyed state in ${KEY_GROUPS} key groups):`];
    for (const { node } of this.nodes) lines.push(`  ${node.id} ${node.ops[0]!.name}: ${node.placement}${node.inherits ? ' (with its input)' : ''}`);
    return lines;
  }

  /** Runs one epoch: each relation's delta into its scans, then endEpoch from the leaves up. */
  async runEpoch(deltas: ReadonlyMap<string, readonly Batch[]>, ctx: OperatorContext): Promise<void> {
    for (const { node } of this.nodes) node.counters.epochRowsIn = node.counters.epochRowsOut = 0;
    this.bind(this.root, null, ctx);
    for (const [rel, nodes] of this.scans) {
      const bs = deltas.get(rel);
      if (!bs) continue;
      for (const node of nodes) {
        for (const b of bs) {
          countIn(node.counters, b.length);
          node.ops[0]!.processBatch(0, b, ctx, node.outs[0]!);
        }
      }
    }
    await this.end(this.root, ctx);
  }

  /**
   * Points each instance's output at its parent's inputs (through the parent's route for it) or
   * at the view's output, for this epoch's context, counting rows on the way.
   */
  private bind(node: Node, deliver: ((from: number, b: Batch) => void) | null, ctx: OperatorContext): void {
    const c = node.counters;
    node.outs = node.ops.map((_, s) => (b: Batch) => {
      c.epochRowsOut += b.length;
      c.rowsOut += b.length;
      if (deliver) deliver(s, b);
      else this.emit(b);
    });
    node.children.forEach((child, i) => this.bind(child, this.router(node, i, ctx), ctx));
  }

  /** Delivers a batch from instance `from` of input `i`'s node to the right instances of `node`. */
  private router(node: Node, i: number, ctx: OperatorContext): (from: number, b: Batch) => void {
    const route = node.routes[i]!;
    const c = node.counters;
    const to = (s: number, b: Batch) => {
      countIn(c, b.length);
      node.ops[s]!.processBatch(i, b, ctx, node.outs[s]!);
    };
    switch (route.kind) {
      case 'same':
        return to;
      case 'gather':
        return (_from, b) => to(0, b);
      case 'hash': {
        // Key errors are the operator's to report (it evaluates the key again); here a failing
        // row only needs a deterministic owner.
        const quiet: OperatorContext = Object.create(ctx, { onRowError: { value: () => undefined } }) as OperatorContext;
        const n = node.ops.length;
        return (_from, b) => {
          if (b.length === 0) return;
          const parts = splitByOwner(b, route.keys.map((k) => k(b, quiet)), n);
          for (let s = 0; s < n; s++) if (parts[s]) to(s, parts[s]!);
        };
      }
    }
  }

  private async end(node: Node, ctx: OperatorContext): Promise<void> {
    for (const c of node.children) await this.end(c, ctx);
    for (let s = 0; s < node.ops.length; s++) await node.ops[s]!.endEpoch(ctx, node.outs[s]!);
  }
}

function countIn(c: OperatorCounters, n: number): void {
  c.epochRowsIn += n;
  c.rowsIn += n;
}

/** EXPLAIN's listing of a pipeline's state tables: operator, table, key, columns, cleanup. */
export function explainState(p: Pipeline): string[] {
  const lines: string[] = [];
  // A node with several instances has the same tables in each, for the key groups it owns.
  for (const { id, op, instances } of p.operatorInfo()) {
    for (const t of op.state) {
      const { name, schema, key, cleanup } = t.spec;
      const cols = schema.map((f) => `${f.name} ${typeDisplayName(f.type)}`).join(', ');
      const keyText = key.length ? key.map((k) => schema[k]!.name).join(', ') : 'single row';
      lines.push(`  ${id} ${op.name} table ${name}: key=(${keyText}) columns=[${cols}]${cleanup ? ` cleanup=[${cleanup.note}]` : ''}${instances > 1 ? ` (in each of ${instances} instances)` : ''}`);
    }
  }
  return lines.length ? ['State tables:', ...lines] : ['State tables: none'];
}
