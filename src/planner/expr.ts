/**
 * Bound expressions: names resolved to input column indexes, every node typed, every implicit
 * coercion made explicit as a cast, so kernels only ever see operands of one storage class.
 */
import { formatInterval } from '../common/interval.js';
import type { SqlType, Value } from '../common/types.js';
import type { ScalarFn } from '../functions/scalar/index.js';
import { AGGREGATE_SIGNATURES, type AggFn, type AggregateSignature } from './aggregate-signatures.js';

export type { AggFn } from './aggregate-signatures.js';
export type { ScalarFn } from '../functions/scalar/index.js';


export type BoundExpr =
  | { readonly kind: 'col'; readonly index: number; readonly type: SqlType }
  | { readonly kind: 'lit'; readonly value: Value; readonly type: SqlType }
  | {
      readonly kind: 'call';
      readonly fn: ScalarFn;
      readonly args: readonly BoundExpr[];
      readonly type: SqlType;
      /** predict / predict_proba: the model the call reads (its features are `args`). */
      readonly model?: ModelRef;
    }
  | {
      readonly kind: 'case';
      readonly whens: readonly { readonly when: BoundExpr; readonly then: BoundExpr }[];
      readonly otherwise: BoundExpr | null;
      readonly type: SqlType;
    }
  | { readonly kind: 'cast'; readonly arg: BoundExpr; readonly type: SqlType };

/**
 * A trained model as a `predict` call sees it (exec/ml/model.ts implements it): the
 * parameters it serves are read when a batch is evaluated, not when the call is bound.
 */
export interface ModelRef {
  readonly name: string;
  readonly type: 'kmeans' | 'linear_regression' | 'logistic_regression';
  /** The number of features a prediction takes. */
  readonly features: number;
  readonly k: number;
  readonly intercept: boolean;
  /** k-means centers (k × features) and regression weights, as of the end of the last epoch. */
  readonly servingCenters: Float64Array;
  readonly servingWeights: Float64Array;
}

export interface AggCall {
  readonly fn: AggFn;
  readonly arg: BoundExpr | null;
  readonly distinct: boolean;
  readonly filter: BoundExpr | null;
  readonly type: SqlType;
  /** Further arguments after `arg`: string_agg's delimiter, an ordered-set aggregate's direct (constant) arguments. */
  readonly args?: readonly BoundExpr[];
  /** The ORDER BY of an order-sensitive call (`array_agg(x ORDER BY y DESC)`, `… WITHIN GROUP (ORDER BY x)`). */
  readonly orderBy?: readonly AggOrderKey[];
}

/** One ORDER BY key of an aggregate call; NULL placement already resolved (PostgreSQL: last ascending, first descending). */
export interface AggOrderKey {
  readonly expr: BoundExpr;
  readonly desc: boolean;
  readonly nullsFirst: boolean;
}

/** Every expression an aggregate call reads from its input: argument, further arguments, ORDER BY keys and FILTER. */
export function aggExprs(a: AggCall): BoundExpr[] {
  return [...(a.arg ? [a.arg] : []), ...(a.args ?? []), ...(a.orderBy ?? []).map((k) => k.expr), ...(a.filter ? [a.filter] : [])];
}

/** An aggregate call with each expression it reads rewritten by `f`. */
export function mapAggExprs(a: AggCall, f: (e: BoundExpr) => BoundExpr): AggCall {
  return {
    ...a,
    arg: a.arg ? f(a.arg) : null,
    filter: a.filter ? f(a.filter) : null,
    ...(a.args ? { args: a.args.map(f) } : {}),
    ...(a.orderBy ? { orderBy: a.orderBy.map((k) => ({ ...k, expr: f(k.expr) })) } : {}),
  };
}

/** Column indexes an expression reads. */
export function columnsOf(e: BoundExpr, out: Set<number> = new Set()): Set<number> {
  switch (e.kind) {
    case 'col':
      out.add(e.index);
      break;
    case 'lit':
      break;
    case 'call':
      for (const a of e.args) columnsOf(a, out);
      break;
    case 'case':
      for (const w of e.whens) {
        columnsOf(w.when, out);
        columnsOf(w.then, out);
      }
      if (e.otherwise) columnsOf(e.otherwise, out);
      break;
    case 'cast':
      columnsOf(e.arg, out);
      break;
  }
  return out;
}

/** Rewrites column references through `f` (used when moving expressions across nodes). */
export function mapColumns(e: BoundExpr, f: (index: number, type: SqlType) => BoundExpr): BoundExpr {
  switch (e.kind) {
    case 'col':
      return f(e.index, e.type);
    case 'lit':
      return e;
    case 'call':
      return { ...e, args: e.args.map((a) => mapColumns(a, f)) };
    case 'case':
      return {
        ...e,
        whens: e.whens.map((w) => ({ when: mapColumns(w.when, f), then: mapColumns(w.then, f) })),
        otherwise: e.otherwise ? mapColumns(e.otherwise, f) : null,
      };
    case 'cast':
      return { ...e, arg: mapColumns(e.arg, f) };
  }
}

