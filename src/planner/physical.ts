/**
 * PhysicalPlan: how a view runs, one node per operator of the per-epoch pipeline. Names end in
 * Exec. The physical planner chooses per node the fast paths the input allows: append-only
 * inputs skip weights and retraction state; the group-key strategy follows the key types.
 */
import type { Schema, Value } from '../common/types.js';
import type { BoundExpr } from './expr.js';
import type { AggregateCore, JoinCore, LogicalPlan, OverWindowCore, ProjectSetCore, RelationKind, TemporalFilterCore, TopNCore, WindowAggregateCore, WindowSpec } from './logical.js';
import { SluiceError } from '../common/errors.js';
import { assertNever } from '../common/errors.js';
import { WINDOW_KINDS } from '../functions/window/index.js';

export type KeyStrategy = 'global' | 'int' | 'string' | 'composite';

export type PhysicalPlan =
  | { readonly kind: 'ScanExec'; readonly relation: string; readonly relationKind: RelationKind; readonly columns: readonly number[]; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'FilterExec'; readonly input: PhysicalPlan; readonly predicate: BoundExpr; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'ProjectExec'; readonly input: PhysicalPlan; readonly exprs: readonly BoundExpr[]; readonly schema: Schema; readonly appendOnly: boolean }
  | ({
      readonly kind: 'HashAggExec';
      /** Whether the input can retract rows (then min/max keep value multisets). */
      readonly retracting: boolean;
      readonly keyStrategy: KeyStrategy;
    } & AggregateCore<PhysicalPlan>)
  | { readonly kind: 'UnionExec'; readonly inputs: readonly PhysicalPlan[]; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'WindowExec'; readonly input: PhysicalPlan; readonly window: WindowSpec; readonly schema: Schema; readonly appendOnly: boolean }
  | ({
      readonly kind: 'WindowAggExec';
      /** Width of a pane in µs (the window kind's: size for TUMBLE, gcd(slide, size) for HOP, 0 for SESSION). */
      readonly pane: bigint;
      readonly retracting: boolean;
    } & WindowAggregateCore<PhysicalPlan>)
  | ({
      readonly kind: 'HashJoinExec';
      /**
       * Lookup joins: 'hash' keeps a JS hash index over the table, maintained from its changelog;
       * 'duckdb' hands each epoch's stream rows to DuckDB, which joins them with the table.
       */
      readonly lookupStrategy: 'hash' | 'duckdb' | null;
      /** For the DuckDB strategy: the table and the columns read from it. */
      readonly lookupTable: { readonly name: string; readonly columns: readonly string[]; readonly keys: readonly string[] } | null;
    } & JoinCore<PhysicalPlan>)
  | ({
      readonly kind: 'TopNExec';
      /** Append-only input: rows beyond the top can never return, so only the top is kept. */
      readonly retracting: boolean;
    } & TopNCore<PhysicalPlan>)
  | ({ readonly kind: 'OverWindowExec' } & OverWindowCore<PhysicalPlan>)
  | { readonly kind: 'ValuesExec'; readonly rows: readonly (readonly Value[])[]; readonly schema: Schema; readonly appendOnly: true }
  | ({ readonly kind: 'ProjectSetExec' } & ProjectSetCore<PhysicalPlan>)
  | ({ readonly kind: 'TemporalFilterExec' } & TemporalFilterCore<PhysicalPlan>);

/** The frame of a ranking function (which ignores frames). */
const DEFAULT_ROWS_FRAME = { mode: 'rows', start: { kind: 'unbounded_preceding', rows: 0, value: null }, end: { kind: 'current_row', rows: 0, value: null } } as const;

export interface PhysicalOptions {
  /** Strategy for a lookup join against `table` (default: the JS hash index). */
  readonly lookupStrategy?: (table: string) => 'hash' | 'duckdb';
}

