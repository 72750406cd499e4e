/**
 * Subqueries in expressions, decorrelated into joins and aggregates so that a change on either
 * side updates the view incrementally (no per-row re-execution):
 *
 *   EXISTS (S)            S grouped by its correlation keys with count(*), LEFT JOINed on them:
 *                         true where a count joined
 *   x IN (S)              S grouped by (keys, y) LEFT JOINed on (keys, x = y) for the match, and
 *                         S grouped by keys (count(*), count(y)) for PostgreSQL's NULLs: no
 *                         match is NULL when S has a NULL y (or x is NULL) and rows at all
 *   x op ANY|ALL (S)      S grouped by keys with count(*), count(y), min(y), max(y): x compared
 *                         with the extreme that decides it, NULLs as PostgreSQL
 *   (S) aggregate         S itself grouped by keys, LEFT JOINed; a missing group is the
 *                         aggregate over no rows (count 0, others NULL)
 *   (S) other             S grouped by keys with count(*) and min(v): v where count is 1,
 *                         a row error 21000 where it is more (NULL, counted)
 *
 * An uncorrelated subquery has no keys: its aggregate is global (always one row) and is CROSS
 * JOINed. The joins are collected while an expression binds (the value is a placeholder column)
 * and appended to the plan afterwards (see SubqueryJoins.apply).
 */
import { SluiceError } from '../common/errors.js';
import type { SqlType } from '../common/types.js';
import type { Expr, Query } from '../parser/index.js';
import { call, cast } from './coercion.js';
import { mapColumns, type AggCall, type BoundExpr } from './expr.js';
import type { Ctx, SubqueryBinder, SubqueryExpr } from './expr-binder.js';
import type { JoinType, LogicalPlan } from './logical.js';

/** Placeholder column indexes start here: the i-th right column collected is PLACEHOLDER + i. */
const PLACEHOLDER = 1 << 24;

/** A subquery bound for decorrelation: its plan outputs the k correlation keys, then its columns. */
export interface Correlated {
  readonly plan: LogicalPlan;
  readonly keys: number;
  /** The outer side of each correlation key, bound in the outer context (coerced to the key's type). */
  readonly outerKeys: readonly BoundExpr[];
}

/** What the subquery binder needs of the query binder. */
export interface SubqueryHost {
  bindCorrelated(q: Query, outer: Ctx, pos: number | undefined): Correlated;
  bindExpr(e: Expr, ctx: Ctx): BoundExpr;
  /** `l op r` with PostgreSQL's coercions (op: = <> < <= > >=). */
  comparison(op: string, l: BoundExpr, r: BoundExpr, pos: number | undefined): BoundExpr;
}

interface PendingJoin {
  readonly right: LogicalPlan;
  readonly joinType: JoinType;
  readonly leftKeys: readonly BoundExpr[];
  readonly rightKeys: readonly BoundExpr[];
}

const col = (index: number, type: SqlType): BoundExpr => ({ kind: 'col', index, type });
const lit = (value: boolean | bigint | null, type: SqlType): BoundExpr => ({ kind: 'lit', value, type });
const isNull = (e: BoundExpr): BoundExpr => call('is_null', [e], 'boolean');
const notNull = (e: BoundExpr): BoundExpr => call('is_not_null', [e], 'boolean');
const or = (a: BoundExpr, b: BoundExpr): BoundExpr => call('or', [a, b], 'boolean');
const not = (a: BoundExpr): BoundExpr => call('not', [a], 'boolean');
const caseOf = (whens: [BoundExpr, BoundExpr][], otherwise: BoundExpr, type: SqlType): BoundExpr => ({
  kind: 'case',
  whens: whens.map(([when, then]) => ({ when, then })),
  otherwise,
  type,
});

const COMPARE: Record<string, 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'> = { '=': 'eq', '<>': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge' };

/** Collects the joins of the subqueries in the expressions of one clause, and appends them to its plan. */
export class SubqueryJoins implements SubqueryBinder {
  private readonly pending: PendingJoin[] = [];
  private width = 0;

