/**
 * Rewrite rules over LogicalPlan. Each is a pure function plan → plan that keeps the root's
 * output schema: PushDownFilterRule moves predicates toward the scans, MergeProjectRule folds
 * stacked projections, PruneColumnsRule makes every node produce only the columns used above.
 */
import { aggExprs, columnsOf, conjunction, isVolatile, mapAggExprs, mapColumns, splitConjunction, type AggCall, type BoundExpr } from './expr.js';
import { filter, project } from './binder.js';
import { transformUp, type FrameEdge, type LogicalPlan, type WindowKeyRole } from './logical.js';

export interface Rule {
  readonly name: string;
  apply(plan: LogicalPlan): LogicalPlan;
}

/** A logical plan node of one kind. */
type PlanNode<K extends LogicalPlan['kind']> = Extract<LogicalPlan, { kind: K }>;

/** A rule that rewrites, bottom-up, every node of one kind and keeps the others. */
function nodeRule<K extends LogicalPlan['kind']>(name: string, kind: K, rewrite: (p: PlanNode<K>) => LogicalPlan): Rule {
  return { name, apply: (plan) => transformUp(plan, (p) => (p.kind === kind ? rewrite(p as PlanNode<K>) : p)) };
}

export const PushDownFilterRule: Rule = {
  name: 'PushDownFilterRule',
  apply: pushDown,
};

function pushDown(plan: LogicalPlan): LogicalPlan {
  switch (plan.kind) {
    case 'scan':
    case 'values':
      return plan;
    case 'project':
      return project(pushDown(plan.input), plan.exprs, plan.schema);
    case 'aggregate':
    case 'window':
    case 'window_aggregate':
    case 'row_number':
    case 'top_n':
    case 'over_window':
    case 'project_set':
    case 'temporal_filter':
      return { ...plan, input: pushDown(plan.input) };
    case 'union':
      return { ...plan, inputs: plan.inputs.map(pushDown) };
    case 'filter':
      return pushFilter(plan.input, splitConjunction(plan.predicate));
    case 'join':
      return { ...plan, left: pushDown(plan.left), right: pushDown(plan.right) };
  }
}