export function toPhysical(p: LogicalPlan, opts: PhysicalOptions = {}): PhysicalPlan {
  const toPhysicalRec = (q: LogicalPlan) => toPhysical(q, opts);
  switch (p.kind) {
    case 'scan':
      return { kind: 'ScanExec', relation: p.relation, relationKind: p.relationKind, columns: p.columns, schema: p.schema, appendOnly: p.appendOnly };
    case 'filter':
      return { kind: 'FilterExec', input: toPhysicalRec(p.input), predicate: p.predicate, schema: p.schema, appendOnly: p.appendOnly };
    case 'project':
      return { kind: 'ProjectExec', input: toPhysicalRec(p.input), exprs: p.exprs, schema: p.schema, appendOnly: p.appendOnly };
    case 'aggregate': {
      const keyTypes = p.groupKeys.map((k) => k.type);
      let keyStrategy: KeyStrategy = 'composite';
      if (keyTypes.length === 0) keyStrategy = 'global';
      else if (keyTypes.length === 1 && ['int', 'date', 'bigint', 'timestamp', 'boolean'].includes(keyTypes[0]!)) keyStrategy = 'int';
      else if (keyTypes.length === 1 && keyTypes[0] === 'varchar') keyStrategy = 'string';
      return {
        kind: 'HashAggExec',
        input: toPhysicalRec(p.input),
        groupKeys: p.groupKeys,
        aggs: p.aggs,
        schema: p.schema,
        appendOnly: false,
        retracting: !p.input.appendOnly,
        keyStrategy,
      };
    }
    case 'union':
      return { kind: 'UnionExec', inputs: p.inputs.map(toPhysicalRec), schema: p.schema, appendOnly: p.appendOnly };
    case 'values':
      return { kind: 'ValuesExec', rows: p.rows, schema: p.schema, appendOnly: true };
    case 'top_n':
      return {
        kind: 'TopNExec',
        input: toPhysicalRec(p.input),
        partitionBy: p.partitionBy,
        orderBy: p.orderBy,
        limit: p.limit,
        offset: p.offset,
        withTies: p.withTies,
        rank: p.rank,
        retracting: !p.input.appendOnly,
        schema: p.schema,
        appendOnly: false,
      };
    case 'row_number':
      // ROW_NUMBER() without a rank bound above (no top-N): a window function like the others.
      return {
        kind: 'OverWindowExec',
        input: toPhysicalRec(p.input),
        partitionBy: p.partitionBy,
        orderBy: p.orderBy,
        calls: [{ fn: 'row_number', args: [], frame: DEFAULT_ROWS_FRAME, type: 'bigint' }],
        schema: p.schema,
        appendOnly: false,
      };
    case 'over_window':
      return { kind: 'OverWindowExec', input: toPhysicalRec(p.input), partitionBy: p.partitionBy, orderBy: p.orderBy, calls: p.calls, schema: p.schema, appendOnly: false };
    case 'join':
      return {
        kind: 'HashJoinExec',
        left: toPhysicalRec(p.left),
        right: toPhysicalRec(p.right),
        joinType: p.joinType,
        leftKeys: p.leftKeys,
        rightKeys: p.rightKeys,
        residual: p.residual,
        lookup: p.lookup,
        ...lookupChoice(p, opts),
        timeBound: p.timeBound,
        schema: p.schema,
        appendOnly: p.appendOnly,
      };
    case 'window':
    {
      const tagging = WINDOW_KINDS[p.window.kind].tagging;
      if (tagging.kind === 'refuse') throw new SluiceError('not_supported', tagging.message, { hint: tagging.hint });
      return { kind: 'WindowExec', input: toPhysicalRec(p.input), window: p.window, schema: p.schema, appendOnly: p.appendOnly };
    }
    case 'window_aggregate':
      return {
        kind: 'WindowAggExec',
        input: toPhysicalRec(p.input),
        window: p.window,
        pane: WINDOW_KINDS[p.window.kind].aggregation.pane(p.window),
        roles: p.roles,
        keys: p.keys,
        aggs: p.aggs,
        emitOnClose: p.emitOnClose,
        retracting: !p.input.appendOnly,
        schema: p.schema,
        appendOnly: p.appendOnly,
      };
    case 'project_set':
      return { kind: 'ProjectSetExec', input: toPhysicalRec(p.input), keep: p.keep, calls: p.calls, ordinality: p.ordinality, outer: p.outer, schema: p.schema, appendOnly: p.appendOnly };
    case 'temporal_filter':
      return { kind: 'TemporalFilterExec', input: toPhysicalRec(p.input), conditions: p.conditions, schema: p.schema, appendOnly: false };
    default:
      return assertNever(p);
  }
}

/** The DuckDB strategy applies to equi-joins on columns of a plain table scan, append-only stream. */
function lookupChoice(p: Extract<LogicalPlan, { kind: 'join' }>, opts: PhysicalOptions): Pick<Extract<PhysicalPlan, { kind: 'HashJoinExec' }>, 'lookupStrategy' | 'lookupTable'> {
  if (!p.lookup) return { lookupStrategy: null, lookupTable: null };
  const r = p.right;
  const eligible = r.kind === 'scan' && !p.residual && p.left.appendOnly && p.leftKeys.every((k) => k.kind === 'col') && p.rightKeys.every((k) => k.kind === 'col');
  if (!eligible || opts.lookupStrategy?.(r.relation) !== 'duckdb') return { lookupStrategy: 'hash', lookupTable: null };
  return {
    lookupStrategy: 'duckdb',
    lookupTable: {
      name: r.relation,
      columns: r.schema.map((f) => f.name),
      keys: p.rightKeys.map((k) => r.schema[(k as { index: number }).index]!.name),
    },
  };
}

