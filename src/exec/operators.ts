/**
 * The stateless operators: a relation's scan, filter, projection, union and constant rows.
 */
import { ColumnBuilder, takeBatch, type Batch } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import type { Kernel } from './eval.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable } from './state/state-table.js';

const NO_STATE: readonly StateTable[] = [];

/** Receives a relation's delta and keeps the columns the plan reads (zero-copy). */
export class ScanOp implements Operator {
  readonly name = 'ScanExec';
  readonly state = NO_STATE;
  constructor(readonly id: string, private readonly columns: readonly number[]) {}
  processBatch(_input: number, b: Batch, _ctx: OperatorContext, out: Collector): void {
    if (b.length === 0) return;
    out({ columns: this.columns.map((i) => b.columns[i]!), length: b.length, weights: b.weights });
  }
  endEpoch(): void {}
}

export class FilterOp implements Operator {
  readonly name = 'FilterExec';
  readonly state = NO_STATE;
  constructor(readonly id: string, private readonly pred: Kernel) {}
  processBatch(_input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    const c = this.pred(b, ctx);
    const n = b.length;
    const bits = c.values as Uint8Array;
    const validity = c.validity;
    // Every row passes (a filter that rarely drops one): the batch as it is, checked a byte at a time.
    if (validity === null && allSet(bits, n)) {
      if (n > 0) out(b);
      return;
    }
    const idx = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (((bits[i >> 3]! >> (i & 7)) & 1) === 1 && (validity === null || ((validity[i >> 3]! >> (i & 7)) & 1) === 1)) idx[k++] = i;
    }
    if (k === 0) return;
    out(k === n ? b : takeBatch(b, idx, k));
  }
  endEpoch(): void {}
}

/** Whether bits 0…n-1 of an LSB bitmap are all set. */
export function allSet(bits: Uint8Array, n: number): boolean {
  const full = n >> 3;
  for (let k = 0; k < full; k++) if (bits[k] !== 0xff) return false;
  const rest = n & 7;
  return rest === 0 || (bits[full]! & ((1 << rest) - 1)) === (1 << rest) - 1;
}

export class ProjectOp implements Operator {
  readonly name = 'ProjectExec';
  readonly state = NO_STATE;
  constructor(readonly id: string, private readonly exprs: readonly Kernel[]) {}
  processBatch(_input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    const columns = this.exprs.map((k) => k(b, ctx));
    // The rows stay in place, so the producer's key ids still number them (a consumer checks the key).
    out(b.keyIds === undefined ? { columns, length: b.length, weights: b.weights } : { columns, length: b.length, weights: b.weights, keyIds: b.keyIds });
  }
  endEpoch(): void {}
}

/** UNION ALL: every input's batches pass through unchanged. */
export class UnionOp implements Operator {
  readonly name = 'UnionExec';
  readonly state = NO_STATE;
  constructor(readonly id: string) {}
  processBatch(_input: number, b: Batch, _ctx: OperatorContext, out: Collector): void {
    out(b);
  }
  endEpoch(): void {}
}

/** Constant rows (FROM-less SELECT, VALUES): emitted once, in the first epoch the view runs. */
export class ValuesOp implements Operator {
  readonly name = 'ValuesExec';
  private done = false;
  /** Whether the rows went out: after a restore they must not go out again. */
  readonly state: readonly StateTable[] = [
    rowStateTable({ name: 'emitted', schema: [{ name: 'emitted', type: 'boolean' }], key: [] }, {
      readRows: () => [[this.done]],
      loadRows: (rows) => {
        this.done = rows[0]?.[0] === true;
      },
      count: () => 1,
    }),
  ];
  constructor(readonly id: string, private readonly rows: readonly (readonly Value[])[], private readonly types: readonly SqlType[]) {}
  processBatch(): void {}
  endEpoch(_ctx: OperatorContext, out: Collector): void {
    if (this.done) return;
    this.done = true;
    const builders = this.types.map((t) => new ColumnBuilder(t, this.rows.length));
    for (const r of this.rows) r.forEach((v, j) => builders[j]!.append(v));
    out({ columns: builders.map((b) => b.finish()), length: this.rows.length, weights: null });
  }
}
