/**
 * LogicalPlan: what a view computes, independent of how. Bare nouns (DataFusion style); every
 * node knows its output schema and whether its output is append-only or an updating changelog.
 */
import type { Schema, SqlType, Value } from '../common/types.js';
import type { WindowKind } from '../functions/window/index.js';
import type { AggCall, BoundExpr } from './expr.js';
import type { SetFn } from '../functions/set/index.js';
import type { TemporalCondition } from './temporal.js';

export type RelationKind = 'source' | 'table' | 'view' | 'model';

/**
 * A window table function's parameters (all durations in microseconds). `time` is the input
 * column the window is over (or now() for processing time). `watermark` names the relation
 * whose watermark governs the column (event time), 'proctime' for processing time, or null
 * when nothing bounds the input's time (then windows never close).
 */
export interface WindowSpec {
  readonly kind: WindowKind;
  readonly time: BoundExpr;
  readonly size: bigint;
  readonly slide: bigint;
  readonly offset: bigint;
  readonly gap: bigint;
  readonly watermark: { readonly relation: string; readonly column: string } | 'proctime' | null;
}

export interface SortKey {
  readonly expr: BoundExpr;
  readonly desc: boolean;
  /** PostgreSQL's default: NULLS LAST ascending, NULLS FIRST descending. */
  readonly nullsFirst: boolean;
}

export interface TimeExpiry {
  readonly col: number;
  /** The row is dropped from state once the watermark reaches col + offset. */
  readonly offset: bigint;
  /** The row is late on arrival when col + lateOffset is at or below the watermark. */
  readonly lateOffset: bigint;
}

/** A call of a set-returning function, its arguments over the ProjectSet's input. */
export interface SetCall {
  readonly fn: SetFn;
  readonly args: readonly BoundExpr[];
  readonly type: SqlType;
}

export type JoinType = 'inner' | 'left' | 'right' | 'full' | 'cross';

/** What each group key of a window aggregate is: the window's start, its end, or a key expression. */
export type WindowKeyRole = 'window_start' | 'window_end' | 'key';

/*
 * The cores that a logical node and its physical node share (RisingWave's Logical/Stream pairs):
 * `P` is the plan type of the inputs. The physical node adds what the physical planner chose.
 */

/** A GROUP BY aggregate: one output row per group, the group keys then the aggregates. */
export interface AggregateCore<P> {
  readonly input: P;
  readonly groupKeys: readonly BoundExpr[];
  readonly aggs: readonly AggCall[];
  readonly schema: Schema;
  readonly appendOnly: false;
}

/**
 * An aggregate grouped by a window (and other keys), computed from panes: output columns are
 * the group keys in `roles` order, then the aggregates, like an aggregate's.
 */
export interface WindowAggregateCore<P> {
  readonly input: P;
  readonly window: WindowSpec;
  readonly roles: readonly WindowKeyRole[];
  /** Key expressions over the input, one per 'key' role, in order. */
  readonly keys: readonly BoundExpr[];
  readonly aggs: readonly AggCall[];
  readonly emitOnClose: boolean;
  readonly schema: Schema;
  readonly appendOnly: boolean;
}

/**
 * A join maintained incrementally, with both inputs' rows in state. Output: left columns then
 * right columns. `leftKeys`/`rightKeys` are the equi-join keys over each input; `residual`
 * is the rest of the ON condition over the concatenated row.
 */
export interface JoinCore<P> {
  readonly left: P;
  readonly right: P;
  readonly joinType: JoinType;
  readonly leftKeys: readonly BoundExpr[];
  readonly rightKeys: readonly BoundExpr[];
  readonly residual: BoundExpr | null;
  /**
   * A lookup join: each row of the left (stream) side joins the right table as of its epoch;
   * later changes to the table do not retract earlier output. Left rows are not kept.
   */
  readonly lookup: boolean;
  /**
   * A time-bounded stream join (window join or interval join): a row of a side can be
   * dropped once the watermark reaches its column `col` + `offset` (µs), since no future row
   * of the other side can match it. Rows already past it on arrival are late.
   */
  readonly timeBound: { readonly left: TimeExpiry; readonly right: TimeExpiry } | null;
  readonly schema: Schema;
  readonly appendOnly: boolean;
}

/** Rows ranked within partitions of the input by `orderBy`. */
export interface RankingCore<P> {
  readonly input: P;
  readonly partitionBy: readonly BoundExpr[];
  readonly orderBy: readonly SortKey[];
  readonly schema: Schema;
}

