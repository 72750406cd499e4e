/**
 * Event-time watermarks at runtime: a relation's watermark is compiled from its WATERMARK FOR
 * clause and raised by each epoch's rows; a view's watermark is the minimum over its inputs.
 */
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import { typeDisplayName, type Schema } from '../../common/types.js';
import type { Expr } from '../../parser/index.js';
import { Binder } from '../../planner/index.js';
import type { Catalog } from '../../catalog/index.js';
import type { PhysicalPlan, PlannedQuery } from '../../planner/index.js';
import { columnsOf, type BoundExpr } from '../../planner/expr.js';
import { decodeInterval, durationMicros } from '../../common/interval.js';
import { compile, type EvalContext } from '../eval.js';
import { wordsOf } from '../slot-columns.js';
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
  return { kernel: compile(bound), column, reads: [...columnsOf(bound).add(column)], value: null, lastDataAt: Date.now(), lateRows: 0 };
}

/**
 * Raises a relation's watermark with one epoch's batches; counts rows below the old watermark.
 * The 64-bit values are compared as their two 32-bit words (high signed, low unsigned): reading
 * a BigInt64Array element makes a heap BigInt, two per row here, and V8 came to allocate them
 * straight into the old generation, where they were most of what its major collections freed
 * (W4 in bench/run.ts: 55 of 109 MB).
 */
export function advanceWatermark(wm: WatermarkRt, batches: readonly Batch[], nowMs: number, log: (m: string) => void): void {
  const before = wm.value;
  // The maximum so far as words; maxHi is NaN while there is none.
  let maxHi = NaN;
  let maxLo = 0;
  if (before !== null) {
    maxHi = Number(BigInt.asIntN(32, before >> 32n));
    maxLo = Number(BigInt.asUintN(32, before));
  }
  const beforeHi = maxHi;
  const beforeLo = maxLo;
  const ctx: EvalContext = { now: BigInt(nowMs) * 1000n, onRowError: (e) => log(`watermark: ${e.message}`) };
  let late = 0;
  for (const b of batches) {
    if (b.length === 0) continue;
    wm.lastDataAt = nowMs;
    const c = wm.kernel(b, ctx);
    const v = wordsOf(c.values as BigInt64Array);
    const cv = c.validity;
    const n = b.length;
    for (let i = 0; i < n; i++) {
      if (cv !== null && ((cv[i >> 3]! >> (i & 7)) & 1) === 0) continue;
      const hi = v[2 * i + 1]!;
      const lo = v[2 * i]! >>> 0;
      if (hi > maxHi || (hi === maxHi && lo > maxLo) || maxHi !== maxHi) {
        maxHi = hi;
        maxLo = lo;
      }
    }
    if (before !== null) {
      const tcol = b.columns[wm.column]!;
      const t = wordsOf(tcol.values as BigInt64Array);
      const tv = tcol.validity;
      for (let i = 0; i < n; i++) {
        if (tv !== null && ((tv[i >> 3]! >> (i & 7)) & 1) === 0) continue;
        const hi = t[2 * i + 1]!;
        if (hi < beforeHi || (hi === beforeHi && t[2 * i]! >>> 0 < beforeLo)) late++;
      }
    }
  }
  wm.lateRows += late;
  wm.value = maxHi !== maxHi ? null : (BigInt(maxHi) << 32n) | BigInt(maxLo);
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