/** Places conjuncts `preds` over `input`, as deep as each can go. */
function pushFilter(input: LogicalPlan, preds: BoundExpr[]): LogicalPlan {
  const wrap = (p: LogicalPlan, rest: BoundExpr[]) => {
    const c = conjunction(rest);
    return c ? filter(p, c) : p;
  };
  switch (input.kind) {
    case 'filter':
      return pushFilter(input.input, [...splitConjunction(input.predicate), ...preds]);
    case 'project': {
      const down: BoundExpr[] = [];
      const keep: BoundExpr[] = [];
      for (const p of preds) {
        const sub = mapColumns(p, (i) => input.exprs[i]!);
        if (isVolatile(sub)) keep.push(p);
        else down.push(sub);
      }
      const inner = down.length ? pushFilter(input.input, down) : pushDown(input.input);
      return wrap(project(inner, input.exprs, input.schema), keep);
    }
    case 'union':
      return { ...input, inputs: input.inputs.map((i) => pushFilter(i, preds)) };
    case 'aggregate': {
      const nKeys = input.groupKeys.length;
      const down: BoundExpr[] = [];
      const keep: BoundExpr[] = [];
      for (const p of preds) {
        const cols = columnsOf(p);
        if (nKeys > 0 && cols.size > 0 && [...cols].every((c) => c < nKeys)) down.push(mapColumns(p, (i) => input.groupKeys[i]!));
        else keep.push(p);
      }
      const inner = down.length ? pushFilter(input.input, down) : pushDown(input.input);
      return wrap({ ...input, input: inner }, keep);
    }
    case 'window': {
      // Predicates on input columns go below the window; those on window_start/end stay.
      const n = input.input.schema.length;
      const down = preds.filter((p) => [...columnsOf(p)].every((c) => c < n));
      const keep = preds.filter((p) => !down.includes(p));
      const inner = down.length ? pushFilter(input.input, down) : pushDown(input.input);
      return wrap({ ...input, input: inner }, keep);
    }
    case 'project_set': {
      // Every row an input row expands into carries its columns: predicates on them alone can
      // filter the input row before it expands; those on the functions' output stay above.
      const n = input.keep.length;
      const onInput = preds.filter((p) => { const cols = [...columnsOf(p)]; return cols.length > 0 && cols.every((c) => c < n); });
      const stay = preds.filter((p) => !onInput.includes(p));
      const down = onInput.map((p) => mapColumns(p, (i, type) => ({ kind: 'col', index: input.keep[i]!, type })));
      const inner = down.length ? pushFilter(input.input, down) : pushDown(input.input);
      return wrap({ ...input, input: inner }, stay);
    }
    case 'over_window': {
      // A predicate on the PARTITION BY columns alone keeps or drops whole partitions, which
      // does not change the window functions of the rows kept: it goes below.
      const n = input.input.schema.length;
      const partCols = new Set<number>();
      for (const k of input.partitionBy) if (k.kind === 'col') partCols.add(k.index);
      const down = preds.filter((p) => { const cols = [...columnsOf(p)]; return cols.length > 0 && cols.every((c) => c < n && partCols.has(c)) && !isVolatile(p); });
      const keep = preds.filter((p) => !down.includes(p));
      const inner = down.length ? pushFilter(input.input, down) : pushDown(input.input);
      return wrap({ ...input, input: inner }, keep);
    }
    case 'temporal_filter': {
      // Ordinary conditions commute with a temporal filter; now() conditions stay above it.
      const down = preds.filter((p) => !isVolatile(p));
      const inner = down.length ? pushFilter(input.input, down) : pushDown(input.input);
      return wrap({ ...input, input: inner }, preds.filter((p) => isVolatile(p)));
    }
    case 'window_aggregate':
    case 'row_number':
    case 'top_n':
      // Filtering below a ranking would change the ranks: the predicates stay above.
      return wrap({ ...input, input: pushDown(input.input) }, preds);
    case 'join': {
      // A WHERE conjunct on one input goes into that input unless the join pads that side with
      // NULLs (then filtering before the join would change which rows get padded).
      const nL = input.left.schema.length;
      const t = input.joinType;
      const toLeft: BoundExpr[] = [];
      const toRight: BoundExpr[] = [];
      const keep: BoundExpr[] = [];
      for (const p of preds) {
        const cols = [...columnsOf(p)];
        // A temporal filter (now()) makes its input retract: it stays above a join that needs append-only inputs.
        if ((input.lookup || input.timeBound) && isVolatile(p)) keep.push(p);
        else if (cols.length > 0 && cols.every((c) => c < nL) && (t === 'inner' || t === 'cross' || t === 'left')) toLeft.push(p);
        else if (cols.length > 0 && cols.every((c) => c >= nL) && (t === 'inner' || t === 'cross' || t === 'right')) toRight.push(mapColumns(p, (i, type) => ({ kind: 'col', index: i - nL, type })));
        else keep.push(p);
      }
      const left = toLeft.length ? pushFilter(input.left, toLeft) : pushDown(input.left);
      const right = toRight.length ? pushFilter(input.right, toRight) : pushDown(input.right);
      return wrap({ ...input, left, right }, keep);
    }
    case 'scan':
    case 'values':
      return wrap(input, preds);
  }
}

export const MergeProjectRule = nodeRule('MergeProjectRule', 'project', mergeProject);

function mergeProject(p: PlanNode<'project'>): LogicalPlan {
  const input = p.input;
  if (input.kind === 'project') {
    const exprs = p.exprs.map((e) => mapColumns(e, (i) => input.exprs[i]!));
    return project(input.input, exprs, p.schema);
  }
  if (p.exprs.length === input.schema.length && p.exprs.every((e, i) => e.kind === 'col' && e.index === i) && p.schema.every((f, i) => f.name === input.schema[i]!.name)) {
    return input;
  }
  return p;
}

