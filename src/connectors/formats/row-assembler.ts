/**
 * The row assembler: collects decoded rows into column builders, all or nothing per row. A
 * decoder fills `row` (one reused array, not one per record) and commits it only after every
 * field converted, so a record that fails half-way leaves no partial row behind.
 */
import { ColumnBuilder, type Batch } from '../../common/column.js';
import type { Schema, Value } from '../../common/types.js';

/** Builds one append-only Batch from rows committed one at a time. */
export class RowAssembler {
  /** The pending row, one slot per schema column; null is NULL. */
  readonly row: Value[];
  private readonly builders: ColumnBuilder[];
  private count = 0;

  constructor(schema: Schema, capacity: number) {
    this.row = new Array<Value>(schema.length).fill(null);
    this.builders = schema.map((f) => new ColumnBuilder(f.type, capacity));
  }

  /** Appends the pending row and clears it for the next record. */
  commit(): void {
    const row = this.row;
    for (let j = 0; j < row.length; j++) {
      this.builders[j]!.append(row[j]!);
      row[j] = null;
    }
    this.count++;
  }

  /** Drops the pending row (after a record failed). */
  discard(): void {
    this.row.fill(null);
  }

  finish(): Batch {
    return { columns: this.builders.map((b) => b.finish()), length: this.count, weights: null };
  }
}
