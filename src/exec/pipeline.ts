/**
 * A view's compiled pipeline: the operator tree built from its physical plan through one
 * exhaustive factory table, and the driver that runs an epoch through it. Each relation's
 * delta enters at its scans; a batch an operator emits goes to its parent's input at once
 * (push-based); `endEpoch` runs children first, so an aggregate emits once per epoch after
 * all of the epoch's input.
 *
 *   ScanExec ─► FilterExec ─► ProjectExec ─► HashAggExec ─► … ─► view output
 */
import { sliceBatch, type Batch } from '../common/column.js';
import { fetchKept, noteHandedBack, parkedOf } from './parallel/parked.js';
import { SluiceError } from '../common/errors.js';
import { typeDisplayName } from '../common/types.js';
import { WINDOW_KINDS } from '../functions/window/index.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { compile, type Kernel } from './eval.js';
import { KEY_GROUPS, splitByOwner } from './exchange.js';
import { showExpr, type BoundExpr } from '../planner/expr.js';
import { HashAggOp } from './hash-agg.js';
import { DuckLookupOp } from './join.js';
import { createJoinOp } from './columnar-join.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { FilterOp, ProjectOp, ScanOp, UnionOp, ValuesOp } from './operators.js';
import { ProjectSetOp } from './project-set.js';
import type { StateTable } from './state/state-table.js';
import type { NodeInstances } from './rescale.js';
import { TemporalFilterOp } from './temporal-filter.js';
import { TopNOp } from './top-n.js';
import { OverWindowOp } from './over-window.js';
import type { FromWorker, SpreadPiece } from './parallel/messages.js';
import { RemoteShards, shardThreadsDefault } from './parallel/remote.js';
import { dropWhenCollected, forgetCollected } from './parallel/pool.js';

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
  /** Whether its instances run in shard worker threads (instance s in worker s). */
  readonly remote: boolean;
  /** Its place in the pipeline's plan-order node list (the same in every thread). */
  index: number;
  /** This epoch's delivery into each of its inputs (what a worker's output for it goes through). */
  inputs?: ((from: number, b: Batch) => void)[];
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

/** Stateless operators a spread scan's input may run through in every instance, up to a keyed node. */
const SPREAD_CHAIN = new Set<Kind>(['FilterExec', 'ProjectExec', 'ProjectSetExec', 'WindowExec']);

/**
 * The scans whose input is dealt out to every instance (at parallelism > 1): append-only scans
 * from which only filters, projections, set-returning functions and window tagging lead to a
 * hash-distributed node. Their rows then reach the keyed node from every instance; since rows are
 * only added, and parts are passed on in input order, each key's rows arrive as at parallelism 1.
 * A scan that can retract stays single: a retraction dealt to another instance than its insertion
 * could overtake it.
 */
function spreadScans(plan: PhysicalPlan, parallelism: number): Set<PhysicalPlan> {
  const out = new Set<PhysicalPlan>();
  if (parallelism <= 1) return out;
  const chain = (p: PhysicalPlan): PhysicalPlan | null => {
    if (p.kind === 'ScanExec') return p.appendOnly ? p : null;
    return SPREAD_CHAIN.has(p.kind) ? chain(physicalChildren(p)[0]!) : null;
  };
  const visit = (p: PhysicalPlan): void => {
    const kids = physicalChildren(p);
    // Under a keyed node; or under a global aggregate whose parts merge (each instance sends it
    // one partial row a part, see preAggregate).
    if (distributionOf(p)?.kind === 'hash' || (p.kind === 'HashAggExec' && p.groupKeys.length === 0 && new HashAggOp('probe', p).mergesParts())) {
      for (const c of kids) {
        const scan = chain(c);
        if (scan) out.add(scan);
      }
    }
    kids.forEach(visit);
  };
  visit(plan);
  return out;
}

/** Rows below which a spread scan's batch is not cut into parts (each part is a message to a worker). */
const SPREAD_MIN_PART = 4096;