  constructor(private readonly host: SubqueryHost) {}

  get empty(): boolean {
    return this.pending.length === 0;
  }

  /**
   * `plan` with the collected joins appended (left-deep, each adding its right side's columns),
   * and the function that maps placeholder columns of expressions bound meanwhile onto them.
   */
  apply(plan: LogicalPlan): { plan: LogicalPlan; remap: (e: BoundExpr) => BoundExpr } {
    const w = plan.schema.length;
    const remap = (e: BoundExpr): BoundExpr => mapColumns(e, (i, type) => col(i >= PLACEHOLDER ? w + i - PLACEHOLDER : i, type));
    let out = plan;
    for (const j of this.pending) {
      out = {
        kind: 'join',
        left: out,
        right: j.right,
        joinType: j.joinType,
        leftKeys: j.leftKeys.map(remap),
        rightKeys: j.rightKeys,
        residual: null,
        lookup: false,
        timeBound: null,
        schema: [...out.schema, ...j.right.schema],
        appendOnly: false,
      };
    }
    return { plan: out, remap };
  }

  /** Adds a join of `right` on the outer keys = its first columns; returns the placeholder base of its columns. */
  private add(right: LogicalPlan, outerKeys: readonly BoundExpr[], joinType: JoinType = outerKeys.length ? 'left' : 'cross'): number {
    const base = PLACEHOLDER + this.width;
    const rightKeys = outerKeys.map((k, i) => col(i, right.schema[i]!.type));
    this.pending.push({ right, joinType, leftKeys: outerKeys, rightKeys });
    this.width += right.schema.length;
    return base;
  }

  /**
   * A conjunct of WHERE that must hold, `EXISTS (S)` (correlated) or `x IN (S)`: a semi join,
   * the input joined with S's distinct (keys[, y]) — one match at most per row, no NULL
   * bookkeeping (a NULL comparison fails the conjunct just as false does). Returns whether it
   * was one; otherwise nothing is bound.
   */
  semiJoin(e: SubqueryExpr, ctx: Ctx): boolean {
    if (e.kind !== 'exists' && !(e.kind === 'in_subquery' && !e.negated)) return false;
    const sub = this.host.bindCorrelated(e.query, ctx, e.pos);
    const k = sub.keys;
    const s = sub.plan;
    if (e.kind === 'exists') {
      if (k === 0) {
        // Uncorrelated: all rows or none, by S's row count.
        this.pushed.push(this.bound(e, ctx, sub));
        return true;
      }
      this.add(aggregate(s, k, []), sub.outerKeys, 'inner');
      return true;
    }
    if (s.schema.length - k !== 1) return false;
    const { x, y } = this.operands(e, ctx, sub, '=');
    const keyed: LogicalPlan = {
      kind: 'aggregate',
      input: s,
      groupKeys: [...s.schema.slice(0, k).map((f, i) => col(i, f.type)), y],
      aggs: [],
      schema: [...s.schema.slice(0, k), { name: '_sq_y', type: y.type }],
      appendOnly: false,
    };
    this.add(keyed, [...sub.outerKeys, x], 'inner');
    return true;
  }

  /** Conditions semiJoin bound instead of joining (over placeholder columns): the caller ANDs them to WHERE. */
  readonly pushed: BoundExpr[] = [];

  /** x and y of `x op (S)`, coerced to one type as the comparison would; y over S's columns. */
  private operands(e: Extract<SubqueryExpr, { kind: 'in_subquery' | 'quantified' }>, ctx: Ctx, sub: Correlated, op: string): { x: BoundExpr; y: BoundExpr } {
    const k = sub.keys;
    const x = this.host.bindExpr(e.expr, ctx);
    // y stands in as a marked column while the comparison is typed.
    const marker = PLACEHOLDER * 2;
    const typed = this.host.comparison(op, x, col(marker, sub.plan.schema[k]!.type), e.pos) as Extract<BoundExpr, { kind: 'call' }>;
    const [tx, tyAtMarker] = typed.args as [BoundExpr, BoundExpr];
    return { x: tx, y: mapColumns(tyAtMarker, (i, type) => col(i === marker ? k : i, type)) };
  }

