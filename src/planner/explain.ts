/** EXPLAIN text for logical and physical plans: one node per line, indented by depth. */
import { assertNever } from '../common/errors.js';
import { typeDisplayName } from '../common/types.js';
import { AGGREGATE_SIGNATURES, type AggregateSignature } from './aggregate-signatures.js';
import { showAgg, showExpr, type AggCall } from './expr.js';
import type { FrameEdge, LogicalPlan, OverWindowCore, SetCall, SortKey, WindowCall, WindowSpec } from './logical.js';
import { WINDOW_KINDS } from '../functions/window/index.js';
import type { PhysicalPlan } from './physical.js';
import { showTemporal } from './temporal.js';

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
    case 'row_number':
      line = `RowNumber: partition=[${p.partitionBy.map((k) => showExpr(k, names(p.input))).join(', ')}] order=[${showSort(p.orderBy, names(p.input))}]`;
      kids = [p.input];
      break;
    case 'top_n':
      line = `TopN: partition=[${p.partitionBy.map((k) => showExpr(k, names(p.input))).join(', ')}] order=[${showSort(p.orderBy, names(p.input))}] offset=${p.offset} limit=${p.limit}${p.withTies ? ' with ties' : ''}${p.rank ? ' +rank' : ''}`;
      kids = [p.input];
      break;
    case 'join': {
      const all = [...names(p.left), ...names(p.right)];
      const keys = p.leftKeys.map((k, i) => `${showExpr(k, names(p.left))} = ${showExpr(p.rightKeys[i]!, names(p.right))}`).join(', ');
      line = `Join: ${p.joinType}${p.lookup ? ' lookup (table as of each epoch)' : ''} keys=[${keys}]${p.residual ? ` condition=${showExpr(p.residual, all)}` : ''}`;
      kids = [p.left, p.right];
      break;
    }
    case 'window':
      line = `Window: ${showWindow(p.window, names(p.input))}`;
      kids = [p.input];
      break;
    case 'project_set':
      line = `ProjectSet: ${showSetCalls(p.calls, p.ordinality, p.outer, names(p.input))}${showKeep(p.keep, names(p.input))}`;
      kids = [p.input];
      break;
    case 'over_window':
      line = `OverWindow: ${showOverWindow(p, names(p.input))}`;
      kids = [p.input];
      break;
    case 'temporal_filter':
      line = `TemporalFilter: ${showTemporal(p.conditions, names(p.input))}`;
      kids = [p.input];
      break;
    case 'window_aggregate':
      line = `WindowAggregate: ${showWindow(p.window, names(p.input))} group=[${groupList(p.roles, p.keys.map((k) => showExpr(k, names(p.input))))}] aggs=[${p.aggs.map((a) => showAgg(a, names(p.input))).join(', ')}]${p.emitOnClose ? ' emit=on-window-close' : ''}`;
      kids = [p.input];
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
      const keepsRows = (a: AggCall) => !!(AGGREGATE_SIGNATURES[a.fn] as AggregateSignature).alwaysKeepsValues;
      const needsValues = p.aggs.some((a) => !keepsRows(a) && (a.distinct || (p.retracting && AGGREGATE_SIGNATURES[a.fn].keepsValuesWhenRetracting)));
      const rows = p.aggs.some(keepsRows);
      const state = `state=[group table (${p.keyStrategy} keys): row count${p.aggs.length ? ', one accumulator per aggregate' : ''}${needsValues ? ', value multisets for DISTINCT/min/max' : ''}${rows ? ', input row multisets for order-sensitive aggregates' : ''}]`;
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
    case 'TopNExec':
      line = `TopNExec: partition=[${p.partitionBy.map((k) => showExpr(k, names(p.input))).join(', ')}] order=[${showSort(p.orderBy, names(p.input))}] offset=${p.offset} limit=${p.limit}${p.withTies ? ' with ties' : ''}${p.rank ? ' +rank' : ''} state=[${p.retracting ? 'every row per partition (deletes can promote rows)' : 'the top offset+limit rows per partition (append-only input)'}; emitted rows per partition]`;
      kids = [p.input];
      break;
    case 'HashJoinExec': {
      const all = [...names(p.left), ...names(p.right)];
      const keys = p.leftKeys.map((k, i) => `${showExpr(k, names(p.left))} = ${showExpr(p.rightKeys[i]!, names(p.right))}`).join(', ');
      const outer = p.joinType === 'left' || p.joinType === 'full' ? 'left rows with match counts (NULL-padded rows retracted when a match arrives)' : 'left rows';
      const outerR = p.joinType === 'right' || p.joinType === 'full' ? 'right rows with match counts' : 'right rows';
      line = p.lookupStrategy === 'duckdb'
        ? `HashJoinExec: ${p.joinType} lookup strategy=duckdb keys=[${keys}] state=[none: each epoch's stream rows are joined with ${p.lookupTable!.name} inside DuckDB]`
        : p.lookup
        ? `HashJoinExec: ${p.joinType} lookup strategy=js-hash-index keys=[${keys}]${p.residual ? ` condition=${showExpr(p.residual, all)}` : ''} state=[table rows by key, kept current from the table's changelog; stream rows are not kept]`
        : `HashJoinExec: ${p.joinType} keys=[${keys}]${p.residual ? ` condition=${showExpr(p.residual, all)}` : ''} state=[${outer} by key; ${outerR} by key]${p.timeBound ? ` cleanup=[drop a left row once the watermark reaches ${names(p.left)[p.timeBound.left.col]} + ${p.timeBound.left.offset} us, a right row at ${names(p.right)[p.timeBound.right.col]} + ${p.timeBound.right.offset} us; rows already past it are late]` : ''}`;
      kids = [p.left, p.right];
      break;
    }
    case 'OverWindowExec':
      line = `OverWindowExec: ${showOverWindow(p, names(p.input))} state=[every input row per partition (with the PARTITION BY/ORDER BY/argument values that are not plain columns) and its count; a changed partition is recomputed and only its changed rows are emitted]`;
      kids = [p.input];
      break;
    case 'ProjectSetExec':
      line = `ProjectSetExec: ${showSetCalls(p.calls, p.ordinality, p.outer, names(p.input))}${showKeep(p.keep, names(p.input))} state=[none: each input row expands into its rows with the row's weight, so a delete retracts exactly what its insert produced]`;
      kids = [p.input];
      break;
    case 'TemporalFilterExec':
      line = `TemporalFilterExec: ${showTemporal(p.conditions, names(p.input))} (now() = the epoch's batch time T_n) state=[rows waiting to enter or to leave, by the batch time they do: time, row, weight; a row enters when T_n reaches valid_from and leaves when T_n reaches valid_until]`;
      kids = [p.input];
      break;
    case 'WindowExec':
    {
      const tagging = WINDOW_KINDS[p.window.kind].tagging;
      line = `WindowExec: ${showWindow(p.window, names(p.input))}${tagging.kind === 'tag' ? tagging.note(p.window) : ''}`;
      kids = [p.input];
      break;
    }
    case 'WindowAggExec': {
      const agg = WINDOW_KINDS[p.window.kind].aggregation;
      const wm = p.window.watermark;
      const wmText = wm === null ? 'none (windows never close; state grows with time)' : wm === 'proctime' ? 'processing time (batch time T_n)' : `${wm.relation}.${wm.column}`;
      const cleanup = wm === null ? 'none' : agg.cleanup;
      const panes = agg.state(p.window, p.pane);
      line = `WindowAggExec: ${showWindow(p.window, names(p.input))} group=[${groupList(p.roles, p.keys.map((k) => showExpr(k, names(p.input))))}] aggs=[${p.aggs.map((a) => showAgg(a, names(p.input))).join(', ')}] emit=${p.emitOnClose ? 'on-window-close' : 'updating'} input=${p.retracting ? 'retracting' : 'append-only'} state=[${panes}] watermark=${wmText} late-rows=dropped and counted cleanup=[${cleanup}]`;
      kids = [p.input];
      break;
    }
    default:
      return assertNever(p);
  }
  return [`${pad}${line}  [${mode(p.appendOnly)}]`, ...kids.flatMap((k) => explainPhysical(k, depth + 1))];
}

