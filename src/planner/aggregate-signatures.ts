/**
 * What the planner knows of each aggregate function: its SQL name, the argument types it takes
 * and the type it returns. The keys are the functions (`AggFn`); their implementations are in
 * src/functions/aggregate, whose registry is keyed by the same union, so a function added here
 * does not compile until it is implemented. This file imports nothing from src/exec.
 */
import { isArrayType, isNumeric, type SqlType } from '../common/types.js';

/** The binder's view of one aggregate function. */
export interface AggregateSignature {
  /** The name SQL calls it by; count and count(*) share one. */
  readonly name: string;
  /** Whether it is the `name(*)` form, which takes no argument. */
  readonly star: boolean;
  /** The type the argument is coerced to, or null when the function does not take an argument of type `arg`. */
  argType(arg: SqlType): SqlType | null;
  /** The result type for an argument of (coerced) type `arg`; `'null'` for the `(*)` form. */
  returnType(arg: SqlType): SqlType;
  /** A hint for the error when the argument type is not taken. */
  readonly hint?: string;
  /** Whether its accumulator keeps each group's values when the input retracts (EXPLAIN mentions the multisets). */
  readonly keepsValuesWhenRetracting: boolean;
}

const extreme = (name: string): AggregateSignature => ({
  name,
  star: false,
  // An untyped NULL has no ordering; int is the usual default.
  argType: (t) => (t === 'null' ? 'int' : isArrayType(t) ? null : t),
  returnType: (t) => t,
  keepsValuesWhenRetracting: true,
});

/** Every aggregate function the binder resolves, by function. */
export const AGGREGATE_SIGNATURES = {
  count: { name: 'count', star: false, argType: (t) => t, returnType: () => 'bigint', keepsValuesWhenRetracting: false },
  count_star: { name: 'count', star: true, argType: (t) => t, returnType: () => 'bigint', keepsValuesWhenRetracting: false },
  sum: {
    name: 'sum',
    star: false,
    argType: (t) => (t === 'int' || t === 'bigint' || t === 'double' || t === 'numeric' || t === 'interval' ? t : null),
    returnType: (t) => (t === 'int' ? 'bigint' : t),
    hint: 'sum() takes a numeric or interval argument.',
    keepsValuesWhenRetracting: false,
  },
  avg: { name: 'avg', star: false, argType: (t) => (isNumeric(t) ? t : null), returnType: () => 'double', keepsValuesWhenRetracting: false },
  min: extreme('min'),
  max: extreme('max'),
} satisfies Record<string, AggregateSignature>;

/** An aggregate function, as aggregate calls in bound plans name it. */
export type AggFn = keyof typeof AGGREGATE_SIGNATURES;

/** The function a call `name(…)` (or `name(*)` when `star`) resolves to, if it is an aggregate. */
export function resolveAggregate(name: string, star: boolean): AggFn | undefined {
  let plain: AggFn | undefined;
  for (const fn of Object.keys(AGGREGATE_SIGNATURES) as AggFn[]) {
    const sig: AggregateSignature = AGGREGATE_SIGNATURES[fn];
    if (sig.name !== name) continue;
    if (sig.star === star) return fn;
    if (!sig.star) plain = fn;
  }
  return plain;
}