/**
 * The rows ranked offset+1 … offset+limit per partition by `orderBy` (ties past the limit kept
 * when withTies); when `rank` is set, the row number is appended as the last column.
 */
export interface TopNCore<P> extends RankingCore<P> {
  readonly limit: number;
  readonly offset: number;
  readonly withTies: boolean;
  readonly rank: boolean;
  readonly appendOnly: false;
}

/**
 * Each input row expanded by set-returning functions (ProjectSet): output is the input's
 * columns listed in `keep` (all of them until column pruning drops those only the calls
 * read), one column per call and, with `ordinality`, the 1-based row number within the
 * expansion (bigint). Several calls zip as in PostgreSQL 10+: a row expands into as many rows
 * as its longest call returns, the shorter ones padded with NULLs. `outer` (LEFT JOIN LATERAL
 * … ON true) keeps a row whose calls return nothing, with NULLs.
 */
export interface ProjectSetCore<P> {
  readonly input: P;
  /** The input columns carried to the output, in order. */
  readonly keep: readonly number[];
  readonly calls: readonly SetCall[];
  readonly ordinality: boolean;
  readonly outer: boolean;
  readonly schema: Schema;
  readonly appendOnly: boolean;
}

/** The window functions an OverWindow node computes (aggregates as window functions included). */
export type WindowFn =
  | 'row_number' | 'rank' | 'dense_rank' | 'percent_rank' | 'cume_dist' | 'ntile'
  | 'lag' | 'lead' | 'first_value' | 'last_value' | 'nth_value'
  | 'sum' | 'avg' | 'count' | 'count_star' | 'min' | 'max';

/**
 * One end of a window frame. `rows`: the ROWS offset (n PRECEDING/FOLLOWING). `value`: for a
 * RANGE offset, the bound's ORDER BY value computed from the current row (ORDER BY value ∓ n,
 * the sign already following the direction), an expression over the node's input.
 */
export interface FrameEdge {
  readonly kind: 'unbounded_preceding' | 'preceding' | 'current_row' | 'following' | 'unbounded_following';
  readonly rows: number;
  readonly value: BoundExpr | null;
}

/** ROWS or RANGE between two edges (RANGE's CURRENT ROW includes the row's peers). */
export interface WindowFrame {
  readonly mode: 'rows' | 'range';
  readonly start: FrameEdge;
  readonly end: FrameEdge;
}

/** A window function call: its arguments over the node's input, its frame and result type. */
export interface WindowCall {
  readonly fn: WindowFn;
  readonly args: readonly BoundExpr[];
  readonly frame: WindowFrame;
  readonly type: SqlType;
}

/**
 * Window functions over one window (PARTITION BY, ORDER BY): the input's columns, then one
 * column per call. Calls over different windows are stacked OverWindow nodes.
 */
export interface OverWindowCore<P> {
  readonly input: P;
  readonly partitionBy: readonly BoundExpr[];
  readonly orderBy: readonly SortKey[];
  readonly calls: readonly WindowCall[];
  readonly schema: Schema;
  readonly appendOnly: false;
}

export type LogicalPlan =
  | {
      readonly kind: 'scan';
      readonly relation: string;
      readonly relationKind: RelationKind;
      /** Indexes into the relation's schema that this scan reads (projection pruning). */
      readonly columns: readonly number[];
      readonly schema: Schema;
      readonly appendOnly: boolean;
    }
  | { readonly kind: 'filter'; readonly input: LogicalPlan; readonly predicate: BoundExpr; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'project'; readonly input: LogicalPlan; readonly exprs: readonly BoundExpr[]; readonly schema: Schema; readonly appendOnly: boolean }
  | ({ readonly kind: 'aggregate' } & AggregateCore<LogicalPlan>)
  | { readonly kind: 'union'; readonly inputs: readonly LogicalPlan[]; readonly schema: Schema; readonly appendOnly: boolean }
  /** Tags each input row with the window(s) it falls in: input columns + window_start, window_end. */
  | { readonly kind: 'window'; readonly input: LogicalPlan; readonly window: WindowSpec; readonly schema: Schema; readonly appendOnly: boolean }
  | ({ readonly kind: 'window_aggregate' } & WindowAggregateCore<LogicalPlan>)
  | ({ readonly kind: 'join' } & JoinCore<LogicalPlan>)
  /** ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) appended as the last column (needs a rank bound above). */
  | ({ readonly kind: 'row_number' } & RankingCore<LogicalPlan> & { readonly appendOnly: boolean })
  | ({ readonly kind: 'top_n' } & TopNCore<LogicalPlan>)
  | ({ readonly kind: 'over_window' } & OverWindowCore<LogicalPlan>)
  | { readonly kind: 'values'; readonly rows: readonly (readonly Value[])[]; readonly schema: Schema; readonly appendOnly: true }
  | ({ readonly kind: 'project_set' } & ProjectSetCore<LogicalPlan>)
  /**
   * A temporal filter: a row of the input is in the output while every `now() op bound(row)`
   * holds at the epoch's batch time T_n; it enters and leaves as T_n moves (temporal.ts).
   */
  | ({ readonly kind: 'temporal_filter' } & TemporalFilterCore<LogicalPlan>);