function showSetCalls(calls: readonly SetCall[], ordinality: boolean, outer: boolean, inputNames: readonly string[]): string {
  const list = calls.map((c) => `${c.fn}(${c.args.map((a) => showExpr(a, inputNames)).join(', ')})`).join(', ');
  return `[${list}]${calls.length > 1 ? ' zipped' : ''}${ordinality ? ' WITH ORDINALITY' : ''}${outer ? ' outer (a row that expands to nothing keeps one row of NULLs)' : ''}`;
}

/** The input columns a ProjectSet carries, when it does not carry them all. */
function showKeep(keep: readonly number[], inputNames: readonly string[]): string {
  return keep.length === inputNames.length ? '' : ` carry=[${keep.map((i) => inputNames[i]).join(', ')}]`;
}

function showWindow(w: WindowSpec, inputNames: readonly string[]): string {
  return WINDOW_KINDS[w.kind].show(w, showExpr(w.time, inputNames));
}

function groupList(roles: readonly string[], keys: readonly string[]): string {
  let k = 0;
  return roles.map((r) => (r === 'key' ? keys[k++]! : r)).join(', ');
}

function showSort(keys: readonly SortKey[], inputNames: readonly string[]): string {
  return keys.map((k) => `${showExpr(k.expr, inputNames)}${k.desc ? ' DESC' : ''}${k.nullsFirst !== k.desc ? (k.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST') : ''}`).join(', ');
}

/** An OverWindow node's window and calls: `partition=[…] order=[…] calls=[sum(v) ROWS …, …]`. */
function showOverWindow<P>(p: OverWindowCore<P>, inputNames: readonly string[]): string {
  const n = inputNames.length;
  const calls = p.calls.map((c, k) => `${showWindowCall(c, inputNames)} AS ${p.schema[n + k]!.name}`).join(', ');
  return `partition=[${p.partitionBy.map((k) => showExpr(k, inputNames)).join(', ')}] order=[${showSort(p.orderBy, inputNames)}] calls=[${calls}]`;
}

const RANKING: ReadonlySet<string> = new Set(['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead']);

function showWindowCall(c: WindowCall, inputNames: readonly string[]): string {
  const name = c.fn === 'count_star' ? 'count' : c.fn;
  const args = c.fn === 'count_star' ? '*' : c.args.map((a) => showExpr(a, inputNames)).join(', ');
  if (RANKING.has(c.fn)) return `${name}(${args})`;
  const edge = (e: FrameEdge): string => {
    switch (e.kind) {
      case 'unbounded_preceding':
        return 'UNBOUNDED PRECEDING';
      case 'unbounded_following':
        return 'UNBOUNDED FOLLOWING';
      case 'current_row':
        return 'CURRENT ROW';
      default:
        return e.value ? `OFFSET ${e.kind === 'preceding' ? 'PRECEDING' : 'FOLLOWING'} (bound ${showExpr(e.value, inputNames)})` : `${e.rows} ${e.kind === 'preceding' ? 'PRECEDING' : 'FOLLOWING'}`;
    }
  };
  return `${name}(${args}) ${c.frame.mode.toUpperCase()} BETWEEN ${edge(c.frame.start)} AND ${edge(c.frame.end)}`;
}