/**
 * The rows per part a spread scan over `n` instances cuts batch `b` (of `bs`, its relation's
 * epoch) into. Parts start at multiples of 8 rows, where validity bitmaps can be cut at a byte.
 * A small batch, or an epoch that has a batch per instance already (a source read in parts), is
 * dealt whole.
 */
function spreadPartSize(b: Batch, bs: readonly Batch[], n: number): number {
  return b.length < SPREAD_MIN_PART * n || bs.length >= n ? b.length : Math.ceil(b.length / n / 8) * 8;
}

/**
 * The exchange's split of `b` over `n` instances by the route's key. Key errors are the keyed
 * operator's to report (it evaluates the key again); here a failing row only needs a
 * deterministic owner, so `quiet` is a context that drops them (see quietContext).
 */
function splitByRoute(route: Extract<Route, { kind: 'hash' }>, b: Batch, quiet: OperatorContext, n: number): (Batch | null)[] {
  return splitByOwner(b, route.keys.map((k) => k(b, quiet)), n);
}

/** `ctx` without row-error reports (the exchange's key evaluation). */
function quietContext(ctx: OperatorContext): OperatorContext {
  return Object.create(ctx, { onRowError: { value: () => undefined } }) as OperatorContext;
}

/** Options of a pipeline. */
export interface PipelineOptions {
  /**
   * Instances of each hash-distributed operator (default 1). Its operators' ids, and so its
   * checkpoints, depend on it; rescale.ts moves state between parallelisms.
   */
  readonly parallelism?: number;
  /**
   * Whether the instances of keyed nodes run in shard worker threads, instance s in worker s
   * (default: yes unless SLUICE_SHARD_THREADS=0, see shardThreadsDefault; and only when the plan
   * can cross threads: a plan that calls a model, whose parameters live on this thread, cannot).
   */
  readonly threads?: boolean;
  /** Internal: this is instance `shard`'s side, built in a shard worker; outputs leave through `post`. */
  readonly worker?: { readonly shard: number; readonly post: (m: FromWorker) => void; readonly pid: number };
}

const counters = (): OperatorCounters => ({ epochRowsIn: 0, epochRowsOut: 0, rowsIn: 0, rowsOut: 0 });

/** Whether a plan can be sent to another thread: plain data, and no call that reads a model. */
function crossesThreads(plan: PhysicalPlan): boolean {
  const seen = new Set<unknown>();
  const plain = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return typeof v !== 'function' && typeof v !== 'symbol';
    if (seen.has(v)) return true;
    seen.add(v);
    if (ArrayBuffer.isView(v)) return true;
    if (Array.isArray(v)) return v.every(plain);
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    const o = v as Record<string, unknown>;
    if (o.kind === 'call' && o.model !== undefined) return false;
    return Object.values(o).every(plain);
  };
  return plain(plan);
}

let nextPid = 1;

export class Pipeline {
  /**
   * Every operator instance, parents before children (plan order; a node's instances together).
   * Instances running in a worker thread are stand-ins whose state tables reach the worker.
   */
  readonly operators: readonly Operator[];
  readonly parallelism: number;
  /** Whether keyed instances run in shard worker threads. */
  readonly threaded: boolean;
  /** Scan nodes per relation name (a relation scanned twice has two). */
  private readonly scans = new Map<string, Node[]>();
  private readonly root: Node;
  private readonly nodes: { readonly node: Node; readonly parent: string | null }[] = [];
  /** Each node's parent and the input it feeds (root: null). */
  private readonly parentOf = new Map<Node, { readonly node: Node; readonly input: number } | null>();
  private readonly remote: RemoteShards | null = null;
  private readonly worker: PipelineOptions['worker'] | null;
  /** The epoch context a worker side runs with (set by `begin`). */
  private workerCtx: OperatorContext | null = null;
  /** Spread parts sent to workers this epoch, parts whose pieces went on, and pieces of parts that came early. */
  private spreadSent = 0;
  private spreadTurn = 0;
  private spreadForwarded = 0;
  private readonly spreadHeld = new Map<number, readonly SpreadPiece[]>();
  /** Worker side: where the pieces of the spread part being run go (null: not running one). */
  private collecting: SpreadPiece[] | null = null;
  /** Worker side: aggregates whose spread parts go on as rows, not pre-aggregated (see preAggregate). */
  private readonly noPreAgg = new Set<Node>();
  /** Worker side: the operator that pre-aggregates each aggregate's parts, reused part after part. */
  private readonly preAggs = new Map<Node, HashAggOp>();

