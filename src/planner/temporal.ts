/**
 * Temporal filters (Materialize's mz_now() filters): a view's WHERE/HAVING conjunct comparing a
 * row's timestamp expression with now() — the epoch's batch time T_n — is maintained over time.
 * Each such conjunct is normalized to `now() op bound(row)`:
 *
 *   ts > now() - i      ⇔  now() < ts + i         (the row leaves when T_n reaches ts + i)
 *   ts + i >= now()     ⇔  now() <= ts + i
 *   ts <= now()         ⇔  now() >= ts            (a future-dated row enters when T_n reaches ts)
 *   ts BETWEEN now() - i AND now()  ⇔  now() <= ts + i AND now() >= ts
 *
 * so a row is in the view while valid_from <= T_n < valid_until, with valid_from the largest
 * lower bound and valid_until the smallest upper bound (`<=` and `>` move a bound by 1 µs).
 * The planner places a TemporalFilter node above the filter of the other conjuncts; any other
 * now() in a view (select list, join condition, GROUP BY, OR, non-monotonic comparisons, …) is
 * refused, since its value would be frozen at the epoch that computed the row.
 */
import { SluiceError } from '../common/errors.js';
import { columnsOf, conjunction, showExpr, splitConjunction, type AggCall, type BoundExpr } from './expr.js';
import { children, transformUp, type LogicalPlan } from './logical.js';


/** Whether an expression calls now() (a temporal condition's clock; predict() is volatile too, but not a clock). */
function callsNow(e: BoundExpr): boolean {
  switch (e.kind) {
    case 'col':
    case 'lit':
      return false;
    case 'call':
      return e.fn === 'now' || e.args.some(callsNow);
    case 'case':
      return e.whens.some((w) => callsNow(w.when) || callsNow(w.then)) || (e.otherwise !== null && callsNow(e.otherwise));
    case 'cast':
      return callsNow(e.arg);
  }
}

/** `now() op bound`, bound an expression over the input row (no now()). */
export interface TemporalCondition {
  readonly op: 'lt' | 'le' | 'gt' | 'ge';
  readonly bound: BoundExpr;
}

