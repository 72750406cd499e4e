/**
 * Where a view's plan is cut for running it across a cluster (cluster.ts): at the keyed
 * exchange in front of its grouped aggregate.
 *
 *   root ─ [Project|Filter]* ─ HashAggExec ─ [Project|Filter]* ─ ScanExec(kafka source)
 *          └──────────── stage 2 (owner of the key) ───────┘   └──── stage 1 (owner of the partition) ────┘
 *
 * Stage 1 is the stateless part under the aggregate: it runs where the source partition is
 * read. Stage 2 is the whole plan with that part replaced by a scan of the exchange
 * (`EXCHANGE_RELATION`), whose rows are stage 1's output.
 */
import { SluiceError } from '../common/errors.js';
import type { PhysicalPlan } from '../planner/physical.js';

/** The relation a stage-2 plan scans: stage 1's output, read back from the exchange topic. */
export const EXCHANGE_RELATION = '__sluice_exchange';

export interface SplitPlan {
  /** The stateless part under the aggregate, rooted at the aggregate's input. */
  readonly stage1: PhysicalPlan;
  /** The whole plan with the aggregate's input replaced by a scan of EXCHANGE_RELATION. */
  readonly stage2: PhysicalPlan;
  /** The aggregate: its group keys (over stage 1's output) route rows to their owner. */
  readonly agg: Extract<PhysicalPlan, { kind: 'HashAggExec' }>;
  /** The source stage 1 scans. */
  readonly source: string;
}

const refuse = (view: string, what: string) =>
  new SluiceError('not_supported', `view "${view}" cannot run across the cluster: ${what}`, {
    hint: 'In cluster mode a view over a Kafka source must be a GROUP BY aggregate of that one source, with filters and projections around it. Joins, windows, top-N and OVER windows over Kafka sources run on one process for now: start that process without --cluster.',
  });

/** Splits `plan` of view `view`, or throws not_supported (0A000) naming what is in the way. */
export function splitPlan(view: string, plan: PhysicalPlan): SplitPlan {
  let agg: Extract<PhysicalPlan, { kind: 'HashAggExec' }> | null = null;
  const above = (p: PhysicalPlan): PhysicalPlan => {
    if (p.kind === 'FilterExec' || p.kind === 'ProjectExec') return { ...p, input: above(p.input) };
    if (p.kind !== 'HashAggExec') throw refuse(view, `its plan has ${p.kind} where a grouped aggregate (or a filter or projection over it) was expected`);
    if (p.groupKeys.length === 0) throw refuse(view, 'an aggregate without GROUP BY has one group, which one process must own');
    agg = p;
    const scan: PhysicalPlan = {
      kind: 'ScanExec', relation: EXCHANGE_RELATION, relationKind: 'source', columns: p.input.schema.map((_, i) => i), schema: p.input.schema, appendOnly: true,
    };
    return { ...p, input: scan };
  };
  const stage2 = above(plan);
  const a = agg as Extract<PhysicalPlan, { kind: 'HashAggExec' }> | null;
  if (a === null) throw refuse(view, 'no grouped aggregate');
  let source: string | null = null;
  const below = (p: PhysicalPlan): void => {
    if (p.kind === 'FilterExec' || p.kind === 'ProjectExec') return below(p.input);
    if (p.kind !== 'ScanExec' || p.relationKind !== 'source' || !p.appendOnly) throw refuse(view, `its aggregate reads ${p.kind === 'ScanExec' ? `${p.relationKind} "${p.relation}"` : p.kind}, not one source`);
    source = p.relation;
  };
  below(a.input);
  return { stage1: a.input, stage2, agg: a, source: source! };
}
