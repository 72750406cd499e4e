/**
 * LogicalPlan: what a view computes, independent of how. Bare nouns (DataFusion style); every
 * node knows its output schema and whether its output is append-only or an updating changelog.
 */
import type { Schema, Value } from '../common/types.js';
import type { AggCall, BoundExpr } from './expr.js';

export type RelationKind = 'source' | 'table' | 'view';

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
  | {
      readonly kind: 'aggregate';
      readonly input: LogicalPlan;
      readonly groupKeys: readonly BoundExpr[];
      readonly aggs: readonly AggCall[];
      readonly schema: Schema;
      readonly appendOnly: false;
    }
  | { readonly kind: 'union'; readonly inputs: readonly LogicalPlan[]; readonly schema: Schema; readonly appendOnly: boolean }
  | { readonly kind: 'values'; readonly rows: readonly (readonly Value[])[]; readonly schema: Schema; readonly appendOnly: true };

export function children(p: LogicalPlan): readonly LogicalPlan[] {
  switch (p.kind) {
    case 'scan':
    case 'values':
      return [];
    case 'filter':
    case 'project':
    case 'aggregate':
      return [p.input];
    case 'union':
      return p.inputs;
  }
}

/** Every relation a plan scans. */
export function scannedRelations(p: LogicalPlan, out: Set<string> = new Set()): Set<string> {
  if (p.kind === 'scan') out.add(p.relation);
  for (const c of children(p)) scannedRelations(c, out);
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
    case 'filter':
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
