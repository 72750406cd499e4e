/**
 * The order-sensitive aggregates: string_agg, array_agg, first_value/last_value (RisingWave's
 * `first_value(x ORDER BY k)`), and the ordered-set aggregates percentile_cont, percentile_disc
 * and mode() … WITHIN GROUP (ORDER BY x). Each group keeps its input rows — the value, the
 * row's further arguments (string_agg's delimiter) and its ORDER BY keys — as a multiset of
 * rows, so a delete takes exactly its row out; the result sorts the rows when it is asked for.
 * Under DISTINCT a row counts once however often it is present.
 */
import { addIntervals, decodeInterval, encodeInterval, scaleInterval, subIntervals } from '../../common/interval.js';
import { getValue, isValid, type Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { castValue } from '../../common/values.js';
import type { SqlType, Value } from '../../common/types.js';
import { compareValues } from '../../exec/top-n.js';
import { compile } from '../../exec/eval.js';
import type { AggCall, AggOrderKey, BoundExpr } from '../../planner/expr.js';
import { selected } from './group-arrays.js';
import { formatJson } from '../../common/jsonb.js';
import { toJsonNode } from '../scalar/json.js';
import type { AccumulatorState, AggregateFunction, GroupsAccumulator } from './groups-accumulator.js';

/** One distinct input row of a group and how many times it is present. */
interface Entry {
  readonly row: readonly Value[];
  count: number;
}

/** Rows in their ORDER BY: `value`, then `extra` further arguments, then the keys (`row` layout). */
interface Layout {
  readonly extra: number;
  readonly keys: readonly AggOrderKey[];
  /** The one key is the value itself (ordered-set aggregates): rows are just [value]. */
  readonly selfKeyed: boolean;
}

/** Computes the aggregate's value from a group's rows, sorted, each with its count (≥ 1). */
type Finish = (rows: readonly Entry[]) => Value;

/** A row as state-table text: JSON with bigints and non-finite numbers tagged. */
function encodeRow(row: readonly Value[]): string {
  return JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? { b: v.toString() } : typeof v === 'number' && !Number.isFinite(v) ? { n: String(v) } : v));
}

function decodeRow(s: string): Value[] {
  return JSON.parse(s, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as { b?: string; n?: string };
    return o.b !== undefined ? BigInt(o.b) : Number(o.n);
  }) as Value[];
}

class OrderedAccumulator implements GroupsAccumulator {
  private readonly groups: (Map<string, Entry> | undefined)[] = [];
  readonly stateLayout: AccumulatorState = { scalar: [], values: 'varchar' };
  readonly invertible = true;
  constructor(private readonly layout: Layout, private readonly distinct: boolean, private readonly finish: Finish) {}

  saveGroup(): Value[] {
    return [];
  }
  loadGroup(): void {}
  saveValues(gid: number): [Value, number][] {
    return [...(this.groups[gid] ?? new Map<string, Entry>())].map(([k, e]) => [k, e.count]);
  }
  loadValues(gid: number, entries: readonly (readonly [Value, number])[]): void {
    for (const [k, c] of entries) this.bump(gid, decodeRow(String(k)), c, String(k));
  }
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null, more: readonly Column[] = []): void {
    const a = arg!;
    for (let i = 0; i < n; i++) {
      if (!selected(mask, i)) continue;
      const row: Value[] = [isValid(a, i) ? getValue(a, i) : null];
      if (!this.layout.selfKeyed) for (const c of more) row.push(isValid(c, i) ? getValue(c, i) : null);
      this.bump(gids[i]!, row, weights === null ? 1 : weights[i]!);
    }
  }
  add(gid: number, v: Value, w: number): void {
    this.bump(gid, [v], w);
  }
  merge(gid: number, src: OrderedAccumulator, srcGid: number, sign: 1 | -1): void {
    const m = src.groups[srcGid];
    if (m) for (const [k, e] of m) this.bump(gid, e.row, sign * e.count, k);
  }
  evaluate(gid: number): Value {
    const m = this.groups[gid];
    if (!m || m.size === 0) return this.finish([]);
    const keyed = [...m].filter(([, e]) => e.count > 0);
    const { extra, keys, selfKeyed } = this.layout;
    keyed.sort(([ka, a], [kb, b]) => {
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        const at = selfKeyed ? 0 : 1 + extra + k;
        const x = a.row[at]!;
        const y = b.row[at]!;
        // compareValues orders ascending with NULLs first or last; DESC reverses both.
        const c = compareValues(x, y, key.desc ? !key.nullsFirst : key.nullsFirst, key.expr.type);
        if (c !== 0) return key.desc ? -c : c;
      }
      // Ties keep a fixed order (PostgreSQL's is the order rows arrived in, which a view cannot know).
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return this.finish(keyed.map(([, e]) => (this.distinct ? { row: e.row, count: 1 } : e)));
  }
  reset(gid: number): void {
    this.groups[gid] = undefined;
  }

  private bump(gid: number, row: readonly Value[], w: number, key = encodeRow(row)): void {
    let m = this.groups[gid];
    if (!m) m = this.groups[gid] = new Map();
    const e = m.get(key);
    if (e === undefined) {
      if (w !== 0) m.set(key, { row, count: w });
      return;
    }
    e.count += w;
    if (e.count === 0) m.delete(key);
  }
}

