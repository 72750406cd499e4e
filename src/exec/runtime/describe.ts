/** SHOW SOURCES / TABLES / MATERIALIZED VIEWS / SINKS and DESCRIBE: answers from the catalog. */
import { typeDisplayName, type Value } from '../../common/types.js';
import type { Catalog } from '../../catalog/index.js';
import type { Statement } from '../../parser/index.js';
import type { EngineState, StatementResult } from './state.js';

/** The names of the catalog's objects of one kind. */
export function showObjects(catalog: Catalog, stmt: Extract<Statement, { kind: 'show_objects' }>): StatementResult {
  const rows = catalog.list(stmt.objectKind).map((e) => [e.name] as Value[]);
  return { kind: 'rows', tag: `SHOW ${rows.length}`, columns: [{ name: 'Name', type: 'varchar' }], rows };
}

/** A relation's columns and their types. */
export function describe(catalog: Catalog, stmt: Extract<Statement, { kind: 'describe' }>): StatementResult {
  const e = catalog.relation(stmt.name, stmt.pos);
  const rows: Value[][] = e.schema.map((f) => [f.name, typeDisplayName(f.type)]);
  return { kind: 'rows', tag: `DESCRIBE ${rows.length}`, columns: [{ name: 'Name', type: 'varchar' }, { name: 'Type', type: 'varchar' }], rows };
}

/** SHOW CHECKPOINTS: the kept checkpoints, newest first (none without a data dir). */
export function showCheckpoints(state: EngineState): StatementResult {
  const list = state.checkpointer?.list() ?? [];
  const rows: Value[][] = list.map((c) => [BigInt(c.id), BigInt(c.epoch), BigInt(c.createdAtMs) * 1000n, BigInt(c.bytesWritten), c.viewsWritten, c.viewsAsDelta, c.durationMs]);
  return {
    kind: 'rows', tag: `SHOW ${rows.length}`, rows,
    columns: [
      { name: 'id', type: 'bigint' }, { name: 'epoch', type: 'bigint' }, { name: 'created_at', type: 'timestamp' },
      { name: 'bytes_written', type: 'bigint' }, { name: 'views_written', type: 'int' }, { name: 'views_as_delta', type: 'int' }, { name: 'duration_ms', type: 'double' },
    ],
  };
}
