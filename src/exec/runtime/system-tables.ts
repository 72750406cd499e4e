/**
 * The `sluice.*` system tables: the monitor's figures (monitor.ts) as relations an ad-hoc
 * SELECT reads over pg-wire like any table — `sluice.epochs`, `sluice.sources`, `sluice.views`,
 * `sluice.operators`, `sluice.sinks`, `sluice.checkpoints`, `sluice.models`, `sluice.functions`,
 * `sluice.workers` (the shard worker threads of parallel views), `sluice.cluster_members` (cluster
 * mode: each cluster view's members and the partitions the group gave each).
 *
 * In DuckDB, `sluice` is a small in-memory database attached at start (duck.ts) holding one
 * view per system table over a temp table of the querying connection (`temp.main."sluice.x"`).
 * A SELECT that names a system table fills that connection's temp table from a fresh monitor
 * snapshot first, so each connection reads its own consistent copy. They are not in the
 * catalog, so psql's `\d` does not list them.
 */
import type { Field, Schema, Value } from '../../common/types.js';
import type { Monitor } from './monitor.js';

/** The system schema's name. */
export const SYSTEM_SCHEMA = 'sluice';

type SystemTableName = 'epochs' | 'sources' | 'views' | 'operators' | 'sinks' | 'checkpoints' | 'models' | 'functions' | 'workers' | 'cluster_members';

interface SystemTable {
  readonly schema: Schema;
  rows(m: Monitor): Value[][];
}

const f = (name: string, type: Field['type']): Field => ({ name, type });
const big = (n: number | null): bigint | null => (n === null ? null : BigInt(Math.round(n)));
/** An ISO timestamp as the µs a `timestamp` value holds. */
const ts = (iso: string | null): bigint | null => (iso === null ? null : BigInt(Date.parse(iso)) * 1000n);