  bind(e: SubqueryExpr, ctx: Ctx): BoundExpr {
    return this.bound(e, ctx, this.host.bindCorrelated(e.query, ctx, e.pos));
  }

  private bound(e: SubqueryExpr, ctx: Ctx, sub: Correlated): BoundExpr {
    const k = sub.keys;
    const s = sub.plan;
    const items = s.schema.length - k;
    if (e.kind === 'exists') {
      const right = aggregate(s, k, [countStar()], ['_sq_rows']);
      const c = this.add(right, sub.outerKeys) + k;
      return k ? notNull(col(c, 'bigint')) : call('gt', [col(c, 'bigint'), lit(0n, 'bigint')], 'boolean');
    }
    if (items !== 1) {
      throw new SluiceError('syntax', items > 1 ? 'subquery must return only one column' : 'subquery must return a column', { position: e.pos });
    }
    const y = col(k, s.schema[k]!.type);
    if (e.kind === 'subquery') return this.scalar(sub, y);
    const op = e.kind === 'in_subquery' ? '=' : e.op;
    if (!(op in COMPARE)) throw new SluiceError('not_supported', `operator ${op} with ANY/ALL (subquery) is not supported`, { position: e.pos });
    const { x: tx, y: ty } = this.operands(e, ctx, sub, op);
    const t = ty.type;
    const all = e.kind === 'quantified' && e.all;
    const negated = e.kind === 'in_subquery' && e.negated;
    if ((op === '=' && !all) || (op === '<>' && all)) {
      const r = this.membership(sub, tx, ty);
      return negated !== (op === '<>') ? not(r) : r;
    }
    // count(*), count(y), min(y), max(y) per key.
    const right = aggregate(s, k, [countStar(), agg('count', ty, 'bigint'), agg('min', ty, t), agg('max', ty, t)], ['_sq_rows', '_sq_nonnull', '_sq_min', '_sq_max']);
    const base = this.add(right, sub.outerKeys) + k;
    const n = col(base, 'bigint');
    const nn = col(base + 1, 'bigint');
    const mn = col(base + 2, t);
    const mx = col(base + 3, t);
    const none = or(isNull(n), call('eq', [n, lit(0n, 'bigint')], 'boolean'));
    const unknown = or(isNull(tx), call('gt', [n, nn], 'boolean'));
    const cmp = (fn: string, a: BoundExpr, b: BoundExpr) => call(COMPARE[fn]!, [a, b], 'boolean');
    // Whether some non-NULL y satisfies x op y (ANY), or some fails it (ALL).
    let some: BoundExpr;
    if (op === '<>' || op === '=') some = or(cmp('<>', tx, mn), cmp('<>', tx, mx));
    else if (!all) some = cmp(op, tx, op === '>' || op === '>=' ? mn : mx);
    else some = not(cmp(op, tx, op === '>' || op === '>=' ? mx : mn));
    if (!all) return caseOf([[none, lit(false, 'boolean')], [some, lit(true, 'boolean')], [unknown, lit(null, 'boolean')]], lit(false, 'boolean'), 'boolean');
    return caseOf([[none, lit(true, 'boolean')], [some, lit(false, 'boolean')], [unknown, lit(null, 'boolean')]], lit(true, 'boolean'), 'boolean');
  }