/** Whether the expression depends on the epoch (now(), proctime()). */
export function isVolatile(e: BoundExpr): boolean {
  switch (e.kind) {
    case 'col':
    case 'lit':
      return false;
    case 'call':
      // A prediction changes with the model, epoch by epoch.
      return e.fn === 'now' || e.model !== undefined || e.args.some(isVolatile);
    case 'case':
      return e.whens.some((w) => isVolatile(w.when) || isVolatile(w.then)) || (e.otherwise !== null && isVolatile(e.otherwise));
    case 'cast':
      return isVolatile(e.arg);
  }
}

export function splitConjunction(e: BoundExpr): BoundExpr[] {
  if (e.kind === 'call' && e.fn === 'and') return e.args.flatMap(splitConjunction);
  return [e];
}

export function conjunction(parts: readonly BoundExpr[]): BoundExpr | null {
  if (parts.length === 0) return null;
  return parts.reduce((a, b) => ({ kind: 'call', fn: 'and', args: [a, b], type: 'boolean' }));
}

function showValue(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  return String(v);
}

const INFIX: Partial<Record<ScalarFn, string>> = {
  add: '+', sub: '-', mul: '*', div: '/', mod: '%', eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=',
  and: 'AND', or: 'OR', concat: '||', like: 'LIKE', ilike: 'ILIKE',
};

/** Renders an expression for EXPLAIN, naming columns through `names`. */
export function showExpr(e: BoundExpr, names: readonly string[]): string {
  switch (e.kind) {
    case 'col':
      return names[e.index] ?? `$${e.index}`;
    case 'lit':
      return e.type === 'interval' && e.value !== null ? `INTERVAL '${formatInterval(e.value as string)}'` : showValue(e.value);
    case 'call': {
      if (e.model) return `${e.fn}(${e.model.name}, ${e.args.map((a) => showExpr(a, names)).join(', ')})`;
      const infix = INFIX[e.fn];
      if (infix && e.args.length === 2) return `(${showExpr(e.args[0]!, names)} ${infix} ${showExpr(e.args[1]!, names)})`;
      if (e.fn === 'not') return `NOT ${showExpr(e.args[0]!, names)}`;
      if (e.fn === 'neg') return `-${showExpr(e.args[0]!, names)}`;
      if (e.fn === 'is_null') return `${showExpr(e.args[0]!, names)} IS NULL`;
      if (e.fn === 'is_not_null') return `${showExpr(e.args[0]!, names)} IS NOT NULL`;
      if (e.fn === 'array_index') return `${showExpr(e.args[0]!, names)}[${showExpr(e.args[1]!, names)}]`;
      if (e.fn === 'array_ctor') return `ARRAY[${e.args.map((a) => showExpr(a, names)).join(', ')}]`;
      if (e.fn === 'array_any' || e.fn === 'array_all') {
        return `(${showExpr(e.args[0]!, names)} ${String((e.args[2] as { value: unknown }).value)} ${e.fn === 'array_any' ? 'ANY' : 'ALL'} (${showExpr(e.args[1]!, names)}))`;
      }
      if (e.fn === 'in') return `${showExpr(e.args[0]!, names)} IN (${e.args.slice(1).map((a) => showExpr(a, names)).join(', ')})`;
      return `${e.fn}(${e.args.map((a) => showExpr(a, names)).join(', ')})`;
    }
    case 'case':
      return `CASE ${e.whens.map((w) => `WHEN ${showExpr(w.when, names)} THEN ${showExpr(w.then, names)}`).join(' ')}${e.otherwise ? ` ELSE ${showExpr(e.otherwise, names)}` : ''} END`;
    case 'cast':
      return `${showExpr(e.arg, names)}::${e.type}`;
  }
}

export function showAgg(a: AggCall, names: readonly string[]): string {
  const sig: AggregateSignature = AGGREGATE_SIGNATURES[a.fn];
  const arg = a.arg ? showExpr(a.arg, names) : '*';
  const extra = (a.args ?? []).map((x) => showExpr(x, names));
  const order = (a.orderBy ?? []).map((k) => `${showExpr(k.expr, names)}${k.desc ? ' DESC' : ''}${k.nullsFirst !== k.desc ? (k.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST') : ''}`).join(', ');
  const filter = a.filter ? ` FILTER (WHERE ${showExpr(a.filter, names)})` : '';
  if (sig.orderedSet) return `${sig.name}(${extra.join(', ')}) WITHIN GROUP (ORDER BY ${order})${filter}`;
  return `${sig.name}(${a.distinct ? 'DISTINCT ' : ''}${[arg, ...extra].join(', ')}${order ? ` ORDER BY ${order}` : ''})${filter}`;
}
