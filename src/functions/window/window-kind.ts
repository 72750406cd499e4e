/**
 * The shape of a window kind (a window table function: TUMBLE, HOP, SESSION): how a call is
 * bound — its INTERVAL arguments into the window's parameters —, how EXPLAIN shows it, and the
 * operators that run it, with rows only tagged with their windows (WindowExec) and with an
 * aggregate grouped by the window (WindowAggExec).
 */
import type { Operator } from '../../exec/operator.js';
import type { WindowSpec } from '../../planner/logical.js';
import type { PhysicalPlan } from '../../planner/physical.js';

/** A window's parameters in microseconds; those a kind does not use are 0. */
export type WindowParams = Pick<WindowSpec, 'size' | 'slide' | 'offset' | 'gap'>;

/** A WindowExec node: rows tagged with the windows containing them. */
export type WindowTagPlan = Extract<PhysicalPlan, { kind: 'WindowExec' }>;
/** A WindowAggExec node: an aggregate grouped by the window (and keys). */
export type WindowAggPlan = Extract<PhysicalPlan, { kind: 'WindowAggExec' }>;

/** How a kind runs without an aggregate: rows tagged with their windows, or why it cannot be. */
export type WindowTagging =
  | {
      readonly kind: 'tag';
      /** What EXPLAIN adds after the window, if anything. */
      note(w: WindowSpec): string;
      operator(id: string, plan: WindowTagPlan): Operator;
    }
  | { readonly kind: 'refuse'; readonly message: string; readonly hint: string };

/** How a kind runs under an aggregate grouped by its window. */
export interface WindowAggregation {
  /** The width of a pane in µs (0 when the kind keeps no panes). */
  pane(w: WindowSpec): bigint;
  /** EXPLAIN's description of the operator's state. */
  state(w: WindowSpec, pane: bigint): string;
  /** EXPLAIN's description of what the watermark removes from that state. */
  readonly cleanup: string;
  operator(id: string, plan: WindowAggPlan): Operator;
}

/** One window kind, as its registry entry holds it. */
export interface WindowKindDefinition {
  /** The call's SQL form, for messages: `TUMBLE(relation, time_column, size [, offset])`. */
  readonly usage: string;
  /** How many INTERVAL arguments follow the time column: at least, at most. */
  readonly durations: readonly [min: number, max: number];
  /**
   * The window's parameters from its INTERVAL arguments (not negative, as many as `durations`
   * allows); throws invalid_parameter (at `pos`) when they describe no window.
   */
  params(micros: readonly bigint[], pos: number | undefined): WindowParams;
  /** The window as EXPLAIN shows it; `time` is the time column's text. */
  show(w: WindowSpec, time: string): string;
  readonly tagging: WindowTagging;
  readonly aggregation: WindowAggregation;
}
