/**
 * The current contents of a subscribed view, kept from its change stream: rows (epoch, weight,
 * then the view's columns) add their weight to a multiset of the view's rows. Rendered as an
 * aligned table, sorted by its columns so that a row keeps its place as its values change.
 */
import type { Field, Value } from '../../common/types.js';
import { renderRows } from '../format.js';

/** A view's contents maintained from SUBSCRIBE rows. */
export class LiveTable {
  /** The view's columns (the subscription's without epoch and weight). */
  readonly columns: readonly Field[];
  private readonly counts = new Map<string, { row: Value[]; count: number }>();
  /** The epoch of the latest change (null before the first). */
  epoch: Value = null;
  /** Changes applied so far (the snapshot's rows included). */
  changes = 0;

  constructor(subscriptionColumns: readonly Field[]) {
    this.columns = subscriptionColumns.slice(2);
  }

  /** Applies SUBSCRIBE rows: [epoch, weight, ...row]. */
  apply(rows: readonly (readonly Value[])[]): void {
    for (const r of rows) {
      this.changes++;
      this.epoch = r[0] ?? null;
      const weight = Number(r[1]);
      const row = r.slice(2);
      const k = rowKey(row);
      const cur = this.counts.get(k);
      const count = (cur?.count ?? 0) + weight;
      // A count below zero is kept (a retraction seen before its row) but never shown.
      if (count === 0) this.counts.delete(k);
      else this.counts.set(k, { row: cur?.row ?? row, count });
    }
  }

  /** The view's rows, each as many times as its count, sorted. */
  rows(): Value[][] {
    const out: Value[][] = [];
    for (const { row, count } of this.counts.values()) for (let i = 0; i < count; i++) out.push(row);
    return out.sort(compareRows);
  }

  /**
   * The aligned table: at most `maxRows` rows (the rest counted in the footer), each line cut
   * to `width` characters, so that a redraw knows exactly how many screen lines it covers.
   */
  render(maxRows = Infinity, width = Infinity): string[] {
    const all = this.rows();
    const shown = all.length > maxRows ? all.slice(0, Math.max(0, maxRows)) : all;
    const lines = renderRows(this.columns, shown, 'table').replace(/\n$/, '').split('\n');
    if (shown.length < all.length) lines[lines.length - 1] = `(${all.length} rows, ${all.length - shown.length} not shown)`;
    return lines.map((l) => (l.length >= width ? l.slice(0, Math.max(1, width - 1)) : l));
  }
}

/** A key equal for equal rows (column types are fixed, so kinds of value never collide). */
function rowKey(row: readonly Value[]): string {
  return row.map((v) => (v === null ? '\u0001' : typeof v === 'bigint' ? `${v}n` : String(v))).join('\u0000');
}

function compareRows(a: readonly Value[], b: readonly Value[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/** NULLs last, as PostgreSQL sorts ascending; numbers and bigints compare by value. */
function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
