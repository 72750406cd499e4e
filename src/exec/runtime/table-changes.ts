/**
 * Table changes (DML, connector reloads) as a changelog for the views. Each change is made in
 * DuckDB and, with a data dir, recorded in the checkpoint store's change log in the same DuckDB
 * transaction: an acknowledged change and its changelog survive a crash together, and recovery
 * queues every change the last checkpoint's views had not consumed.
 */
import type { Batch } from '../../common/column.js';
import type { EngineState, TableRt } from './state.js';

/**
 * Runs `apply` (the DuckDB side of a change, returning its changelog or null when nothing
 * changed) in one transaction with the change's log record, then queues it for the next epoch.
 */
export async function changeTable(state: EngineState, t: TableRt, apply: () => Promise<Batch | null>): Promise<void> {
  const { duck } = state;
  await duck.run('BEGIN TRANSACTION');
  let change: Batch | null;
  try {
    change = await apply();
    if (change && change.length && state.checkpointer) await state.checkpointer.logTableChange(state.tableSeq + 1, t.entry.name, t.entry.schema, change);
    await duck.run('COMMIT');
  } catch (e) {
    await duck.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
  if (change && change.length) t.pending.push({ seq: ++state.tableSeq, batch: change });
}

/** At recovery: queues the logged changes the checkpoint's views had not consumed (`current`: a logged table's name now, after renames). */
export async function requeueTableChanges(state: EngineState, afterSeq: number, current: (table: string) => string = (t) => t): Promise<number> {
  if (!state.checkpointer) return 0;
  const changes = await state.checkpointer.tableChangesAfter(afterSeq, (name) => state.tables.get(current(name))?.entry.schema);
  for (const c of changes) {
    for (const batch of c.batch) state.tables.get(current(c.table))!.pending.push({ seq: c.seq, batch });
    state.tableSeq = Math.max(state.tableSeq, c.seq);
  }
  return changes.length;
}