export const PruneColumnsRule: Rule = {
  name: 'PruneColumnsRule',
  apply: (plan) => prune(plan, plan.schema.map((_, i) => i)),
};

/** Rewrites `plan` to output exactly the columns `required` (ascending indexes), in order. */
function prune(plan: LogicalPlan, required: readonly number[]): LogicalPlan {
  const all = required.length === plan.schema.length;
  switch (plan.kind) {
    case 'scan': {
      const columns = required.map((i) => plan.columns[i]!);
      return { ...plan, columns, schema: required.map((i) => plan.schema[i]!) };
    }
    case 'values':
      return { ...plan, rows: plan.rows.map((r) => required.map((i) => r[i]!)), schema: required.map((i) => plan.schema[i]!) };
    case 'project': {
      const exprs = required.map((i) => plan.exprs[i]!);
      const need = sorted(exprs.flatMap((e) => [...columnsOf(e)]));
      const child = prune(plan.input, need);
      return project(child, exprs.map((e) => remap(e, need)), required.map((i) => plan.schema[i]!));
    }
    case 'filter': {
      const need = sorted([...required, ...columnsOf(plan.predicate)]);
      const child = prune(plan.input, need);
      const f = filter(child, remap(plan.predicate, need));
      return trim(f, need, required);
    }
    case 'aggregate': {
      const nKeys = plan.groupKeys.length;
      const { keptAggs, aggs, used } = prunedAggregates(plan.aggs, plan.groupKeys, nKeys, required, all);
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const agg: LogicalPlan = {
        ...plan,
        input: child,
        groupKeys: plan.groupKeys.map((k) => remap(k, need)),
        aggs: remapAggregates(aggs, need),
        schema: [...plan.schema.slice(0, nKeys), ...keptAggs.map((i) => plan.schema[nKeys + i]!)],
      };
      const produced = [...plan.groupKeys.map((_, i) => i), ...keptAggs.map((i) => nKeys + i)];
      return trim(agg, produced, required);
    }
    case 'union':
      return { ...plan, inputs: plan.inputs.map((i) => prune(i, required)), schema: required.map((i) => plan.schema[i]!) };
    case 'row_number':
    case 'top_n': {
      const n = plan.input.schema.length;
      const hasRank = plan.kind === 'row_number' || plan.rank;
      const used = new Set<number>(required.filter((i) => i < n));
      for (const k of plan.partitionBy) columnsOf(k, used);
      for (const o of plan.orderBy) columnsOf(o.expr, used);
      // A ranking without an ORDER BY ranks by the whole row: keep every column.
      if (plan.orderBy.length === 0) for (let i = 0; i < n; i++) used.add(i);
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const node = {
        ...plan,
        input: child,
        partitionBy: plan.partitionBy.map((k) => remap(k, need)),
        orderBy: plan.orderBy.map((o) => ({ ...o, expr: remap(o.expr, need) })),
        schema: [...need.map((i) => plan.schema[i]!), ...(hasRank ? [plan.schema[n]!] : [])],
      } as LogicalPlan;
      return trim(node, [...need, ...(hasRank ? [n] : [])], required);
    }
    case 'over_window': {
      const n = plan.input.schema.length;
      const used = new Set<number>(required.filter((i) => i < n));
      for (const k of plan.partitionBy) columnsOf(k, used);
      for (const o of plan.orderBy) columnsOf(o.expr, used);
      for (const c of plan.calls) {
        for (const a of c.args) columnsOf(a, used);
        for (const e of [c.frame.start, c.frame.end]) if (e.value) columnsOf(e.value, used);
      }
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const edge = (e: FrameEdge): FrameEdge => (e.value ? { ...e, value: remap(e.value, need) } : e);
      const node: LogicalPlan = {
        ...plan,
        input: child,
        partitionBy: plan.partitionBy.map((k) => remap(k, need)),
        orderBy: plan.orderBy.map((o) => ({ ...o, expr: remap(o.expr, need) })),
        calls: plan.calls.map((c) => ({ ...c, args: c.args.map((a) => remap(a, need)), frame: { ...c.frame, start: edge(c.frame.start), end: edge(c.frame.end) } })),
        schema: [...need.map((i) => plan.schema[i]!), ...plan.calls.map((_, k) => plan.schema[n + k]!)],
      };
      return trim(node, [...need, ...plan.calls.map((_, k) => n + k)], required);
    }
    case 'join': {
      const nL = plan.left.schema.length;
      const resid = plan.residual ? [...columnsOf(plan.residual)] : [];
      const tb = plan.timeBound;
      const needL = sorted([...required.filter((i) => i < nL), ...plan.leftKeys.flatMap((k) => [...columnsOf(k)]), ...resid.filter((i) => i < nL), ...(tb ? [tb.left.col] : [])]);
      const needR = sorted([...required.filter((i) => i >= nL).map((i) => i - nL), ...plan.rightKeys.flatMap((k) => [...columnsOf(k)]), ...resid.filter((i) => i >= nL).map((i) => i - nL), ...(tb ? [tb.right.col] : [])]);
      const left = prune(plan.left, needL);
      const right = prune(plan.right, needR);
      const layout = [...needL, ...needR.map((i) => i + nL)];
      const j: LogicalPlan = {
        ...plan,
        left,
        right,
        leftKeys: plan.leftKeys.map((k) => remap(k, needL)),
        rightKeys: plan.rightKeys.map((k) => remap(k, needR)),
        residual: plan.residual ? remap(plan.residual, layout) : null,
        timeBound: tb ? { left: { ...tb.left, col: needL.indexOf(tb.left.col) }, right: { ...tb.right, col: needR.indexOf(tb.right.col) } } : null,
        schema: layout.map((i) => plan.schema[i]!),
      };
      return trim(j, layout, required);
    }
    case 'window': {
      const n = plan.input.schema.length;
      const need = sorted([...required.filter((i) => i < n), ...columnsOf(plan.window.time)]);
      const child = prune(plan.input, need);
      const w: LogicalPlan = {
        ...plan,
        input: child,
        window: { ...plan.window, time: remap(plan.window.time, need) },
        schema: [...need.map((i) => plan.schema[i]!), plan.schema[n]!, plan.schema[n + 1]!],
      };
      return trim(w, [...need, n, n + 1], required);
    }
    case 'project_set': {
      // Every call stays (each decides how many rows an input row becomes), even when its
      // column is not read above.
      // Input columns only the calls read are not carried to the output (a line split into
      // words would otherwise be copied once per word).
      const n = plan.keep.length;
      const extra = plan.schema.length - n;
      const kept = required.filter((i) => i < n);
      const used = new Set<number>(kept.map((i) => plan.keep[i]!));
      for (const c of plan.calls) for (const a of c.args) columnsOf(a, used);
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const outCols = Array.from({ length: extra }, (_, k) => n + k);
      const ps: LogicalPlan = {
        ...plan,
        input: child,
        keep: kept.map((i) => need.indexOf(plan.keep[i]!)),
        calls: plan.calls.map((c) => ({ ...c, args: c.args.map((a) => remap(a, need)) })),
        schema: [...kept.map((i) => plan.schema[i]!), ...outCols.map((i) => plan.schema[i]!)],
      };
      return trim(ps, [...kept, ...outCols], required);
    }
    case 'temporal_filter': {
      const used = new Set<number>(required);
      for (const c of plan.conditions) columnsOf(c.bound, used);
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const tf: LogicalPlan = { ...plan, input: child, conditions: plan.conditions.map((c) => ({ ...c, bound: remap(c.bound, need) })), schema: need.map((i) => plan.schema[i]!) };
      return trim(tf, need, required);
    }
    case 'window_aggregate': {
      const nKeys = plan.roles.length;
      const { keptAggs, aggs, used } = prunedAggregates(plan.aggs, plan.keys, nKeys, required, all);
      columnsOf(plan.window.time, used);
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const agg: LogicalPlan = {
        ...plan,
        input: child,
        window: { ...plan.window, time: remap(plan.window.time, need) },
        keys: plan.keys.map((k) => remap(k, need)),
        aggs: remapAggregates(aggs, need),
        schema: [...plan.schema.slice(0, nKeys), ...keptAggs.map((i) => plan.schema[nKeys + i]!)],
      };
      return trim(agg, [...plan.roles.map((_, i) => i), ...keptAggs.map((i) => nKeys + i)], required);
    }
  }
}

