/**
 * Moving a view's state to another parallelism. Every row a keyed operator keeps belongs to the
 * key group of its distribution key (exchange.ts), and instance s of parallelism p owns a fixed
 * range of key groups; so state moves by reading each row's key group from the row itself and
 * handing it to the instance that owns that group at the new parallelism:
 *
 *   old instances' table t ──► rows ──► key columns of each row ──► key group ──► new owner
 *
 * Where a table keeps the key's values (aggregates: the group key leads every table; windowed
 * aggregates: the keys lead their tables, and the emitted rows hold them at their key columns)
 * they are read as they are; where it keeps input rows (join sides, top-N and OVER window
 * inputs, and top-N's emitted rows, which lead with the input row) the distribution key's
 * expressions are evaluated over them again, as the exchange evaluated them over the input.
 *
 * Nodes that run wherever their input runs keep no keyed state, except a temporal filter over a
 * keyed operator's output: its rows belong to the key groups of that operator, which the
 * filter's rows do not name. Such a view is refused (at a parallelism that splits it).
 */
import type { Batch, Column } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { PhysicalPlan } from '../planner/physical.js';
import type { BoundExpr } from '../planner/expr.js';
import { compile } from './eval.js';
import { splitByOwner } from './exchange.js';
import { RESTORE_CTX } from './join.js';
import type { Operator } from './operator.js';
import type { StateTableSpec } from './state/state-table.js';

/** A pipeline node as rescaling sees it: its plan and its instances (stand-ins for those in worker threads). */
export interface NodeInstances {
  readonly id: string;
  readonly plan: PhysicalPlan | null;
  readonly instances: readonly Operator[];
}

/** The columns of a state table's rows (`rows`, in the table's schema) that hold their distribution key, in the key's order. */
export function stateKeyColumns(plan: PhysicalPlan, spec: StateTableSpec, rows: Batch): Column[] {
  const prefix = (width: number): Batch => ({ columns: rows.columns.slice(0, width), length: rows.length, weights: null });
  const evaluate = (exprs: readonly BoundExpr[], width: number): Column[] => {
    const b = prefix(width);
    return exprs.map((e) => compile(e)(b, RESTORE_CTX));
  };
  switch (plan.kind) {
    case 'HashAggExec':
      return rows.columns.slice(0, plan.groupKeys.length);
    case 'WindowAggExec': {
      if (spec.name !== 'emitted') return rows.columns.slice(0, plan.keys.length);
      const at: number[] = [];
      plan.roles.forEach((r, i) => {
        if (r === 'key') at.push(i);
      });
      return at.map((i) => rows.columns[i]!);
    }
    case 'HashJoinExec':
      // `emitted` (a lookup join over a retracting stream) leads with the stream row, as `left` is.
      if (spec.name === 'left' || spec.name === 'emitted') return evaluate(plan.leftKeys, plan.left.schema.length);
      if (spec.name === 'right') return evaluate(plan.rightKeys, plan.right.schema.length);
      break;
    case 'TopNExec':
      // `input` holds input rows; `emitted` output rows, which lead with the input row.
      return evaluate(plan.partitionBy, plan.input.schema.length);
    case 'OverWindowExec':
      return evaluate(plan.partitionBy, plan.input.schema.length);
    default:
      break;
  }
  throw new SluiceError('internal', `no distribution key is known for state table ${spec.name} of ${plan.kind}`);
}

const columnsText = (s: StateTableSpec) => s.schema.map((f) => `${f.name}:${f.type}`).join(',');

/**
 * Moves the state of every operator of `from` into `to`, a pipeline of the same plan built at
 * any parallelism (instances in worker threads must have been fetched: fetchState(false)).
 * A node with as many instances on both sides moves instance by instance; otherwise each
 * table's rows go to the instance owning their key group.
 */
export function rescaleState(view: string, from: readonly NodeInstances[], to: readonly NodeInstances[]): void {
  const fits = from.length === to.length && from.every((a, i) => {
    const b = to[i]!;
    const x = a.instances[0];
    const y = b.instances[0];
    return a.id === b.id && x !== undefined && y !== undefined && x.name === y.name && x.state.length === y.state.length &&
      x.state.every((t, j) => t.spec.name === y.state[j]!.spec.name && columnsText(t.spec) === columnsText(y.state[j]!.spec));
  });
  if (!fits) {
    throw new SluiceError('not_supported', `the state of materialized view "${view}" does not fit its plan at the new parallelism`, {
      hint: `Drop "${view}" and create it again at the parallelism you want (SHOW CREATE MATERIALIZED VIEW ${view} gives its statement).`,
    });
  }
  from.forEach((a, i) => {
    const b = to[i]!;
    const olds = a.instances;
    const news = b.instances;
    const tables = olds[0]!.state.length;
    if (tables === 0) return;
    if (olds.length === news.length) {
      olds.forEach((op, s) => op.state.forEach((t, j) => news[s]!.state[j]!.restore(t.snapshot())));
      return;
    }
    for (let j = 0; j < tables; j++) {
      const rows = olds.flatMap((op) => op.state[j]!.snapshot());
      if (news.length === 1) {
        news[0]!.state[j]!.restore(rows);
        continue;
      }
      const plan = b.plan;
      if (plan === null || !KEYED.has(plan.kind)) {
        throw new SluiceError('not_supported', `materialized view "${view}" keeps per-row state in ${b.id} (${olds[0]!.name}) over a keyed operator's output, which cannot move to ${news.length} instances yet`, {
          hint: `Keep its parallelism, or drop "${view}" and create it again at the parallelism you want (SHOW CREATE MATERIALIZED VIEW ${view} gives its statement).`,
        });
      }
      const spec = olds[0]!.state[j]!.spec;
      const parts: Batch[][] = news.map(() => []);
      for (const batch of rows) {
        if (batch.length === 0) continue;
        splitByOwner(batch, stateKeyColumns(plan, spec, batch), news.length).forEach((p, s) => {
          if (p) parts[s]!.push(p);
        });
      }
      news.forEach((op, s) => op.state[j]!.restore(parts[s]!));
    }
  });
}

/** Node kinds whose instances own key groups (the hash-distributed ones, see distributionOf). */
const KEYED = new Set<PhysicalPlan['kind']>(['HashAggExec', 'WindowAggExec', 'HashJoinExec', 'TopNExec', 'OverWindowExec']);
