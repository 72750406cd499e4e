/**
 * PhysicalPlan: how a view runs, one node per operator of the per-epoch pipeline. Names end in
 * Exec. The physical planner chooses per node the fast paths the input allows: append-only
 * inputs skip weights and retraction state; the group-key strategy follows the key types.
 */
import type { Schema, Value } from '../common/types.js';
import type { AggCall, BoundExpr } from './expr.js';
import type { LogicalPlan, RelationKind } from './logical.js';
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
    default:
      return assertNever(p);
  }
}
