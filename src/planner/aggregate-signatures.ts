/**
 * What the planner knows of each aggregate function: its SQL name, the argument types it takes
 * and the type it returns. The keys are the functions (`AggFn`); their implementations are in
 * src/functions/aggregate, whose registry is keyed by the same union, so a function added here
 * does not compile until it is implemented. This file imports nothing from src/exec.
 */
import { arrayOf, isArrayType, isNumeric, type SqlType } from '../common/types.js';

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
  /** Whether it keeps each group's values even over an append-only input (the order-sensitive aggregates). */
  readonly alwaysKeepsValues?: boolean;
  /** The types its further arguments are coerced to: string_agg's delimiter, an ordered-set aggregate's direct arguments. */
  readonly extraArgs?: readonly SqlType[];
  /** Whether its result depends on the ORDER BY written in the call (the others ignore it, as PostgreSQL does). */
  readonly ordered?: boolean;
  /**
   * An ordered-set aggregate, `f(direct args) WITHIN GROUP (ORDER BY x)`: x is its argument (sorted
   * as written), the direct arguments are constants (`extraArgs`).
   */
  readonly orderedSet?: boolean;
}

const extreme = (name: string): AggregateSignature => ({
  name,
  star: false,
  // An untyped NULL has no ordering; int is the usual default.
  argType: (t) => (t === 'null' ? 'int' : isArrayType(t) || t === 'bytea' || t === 'jsonb' ? null : t),
  returnType: (t) => t,
  keepsValuesWhenRetracting: true,
});

const boolAgg = (name: string): AggregateSignature => ({
  name,
  star: false,
  argType: (t) => (t === 'boolean' || t === 'null' ? 'boolean' : null),
  returnType: () => 'boolean',
  keepsValuesWhenRetracting: false,
});

// PostgreSQL: numeric for integer and numeric inputs, double precision for floating-point ones.
const spread = (name: string): AggregateSignature => ({
  name,
  star: false,
  argType: (t) => (t === 'null' ? 'double' : isNumeric(t) ? t : null),
  returnType: (t) => (t === 'double' ? 'double' : 'numeric'),
  keepsValuesWhenRetracting: false,
});

/** bit_and, bit_or, bit_xor: over smallint, integer or bigint, of the argument's type. */
const bitAgg = (name: string): AggregateSignature => ({
  name,
  star: false,
  argType: (t) => (t === 'int' || t === 'bigint' ? t : null),
  returnType: (t) => t,
  hint: `${name}() takes a smallint, integer or bigint argument.`,
  keepsValuesWhenRetracting: false,
});

/** An aggregate over each group's rows in the ORDER BY written in the call; its state is the rows. */
const ordered = (name: string, sig: Pick<AggregateSignature, 'argType' | 'returnType'> & Partial<AggregateSignature>): AggregateSignature => ({
  name,
  star: false,
  keepsValuesWhenRetracting: true,
  alwaysKeepsValues: true,
  ordered: true,
  ...sig,
});

const anyScalar = (t: SqlType): SqlType | null => (t === 'null' ? 'varchar' : isArrayType(t) ? null : t);

/** Every aggregate function the binder resolves, by function. */
export const AGGREGATE_SIGNATURES = {
  count: { name: 'count', star: false, argType: (t) => t, returnType: () => 'bigint', keepsValuesWhenRetracting: false },
  count_star: { name: 'count', star: true, argType: (t) => t, returnType: () => 'bigint', keepsValuesWhenRetracting: false },
  sum: {
    name: 'sum',
    star: false,
    argType: (t) => (t === 'int' || t === 'bigint' || t === 'double' || t === 'numeric' || t === 'interval' ? t : null),
    // PostgreSQL: sum(int) is bigint, sum(bigint) and sum(numeric) are numeric.
    returnType: (t) => (t === 'int' ? 'bigint' : t === 'bigint' ? 'numeric' : t),
    hint: 'sum() takes a numeric or interval argument.',
    keepsValuesWhenRetracting: false,
  },
  avg: { name: 'avg', star: false, argType: (t) => (isNumeric(t) || t === 'interval' ? t : null), returnType: (t) => (t === 'double' || t === 'interval' ? t : 'numeric'), keepsValuesWhenRetracting: false },
  min: extreme('min'),
  max: extreme('max'),
  bool_and: boolAgg('bool_and'),
  bool_or: boolAgg('bool_or'),
  every: boolAgg('every'),
  bit_and: bitAgg('bit_and'),
  bit_or: bitAgg('bit_or'),
  bit_xor: bitAgg('bit_xor'),
  stddev: spread('stddev'),
  stddev_samp: spread('stddev_samp'),
  stddev_pop: spread('stddev_pop'),
  variance: spread('variance'),
  var_samp: spread('var_samp'),
  var_pop: spread('var_pop'),
  string_agg: ordered('string_agg', {
    argType: (t) => (t === 'varchar' || t === 'null' ? 'varchar' : null),
    returnType: () => 'varchar',
    extraArgs: ['varchar'],
    hint: 'string_agg() takes text and a text delimiter.',
  }),
  array_agg: ordered('array_agg', {
    argType: (t) => (t === 'null' ? 'varchar' : t === 'numeric' ? 'double' : arrayOf(t) === null ? null : t),
    returnType: (t) => arrayOf(t) ?? 'null',
    hint: 'array_agg() takes BOOLEAN, INT, BIGINT, DOUBLE PRECISION or VARCHAR values (arrays of other types are not supported yet).',
  }),
  // Any value, arrays too, as its JSON (json is held as jsonb, so json_agg is the same).
  jsonb_agg: ordered('jsonb_agg', { argType: (t) => (t === 'null' ? 'varchar' : t), returnType: () => 'jsonb' }),
  json_agg: ordered('json_agg', { argType: (t) => (t === 'null' ? 'varchar' : t), returnType: () => 'jsonb' }),
  first_value: ordered('first_value', { argType: anyScalar, returnType: (t) => t }),
  last_value: ordered('last_value', { argType: anyScalar, returnType: (t) => t }),
  percentile_cont: ordered('percentile_cont', {
    argType: (t) => (t === 'interval' ? t : isNumeric(t) || t === 'null' ? 'double' : null),
    returnType: (t) => t,
    extraArgs: ['double'],
    orderedSet: true,
  }),
  percentile_disc: ordered('percentile_disc', { argType: anyScalar, returnType: (t) => t, extraArgs: ['double'], orderedSet: true }),
  mode: ordered('mode', { argType: anyScalar, returnType: (t) => t, orderedSet: true }),
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
