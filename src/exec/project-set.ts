/**
 * ProjectSet: expands each input row by set-returning functions (unnest, generate_series,
 * regexp_split_to_table). Stateless: an input row of weight w becomes its expansion's rows, each
 * of weight w, so a delete (w = −1) retracts exactly the rows its insert produced.
 *
 *   row (a, line) ─► unnest(string_to_array(line, ' ')) ─► (a, line, word₁) … (a, line, wordₙ)
 *
 * Several calls zip (PostgreSQL 10+): as many rows as the longest returns, the others padded
 * with NULLs; `ordinality` appends 1…n; `outer` keeps a row that expands to nothing, with NULLs.
 * A call that fails on a row (a zero step, a bad pattern) is reported and the row expands to
 * nothing, as a bad row never stops a view.
 */
import { ColumnBuilder, getValue, takeBatch, type Batch, type Column } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Value } from '../common/types.js';
import { SET_FUNCTIONS } from '../functions/set/index.js';
import type { SetCall } from '../planner/logical.js';
import { compile, type Kernel } from './eval.js';
import type { Collector, Operator, OperatorContext } from './operator.js';

interface CompiledCall {
  readonly args: readonly Kernel[];
  readonly expand: (args: readonly Value[]) => readonly Value[];
  readonly call: SetCall;
}

export class ProjectSetOp implements Operator {
  readonly name = 'ProjectSetExec';
  readonly state = [];
  private readonly calls: readonly CompiledCall[];

  constructor(
    readonly id: string,
    /** The input columns carried to the output (the calls' arguments may read others). */
    private readonly keep: readonly number[],
    calls: readonly SetCall[],
    private readonly ordinality: boolean,
    private readonly outer: boolean,
  ) {
    this.calls = calls.map((c) => ({ args: c.args.map(compile), expand: SET_FUNCTIONS[c.fn].expander(), call: c }));
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    if (b.length === 0) return;
    const argCols: Column[][] = this.calls.map((c) => c.args.map((k) => k(b, ctx)));
    const builders = this.calls.map((c) => new ColumnBuilder(c.call.type, b.length * 2));
    const ord = this.ordinality ? new ColumnBuilder('bigint', b.length * 2) : null;
    let idx = new Int32Array(Math.max(16, b.length * 2));
    let k = 0;
    const lists: (readonly Value[])[] = new Array(this.calls.length);
    for (let i = 0; i < b.length; i++) {
      let n = 0;
      for (let c = 0; c < this.calls.length; c++) {
        const list = this.expandRow(c, argCols[c]!, i, ctx);
        lists[c] = list;
        if (list.length > n) n = list.length;
      }
      const padded = n === 0 && this.outer;
      const rows = padded ? 1 : n;
      if (k + rows > idx.length) {
        const grown = new Int32Array(Math.max(idx.length * 2, k + rows));
        grown.set(idx);
        idx = grown;
      }
      for (let r = 0; r < rows; r++) {
        idx[k++] = i;
        for (let c = 0; c < this.calls.length; c++) builders[c]!.append(r < lists[c]!.length ? lists[c]![r]! : null);
        if (ord) ord.append(padded ? null : BigInt(r + 1));
      }
    }
    if (k === 0) return;
    const base = takeBatch({ columns: this.keep.map((c) => b.columns[c]!), length: b.length, weights: b.weights }, idx, k);
    const columns = [...base.columns, ...builders.map((x) => x.finish()), ...(ord ? [ord.finish()] : [])];
    out({ columns, length: k, weights: base.weights });
  }

  /** The values call `c` returns for row `i` (none when it fails there, reported). */
  private expandRow(c: number, cols: readonly Column[], i: number, ctx: OperatorContext): readonly Value[] {
    const vals = cols.map((col) => getValue(col, i));
    try {
      return this.calls[c]!.expand(vals);
    } catch (e) {
      if (!(e instanceof SluiceError)) throw e;
      ctx.onRowError(e);
      return [];
    }
  }

  endEpoch(): void {}
}
