/**
 * PhysicalPlan: how a view runs, one node per operator of the per-epoch pipeline. Names end in
 * Exec. The physical planner chooses per node the fast paths the input allows: append-only
 * inputs skip weights and retraction state; the group-key strategy follows the key types.
 */
import type { Schema, Value } from '../common/types.js';
import type { AggCall, BoundExpr } from './expr.js';
import type { JoinType, LogicalPlan, RelationKind, SortKey, TimeExpiry, WindowKeyRole, WindowSpec } from './logical.js';
import { SluiceError } from '../common/errors.js';
import { assertNever } from '../common/errors.js';

export type KeyStrategy = 'global' | 'int' | 'string' | 'composite';

export type PhysicalPlan =
  | { readonly kind: 'ScanExec'; readonly relation: string; readonly relationKind: RelationKind; readonly columns: readonly number[]; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'FilterExec'; readonly input: PhysicalPlan; readonly predicate: BoundExpr; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'ProjectExec'; readonly input: PhysicalPlan; readonly exprs: readonly BoundExpr[]; readonly schema: Schema; readonly appendOnly: boolean }
  | {
      readonly kind: 'HashAggExec';
      readonly input: PhysicalPlan;
      readonly groupKeys: readonly BoundExpr[];
      readonly aggs: readonly AggCall[];
      readonly schema: Schema;
      readonly appendOnly: false;
      /** Whether the input can retract rows (then min/max keep value multisets). */
      readonly retracting: boolean;
      readonly keyStrategy: KeyStrategy;
    }
  | { readonly kind: 'UnionExec'; readonly inputs: readonly PhysicalPlan[]; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'WindowExec'; readonly input: PhysicalPlan; readonly window: WindowSpec; readonly schema: Schema; readonly appendOnly: boolean }
  | {
      readonly kind: 'WindowAggExec';
      readonly input: PhysicalPlan;
      readonly window: WindowSpec;
      /** Width of a pane in µs: size for TUMBLE, gcd(slide, size) for HOP, 0 for SESSION. */
      readonly pane: bigint;
      readonly roles: readonly WindowKeyRole[];
      readonly keys: readonly BoundExpr[];
      readonly aggs: readonly AggCall[];
      readonly emitOnClose: boolean;
      readonly retracting: boolean;
      readonly schema: Schema;
      readonly appendOnly: boolean;
    }
  | {
      readonly kind: 'HashJoinExec';
      readonly left: PhysicalPlan;
      readonly right: PhysicalPlan;
      readonly joinType: JoinType;
      readonly leftKeys: readonly BoundExpr[];
      readonly rightKeys: readonly BoundExpr[];
      readonly residual: BoundExpr | null;
      /** Lookup join with a JS hash index over the table, maintained from its changelog. */
      readonly lookup: boolean;
      readonly timeBound: { readonly left: TimeExpiry; readonly right: TimeExpiry } | null;
      readonly schema: Schema;
      readonly appendOnly: boolean;
    }
  | {
      readonly kind: 'TopNExec';
      readonly input: PhysicalPlan;
      readonly partitionBy: readonly BoundExpr[];
      readonly orderBy: readonly SortKey[];
      readonly limit: number;
      readonly offset: number;
      readonly withTies: boolean;
      readonly rank: boolean;
      /** Append-only input: rows beyond the top can never return, so only the top is kept. */
      readonly retracting: boolean;
      readonly schema: Schema;
      readonly appendOnly: false;
    }
  | { readonly kind: 'ValuesExec'; readonly rows: readonly (readonly Value[])[]; readonly schema: Schema; readonly appendOnly: true };

export function toPhysical(p: LogicalPlan): PhysicalPlan {
  switch (p.kind) {
    case 'scan':
      return { kind: 'ScanExec', relation: p.relation, relationKind: p.relationKind, columns: p.columns, schema: p.schema, appendOnly: p.appendOnly };
    case 'filter':
      return { kind: 'FilterExec', input: toPhysical(p.input), predicate: p.predicate, schema: p.schema, appendOnly: p.appendOnly };
    case 'project':
      return { kind: 'ProjectExec', input: toPhysical(p.input), exprs: p.exprs, schema: p.schema, appendOnly: p.appendOnly };
    case 'aggregate': {
      const keyTypes = p.groupKeys.map((k) => k.type);
      let keyStrategy: KeyStrategy = 'composite';
      if (keyTypes.length === 0) keyStrategy = 'global';
      else if (keyTypes.length === 1 && ['int', 'date', 'bigint', 'timestamp', 'interval', 'boolean'].includes(keyTypes[0]!)) keyStrategy = 'int';
      else if (keyTypes.length === 1 && keyTypes[0] === 'varchar') keyStrategy = 'string';
      return {
        kind: 'HashAggExec',
        input: toPhysical(p.input),
        groupKeys: p.groupKeys,
        aggs: p.aggs,
        schema: p.schema,
        appendOnly: false,
        retracting: !p.input.appendOnly,
        keyStrategy,
      };
    }
    case 'union':
      return { kind: 'UnionExec', inputs: p.inputs.map(toPhysical), schema: p.schema, appendOnly: p.appendOnly };
    case 'values':
      return { kind: 'ValuesExec', rows: p.rows, schema: p.schema, appendOnly: true };
    case 'top_n':
      return {
        kind: 'TopNExec',
        input: toPhysical(p.input),
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
      throw new SluiceError('not_supported', 'ROW_NUMBER() needs a bound in the view, like WHERE rank <= N', {
        hint: 'Keeping every row ranked would re-number whole partitions on each change; filter the rank (top-N).',
      });
    case 'join':
      return {
        kind: 'HashJoinExec',
        left: toPhysical(p.left),
        right: toPhysical(p.right),
        joinType: p.joinType,
        leftKeys: p.leftKeys,
        rightKeys: p.rightKeys,
        residual: p.residual,
        lookup: p.lookup,
        timeBound: p.timeBound,
        schema: p.schema,
        appendOnly: p.appendOnly,
      };
    case 'window':
      if (p.window.kind === 'session') {
        throw new SluiceError('not_supported', 'SESSION windows need an aggregate grouped by window_start or window_end', {
          hint: 'Write SELECT key, window_start, window_end, count(*) FROM SESSION(src, ts, INTERVAL …) GROUP BY key, window_start, window_end.',
        });
      }
      return { kind: 'WindowExec', input: toPhysical(p.input), window: p.window, schema: p.schema, appendOnly: p.appendOnly };
    case 'window_aggregate':
      return {
        kind: 'WindowAggExec',
        input: toPhysical(p.input),
        window: p.window,
        pane: p.window.kind === 'tumble' ? p.window.size : p.window.kind === 'hop' ? gcd(p.window.slide, p.window.size) : 0n,
        roles: p.roles,
        keys: p.keys,
        aggs: p.aggs,
        emitOnClose: p.emitOnClose,
        retracting: !p.input.appendOnly,
        schema: p.schema,
        appendOnly: p.appendOnly,
      };
    default:
      return assertNever(p);
  }
}

export function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
