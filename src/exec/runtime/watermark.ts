/**
 * Event-time watermarks at runtime: a relation's watermark is compiled from its WATERMARK FOR
 * clause and raised by each epoch's rows; a view's watermark is the minimum over its inputs.
 */
import { isValid, type Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { typeDisplayName, type Schema } from '../../common/types.js';
import type { Expr } from '../../parser/index.js';
import { Binder } from '../../planner/index.js';
import type { Catalog } from '../../catalog/index.js';
import type { PhysicalPlan, PlannedQuery } from '../../planner/index.js';
import type { BoundExpr } from '../../planner/expr.js';
import { decodeInterval, durationMicros } from '../../common/interval.js';
import { compile, type EvalContext } from '../eval.js';
import type { EngineState, ViewRt, WatermarkRt } from './state.js';

/** A watermark's delay is a fixed duration: an interval constant with months is refused (0A000). */
function refuseMonths(e: BoundExpr): void {
  if (e.kind === 'lit' && e.type === 'interval' && e.value !== null) durationMicros(decodeInterval(e.value as string), 'a WATERMARK delay');
  if (e.kind === 'call') e.args.forEach(refuseMonths);
  if (e.kind === 'cast') refuseMonths(e.arg);
}

/** Compiles a WATERMARK FOR clause over the relation's columns. */
export function compileWatermark(catalog: Catalog, name: string, schema: Schema, wm: { column: string; expr: Expr } | null): WatermarkRt | null {
  if (!wm) return null;
  const binder = new Binder(catalog);
  const scope = { fields: schema.map((f) => ({ qualifier: name, name: f.name, type: f.type })) };
  const bound = binder.bindExpr(wm.expr, { scope, agg: null, noAggIn: 'WATERMARK' });
  if (bound.type !== 'timestamp' && bound.type !== 'timestamptz') throw new SluiceError('datatype_mismatch', `the WATERMARK expression must be a timestamp, not ${typeDisplayName(bound.type)}`);
  refuseMonths(bound);
  const column = schema.findIndex((f) => f.name === wm.column);
  if (schema[column]!.type !== 'timestamp' && schema[column]!.type !== 'timestamptz') throw new SluiceError('datatype_mismatch', `the WATERMARK column "${wm.column}" must be a timestamp`);
  return { kernel: compile(bound), column, value: null, lastDataAt: Date.now(), lateRows: 0 };
}

/** Raises a relation's watermark with one epoch's batches; counts rows below the old watermark. */
export function advanceWatermark(wm: WatermarkRt, batches: readonly Batch[], nowMs: number, log: (m: string) => void): void {
  const before = wm.value;
  let max = before;
  const ctx: EvalContext = { now: BigInt(nowMs) * 1000n, onRowError: (e) => log(`watermark: ${e.message}`) };
  for (const b of batches) {
    if (b.length === 0) continue;
    wm.lastDataAt = nowMs;
    const c = wm.kernel(b, ctx);
    const v = c.values as BigInt64Array;
    const tcol = b.columns[wm.column]!;
    const tv = tcol.values as BigInt64Array;
    for (let i = 0; i < b.length; i++) {
      if (isValid(c, i) && (max === null || v[i]! > max)) max = v[i]!;
      if (before !== null && isValid(tcol, i) && tv[i]! < before) wm.lateRows++;
    }
  }
  wm.value = max;
}

/**
 * A view's watermark after this epoch: the minimum over its watermarked inputs, leaving out
 * inputs idle for longer than watermark_idle_timeout (if all are idle, the maximum); never
 * below its previous value. Null while a non-idle input has no watermark yet.
 */
export function viewWatermark(state: EngineState, v: ViewRt, nowMs: number): bigint | null {
  const inputs: WatermarkRt[] = [];
  for (const rel of v.entry.dependsOn) {
    const wm = state.sources.get(rel)?.wm ?? state.tables.get(rel)?.wm;
    if (wm) inputs.push(wm);
  }
  if (inputs.length === 0) return null;
  const active = inputs.filter((w) => nowMs - Math.max(w.lastDataAt, v.createdAtMs) <= state.settings.idleTimeoutMs);
  let next: bigint | null = null;
  if (active.length) {
    if (active.some((w) => w.value === null)) next = null;
    else next = active.reduce((m, w) => (w.value! < m ? w.value! : m), active[0]!.value!);
  } else {
    for (const w of inputs) if (w.value !== null && (next === null || w.value > next)) next = w.value;
  }
  if (v.wm !== null && (next === null || next < v.wm)) return v.wm;
  return next;
}

/** The schema of the rows a view's window operator drops as late (its input), if it has one. */
export function lateInputSchema(p: PlannedQuery): Schema | null {
  const find = (n: PhysicalPlan): Schema | null => {
    if (n.kind === 'WindowAggExec') return n.input.schema;
    if (n.kind === 'ProjectExec' || n.kind === 'FilterExec') return find(n.input);
    return null;
  };
  return find(p.physical);
}
