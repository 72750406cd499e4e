/**
 * The changes an operator emits at the end of an epoch, built row by row: +1 inserts, −1
 * retractions, and for a row that changed, −old/+new (nothing when it did not change).
 */
import { ColumnBuilder } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import type { Collector } from './operator.js';

export class ChangeBuilder {
  private readonly builders: ColumnBuilder[];
  private readonly weights: number[] = [];

  constructor(types: readonly SqlType[], capacity = 16) {
    this.builders = types.map((t) => new ColumnBuilder(t, capacity));
  }

  /** Adds `row` with weight `w` (a zero weight adds nothing). */
  add(row: readonly Value[], w: number): void {
    if (w === 0) return;
    for (let j = 0; j < row.length; j++) this.builders[j]!.append(row[j]!);
    this.weights.push(w);
  }

  /** Adds the row `l` followed by `r` with weight `w`, without building it. */
  addPair(l: readonly Value[], r: readonly Value[], w: number): void {
    if (w === 0) return;
    const nl = l.length;
    for (let j = 0; j < nl; j++) this.builders[j]!.append(l[j]!);
    for (let j = 0; j < r.length; j++) this.builders[nl + j]!.append(r[j]!);
    this.weights.push(w);
  }

  /** A row's change from `old` to `fresh` (null: absent): −old/+new, or nothing when equal. */
  update(old: readonly Value[] | null | undefined, fresh: readonly Value[] | null | undefined): void {
    if (old && fresh && sameRow(old, fresh)) return;
    if (old) this.add(old, -1);
    if (fresh) this.add(fresh, 1);
  }

  /** Sends what was added as one batch, if anything was. */
  flush(out: Collector): void {
    if (this.weights.length === 0) return;
    out({ columns: this.builders.map((b) => b.finish()), length: this.weights.length, weights: Int32Array.from(this.weights) });
  }
}

/** Whether two rows hold the same values (NaN equal to NaN, as one output row). */
export function sameRow(a: readonly Value[], b: readonly Value[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}
