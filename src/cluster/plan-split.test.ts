import { describe, expect, it } from 'vitest';
import { createEngine } from '../exec/runtime/engine.js';
import type { EngineState } from '../exec/runtime/state.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { EXCHANGE_RELATION, splitPlan } from './plan-split.js';

/** The physical plan of a view made over a datagen source (the split does not look at the connector). */
async function planOf(query: string): Promise<PhysicalPlan> {
  const e = await createEngine({ autoStart: false });
  try {
    await e.execute("CREATE SOURCE ev (id BIGINT, k VARCHAR, v BIGINT) WITH (connector = 'datagen', rows_per_second = 10, max_rows = 10)");
    await e.execute("CREATE TABLE dim (k VARCHAR PRIMARY KEY, label VARCHAR)");
    await e.execute(`CREATE MATERIALIZED VIEW v AS ${query}`);
    return (e as unknown as { state: EngineState }).state.views.get('v')!.planned.physical;
  } finally {
    await e.close();
  }
}

describe('cutting a view for the cluster at its exchange', () => {
  it('puts the filters and projections under the aggregate in stage 1 and scans the exchange in stage 2', async () => {
    const plan = await planOf('SELECT k, count(*) AS n, sum(v * 2) AS s FROM ev WHERE v > 0 GROUP BY k HAVING count(*) > 1');
    const split = splitPlan('v', plan);
    expect(split.source).toBe('ev');
    expect(split.agg.groupKeys.length).toBe(1);
    // Stage 1 ends at the aggregate's input; stage 2 reads that input's rows from the exchange.
    expect(split.stage1).toBe(split.agg.input);
    const scans: string[] = [];
    const visit = (p: PhysicalPlan): void => {
      if (p.kind === 'ScanExec') scans.push(p.relation);
      if ('input' in p && p.input) visit(p.input as PhysicalPlan);
    };
    visit(split.stage2);
    expect(scans).toEqual([EXCHANGE_RELATION]);
    expect(split.stage2.schema).toEqual(plan.schema);
  });

  it.each([
    ['an aggregate without GROUP BY', 'SELECT count(*) AS n FROM ev', /one group/],
    ['no aggregate', 'SELECT id, v FROM ev WHERE v > 1', /ProjectExec|FilterExec|ScanExec/],
    ['top-N', 'SELECT id, v FROM ev ORDER BY v DESC LIMIT 3', /TopNExec/],
    ['a join with a table', 'SELECT d.label, count(*) AS n FROM ev JOIN dim d ON ev.k = d.k GROUP BY d.label', /HashJoinExec|not one source/],
    ['a window aggregate', "SELECT window_start, k, count(*) AS n FROM TUMBLE(ev, PROCTIME(), INTERVAL '1' SECOND) GROUP BY window_start, k", /WindowAggExec|Window/],
  ])('refuses %s (not_supported: 0A000)', async (_what, query, why) => {
    const plan = await planOf(query);
    let err: unknown = null;
    try {
      splitPlan('v', plan);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ category: 'not_supported' });
    expect(String((err as Error).message)).toMatch(why);
  });
});