const FLIP = { lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' } as const;

export const TEMPORAL_HINT =
  "now() in a materialized view is maintained only as a temporal filter: a WHERE (or HAVING) conjunct comparing a timestamp with now() ± a constant interval, such as ts > now() - INTERVAL '1 hour', ts + INTERVAL '1 hour' > now(), now() < ts + INTERVAL '1 hour', ts <= now(), or ts BETWEEN now() - INTERVAL '1 hour' AND now(), AND-ed with other conditions. Ad-hoc SELECTs may use now() anywhere.";

function refuse(what: string): never {
  throw new SluiceError('not_supported', `now() ${what} is not supported in a materialized view`, { hint: TEMPORAL_HINT });
}

/** The interval constant of an add/sub over now(): interval-typed, reading no column and no now(). */
function isIntervalConstant(e: BoundExpr): boolean {
  return e.type === 'interval' && columnsOf(e).size === 0 && !callsNow(e);
}

/**
 * The conjunct as `now() op bound`, or null when it does not involve now(). Throws 0A000 for a
 * now() the engine cannot maintain.
 */
export function temporalCondition(c: BoundExpr): TemporalCondition | null {
  if (!callsNow(c)) return null;
  if (c.kind !== 'call' || c.args.length !== 2 || !(c.fn === 'lt' || c.fn === 'le' || c.fn === 'gt' || c.fn === 'ge')) {
    if (c.kind === 'call' && (c.fn === 'or' || c.fn === 'not')) refuse(`under ${c.fn.toUpperCase()}`);
    if (c.kind === 'call' && (c.fn === 'eq' || c.fn === 'ne')) refuse(`compared with ${c.fn === 'eq' ? '=' : '<>'} (the row would be in the view for a single instant)`);
    refuse('in this condition');
  }
  let [a, b] = c.args as [BoundExpr, BoundExpr];
  let op: TemporalCondition['op'] = c.fn;
  if (callsNow(a) && callsNow(b)) refuse('on both sides of a comparison');
  if (!callsNow(a)) {
    [a, b] = [b, a];
    op = FLIP[op];
  }
  // Now `a op b`, a holds now(): peel now() ± constant intervals onto the row side.
  let n = a;
  let bound = b;
  for (;;) {
    if (n.kind === 'call' && n.fn === 'now') break;
    if (n.kind === 'call' && (n.fn === 'add' || n.fn === 'sub') && n.args.length === 2) {
      const [x, y] = n.args as [BoundExpr, BoundExpr];
      if (callsNow(x) && isIntervalConstant(y)) {
        // now() + y op b  ⇔  now() op b - y;  now() - y op b  ⇔  now() op b + y
        bound = { kind: 'call', fn: n.fn === 'add' ? 'sub' : 'add', args: [bound, y], type: bound.type };
        n = x;
        continue;
      }
      if (n.fn === 'add' && callsNow(y) && isIntervalConstant(x)) {
        bound = { kind: 'call', fn: 'sub', args: [bound, x], type: bound.type };
        n = y;
        continue;
      }
    }
    refuse('inside an expression other than now() ± a constant interval');
  }
  if (bound.type !== 'timestamp' && bound.type !== 'timestamptz') refuse(`compared with a value of type ${bound.type}`);
  return { op, bound };
}

/**
 * Where the refused now() is in `sql` (1-based), when the statement names now() (or
 * current_timestamp) once; with several, which one was refused is not known here.
 */
export function nowPosition(sql: string): number | undefined {
  const re = /(^|[^A-Za-z0-9_"'])(now|current_timestamp)(?![A-Za-z0-9_"'])/gi;
  const hits = [...sql.matchAll(re)];
  return hits.length === 1 ? hits[0]!.index + hits[0]![1]!.length + 1 : undefined;
}

/** EXPLAIN's text of a temporal filter's conditions over the input's column names. */
export function showTemporal(conds: readonly TemporalCondition[], inputNames: readonly string[]): string {
  const sym = { lt: '<', le: '<=', gt: '>', ge: '>=' } as const;
  return conds.map((c) => `now() ${sym[c.op]} ${showExpr(c.bound, inputNames)}`).join(' AND ');
}

/**
 * Splits every filter's temporal conjuncts into a temporal_filter node above the filter of the
 * rest, recomputes which nodes are append-only (a temporal filter retracts), and refuses any
 * now() left elsewhere in the plan.
 */
export function placeTemporalFilters(plan: LogicalPlan): LogicalPlan {
  let placed = false;
  const out = transformUp(plan, (p) => {
    if (p.kind !== 'filter' || !callsNow(p.predicate)) return p;
    const conds: TemporalCondition[] = [];
    const rest: BoundExpr[] = [];
    for (const c of splitConjunction(p.predicate)) {
      const t = temporalCondition(c);
      if (t) conds.push(t);
      else rest.push(c);
    }
    placed = true;
    const r = conjunction(rest);
    const input: LogicalPlan = r ? { ...p, predicate: r } : p.input;
    return { kind: 'temporal_filter', input, conditions: conds, schema: p.schema, appendOnly: false };
  });
  refuseStrayNow(out);
  return placed ? transformUp(out, recomputeAppendOnly) : out;
}

/** A node's appendOnly from its (possibly changed) inputs. */
function recomputeAppendOnly(p: LogicalPlan): LogicalPlan {
  switch (p.kind) {
    case 'filter':
    case 'project':
    case 'project_set':
    case 'window':
    case 'row_number':
      return p.appendOnly === p.input.appendOnly ? p : ({ ...p, appendOnly: p.input.appendOnly } as LogicalPlan);
    case 'union': {
      const a = p.inputs.every((i) => i.appendOnly);
      return a === p.appendOnly ? p : { ...p, appendOnly: a };
    }
    case 'join': {
      if ((p.lookup && !p.left.appendOnly) || (p.timeBound && (!p.left.appendOnly || !p.right.appendOnly))) {
        throw new SluiceError('not_supported', `a temporal filter (now()) below ${p.lookup ? 'a lookup join' : 'a time-bounded join'} is not supported`, {
          hint: 'Apply the temporal filter to the join\'s result (in the WHERE of the query that joins), not inside a subquery it reads.',
        });
      }
      const a = p.lookup ? p.left.appendOnly : (p.joinType === 'inner' || p.joinType === 'cross') && p.left.appendOnly && p.right.appendOnly;
      return a === p.appendOnly ? p : { ...p, appendOnly: a };
    }
    default:
      return p;
  }
}

/** Throws 0A000 when a now() is left anywhere but a window's processing time. */
function refuseStrayNow(p: LogicalPlan): void {
  const check = (e: BoundExpr | null, where: string) => {
    if (e && callsNow(e)) refuse(where);
  };
  const checkAgg = (a: AggCall) => {
    check(a.arg, 'in an aggregate\'s argument');
    check(a.filter, 'in an aggregate\'s FILTER');
  };
  switch (p.kind) {
    case 'filter':
      check(p.predicate, 'in this condition');
      break;
    case 'project':
      for (const e of p.exprs) check(e, 'in the select list');
      break;
    case 'aggregate':
      for (const k of p.groupKeys) check(k, 'in GROUP BY');
      p.aggs.forEach(checkAgg);
      break;
    case 'window_aggregate':
      for (const k of p.keys) check(k, 'in GROUP BY');
      p.aggs.forEach(checkAgg);
      break;
    case 'join':
      for (const k of [...p.leftKeys, ...p.rightKeys]) check(k, 'in a join condition');
      check(p.residual, 'in a join condition');
      break;
    case 'row_number':
    case 'top_n':
      for (const k of p.partitionBy) check(k, 'in PARTITION BY / DISTINCT ON');
      for (const o of p.orderBy) check(o.expr, 'in ORDER BY');
      break;
    case 'project_set':
      for (const c of p.calls) for (const a of c.args) check(a, 'in a set-returning function\'s argument');
      break;
    default:
      break;
  }
  for (const c of children(p)) refuseStrayNow(c);
}
