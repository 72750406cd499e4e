/**
 * Table refresh: a table loaded by a connector (file, postgres) with a refresh interval is
 * reloaded on a timer; the difference between the fresh snapshot and the table's rows becomes
 * a changelog queued for the next epoch, like DML.
 */
import { batchFromRows } from '../../common/column.js';
import { toSluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { quoteIdent } from '../duck.js';
import { encodeValues } from '../group-table.js';
import type { EngineState, TableRt } from './state.js';
import { changeTable } from './table-changes.js';

/** Starts reloading a connector table every `ms` (the timer does not keep the process alive). */
export function scheduleRefresh(state: EngineState, rt: TableRt, ms: number): void {
  // One refresh at a time per table: a slow or silent origin must not pile up queued reloads.
  let busy = false;
  rt.refreshTimer = setInterval(() => {
    if (state.closed || busy) return;
    busy = true;
    void state.mutex
      .run(() => refresh(state, rt))
      .catch((e) => state.log(`table ${rt.entry.name}: ${toSluiceError(e).message}`))
      .finally(() => {
        busy = false;
      });
  }, ms);
  rt.refreshTimer.unref();
}

/** Stops a table's refresh timer and closes its loader. */
export async function stopRefresh(rt: TableRt): Promise<void> {
  if (rt.refreshTimer) clearInterval(rt.refreshTimer);
  await rt.loader?.close();
}

/** One reload under the mutex; a failed load keeps the last good snapshot and is reported once. */
async function refresh(state: EngineState, rt: TableRt): Promise<void> {
  if (!state.tables.has(rt.entry.name) || !rt.loader) return;
  let fresh: Value[][];
  try {
    fresh = await rt.loader.snapshot();
    rt.lastLoadError = null;
  } catch (e) {
    const err = toSluiceError(e);
    if (rt.lastLoadError !== err.message) state.log(`table ${rt.entry.name}: refresh failed, keeping the last good snapshot: ${err.message}${err.hint ? ` (${err.hint})` : ''}`);
    rt.lastLoadError = err.message;
    return;
  }
  await replaceContents(state, rt, fresh);
}

/** Replaces a loaded table's rows with `fresh`; the difference is the table's change. */
export async function replaceContents(state: EngineState, rt: TableRt, fresh: readonly Value[][]): Promise<void> {
  await changeTable(state, rt, async () => {
    const { rows: current } = await state.duck.query(`SELECT * FROM ${quoteIdent(rt.entry.name)}`);
    const { rows, weights } = rowDiff(current, fresh);
    if (rows.length === 0) return null;
    await state.duck.run(`DELETE FROM ${quoteIdent(rt.entry.name)}`);
    await state.duck.appendRows(rt.entry.name, rt.entry.schema, fresh);
    return batchFromRows(rt.entry.schema.map((f) => f.type), rows, rt.entry.appendOnly && weights.every((w) => w > 0) ? undefined : weights);
  });
}

/** The changelog that turns the multiset `current` into `fresh`: each row once per unit of difference, ±1. */
function rowDiff(current: readonly Value[][], fresh: readonly Value[][]): { rows: Value[][]; weights: number[] } {
  const count = new Map<string, { row: Value[]; n: number }>();
  for (const r of current) {
    const k = encodeValues(r);
    const c = count.get(k);
    if (c) c.n--;
    else count.set(k, { row: r, n: -1 });
  }
  for (const r of fresh) {
    const k = encodeValues(r);
    const c = count.get(k);
    if (c) c.n++;
    else count.set(k, { row: r, n: 1 });
  }
  const rows: Value[][] = [];
  const weights: number[] = [];
  for (const { row, n } of count.values()) for (let i = 0; i < Math.abs(n); i++) {
    rows.push(row);
    weights.push(Math.sign(n));
  }
  return { rows, weights };
}