  /**
   * Builds the operators of `plan` with ids `${view}/${path}`; `emit` receives the view's output.
   * A `terminal` operator (a model's trainer, id `${view}/model`) takes the plan's output and
   * gives the view's.
   */
  constructor(view: string, plan: PhysicalPlan, private readonly emit: Collector, terminal?: (id: string) => Operator, opts: PipelineOptions = {}) {
    const parallelism = opts.parallelism ?? 1;
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new SluiceError('internal', `pipeline parallelism ${parallelism}`);
    this.parallelism = parallelism;
    this.worker = opts.worker ?? null;
    this.threaded = this.worker === null && parallelism > 1 && (opts.threads ?? shardThreadsDefault()) && crossesThreads(plan);
    const operators: Operator[] = [];
    const spread = spreadScans(plan, parallelism);
    const top = terminal?.(`${view}/model`) ?? null;
    if (top) operators.push(top);
    const build = (p: PhysicalPlan, path: string): Node => {
      const id = `${view}/${path}`;
      const slot = operators.length;
      operators.push(null as unknown as Operator); // this node's instances go here, before its children's
      const children = physicalChildren(p).map((c, i) => build(c, `${path}.${i}`));
      const dist = distributionOf(p);
      let count: number;
      let routes: Route[];
      let placement: string;
      if (spread.has(p)) {
        // An append-only scan under a keyed node: the epoch's input is dealt out to its instances
        // in contiguous parts, so the stateless chain above it runs in every instance too.
        count = parallelism;
        routes = [];
        placement = `input spread over ${parallelism} instances`;
      } else if (dist === null) {
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
      const remote = count > 1 && (this.threaded || this.worker !== null);
      // A worker side builds only its own instance of the keyed nodes; the rest are never run there.
      const ops = Array.from({ length: count }, (_, s) => {
        if (this.worker && (!remote || s !== this.worker.shard)) return STAND_IN;
        return factory(count === 1 ? id : `${id}#${s}`, p as never);
      });
      operators.splice(slot, 1, ...ops);
      const node: Node = { id, plan: p, ops, children, routes, placement, inherits: dist === null, remote, index: -1, outs: [], counters: counters() };
      if (p.kind === 'ScanExec') {
        const list = this.scans.get(p.relation) ?? [];
        list.push(node);
        this.scans.set(p.relation, list);
      }
      return node;
    };
    const planRoot = build(plan, '0');
    const link = (node: Node, parent: string | null): void => {
      node.index = this.nodes.length;
      this.nodes.push({ node, parent });
      node.children.forEach((c, i) => {
        this.parentOf.set(c, { node, input: i });
        link(c, node.id);
      });
    };
    if (top) {
      this.root = { id: top.id, plan: null, ops: [top], children: [planRoot], routes: [planRoot.ops.length === 1 ? { kind: 'same' } : { kind: 'gather' }], placement: 'single', inherits: false, remote: false, index: -1, outs: [], counters: counters() };
    } else this.root = planRoot;
    this.parentOf.set(this.root, null);
    link(this.root, null);
    if (this.threaded) {
      this.remote = new RemoteShards(nextPid++, view, plan, parallelism, top !== null, (m) => this.onWorkerMessage(m));
      // Remote instances are stand-ins here: their state tables forward to the worker.
      for (const { node } of this.nodes) {
        if (!node.remote) continue;
        node.ops.forEach((op, s) => {
          const proxy = this.remote!.proxy(node.index, s, op);
          operators[operators.indexOf(op)] = proxy;
        });
      }
      dropWhenCollected(this, this.remote.pid, parallelism, this.remote);
    }
    this.operators = operators;
  }

  /**
   * Each node with its plan and its instances as `operators` holds them (stand-ins for instances
   * in worker threads), in plan order: what rescale.ts moves state between.
   */
  instancesByNode(): NodeInstances[] {
    const byId = new Map<string, Operator[]>();
    for (const op of this.operators) {
      const id = op.id.replace(/#\d+$/, '');
      const list = byId.get(id);
      if (list) list.push(op);
      else byId.set(id, [op]);
    }
    return this.nodes.map(({ node }) => ({ id: node.id, plan: node.plan, instances: byId.get(node.id) ?? [] }));
  }

  /** Every operator's state tables, by node id (a node's instances together). */
  stateTables(): Map<string, readonly StateTable[]> {
    const byId = new Map<string, StateTable[]>();
    for (const op of this.operators) {
      if (!op.state.length) continue;
      const id = op.id.replace(/#\d+$/, '');
      byId.set(id, [...(byId.get(id) ?? []), ...op.state]);
    }
    return byId;
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

  /**
   * Brings the state of instances in worker threads to this thread before a checkpoint reads
   * it: each table's rows and pending changes, and its delta (where `incremental` would write
   * one, by the same rule as the checkpoint) or its whole snapshot.
   */
  async fetchState(incremental: boolean | 'always'): Promise<void> {
    await this.remote?.fetch(incremental);
  }

  /** Refreshes the monitor's state figures of instances in worker threads, at most every `everyMs`. */
  async refreshFigures(everyMs: number): Promise<void> {
    await this.remote?.refreshFigures(everyMs);
  }

  /** Stops the pipeline's instances in worker threads (a dropped or replaced view). */
  dispose(): void {
    if (this.remote) {
      forgetCollected(this.remote);
      this.remote.drop();
    }
  }

  /** Runs one epoch: each relation's delta into its scans, then endEpoch from the leaves up. */
  async runEpoch(deltas: ReadonlyMap<string, readonly Batch[]>, ctx: OperatorContext): Promise<void> {
    for (const { node } of this.nodes) node.counters.epochRowsIn = node.counters.epochRowsOut = 0;
    this.spreadSent = this.spreadForwarded = 0;
    this.spreadHeld.clear();
    // The columns a scan reads here of rows a worker keeps are fetched first (parked.ts).
    const fetches: Promise<void>[] = [];
    for (const [rel, nodes] of this.scans) {
      const bs = deltas.get(rel) ?? [];
      for (const node of nodes) {
        const read = bs.filter((b) => parkedOf(b) && !this.handedBack(node, b, bs));
        if (read.length) fetches.push(fetchKept(read, (node.plan as Extract<PhysicalPlan, { kind: 'ScanExec' }>).columns));
      }
    }
    await Promise.all(fetches);
    this.remote?.begin(ctx);
    this.bind(this.root, null, ctx);
    for (const [rel, nodes] of this.scans) {
      const bs = deltas.get(rel);
      if (!bs) continue;
      for (const node of nodes) {
        for (const b of bs) {
          if (node.ops.length === 1) {
            countIn(node.counters, b.length);
            node.ops[0]!.processBatch(0, b, ctx, node.outs[0]!);
            continue;
          }
          // A spread scan: contiguous parts, in order, one per instance (a small batch whole,
          // to the instances in turn). The scan's column choice is made here, so that the parts
          // copy only the columns it reads; the instances take the parts as the scan's output.
          const n = node.ops.length;
          const cols = (node.plan as Extract<PhysicalPlan, { kind: 'ScanExec' }>).columns;
          // Rows a worker made and keeps go back to it by id, whole (parked.ts).
          if (this.handedBack(node, b, bs)) {
            const kept = parkedOf(b)!;
            this.remote!.sendParkedSpread(kept.shard, node.index, this.spreadSent++, kept.id, cols);
            noteHandedBack();
            continue;
          }
          const scanned: Batch = { columns: cols.map((i) => b.columns[i]!), length: b.length, weights: b.weights };
          const size = spreadPartSize(b, bs, n);
          for (let start = 0; start < b.length; start += size) {
            const s = this.spreadTurn++ % n;
            const part = size === b.length ? scanned : sliceBatch(scanned, start, Math.min(b.length, start + size));
            if (this.remote && node.remote) {
              // A part made here moves to the worker; the whole batch, which other views and the
              // retained epochs read too, goes as a copy.
              this.remote.sendSpread(s, node.index, this.spreadSent++, part === scanned ? sliceBatch(scanned, 0, b.length) : part);
            } else {
              countIn(node.counters, part.length);
              node.outs[s]!(part);
            }
          }
        }
      }
    }
    await this.end(this.root, ctx);
    this.remote?.checkFailure();
  }

  /**
   * Whether spread scan `node` deals batch `b` (of `bs`, its relation's epoch) whole to the
   * shard worker that keeps its rows, by id: then its rows are not read on this thread.
   */
  private handedBack(node: Node, b: Batch, bs: readonly Batch[]): boolean {
    const n = node.ops.length;
    const kept = parkedOf(b);
    return n > 1 && kept !== undefined && this.remote !== null && node.remote && spreadPartSize(b, bs, n) === b.length && kept.shard < n;
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
    node.inputs = node.children.map((_, i) => this.router(node, i, ctx));
    node.children.forEach((child, i) => this.bind(child, node.inputs![i]!, ctx));
  }

  /** Delivers a batch from instance `from` of input `i`'s node to the right instances of `node`. */
  private router(node: Node, i: number, ctx: OperatorContext): (from: number, b: Batch) => void {
    const route = node.routes[i]!;
    const c = node.counters;
    const remote = this.remote;
    const to = remote && node.remote
      // Counted by the worker, which reports its counts when the node ends.
      ? (s: number, b: Batch, own = false) => remote.send(s, node.index, i, b, own)
      : (s: number, b: Batch) => {
          countIn(c, b.length);
          node.ops[s]!.processBatch(i, b, ctx, node.outs[s]!);
        };
    switch (route.kind) {
      case 'same':
        return to;
      case 'gather':
        return (_from, b) => to(0, b);
      case 'hash': {
        const quiet = quietContext(ctx);
        const n = node.ops.length;
        return (_from, b) => {
          if (b.length === 0) return;
          const parts = splitByRoute(route, b, quiet, n);
          // A part that is not the batch itself was made here: a worker may take its buffers.
          for (let s = 0; s < n; s++) if (parts[s]) to(s, parts[s]!, parts[s] !== b);
        };
      }
    }
  }

  /**
   * Ends the epoch from the leaves up: every node after its children. Nodes in worker threads
   * are ended in as few round trips as their inputs allow: a node whose inputs all come from
   * nodes of the same instance in the same worker (route 'same') is ended in the same request,
   * after them; one that reads an exchange (its rows pass through this thread) or a node of
   * this thread waits until the requests before it were answered — a worker's outputs precede
   * its answer on its port, and this thread passes them on as they come, ahead of what it
   * sends next.
   */
  private async end(root: Node, ctx: OperatorContext): Promise<void> {
    const pending: number[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const replies = await this.remote!.end(pending.splice(0));
      for (const r of replies) {
        for (const [idx, rin, rout] of r.counts) {
          const k = this.nodes[idx]!.node.counters;
          countIn(k, rin);
          k.epochRowsOut += rout;
          k.rowsOut += rout;
        }
        for (const e of r.errors) ctx.onRowError(new SluiceError(e.category, e.message, { position: e.position, hint: e.hint }));
        for (const l of r.late) ctx.onLate?.(l.batch, l.reason);
        if (r.lateCount) ctx.countLate(r.lateCount);
      }
      this.remote!.checkFailure();
    };
    const visit = async (node: Node): Promise<void> => {
      for (const c of node.children) await visit(c);
      if (this.remote && node.remote) {
        const local = node.children.every((c, i) => c.remote && node.routes[i]!.kind === 'same');
        if (!local) await flush();
        pending.push(node.index);
        return;
      }
      await flush();
      for (let s = 0; s < node.ops.length; s++) await node.ops[s]!.endEpoch(ctx, node.outs[s]!);
    };
    await visit(root);
    await flush();
  }

  /** A worker's output for a node of this thread, or the pipeline's output. */
  private onWorkerMessage(m: Extract<FromWorker, { t: 'out' | 'spread' }>): void {
    if (m.t === 'spread') {
      // Parts go on in the order they were dealt out, so each key's rows reach its owner in
      // the order of the input (as at parallelism 1).
      this.spreadHeld.set(m.seq, m.pieces);
      for (let next = this.spreadHeld.get(this.spreadForwarded); next; next = this.spreadHeld.get(this.spreadForwarded)) {
        this.spreadHeld.delete(this.spreadForwarded++);
        for (const p of next) {
          const { node } = this.nodes[p.node]!;
          if (node.remote) this.remote!.send(p.to, p.node, p.input, p.batch, true, p.partial === true);
          else {
            // A global aggregate's partial row, merged here (its rows in counted as the part's).
            countIn(node.counters, p.rows ?? 0);
            (node.ops[p.to] as HashAggOp).mergePartial(p.batch);
          }
        }
      }
      return;
    }
    // Rows out were counted by the worker: past the sender's own output.
    if (m.node === -1) this.emit(m.batch);
    else this.nodes[m.node]!.node.inputs![m.input]!(m.from, m.batch);
  }

  // ---- the worker side -------------------------------------------------------------------

  /** Worker side: the epoch's context from the coordinator; binds the local instances. */
  workerBegin(ctx: OperatorContext): void {
    this.workerCtx = ctx;
    const w = this.worker!;
    const quiet = quietContext(ctx);
    for (const { node } of this.nodes) {
      if (!node.remote) continue;
      const parent = this.parentOf.get(node) ?? null;
      const s = w.shard;
      const c = node.counters;
      const outs: Collector[] = [];
      outs[s] = (b: Batch) => {
        c.epochRowsOut += b.length;
        c.rowsOut += b.length;
        const route = parent?.node.routes[parent.input];
        if (parent && parent.node.remote && route!.kind === 'same') {
          countIn(parent.node.counters, b.length);
          parent.node.ops[s]!.processBatch(parent.input, b, ctx, parent.node.outs[s]!);
        } else if (parent && parent.node.remote && route!.kind === 'hash' && this.collecting) {
          // A spread part's rows: split by key here, so the coordinator only passes them on.
          if (b.length === 0) return;
          const partial = this.preAggregate(parent.node, b, ctx);
          if (partial) {
            countIn(parent.node.counters, b.length);
            const keys = partial.columns.slice(0, (parent.node.plan as Extract<PhysicalPlan, { kind: 'HashAggExec' }>).groupKeys.length);
            splitByOwner(partial, keys, parent.node.ops.length).forEach((p, to) => {
              if (p) this.collecting!.push({ to, node: parent.node.index, input: parent.input, batch: p, own: true, partial: true });
            });
            return;
          }
          const parts = splitByRoute(route!, b, quiet, parent.node.ops.length);
          parts.forEach((p, to) => {
            if (p) this.collecting!.push({ to, node: parent.node.index, input: parent.input, batch: p, own: p !== b });
          });
        } else if (parent && !parent.node.remote && route!.kind === 'gather' && this.collecting) {
          // A spread part's rows for a global aggregate on the engine's thread: its one partial row.
          if (b.length === 0) return;
          const partial = this.preAggregate(parent.node, b, ctx);
          if (partial) this.collecting.push({ to: 0, node: parent.node.index, input: parent.input, batch: partial, own: true, partial: true, rows: b.length });
          else w.post({ t: 'out', pid: w.pid, node: parent.node.index, input: parent.input, from: s, batch: b });
        } else w.post({ t: 'out', pid: w.pid, node: parent ? parent.node.index : -1, input: parent ? parent.input : 0, from: s, batch: b });
      };
      node.outs = outs;
    }
  }

  /**
   * Worker side: a batch for this instance of node `index`; `partial`: a partial aggregate another
   * worker made of a spread part (preAggregate), its input rows counted there.
   */
  workerBatch(index: number, input: number, b: Batch, partial = false): void {
    const { node } = this.nodes[index]!;
    const s = this.worker!.shard;
    if (partial) {
      (node.ops[s] as HashAggOp).mergePartial(b);
      return;
    }
    countIn(node.counters, b.length);
    node.ops[s]!.processBatch(input, b, this.workerCtx!, node.outs[s]!);
  }

  /**
   * Worker side: a spread part's rows bound for an aggregate, aggregated here first when its
   * calls allow it (HashAggOp.combinable), so that only a row per group and part crosses to the
   * owners instead of every row (a combiner, as Spark's map-side and Flink's local aggregation).
   * The owners merge the parts in the order they were dealt (the coordinator passes pieces on in
   * that order). When a part has more than half as many groups as rows, pre-aggregating saves
   * little, and the node's parts go on as rows from then on. Null: not pre-aggregated.
   */
  private preAggregate(node: Node, b: Batch, ctx: OperatorContext): Batch | null {
    if (node.plan?.kind !== 'HashAggExec' || this.noPreAgg.has(node)) return null;
    let partial = this.preAggs.get(node);
    if (!partial) {
      partial = new HashAggOp(`${node.id}#partial`, node.plan);
      if (!partial.mergesParts()) {
        this.noPreAgg.add(node);
        return null;
      }
      this.preAggs.set(node, partial);
    }
    partial.processBatch(0, b, ctx);
    const rows = partial.takePartial();
    // (A global aggregate's partial is one row: always worth it.)
    if (rows.length * 2 > b.length && node.plan.groupKeys.length > 0) this.noPreAgg.add(node);
    return rows;
  }

  /**
   * Worker side: part of a spread scan's input, its columns already chosen (the scan's output);
   * the pieces for the keyed node above go to `pieces`.
   */
  workerSpread(index: number, b: Batch, pieces: SpreadPiece[]): void {
    const { node } = this.nodes[index]!;
    this.collecting = pieces;
    try {
      countIn(node.counters, b.length);
      if (b.length) node.outs[this.worker!.shard]!(b);
    } finally {
      this.collecting = null;
    }
  }

  /** Worker side: ends this instance of node `index`; returns the counts since the last call. */
  async workerEnd(indexes: readonly number[]): Promise<{ counts: [number, number, number][]; stateRows: [number, number][] }> {
    const s = this.worker!.shard;
    const stateRows: [number, number][] = [];
    for (const index of indexes) {
      const { node } = this.nodes[index]!;
      await node.ops[s]!.endEpoch(this.workerCtx!, node.outs[s]!);
      stateRows.push([index, node.ops[s]!.stateRows?.() ?? 0]);
    }
    const counts: [number, number, number][] = [];
    for (const { node: n } of this.nodes) {
      if (!n.remote || (n.counters.epochRowsIn === 0 && n.counters.epochRowsOut === 0)) continue;
      counts.push([n.index, n.counters.epochRowsIn, n.counters.epochRowsOut]);
      n.counters.epochRowsIn = n.counters.epochRowsOut = 0;
    }
    return { counts, stateRows };
  }

  /** Worker side: this instance's state tables, by node index. */
  workerTables(): { readonly index: number; readonly tables: readonly StateTable[] }[] {
    const s = this.worker!.shard;
    return this.nodes.filter(({ node }) => node.remote).map(({ node }) => ({ index: node.index, tables: node.ops[s]!.state }));
  }
}

/** A stand-in for a terminal operator (a model's trainer) on a worker side, which never runs it. */
export function standIn(id: string): Operator {
  return { ...STAND_IN, id };
}

/** What a worker side holds in place of the nodes and instances it does not run. */
const STAND_IN: Operator = {
  id: '(elsewhere)',
  name: '(elsewhere)',
  state: [],
  processBatch: () => {
    throw new SluiceError('internal', 'a pipeline instance ran on a thread that does not own it');
  },
  endEpoch: () => undefined,
};

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
