/**
 * EXPLAIN: the plan of a CREATE MATERIALIZED VIEW (with the state tables its operators would
 * declare) or of a SELECT (the plan it would have as a view).
 */
import { SluiceError } from '../../common/errors.js';
import { relationsOf, type Statement } from '../../parser/index.js';
import { explainText, planQuery, uniqueKey, type PlannedQuery } from '../../planner/index.js';
import { explainState, Pipeline } from '../pipeline.js';
import type { LookupService } from './lookup-service.js';
import { modelNote, modelSchema, ModelState, ModelTrainOp } from '../ml/model.js';
import { modelSpec } from '../ml/spec.js';
import type { EngineState, StatementResult } from './state.js';
import { retentionText, viewRetention } from './retention.js';
import type { Retention } from '../view-store.js';
import { KIND_LABEL } from '../../catalog/index.js';
import type { TimeZone } from '../../common/time-zone.js';
import { viewParallelism } from './ddl.js';

/** Answers EXPLAIN of `stmt` (a CREATE MATERIALIZED VIEW or a SELECT) as rows of plan text. */
export async function explain(state: EngineState, lookup: LookupService, stmt: Statement, sql: string, zone: TimeZone): Promise<StatementResult> {
  let planned: PlannedQuery;
  let header: string[];
  if (stmt.kind === 'create_view') {
    planned = planQuery(stmt.query, state.catalog, sql, { emitOnWindowClose: stmt.emitOnWindowClose, windowPanes: state.settings.windowPanes, lookupStrategy: await lookup.strategies(relationsOf(stmt.query)), zone });
    const retention = viewRetention(stmt.name, stmt.options.retention, planned, state.catalog);
    header = [`MaterializeExec: ${stmt.name} [${materializeMode(planned, readsStream(state, relationsOf(stmt.query)), retention)}]`];
  } else if (stmt.kind === 'create_sink' && stmt.query) {
    planned = planQuery(stmt.query.query, state.catalog, sql, { emitOnWindowClose: stmt.query.emitOnWindowClose, windowPanes: state.settings.windowPanes, lookupStrategy: await lookup.strategies(relationsOf(stmt.query.query)) });
    const lines = explainText(planned, [`SinkExec: ${stmt.name} [${sinkMode(planned, stmt.options)}]`]);
    lines.push(...explainState(new Pipeline(stmt.name, planned.physical, () => undefined)));
    return { kind: 'rows', tag: `EXPLAIN ${lines.length}`, columns: [{ name: 'QUERY PLAN', type: 'varchar' }], rows: lines.map((l) => [l]) };
  } else if (stmt.kind === 'create_sink') {
    const from = state.catalog.relation(stmt.from!);
    const line = `SinkExec: ${stmt.name} [connector ${stmt.options.connector ?? '(none)'}; the changes of ${KIND_LABEL[from.kind]} ${from.name}; nothing kept but its outbox]`;
    return { kind: 'rows', tag: 'EXPLAIN 1', columns: [{ name: 'QUERY PLAN', type: 'varchar' }], rows: [[line]] };
  } else if (stmt.kind === 'create_model') {
    planned = planQuery(stmt.query, state.catalog, sql, { windowPanes: state.settings.windowPanes, lookupStrategy: await lookup.strategies(relationsOf(stmt.query)) });
    const spec = modelSpec(stmt.name, stmt.options, stmt.optionPositions, planned.optimized.schema, () => undefined);
    const model = new ModelState(stmt.name, spec);
    const lines = explainText(planned, [
      `ModelTrainExec: ${stmt.name} [${modelNote(spec)}]`,
      `  trains once per epoch on the query's new rows${planned.optimized.appendOnly ? '' : ' (REFUSED: the query is not append-only)'}; rows (${modelSchema(spec).map((f) => f.name).join(', ')})`,
    ]);
    lines.push(...explainState(new Pipeline(stmt.name, planned.physical, () => undefined, (id) => new ModelTrainOp(id, model))));
    return { kind: 'rows', tag: `EXPLAIN ${lines.length}`, columns: [{ name: 'QUERY PLAN', type: 'varchar' }], rows: lines.map((l) => [l]) };
  } else if (stmt.kind === 'select') {
    planned = planQuery(stmt.query, state.catalog, sql, { zone });
    header = ['One-shot SELECT: runs in DuckDB over a snapshot; the plan it would have as a view:'];
  } else throw new SluiceError('not_supported', `EXPLAIN ${stmt.kind} is not supported`, { hint: 'EXPLAIN takes CREATE MATERIALIZED VIEW, CREATE SINK, CREATE MODEL or SELECT.' });
  const lines = explainText(planned, header);
  if (stmt.kind === 'create_view') {
    const pipeline = new Pipeline(stmt.name, planned.physical, () => undefined, undefined, { parallelism: viewParallelism(state, stmt.options), threads: false });
    lines.push(...explainState(pipeline), ...pipeline.explainDistribution());
  }
  return { kind: 'rows', tag: `EXPLAIN ${lines.length}`, columns: [{ name: 'QUERY PLAN', type: 'varchar' }], rows: lines.map((l) => [l]) };
}

/** Whether any of `relations` is a source, or a view or model reading one (an input without end). */
function readsStream(state: EngineState, relations: readonly string[], seen = new Set<string>()): boolean {
  for (const name of relations) {
    if (seen.has(name)) continue;
    seen.add(name);
    const e = state.catalog.get(name);
    if (e?.kind === 'source') return true;
    if ((e?.kind === 'view' || e?.kind === 'model') && readsStream(state, e.dependsOn, seen)) return true;
  }
  return false;
}

/** How a view's store keeps its rows, for the MaterializeExec line. */
function materializeMode(p: PlannedQuery, overStream: boolean, retention: Retention | null): string {
  // Every row an append-only view emits stays (unless retention drops it): over a source, the view grows with its input.
  if (p.optimized.appendOnly && retention) return `append-only: rows kept as batches; ${retentionText(retention, p)}`;
  if (p.optimized.appendOnly) return overStream ? 'append-only: rows kept as batches; unbounded: grows with every input row of its sources — set WITH (retention = …)' : 'append-only: rows kept as batches';
  const key = uniqueKey(p.optimized);
  if (key === null) return 'updating: row multiset';
  return `updating: keyed by (${key.map((k) => p.optimized.schema[k]!.name).join(', ')})`;
}

/** What a query sink keeps and sends, for the SinkExec line. */
function sinkMode(p: PlannedQuery, options: Readonly<Record<string, string>>): string {
  const key = uniqueKey(p.optimized);
  const changes = p.optimized.appendOnly ? 'append-only changes' : key && key.length ? `upserts keyed by (${key.map((k) => p.optimized.schema[k]!.name).join(', ')})` : 'changes (inserts and deletes)';
  return `connector ${options.connector ?? '(none)'}; ${changes}; no view store: only the operators' state is kept`;
}
