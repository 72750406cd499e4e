/**
 * Binder → LogicalPlan → rules → PhysicalPlan. Invariants: plans are immutable; rules keep the
 * root schema; physical nodes carry every choice the executor makes (fast paths, key strategy).
 */
import type { Catalog } from '../catalog/index.js';
import type { Query } from '../parser/index.js';
import { Binder } from './binder.js';
import { explainLogical, explainPhysical } from './explain.js';
import type { LogicalPlan } from './logical.js';
import { toPhysical, type PhysicalPlan } from './physical.js';
import { optimize } from './rules.js';

export * from './expr.js';
export * from './logical.js';
export * from './physical.js';
export { explainLogical, explainPhysical } from './explain.js';
export { Binder, bindScalar } from './binder.js';

export interface PlannedQuery {
  readonly logical: LogicalPlan;
  readonly optimized: LogicalPlan;
  readonly physical: PhysicalPlan;
}

/** Plans a view query; `sql` is the statement text, used for error positions. */
export function planQuery(query: Query, catalog: Catalog, sql = ''): PlannedQuery {
  const logical = new Binder(catalog, sql).bindQuery(query);
  const optimized = optimize(logical);
  return { logical, optimized, physical: toPhysical(optimized) };
}

export function explainText(p: PlannedQuery, header: string[] = []): string[] {
  return [...header, 'Logical plan:', ...explainLogical(p.optimized, 1), 'Physical plan:', ...explainPhysical(p.physical, 1)];
}