/**
 * What an aggregate node with `nKeys` output key columns keeps for its `required` columns (all
 * of them when `all`): its aggregates, by index and as calls, and the input columns those and
 * the group keys read.
 */
function prunedAggregates(calls: readonly AggCall[], keys: readonly BoundExpr[], nKeys: number, required: readonly number[], all: boolean): { keptAggs: number[]; aggs: AggCall[]; used: Set<number> } {
  const keptAggs = all ? calls.map((_, i) => i) : required.filter((i) => i >= nKeys).map((i) => i - nKeys);
  const aggs = keptAggs.map((i) => calls[i]!);
  const used = new Set<number>();
  for (const k of keys) columnsOf(k, used);
  for (const a of aggs) {
    for (const e of aggExprs(a)) columnsOf(e, used);
  }
  return { keptAggs, aggs, used };
}

/** Aggregate calls over an input pruned to the columns `need`. */
function remapAggregates(aggs: readonly AggCall[], need: readonly number[]): AggCall[] {
  return aggs.map((a) => mapAggExprs(a, (e) => remap(e, need)));
}

function sorted(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

function remap(e: BoundExpr, layout: readonly number[]): BoundExpr {
  return mapColumns(e, (i, type) => ({ kind: 'col', index: layout.indexOf(i), type }));
}

/** A projection from layout `have` down to `want` (a subset), or the plan itself if equal. */
function trim(plan: LogicalPlan, have: readonly number[], want: readonly number[]): LogicalPlan {
  if (have.length === want.length) return plan;
  const exprs: BoundExpr[] = want.map((i) => {
    const at = have.indexOf(i);
    return { kind: 'col', index: at, type: plan.schema[at]!.type };
  });
  return project(plan, exprs, want.map((i) => plan.schema[have.indexOf(i)]!));
}

/**
 * Aggregate(Window(x)) grouped by window_start and/or window_end → WindowAggregate(x): the
 * aggregate runs per pane instead of per copied row. Other group keys and the aggregate
 * arguments must not read the window columns; count/sum/avg/min/max without DISTINCT.
 */
export const WindowAggregateRule = nodeRule('WindowAggregateRule', 'aggregate', rewriteWindowAggregate);

function rewriteWindowAggregate(p: PlanNode<'aggregate'>): LogicalPlan {
  if (p.input.kind !== 'window') return p;
  const input = p.input;
  const n = input.input.schema.length;
  const roles = p.groupKeys.map((k): WindowKeyRole => (k.kind === 'col' && k.index === n ? 'window_start' : k.kind === 'col' && k.index === n + 1 ? 'window_end' : 'key'));
  const keys = p.groupKeys.filter((_, i) => roles[i] === 'key');
  const readsWindow = (e: BoundExpr) => [...columnsOf(e)].some((c) => c >= n);
  const simpleAggs = p.aggs.every((a) => !a.distinct && !aggExprs(a).some(readsWindow));
  if (!roles.some((r) => r !== 'key') || keys.some(readsWindow) || !simpleAggs) return p;
  return {
    kind: 'window_aggregate',
    input: input.input,
    window: input.window,
    roles,
    keys,
    aggs: p.aggs,
    emitOnClose: false,
    schema: p.schema,
    appendOnly: false,
  };
}

/**
 * Filter(rank bounds) over RowNumber (an OverWindow computing ROW_NUMBER() alone) → TopN: `rank <= N`, `rank < N`, `rank = 1`, `rank > M`,
 * `rank >= M` become limit and offset per partition; other conjuncts stay in a filter above.
 */
export const TopNRule = nodeRule('TopNRule', 'filter', rewriteTopN);

function rewriteTopN(p: PlanNode<'filter'>): LogicalPlan {
  const input = p.input;
  // ROW_NUMBER() as the only call of its window node.
  const rowNumber = input.kind === 'row_number' || (input.kind === 'over_window' && input.calls.length === 1 && input.calls[0]!.fn === 'row_number');
  if (!rowNumber) return p;
  const rank = input.input.schema.length;
  let lower = 0;
  let upper = Infinity;
  const keep: BoundExpr[] = [];
  for (const c of splitConjunction(p.predicate)) {
    const b = rankBound(c, rank);
    if (!b) {
      keep.push(c);
      continue;
    }
    // Ranks are whole numbers: a fractional bound rounds toward the rows it admits (rn <= 2.5
    // is rn <= 2, rn > 1.5 is rn > 1), and rn = 1.5 admits none.
    if (b.op === 'le') upper = Math.min(upper, Math.floor(b.n));
    else if (b.op === 'lt') upper = Math.min(upper, Math.ceil(b.n) - 1);
    else if (b.op === 'gt') lower = Math.max(lower, Math.floor(b.n));
    else if (b.op === 'ge') lower = Math.max(lower, Math.ceil(b.n) - 1);
    else if (Number.isInteger(b.n)) {
      upper = Math.min(upper, b.n);
      lower = Math.max(lower, b.n - 1);
    } else upper = Math.min(upper, 0);
  }
  if (upper === Infinity) return p;
  const top: LogicalPlan = {
    kind: 'top_n',
    input: input.input,
    partitionBy: input.partitionBy,
    orderBy: input.orderBy,
    limit: Math.max(0, upper - lower),
    offset: lower,
    withTies: false,
    rank: true,
    schema: input.schema,
    appendOnly: false,
  };
  const rest = conjunction(keep);
  return rest ? filter(top, rest) : top;
}

function rankBound(c: BoundExpr, rank: number): { op: 'le' | 'lt' | 'gt' | 'ge' | 'eq'; n: number } | null {
  if (c.kind !== 'call' || !['le', 'lt', 'gt', 'ge', 'eq'].includes(c.fn) || c.args.length !== 2) return null;
  const flip: Record<string, 'le' | 'lt' | 'gt' | 'ge' | 'eq'> = { le: 'ge', lt: 'gt', gt: 'lt', ge: 'le', eq: 'eq' };
  const isRank = (e: BoundExpr) => (e.kind === 'col' && e.index === rank) || (e.kind === 'cast' && e.arg.kind === 'col' && e.arg.index === rank);
  const num = (e: BoundExpr) => (e.kind === 'lit' && (typeof e.value === 'number' || typeof e.value === 'bigint') && Number.isFinite(Number(e.value)) ? Number(e.value) : null);
  const [a, b] = c.args as [BoundExpr, BoundExpr];
  if (isRank(a) && num(b) !== null) return { op: c.fn as 'le', n: num(b)! };
  if (isRank(b) && num(a) !== null) return { op: flip[c.fn]!, n: num(a)! };
  return null;
}

export const DEFAULT_RULES: readonly Rule[] = [PushDownFilterRule, TopNRule, WindowAggregateRule, MergeProjectRule, PruneColumnsRule, MergeProjectRule];

export function optimize(plan: LogicalPlan, rules: readonly Rule[] = DEFAULT_RULES): LogicalPlan {
  return rules.reduce((p, r) => r.apply(p), plan);
}
