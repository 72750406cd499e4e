/**
 * The operator contract. Every operator of a view's pipeline has a stable id (view name + plan
 * path, the same after a restart), a name, and the state tables it owns ([] when stateless).
 * It receives batches on numbered inputs and, once all of an epoch's input is in, `endEpoch`
 * (children first) lets it emit its changes and close windows. The context is passed in every
 * call: operators keep no ambient state, so the end of an epoch is a consistent cut.
 *
 *   input 0 ─┐
 *            ├─► processBatch(i, batch, ctx, out) … endEpoch(ctx, out) ─► out (parent input)
 *   input 1 ─┘
 */
import type { Batch } from '../common/column.js';
import type { EvalContext } from './eval.js';
import type { StateTable } from './state/state-table.js';

/** What an operator sees of the running epoch: T_n, watermarks, outlets, services. */
export interface OperatorContext extends EvalContext {
  /** The epoch being run. */
  readonly epoch: number;
  /** Counts rows an operator dropped as late without keeping them (time-bounded joins). */
  countLate(n: number): void;
}

/** Where an operator's output goes: its parent's input (or the view's output). */
export type Collector = (batch: Batch) => void;

export interface Operator {
  /** View name + plan path (`revenue/0.1`): stable across restarts of the same plan. */
  readonly id: string;
  /** The physical node it runs: 'HashAggExec', 'WindowAggExec', 'HashJoinExec', … */
  readonly name: string;
  readonly state: readonly StateTable[];
  /** One batch on input `input` (0 for single-input operators; joins: 0 left, 1 right). */
  processBatch(input: number, batch: Batch, ctx: OperatorContext, out: Collector): void;
  /** After the epoch's input: emit changes, close windows. May await a service (DuckDB). */
  endEpoch(ctx: OperatorContext, out: Collector): void | Promise<void>;
  /** Rows held in state that the watermark cleans (windows, time-bounded joins), for stats. */
  stateRows?(): number;
}
