/**
 * The compiled inputs of an aggregating operator (hash, window and session aggregates): the
 * group keys, and per aggregate call its argument and FILTER condition.
 */
import { trueMask, type Batch, type Column } from '../common/column.js';
import { moreInputs, type GroupsAccumulator } from '../functions/aggregate/index.js';
import type { AggCall, BoundExpr } from '../planner/expr.js';
import { compile, type EvalContext, type Kernel } from './eval.js';

export class AggregateInputs {
  private readonly keys: readonly Kernel[];
  /** Per aggregate: its argument (null for count(*)). */
  private readonly args: readonly (Kernel | null)[];
  /** Per aggregate: its FILTER (WHERE …) condition, if any. */
  private readonly filters: readonly (Kernel | null)[];
  /** Per aggregate: its further per-row inputs (delimiters, ORDER BY keys). */
  private readonly more: readonly (readonly Kernel[])[];

  constructor(keys: readonly BoundExpr[], aggs: readonly AggCall[]) {
    this.keys = keys.map(compile);
    this.args = aggs.map((a) => (a.arg ? compile(a.arg) : null));
    this.filters = aggs.map((a) => (a.filter ? compile(a.filter) : null));
    this.more = aggs.map((a) => moreInputs(a).map(compile));
  }

  /** The group key columns of a batch. */
  keyColumns(b: Batch, ctx: EvalContext): Column[] {
    return this.keys.map((k) => k(b, ctx));
  }

  /** Each aggregate's argument column (null for count(*)). */
  argColumns(b: Batch, ctx: EvalContext): (Column | null)[] {
    return this.args.map((k) => (k ? k(b, ctx) : null));
  }

  /** Each aggregate's FILTER condition column (null without one). */
  filterColumns(b: Batch, ctx: EvalContext): (Column | null)[] {
    return this.filters.map((k) => (k ? k(b, ctx) : null));
  }

  /**
   * Adds a batch to accumulators (one per aggregate) whose rows belong to the groups `gids`:
   * each aggregate's argument, with the batch's weights and its FILTER as a row mask.
   */
  update(accs: readonly GroupsAccumulator[], b: Batch, ctx: EvalContext, gids: Int32Array): void {
    for (let a = 0; a < accs.length; a++) {
      const arg = this.args[a] ? this.args[a]!(b, ctx) : null;
      const f = this.filters[a] ? this.filters[a]!(b, ctx) : null;
      const more = this.more[a]!.length === 0 ? undefined : this.more[a]!.map((k) => k(b, ctx));
      accs[a]!.update(gids, b.length, arg, b.weights, f ? trueMask(f) : null, more);
    }
  }
}