/** A temporal filter's input and its conditions `now() op bound` (always updating: rows leave). */
export interface TemporalFilterCore<P> {
  readonly input: P;
  readonly conditions: readonly TemporalCondition[];
  readonly schema: Schema;
  readonly appendOnly: false;
}

export function children(p: LogicalPlan): readonly LogicalPlan[] {
  switch (p.kind) {
    case 'scan':
    case 'values':
      return [];
    case 'filter':
    case 'project':
    case 'aggregate':
    case 'window':
    case 'window_aggregate':
    case 'row_number':
    case 'top_n':
    case 'over_window':
    case 'project_set':
    case 'temporal_filter':
      return [p.input];
    case 'union':
      return p.inputs;
    case 'join':
      return [p.left, p.right];
  }
}

/** `p` with its inputs replaced by `kids` (in `children` order); fields that follow the input are recomputed. */
export function withChildren(p: LogicalPlan, kids: readonly LogicalPlan[]): LogicalPlan {
  switch (p.kind) {
    case 'scan':
    case 'values':
      return p;
    case 'filter':
      return { ...p, input: kids[0]!, schema: kids[0]!.schema, appendOnly: kids[0]!.appendOnly };
    case 'project':
      return { ...p, input: kids[0]!, appendOnly: kids[0]!.appendOnly };
    case 'aggregate':
    case 'window':
    case 'window_aggregate':
    case 'row_number':
    case 'top_n':
    case 'over_window':
    case 'temporal_filter':
      return { ...p, input: kids[0]! } as LogicalPlan;
    case 'project_set':
      return { ...p, input: kids[0]!, appendOnly: kids[0]!.appendOnly };
    case 'union':
      return { ...p, inputs: kids };
    case 'join':
      return { ...p, left: kids[0]!, right: kids[1]! };
  }
}

/** Rewrites a plan bottom-up: `f` sees each node after its inputs were rewritten. */
export function transformUp(p: LogicalPlan, f: (node: LogicalPlan) => LogicalPlan): LogicalPlan {
  const kids = children(p);
  return f(kids.length ? withChildren(p, kids.map((c) => transformUp(c, f))) : p);
}

/** Every relation a plan scans. */
export function scannedRelations(p: LogicalPlan, out: Set<string> = new Set()): Set<string> {
  if (p.kind === 'scan') out.add(p.relation);
  for (const c of children(p)) scannedRelations(c, out);
  return out;
}

/**
 * The relations read as a lookup join's table side (FOR SYSTEM_TIME AS OF PROCTIME()): a
 * backfill feeds them first, so the stream rows already there look up the table as it is.
 */
export function lookupTableRelations(p: LogicalPlan, out: Set<string> = new Set()): Set<string> {
  if (p.kind === 'join' && p.lookup) scannedRelations(p.right, out);
  for (const c of children(p)) lookupTableRelations(c, out);
  return out;
}

/**
 * Output columns that identify a row uniquely (an aggregate's group keys, carried through
 * filters and plain projections), or null when the plan has no known key. An empty key means
 * at most one row (a global aggregate).
 */
export function uniqueKey(p: LogicalPlan): number[] | null {
  switch (p.kind) {
    case 'aggregate':
      return p.groupKeys.map((_, i) => i);
    case 'window_aggregate':
      return p.roles.map((_, i) => i);
    case 'filter':
    case 'temporal_filter':
      return uniqueKey(p.input);
    case 'project': {
      const inner = uniqueKey(p.input);
      if (inner === null) return null;
      const out: number[] = [];
      for (const k of inner) {
        const at = p.exprs.findIndex((e) => e.kind === 'col' && e.index === k);
        if (at < 0) return null;
        out.push(at);
      }
      return out;
    }
    default:
      return null;
  }
}
