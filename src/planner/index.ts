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
import { DEFAULT_RULES, optimize, WindowAggregateRule } from './rules.js';
import { SluiceError } from '../common/errors.js';
import { windowKindList } from '../functions/window/index.js';
import { nowPosition, placeTemporalFilters } from './temporal.js';
import { withPlanningZone } from './constant.js';
import { UTC, type TimeZone } from '../common/time-zone.js';

export * from './expr.js';
export * from './logical.js';
export * from './physical.js';
export { explainLogical, explainPhysical } from './explain.js';
export { Binder } from './binder.js';
export { bindScalar } from '../functions/scalar/index.js';

export interface PlannedQuery {
  /** Models the query's predict calls read. */
  readonly models: readonly string[];
  /** SQL functions the query calls (inlined). */
  readonly sqlFunctions: readonly string[];
  readonly logical: LogicalPlan;
  readonly optimized: LogicalPlan;
  readonly physical: PhysicalPlan;
}

export interface PlanOptions {
  /** EMIT ON WINDOW CLOSE: the view's windowed aggregate emits each window once, final. */
  readonly emitOnWindowClose?: boolean;
  /** Aggregate windows from panes (default). Off: copy each row into every window (for comparison). */
  readonly windowPanes?: boolean;
  /** Strategy of each lookup join by table (see PhysicalOptions). */
  readonly lookupStrategy?: (table: string) => 'hash' | 'duckdb';
  /** The session TimeZone the query is bound under: constants such as `'2026-03-08 01:30'::timestamptz` are read in it (default UTC). */
  readonly zone?: TimeZone;
}

/** Plans a view query; `sql` is the statement text, used for error positions. */
export function planQuery(query: Query, catalog: Catalog, sql = '', opts: PlanOptions = {}): PlannedQuery {
  const binder = new Binder(catalog, sql);
  const logical = withPlanningZone(opts.zone ?? UTC, () => binder.bindQuery(query));
  let optimized = optimize(logical, opts.windowPanes === false ? DEFAULT_RULES.filter((r) => r !== WindowAggregateRule) : DEFAULT_RULES);
  try {
    optimized = placeTemporalFilters(optimized);
  } catch (e) {
    throw e instanceof SluiceError ? e.withPosition(nowPosition(sql)) : e;
  }
  if (opts.emitOnWindowClose) optimized = emitOnClose(optimized);
  return { models: [...binder.models], sqlFunctions: [...binder.sqlFunctions], logical, optimized, physical: toPhysical(optimized, { lookupStrategy: opts.lookupStrategy }) };
}

/** Marks the view's window aggregate as emit-on-close; its output (and what is above) is append-only. */
function emitOnClose(p: LogicalPlan): LogicalPlan {
  switch (p.kind) {
    case 'project':
    case 'filter': {
      const input = emitOnClose(p.input);
      return { ...p, input, appendOnly: input.appendOnly } as LogicalPlan;
    }
    case 'window_aggregate':
      if (p.window.watermark === null) {
        throw new SluiceError('not_supported', 'EMIT ON WINDOW CLOSE needs a watermark on the window\'s time column', {
          hint: 'Declare WATERMARK FOR <column> AS <column> - INTERVAL \'…\' on the source or APPEND ONLY table, or window over PROCTIME().',
        });
      }
      return { ...p, emitOnClose: true, appendOnly: true };
    default:
      throw new SluiceError('not_supported', `EMIT ON WINDOW CLOSE needs an aggregate grouped by a window (${windowKindList('or')} with GROUP BY window_start)`, {
        hint: 'Group by window_start (and window_end) of a window table function, with count/sum/avg/min/max.',
      });
  }
}

export function explainText(p: PlannedQuery, header: string[] = []): string[] {
  return [...header, 'Logical plan:', ...explainLogical(p.optimized, 1), 'Physical plan:', ...explainPhysical(p.physical, 1)];
}
