/**
 * Helpers shared by the window operators (window-tag.ts, window-agg.ts, session-agg.ts): event
 * times as numbers, the watermark a window operator works with, flooring to a width, the reason
 * given for a late row, the scratch accumulator group, and the helpers of their state tables.
 */
import { isValid, type Column } from '../common/column.js';
import type { Field, Schema, Value } from '../common/types.js';
import type { PhysicalPlan } from '../planner/physical.js';
import type { OperatorContext } from './operator.js';
import type { WatermarkCleanup } from './state/state-table.js';

export type WindowAggPlan = Extract<PhysicalPlan, { kind: 'WindowAggExec' }>;

/** Event times of a batch as numbers of µs (exact below 2^53 µs, i.e. until year 2255); NaN for NULL. */
export function times(c: Column, n: number): Float64Array {
  const out = new Float64Array(n);
  const v = c.values;
  if (!(v instanceof BigInt64Array)) {
    for (let i = 0; i < n; i++) out[i] = isValid(c, i) ? Number(v[i]!) : NaN;
    return out;
  }
  // From the two 32-bit words: one rounding of the exact value, as Number(bigint), without a BigInt per row.
  const w = new Int32Array(v.buffer, v.byteOffset, 2 * v.length);
  for (let i = 0; i < n; i++) out[i] = isValid(c, i) ? w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0) : NaN;
  return out;
}

/** The watermark a window operator works with: none, processing time (T_n), or the view's. */
export function windowWatermark(plan: WindowAggPlan, ctx: OperatorContext): { before: bigint | null; after: bigint | null } {
  const wm = plan.window.watermark;
  if (wm === 'proctime') return { before: null, after: ctx.now };
  if (wm === null) return { before: null, after: null };
  return ctx.watermark ?? { before: null, after: null };
}

export function floorTo(t: number, width: number, offset: number): number {
  return Math.floor((t - offset) / width) * width + offset;
}

/** The accumulator group a window's (or a session's) result is merged into; scratch, reset before each use. */
export const SCRATCH = 0;

export function lateReason(t: number, wm: bigint): string {
  return `event time ${new Date(t / 1000).toISOString()} is below the watermark ${new Date(Number(wm) / 1000).toISOString()}`;
}

/*
 * State tables of the aggregating window operators. They are read from the hot structures only
 * when a snapshot is taken, and loaded into a freshly built operator on restore.
 */

/** Field names made unique (a group key may be named like a bookkeeping column); rows are positional. */
export function uniqueNames(fields: readonly Field[]): Schema {
  const seen = new Set<string>();
  return fields.map((f) => {
    let name = f.name;
    for (let i = 2; seen.has(name); i++) name = `${f.name}_${i}`;
    seen.add(name);
    return name === f.name ? f : { name, type: f.type };
  });
}

/** The group key columns (the plan's 'key' roles), named after their output columns. */
export function keyFields(plan: WindowAggPlan): Field[] {
  const out: Field[] = [];
  let k = 0;
  plan.roles.forEach((r, i) => {
    if (r === 'key') out.push({ name: plan.schema[i]!.name, type: plan.keys[k++]!.type });
  });
  return out;
}

/** The group key values of an output row (its 'key' role columns, in order). */
export function keysOfRow(plan: WindowAggPlan, row: readonly Value[]): Value[] {
  const out: Value[] = [];
  plan.roles.forEach((r, i) => {
    if (r === 'key') out.push(row[i]!);
  });
  return out;
}

/** The emitted rows' table: the rows exactly as emitted (plan schema), keyed by the group-by columns. */
export function emittedSpec(plan: WindowAggPlan, windowNote: string): { name: string; schema: Schema; key: number[]; cleanup: WatermarkCleanup } {
  const endIdx = plan.roles.indexOf('window_end');
  const col = endIdx >= 0 ? endIdx : plan.roles.indexOf('window_start');
  const schema = uniqueNames(plan.schema);
  return {
    name: 'emitted',
    schema,
    key: plan.roles.map((_, i) => i),
    cleanup: {
      column: schema[col]!.name,
      note: endIdx >= 0 ? 'a row goes once the watermark passes its window end' : `a row goes once the watermark passes its window end (${windowNote})`,
    },
  };
}