  /** x IN (S) with PostgreSQL's NULLs: true on a match; else NULL if x or some y is NULL (and S has rows); else false. */
  private membership(sub: Correlated, x: BoundExpr, y: BoundExpr): BoundExpr {
    const k = sub.keys;
    const s = sub.plan;
    const keyCols = s.schema.slice(0, k).map((f, i) => col(i, f.type));
    // (keys, y) → count: a row joins where x = y.
    const matches: LogicalPlan = {
      kind: 'aggregate',
      input: s,
      groupKeys: [...keyCols, y],
      aggs: [countStar()],
      schema: [...s.schema.slice(0, k), { name: '_sq_y', type: y.type }, { name: '_sq_match', type: 'bigint' }],
      appendOnly: false,
    };
    const base = PLACEHOLDER + this.width;
    this.pending.push({ right: matches, joinType: 'left', leftKeys: [...sub.outerKeys, x], rightKeys: [...keyCols, col(k, y.type)] });
    this.width += matches.schema.length;
    const m = col(base + k + 1, 'bigint');
    const totals = this.add(aggregate(s, k, [countStar(), agg('count', y, 'bigint')], ['_sq_rows', '_sq_nonnull']), sub.outerKeys) + k;
    const n = col(totals, 'bigint');
    const nn = col(totals + 1, 'bigint');
    return caseOf(
      [
        [notNull(m), lit(true, 'boolean')],
        [or(isNull(n), call('eq', [n, lit(0n, 'bigint')], 'boolean')), lit(false, 'boolean')],
        [or(isNull(x), call('gt', [n, nn], 'boolean')), lit(null, 'boolean')],
      ],
      lit(false, 'boolean'),
      'boolean',
    );
  }

  /** A scalar subquery's value. */
  private scalar(sub: Correlated, y: BoundExpr): BoundExpr {
    const k = sub.keys;
    const s = sub.plan;
    const empty = aggregateOverNothing(s, k);
    if (empty) {
      // An aggregate without GROUP BY: one row per key (always one row when uncorrelated).
      const base = this.add(s, sub.outerKeys);
      const v = col(base + k, y.type);
      if (k === 0 || (empty.kind === 'lit' && empty.value === null)) return v;
      return caseOf([[isNull(col(base, s.schema[0]!.type)), cast(empty, y.type)]], v, y.type);
    }
    if (isArrayType(y.type)) {
      throw new SluiceError('not_supported', 'a scalar subquery returning an array is supported only as an aggregate', { hint: 'Write the subquery as an aggregate (array_agg, max, …) without GROUP BY.' });
    }
    const right = aggregate(s, k, [countStar(), agg('min', y, y.type)], ['_sq_rows', '_sq_value']);
    const base = this.add(right, sub.outerKeys) + k;
    return call('subquery_one_row', [col(base, 'bigint'), col(base + 1, y.type)], y.type);
  }
}

function isArrayType(t: SqlType): boolean {
  return t.endsWith('[]');
}

function countStar(): AggCall {
  return { fn: 'count_star', arg: null, distinct: false, filter: null, type: 'bigint' };
}

function agg(fn: 'count' | 'min' | 'max', arg: BoundExpr, type: SqlType): AggCall {
  return { fn, arg, distinct: false, filter: null, type };
}

/** `s` grouped by its first k columns, with `aggs` (output columns named `names`, for EXPLAIN). */
function aggregate(s: LogicalPlan, k: number, aggs: readonly AggCall[], names: readonly string[] = []): LogicalPlan {
  return {
    kind: 'aggregate',
    input: s,
    groupKeys: s.schema.slice(0, k).map((f, i) => col(i, f.type)),
    aggs,
    schema: [...s.schema.slice(0, k), ...aggs.map((a, i) => ({ name: names[i] ?? `_agg${i}`, type: a.type }))],
    appendOnly: false,
  };
}

/**
 * When `s` is an aggregate without GROUP BY or HAVING (grouped only by its k correlation
 * keys) whose select list is one expression: that expression's value over no rows (count is
 * 0, other aggregates NULL). Null for any other shape.
 */
function aggregateOverNothing(s: LogicalPlan, k: number): BoundExpr | null {
  if (s.kind !== 'project' || s.input.kind !== 'aggregate' || s.exprs.length !== k + 1) return null;
  const a = s.input;
  if (a.groupKeys.length !== k || a.aggs.length === 0) return null;
  if (!s.exprs.slice(0, k).every((e, i) => e.kind === 'col' && e.index === i)) return null;
  return mapColumns(s.exprs[k]!, (i, type) => {
    if (i < k) return lit(null, type);
    const fn = a.aggs[i - k]!.fn;
    return fn === 'count' || fn === 'count_star' ? lit(0n, 'bigint') : lit(null, type);
  });
}