/** The rows' values with their counts expanded, optionally without NULLs. */
function valuesOf(rows: readonly Entry[], skipNulls: boolean): Value[] {
  const out: Value[] = [];
  for (const e of rows) {
    if (skipNulls && e.row[0] === null) continue;
    for (let i = 0; i < e.count; i++) out.push(e.row[0]!);
  }
  return out;
}

/** An order-sensitive aggregate reading the call's extra arguments and ORDER BY keys per row. */
function perRow(finish: (call: AggCall) => Finish): AggregateFunction {
  return {
    accumulator: (call) => new OrderedAccumulator({ extra: call.args?.length ?? 0, keys: call.orderBy ?? [], selfKeyed: false }, call.distinct, finish(call)),
  };
}

/**
 * The value of a constant expression: an ordered-set aggregate's direct argument (the binder
 * refuses one that reads a column). A literal, possibly cast, directly; any other expression
 * (`0.2 + 0.3`) computed once, over one row of no columns; an error there is the statement's.
 */
function constantOf(e: BoundExpr): Value {
  if (e.kind === 'lit') return e.value;
  if (e.kind === 'cast') return castValue(constantOf(e.arg), e.arg.type, e.type);
  const col = compile(e)({ columns: [], length: 1, weights: null }, { now: 0n, onRowError: (err) => { throw err; } });
  return getValue(col, 0);
}

/** An ordered-set aggregate: rows are the non-NULL values sorted as the WITHIN GROUP clause says; the direct arguments are constants. */
function orderedSet(finish: (direct: readonly Value[], values: readonly Value[], type: SqlType) => Value): AggregateFunction {
  return {
    accumulator: (call) => {
      const key = call.orderBy?.[0] ?? { expr: call.arg!, desc: false, nullsFirst: false };
      const direct = (call.args ?? []).map(constantOf);
      return new OrderedAccumulator({ extra: 0, keys: [key], selfKeyed: true }, false, (rows) => finish(direct, valuesOf(rows, true), call.type));
    },
  };
}

/** string_agg(x, delimiter ORDER BY …): the non-NULL values joined, each after the first preceded by its row's delimiter. */
export const stringAgg: AggregateFunction = perRow(() => (rows) => {
  let out: string | null = null;
  for (const e of rows) {
    const v = e.row[0];
    if (v === null) continue;
    const delim = (e.row[1] as string | null) ?? '';
    for (let i = 0; i < e.count; i++) out = out === null ? String(v) : out + delim + String(v);
  }
  return out;
});

/** array_agg(x ORDER BY …): every value, NULLs included, as an array; NULL for no rows. */
export const arrayAgg: AggregateFunction = perRow(() => (rows) => (rows.length === 0 ? null : valuesOf(rows, false)));

/** jsonb_agg(x ORDER BY …): every value (NULLs as JSON null) as a JSON array; NULL for no rows. */
export const jsonbAgg: AggregateFunction = perRow((call) => {
  const t = call.arg!.type;
  return (rows) => (rows.length === 0 ? null : formatJson(valuesOf(rows, false).map((v) => toJsonNode(v, t))));
});

/** first_value(x ORDER BY …): the value of the first row in the order, NULL or not. */
export const firstValue: AggregateFunction = perRow(() => (rows) => (rows.length === 0 ? null : rows[0]!.row[0]!));

/** last_value(x ORDER BY …): the value of the last row in the order. */
export const lastValue: AggregateFunction = perRow(() => (rows) => (rows.length === 0 ? null : rows[rows.length - 1]!.row[0]!));

function fraction(f: Value, name: string): number | null {
  if (f === null) return null;
  const p = Number(f);
  if (!(p >= 0 && p <= 1)) throw new SluiceError('numeric_out_of_range', `percentile value ${p} is not between 0 and 1`, { hint: `${name}() takes a fraction from 0 to 1.` });
  return p;
}

/** percentile_cont(f) WITHIN GROUP (ORDER BY x): the value at fraction f, interpolated between the two nearest rows (PostgreSQL's formula). */
export const percentileCont: AggregateFunction = orderedSet((direct, values, type) => {
  const p = fraction(direct[0] ?? null, 'percentile_cont');
  if (p === null || values.length === 0) return null;
  const pos = p * (values.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = values[lo]!;
  if (lo === hi) return a;
  const b = values[hi]!;
  if (type === 'interval') {
    const x = decodeInterval(a as string);
    return encodeInterval(addIntervals(x, scaleInterval(subIntervals(decodeInterval(b as string), x), pos - lo, 'mul')));
  }
  return (a as number) + ((b as number) - (a as number)) * (pos - lo);
});

/** percentile_disc(f) WITHIN GROUP (ORDER BY x): the first value whose position in the order reaches fraction f. */
export const percentileDisc: AggregateFunction = orderedSet((direct, values) => {
  const p = fraction(direct[0] ?? null, 'percentile_disc');
  if (p === null || values.length === 0) return null;
  const row = Math.ceil(p * values.length);
  return values[Math.max(row, 1) - 1]!;
});

/** mode() WITHIN GROUP (ORDER BY x): the most frequent value; among equally frequent ones the first in the order. */
export const mode: AggregateFunction = orderedSet((_direct, values) => {
  let best: Value = null;
  let bestCount = 0;
  for (let i = 0; i < values.length; ) {
    let j = i + 1;
    while (j < values.length && compareValues(values[j]!, values[i]!, false) === 0) j++;
    if (j - i > bestCount) {
      best = values[i]!;
      bestCount = j - i;
    }
    i = j;
  }
  return best;
});
