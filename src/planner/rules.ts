/**
 * Rewrite rules over LogicalPlan. Each is a pure function plan → plan that keeps the root's
 * output schema: PushDownFilterRule moves predicates toward the scans, MergeProjectRule folds
 * stacked projections, PruneColumnsRule makes every node produce only the columns used above.
 */
import { columnsOf, conjunction, isVolatile, mapColumns, splitConjunction, type BoundExpr } from './expr.js';
import { filter, project } from './binder.js';
import type { LogicalPlan } from './logical.js';

export interface Rule {
  readonly name: string;
  apply(plan: LogicalPlan): LogicalPlan;
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
      return { ...plan, input: pushDown(plan.input) };
    case 'union':
      return { ...plan, inputs: plan.inputs.map(pushDown) };
    case 'filter':
      return pushFilter(plan.input, splitConjunction(plan.predicate));
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
    case 'scan':
    case 'values':
      return wrap(input, preds);
  }
}

export const MergeProjectRule: Rule = {
  name: 'MergeProjectRule',
  apply: mergeProjects,
};

function mergeProjects(plan: LogicalPlan): LogicalPlan {
  switch (plan.kind) {
    case 'scan':
    case 'values':
      return plan;
    case 'filter':
      return filter(mergeProjects(plan.input), plan.predicate);
    case 'aggregate':
      return { ...plan, input: mergeProjects(plan.input) };
    case 'union':
      return { ...plan, inputs: plan.inputs.map(mergeProjects) };
    case 'project': {
      const input = mergeProjects(plan.input);
      if (input.kind === 'project') {
        const exprs = plan.exprs.map((e) => mapColumns(e, (i) => input.exprs[i]!));
        return project(input.input, exprs, plan.schema);
      }
      if (plan.exprs.length === input.schema.length && plan.exprs.every((e, i) => e.kind === 'col' && e.index === i) && plan.schema.every((f, i) => f.name === input.schema[i]!.name)) {
        return input;
      }
      return project(input, plan.exprs, plan.schema);
    }
  }
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
      const keptAggs = all ? plan.aggs.map((_, i) => i) : required.filter((i) => i >= nKeys).map((i) => i - nKeys);
      const aggs = keptAggs.map((i) => plan.aggs[i]!);
      const used = new Set<number>();
      for (const k of plan.groupKeys) columnsOf(k, used);
      for (const a of aggs) {
        if (a.arg) columnsOf(a.arg, used);
        if (a.filter) columnsOf(a.filter, used);
      }
      const need = sorted([...used]);
      const child = prune(plan.input, need);
      const agg: LogicalPlan = {
        ...plan,
        input: child,
        groupKeys: plan.groupKeys.map((k) => remap(k, need)),
        aggs: aggs.map((a) => ({ ...a, arg: a.arg ? remap(a.arg, need) : null, filter: a.filter ? remap(a.filter, need) : null })),
        schema: [...plan.schema.slice(0, nKeys), ...keptAggs.map((i) => plan.schema[nKeys + i]!)],
      };
      const produced = [...plan.groupKeys.map((_, i) => i), ...keptAggs.map((i) => nKeys + i)];
      return trim(agg, produced, required);
    }
    case 'union':
      return { ...plan, inputs: plan.inputs.map((i) => prune(i, required)), schema: required.map((i) => plan.schema[i]!) };
  }
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

export const DEFAULT_RULES: readonly Rule[] = [PushDownFilterRule, MergeProjectRule, PruneColumnsRule, MergeProjectRule];

export function optimize(plan: LogicalPlan, rules: readonly Rule[] = DEFAULT_RULES): LogicalPlan {
  return rules.reduce((p, r) => r.apply(p), plan);
}
