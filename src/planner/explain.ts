/** EXPLAIN text for logical and physical plans: one node per line, indented by depth. */
import { assertNever } from '../common/errors.js';
import { typeDisplayName } from '../common/types.js';
import { showAgg, showExpr } from './expr.js';
import type { LogicalPlan } from './logical.js';
import type { PhysicalPlan } from './physical.js';

function mode(appendOnly: boolean): string {
  return appendOnly ? 'append-only' : 'updating';
}

function names(p: { schema: readonly { name: string }[] }): string[] {
  return p.schema.map((f) => f.name);
}

export function explainLogical(p: LogicalPlan, depth = 0): string[] {
  const pad = '  '.repeat(depth);
  let line: string;
  let kids: readonly LogicalPlan[] = [];
  switch (p.kind) {
    case 'scan':
      line = `Scan: ${p.relation} (${p.relationKind}) columns=[${p.schema.map((f) => f.name).join(', ')}]`;
      break;
    case 'filter':
      line = `Filter: ${showExpr(p.predicate, names(p.input))}`;
      kids = [p.input];
      break;
    case 'project':
      line = `Project: ${p.exprs.map((e, i) => `${showExpr(e, names(p.input))} AS ${p.schema[i]!.name}`).join(', ')}`;
      kids = [p.input];
      break;
    case 'aggregate':
      line = `Aggregate: group=[${p.groupKeys.map((k) => showExpr(k, names(p.input))).join(', ')}] aggs=[${p.aggs.map((a) => showAgg(a, names(p.input))).join(', ')}]`;
      kids = [p.input];
      break;
    case 'union':
      line = 'Union All';
      kids = p.inputs;
      break;
    case 'values':
      line = `Values: ${p.rows.length} row(s)`;
      break;
    default:
      return assertNever(p);
  }
  return [`${pad}${line}  [${mode(p.appendOnly)}]`, ...kids.flatMap((k) => explainLogical(k, depth + 1))];
}

export function explainPhysical(p: PhysicalPlan, depth = 0): string[] {
  const pad = '  '.repeat(depth);
  let line: string;
  let kids: readonly PhysicalPlan[] = [];
  switch (p.kind) {
    case 'ScanExec':
      line = `ScanExec: ${p.relation} columns=[${p.schema.map((f) => `${f.name} ${typeDisplayName(f.type)}`).join(', ')}]`;
      break;
    case 'FilterExec':
      line = `FilterExec: ${showExpr(p.predicate, names(p.input))}`;
      kids = [p.input];
      break;
    case 'ProjectExec':
      line = `ProjectExec: ${p.exprs.map((e, i) => `${showExpr(e, names(p.input))} AS ${p.schema[i]!.name}`).join(', ')}`;
      kids = [p.input];
      break;
    case 'HashAggExec': {
      const keys = p.groupKeys.map((k) => showExpr(k, names(p.input))).join(', ');
      const aggs = p.aggs.map((a) => showAgg(a, names(p.input))).join(', ');
      const needsValues = p.aggs.some((a) => a.distinct || (p.retracting && (a.fn === 'min' || a.fn === 'max')));
      const state = `state=[group table (${p.keyStrategy} keys): row count${p.aggs.length ? ', one accumulator per aggregate' : ''}${needsValues ? ', value multisets for DISTINCT/min/max' : ''}]`;
      line = `HashAggExec: keys=[${keys}] aggs=[${aggs}] input=${p.retracting ? 'retracting' : 'append-only'} ${state}`;
      kids = [p.input];
      break;
    }
    case 'UnionExec':
      line = 'UnionExec';
      kids = p.inputs;
      break;
    case 'ValuesExec':
      line = `ValuesExec: ${p.rows.length} row(s)`;
      break;
    default:
      return assertNever(p);
  }
  return [`${pad}${line}  [${mode(p.appendOnly)}]`, ...kids.flatMap((k) => explainPhysical(k, depth + 1))];
}