/** Every system table: its columns and its rows from a monitor. */
export const SYSTEM_TABLES: { readonly [K in SystemTableName]: SystemTable } = {
  epochs: {
    schema: [f('epoch', 'bigint'), f('batch_time', 'timestamp'), f('rows_in', 'bigint'), f('rows_out', 'bigint'), f('processing_ms', 'double'),
      f('scheduling_delay_ms', 'double'), f('dead_letters', 'bigint'), f('row_errors', 'bigint'), f('ranges', 'varchar')],
    rows: (m) => m.epochs().map((e) => [BigInt(e.epoch), ts(e.batchTime), big(e.rowsIn), big(e.rowsOut), e.processingMs, e.schedulingDelayMs,
      big(e.deadLetters), big(e.rowErrors), JSON.stringify(e.ranges)]),
  },
  sources: {
    schema: [f('name', 'varchar'), f('connector', 'varchar'), f('rows', 'bigint'), f('rows_per_second', 'double'), f('dead_letters', 'bigint'),
      f('errors_table', 'varchar'), f('late_rows', 'bigint'), f('watermark', 'timestamp'), f('lag', 'bigint'), f('rate_limit', 'double'), f('last_range', 'varchar')],
    rows: (m) => m.sources().map((s) => [s.name, s.connector, big(s.rows), s.rate, big(s.deadLetters), s.errorsTable, big(s.lateRows), ts(s.watermark),
      big(s.lag.reduce((n, p) => n + p.lag, 0)), s.rateLimit, JSON.stringify(s.lastRange)]),
  },
  views: {
    schema: [f('name', 'varchar'), f('rows', 'bigint'), f('state_rows', 'bigint'), f('state_bytes', 'bigint'), f('late_rows', 'bigint'),
      f('row_errors', 'bigint'), f('watermark', 'timestamp'), f('append_only', 'boolean'), f('failed', 'varchar'), f('sql', 'varchar'), f('parallelism', 'int')],
    rows: (m) => m.views().filter((v) => v.kind === 'view').map((v) => [v.name, big(v.rows), big(v.stateRows), big(v.stateBytes), big(v.lateRows), big(v.rowErrors), ts(v.watermark),
      v.appendOnly, v.failed, v.sql, v.parallelism]),
  },
  operators: {
    schema: [f('view', 'varchar'), f('operator_id', 'varchar'), f('name', 'varchar'), f('parent_id', 'varchar'), f('rows_in', 'bigint'),
      f('rows_out', 'bigint'), f('epoch_rows_in', 'bigint'), f('epoch_rows_out', 'bigint'), f('state_rows', 'bigint'), f('state_bytes', 'bigint')],
    // A query sink's operators are listed under the sink's name.
    rows: (m) => [...m.views(), ...m.sinks()].flatMap((v) => v.operators.map((o) => [o.view, o.id, o.name, o.parent, big(o.rowsIn), big(o.rowsOut),
      big(o.epochRowsIn), big(o.epochRowsOut), big(o.stateRows), big(o.stateBytes)])),
  },
  sinks: {
    schema: [f('name', 'varchar'), f('from', 'varchar'), f('connector', 'varchar'), f('rows_written', 'bigint'), f('pending_epochs', 'bigint'),
      f('delivered_epoch', 'bigint'), f('error', 'varchar'), f('state_rows', 'bigint')],
    rows: (m) => m.sinks().map((s) => [s.name, s.from, s.connector, big(s.rowsWritten), big(s.pendingEpochs), big(s.deliveredEpoch), s.error, big(s.stateRows)]),
  },
  models: {
    schema: [f('name', 'varchar'), f('type', 'varchar'), f('features', 'varchar'), f('label', 'varchar'), f('batches', 'bigint'), f('points', 'bigint'),
      f('skipped_rows', 'bigint'), f('last_loss', 'double'), f('error', 'varchar'), f('sql', 'varchar')],
    rows: (m) => m.models().map((x) => [x.name, x.type, x.features.join(', '), x.label, big(x.batches), big(x.points), big(x.skippedRows), x.lastLoss, x.error, x.sql]),
  },
  functions: {
    schema: [f('name', 'varchar'), f('arguments', 'varchar'), f('returns', 'varchar'), f('volatility', 'varchar'), f('strict', 'boolean'), f('body', 'varchar'), f('sql', 'varchar')],
    rows: (m) => m.functions().map((x) => [x.name, x.arguments, x.returns, x.volatility, x.strict, x.body, x.sql]),
  },
  workers: {
    schema: [f('worker', 'int'), f('status', 'varchar'), f('busy', 'double'), f('views', 'int'), f('view_names', 'varchar'), f('pipelines', 'int')],
    rows: (m) => m.workers().map((w) => [w.worker, w.status, w.busy, w.views.length, w.views.join(', '), w.pipelines]),
  },
  cluster_members: {
    schema: [f('view_name', 'varchar'), f('member', 'varchar'), f('host', 'varchar'), f('self', 'boolean'), f('source_partitions', 'varchar'), f('exchange_partitions', 'varchar'),
      f('source_lag', 'bigint'), f('exchange_lag', 'bigint'), f('rebalances', 'int'), f('copy_lag', 'bigint'), f('changes_read', 'bigint')],
    rows: (m) => m.clusterMembers().map((r) => [r.view, r.member, r.host, r.self, r.sourcePartitions, r.exchangePartitions, big(r.sourceLag), big(r.exchangeLag), r.rebalances, r.copyLag === null ? null : big(r.copyLag), r.changesRead === null ? null : big(r.changesRead)]),
  },
  checkpoints: {
    schema: [f('id', 'bigint'), f('epoch', 'bigint'), f('created_at', 'timestamp'), f('bytes', 'bigint'), f('views_written', 'int'), f('views_as_delta', 'int'), f('duration_ms', 'double')],
    rows: (m) => m.checkpoints().map((c) => [BigInt(c.id), BigInt(c.epoch), ts(c.createdAt), big(c.bytes), c.viewsWritten, c.viewsAsDelta, c.durationMs]),
  },
};

/** The system table a relation name (`sluice.epochs`) names, or null. */
export function systemTable(rel: string): { readonly name: SystemTableName; readonly table: SystemTable } | null {
  const prefix = `${SYSTEM_SCHEMA}.`;
  if (!rel.startsWith(prefix)) return null;
  const name = rel.slice(prefix.length);
  return Object.hasOwn(SYSTEM_TABLES, name) ? { name: name as SystemTableName, table: SYSTEM_TABLES[name as SystemTableName] } : null;
}

/** The temp table of a connection behind a system table's view. */
export function systemTempName(name: SystemTableName): string {
  return `${SYSTEM_SCHEMA}.${name}`;
}

/** Statements that attach the `sluice` database and define its views (run once, at start). */
export function systemTableSetup(quote: (name: string) => string, createTemp: (name: string, schema: Schema) => string): string[] {
  const out = [`ATTACH ':memory:' AS ${SYSTEM_SCHEMA}`];
  for (const [name, t] of Object.entries(SYSTEM_TABLES)) {
    const temp = systemTempName(name as SystemTableName);
    out.push(createTemp(temp, t.schema));
    out.push(`CREATE VIEW ${SYSTEM_SCHEMA}.main.${quote(name)} AS SELECT * FROM temp.main.${quote(temp)}`);
  }
  return out;
}
