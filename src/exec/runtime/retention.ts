/**
 * Retention of append-only views (`WITH (retention = '1 hour')`): which time a view's rows age
 * by, and the EXPLAIN words for it. The time is the view's event-time column when it has one —
 * an output column that is, through filters and projections, the WATERMARK FOR column of a
 * source or table the view reads (or the window_end of a window over one) — and the rows then
 * go once the view's watermark passes their time + retention. A view without one ages its rows
 * by the batch time T_n of the epoch that stored them. An updating view is refused: its rows
 * change and retract, and its size is bounded by its keys, not its input.
 */
import { SluiceError } from '../../common/errors.js';
import { formatDuration, parseDuration } from '../../common/interval.js';
import type { Catalog } from '../../catalog/index.js';
import type { LogicalPlan, PlannedQuery } from '../../planner/index.js';
import type { Retention } from '../view-store.js';

/** The retention a view's options ask for (null: none), checked against its plan. */
export function viewRetention(name: string, text: string | undefined, planned: PlannedQuery, catalog: Catalog, position?: number): Retention | null {
  if (text === undefined) return null;
  let micros: bigint;
  try {
    micros = parseDuration(text, 'a retention');
  } catch (e) {
    // A month has no fixed length: said as such.
    if (e instanceof SluiceError && e.category === 'not_supported') throw e;
    throw new SluiceError('invalid_parameter', `invalid retention "${text}" for materialized view "${name}"`, { position, hint: "Write an interval: retention = '1 hour', '30 minutes', '7 days'." });
  }
  if (micros <= 0n) throw new SluiceError('invalid_parameter', `retention of materialized view "${name}" must be positive, not '${text}'`, { position });
  if (!planned.optimized.appendOnly) {
    throw new SluiceError('invalid_parameter', `retention needs an append-only view: materialized view "${name}" updates its rows`, {
      position,
      hint: 'An updating view (aggregates, joins of updating inputs, DISTINCT, ORDER BY … LIMIT) keeps a row per key, not per input row; bound it with a windowed aggregate (EMIT ON WINDOW CLOSE) or a temporal filter (WHERE ts > now() - INTERVAL …).',
    });
  }
  return { micros, text, column: eventTimeColumn(planned.optimized, catalog) };
}

/** What EXPLAIN says of a retention: its interval and the time it ages rows by. */
export function retentionText(r: Retention, p: PlannedQuery): string {
  const by = r.column === null ? 'batch time' : `event time ${p.optimized.schema[r.column]!.name} against the watermark`;
  return `retention ${formatDuration(r.micros)} by ${by}`;
}

/** The output column of `p` that carries a watermarked input's event time, or null. */
export function eventTimeColumn(p: LogicalPlan, catalog: Catalog): number | null {
  switch (p.kind) {
    case 'scan': {
      const e = catalog.get(p.relation);
      if (!e || (e.kind !== 'source' && e.kind !== 'table') || !e.watermark) return null;
      const i = p.schema.findIndex((f) => f.name === e.watermark!.column);
      return i >= 0 && isTime(p, i) ? i : null;
    }
    case 'filter':
    case 'temporal_filter':
      return eventTimeColumn(p.input, catalog);
    case 'project': {
      const inner = eventTimeColumn(p.input, catalog);
      if (inner === null) return null;
      const i = p.exprs.findIndex((e) => e.kind === 'col' && e.index === inner);
      return i >= 0 ? i : null;
    }
    case 'window':
      // Input columns, then window_start, window_end: a window over event time ends in it.
      return typeof p.window.watermark === 'object' && p.window.watermark !== null ? p.schema.length - 1 : null;
    case 'window_aggregate': {
      if (typeof p.window.watermark !== 'object' || p.window.watermark === null) return null;
      const end = p.roles.indexOf('window_end');
      return end >= 0 ? end : p.roles.indexOf('window_start') >= 0 ? p.roles.indexOf('window_start') : null;
    }
    default:
      return null;
  }
}

function isTime(p: LogicalPlan, i: number): boolean {
  return p.schema[i]!.type === 'timestamp' || p.schema[i]!.type === 'timestamptz';
}
