/**
 * The contract every aggregate function implements: a groups-accumulator over dense group ids
 * (DataFusion's `GroupsAccumulator`). Hash aggregation keeps one group per key, windows one per
 * pane plus a scratch group per window, sessions a scratch group per session.
 */
import type { Column } from '../../common/column.js';
import type { SlotColumn } from '../../exec/slot-columns.js';
import type { Field, Schema, SqlType, Value } from '../../common/types.js';
import type { AggCall } from '../../planner/expr.js';

/**
 * An accumulator's state, as state tables see it: per group a fixed row of `scalar` values, and
 * for the accumulators that keep the values themselves (min/max under retraction, DISTINCT) a
 * multiset of (value, count) of type `values`.
 */
export interface AccumulatorState {
  readonly scalar: Schema;
  readonly values: SqlType | null;
  /**
   * Fields of `scalar` (indexes) added after checkpoints held the layout: state written before
   * lacks them, and loadGroup and loadColumns get NULL for them (StateTableSpec.added).
   */
  readonly added?: readonly number[];
}

/**
 * The state-table columns of accumulators' scalar state, `a<i>_<field>` in call order, placed
 * after `before` other columns; and the indexes among all the table's columns of those added
 * since checkpoints first held them (for StateTableSpec.added).
 */
export function scalarStateColumns(layouts: readonly AccumulatorState[], before: number): { fields: Field[]; added: number[] } {
  const fields: Field[] = [];
  const added: number[] = [];
  layouts.forEach((l, i) => {
    for (const j of l.added ?? []) added.push(before + fields.length + j);
    for (const f of l.scalar) fields.push({ name: `a${i}_${f.name}`, type: f.type });
  });
  return { fields, added };
}

/**
 * The state of one aggregate call for many groups. Updates are weighted (+w adds w copies of a
 * value, −w removes them), so every aggregate is correct under deletes.
 */
export interface GroupsAccumulator {
  readonly stateLayout: AccumulatorState;
  /**
   * Whether `merge` takes sign −1: a group can then un-merge what it merged, and a window slides
   * by merging the entering pane and un-merging the leaving one instead of re-merging them all.
   */
  readonly invertible: boolean;
  /**
   * Whether merging the states of any split of the rows, in any order, gives exactly the state
   * of adding the rows one by one (counts, exact sums, running min/max, bool_and/or; not float
   * sums, whose rounding depends on the order, nor order-sensitive aggregates). Hash
   * aggregation may then pre-aggregate each part of its input where the part is made
   * (HashAggOp.mergePartial).
   */
  readonly combinable?: boolean;
  /** Group gid's scalar state, in `stateLayout.scalar` order. */
  saveGroup(gid: number): Value[];
  /** Sets group gid's scalar state (a fresh accumulator, from a snapshot). */
  loadGroup(gid: number, state: readonly Value[]): void;
  /** Group gid's value multiset (empty unless `stateLayout.values`). */
  saveValues(gid: number): [Value, number][];
  /** Adds to group gid's value multiset (from a snapshot). */
  loadValues(gid: number, entries: readonly (readonly [Value, number])[]): void;
  /**
   * Adds `w` copies of row i's argument for group gids[i], for each row i with mask set; `more`
   * are the call's further per-row inputs (see `moreInputs`), read by the order-sensitive aggregates.
   */
  update(gids: Int32Array, n: number, arg: Column | null, weights: Int32Array | null, mask: Uint8Array | null, more?: readonly Column[]): void;
  /** Adds `w` copies of one value (the row-at-a-time path: DISTINCT, session rows). */
  add(gid: number, v: Value, w: number): void;
  /**
   * Adds group `srcGid` of `src` (an accumulator made for the same call) into group gid, or with
   * sign −1 takes it out again (only when `invertible`).
   */
  merge(gid: number, src: this, srcGid: number, sign: 1 | -1): void;
  /** The aggregate's value for group gid. */
  evaluate(gid: number): Value;
  /** Forgets group gid's state, so the id can be reused (window panes are dropped). */
  reset(gid: number): void;
  /**
   * Optional columnar paths, taken by hash aggregation where present (the others go group by
   * group through `evaluate`, `saveGroup`, `loadGroup`):
   *
   * `evaluateInto` writes the value of group `gids[k]` into slot `outSlots[k]` (null: slot k)
   * of `out`, a slot column of the call's type, and returns false (having written anything)
   * when some group has no value it can write this way (an out-of-range sum).
   */
  evaluateInto?(gids: Int32Array, n: number, out: SlotColumn, outSlots: Int32Array | null): boolean;
  /** The scalar state of groups 0…n-1 (or of groups `gids[0…n-1]`) as columns, in `stateLayout.scalar` order. */
  saveColumns?(n: number, gids?: Int32Array | null): Column[];
  /** Sets the scalar state of group `gids[i]` from row i of `cols` (a fresh accumulator). */
  loadColumns?(gids: Int32Array, n: number, cols: readonly Column[]): void;
}

/** The executable side of an aggregate function; its name and types are in the planner's signature. */
export interface AggregateFunction {
  /** A fresh accumulator for `call`; `retracting` says whether the input may delete rows. */
  accumulator(call: AggCall, retracting: boolean): GroupsAccumulator;
}
