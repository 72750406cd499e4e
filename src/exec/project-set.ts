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
import { ColumnBuilder, getValue, isValid, newBitmap, setBit, takeBatch, type Batch, type Column } from '../common/column.js';
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
    if (this.calls.length === 1 && this.calls[0]!.call.fn === 'string_to_table' && !this.ordinality) {
      this.splitBytes(b, ctx, out);
      return;
    }
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

  /**
   * string_to_table(s, d [, null_string]) over the UTF-8 bytes: each piece of s between
   * matches of d is copied into the output column, with no string per row or per piece. On
   * well-formed UTF-8 a byte match of d is a character match, so the pieces are split()'s.
   * A row whose delimiter is NULL (split into characters) or that has a null_string goes
   * through the expander.
   */
  private splitBytes(b: Batch, ctx: OperatorContext, out: Collector): void {
    const call = this.calls[0]!;
    const args = call.args.map((k) => k(b, ctx));
    const [sc, dc, nc] = args as [Column, Column, Column | undefined];
    const sv = sc.values as Uint8Array;
    const so = sc.offsets!;
    const dv = dc.values as Uint8Array;
    const dof = dc.offsets!;
    const n = b.length;
    let idx = new Int32Array(Math.max(16, n * 2));
    let offsets = new Int32Array(idx.length + 1);
    let bytes = new Uint8Array(Math.max(64, so[n]! - so[0]! + 16));
    let validity: Uint8Array | null = null;
    let k = 0;
    let at = 0;
    /** Room for `rows` more rows and `len` more bytes. */
    const reserve = (rows: number, len: number) => {
      if (k + rows > idx.length) {
        const cap = Math.max(idx.length * 2, k + rows);
        const ni = new Int32Array(cap);
        ni.set(idx);
        idx = ni;
        const no = new Int32Array(cap + 1);
        no.set(offsets);
        offsets = no;
        if (validity !== null) {
          const nv = newBitmap(cap, true);
          nv.set(validity);
          validity = nv;
        }
      }
      if (at + len > bytes.length) {
        const nb = new Uint8Array(Math.max(bytes.length * 2, at + len));
        nb.set(bytes.subarray(0, at));
        bytes = nb;
      }
    };
    for (let i = 0; i < n; i++) {
      const s0 = so[i]!;
      const e0 = so[i + 1]!;
      const before = k;
      if (!isValid(sc, i)) {
        // A NULL string splits into nothing.
      } else if (!isValid(dc, i) || (nc !== undefined && isValid(nc, i))) {
        for (const v of this.expandRow(0, args, i, ctx)) {
          const piece = v === null ? null : Buffer.from(v as string, 'utf8');
          reserve(1, piece?.length ?? 0);
          if (piece === null) {
            validity ??= newBitmap(idx.length, true);
            setBit(validity, k, false);
          } else {
            bytes.set(piece, at);
            at += piece.length;
          }
          idx[k++] = i;
          offsets[k] = at;
        }
      } else if (e0 > s0) {
        const d0 = dof[i]!;
        const dl = dof[i + 1]! - d0;
        // At most one piece per byte and one more; the pieces' bytes are at most the string's.
        reserve(dl === 0 ? 1 : Math.floor((e0 - s0) / dl) + 1, e0 - s0);
        if (dl === 0) {
          bytes.set(sv.subarray(s0, e0), at);
          at += e0 - s0;
          idx[k++] = i;
          offsets[k] = at;
        } else if (dl === 1) {
          const d = dv[d0]!;
          for (let p = s0; p < e0; p++) {
            const c = sv[p]!;
            if (c === d) {
              idx[k++] = i;
              offsets[k] = at;
            } else bytes[at++] = c;
          }
          idx[k++] = i;
          offsets[k] = at;
        } else {
          let p = s0;
          while (p < e0) {
            if (p + dl <= e0 && sv[p] === dv[d0] && sameRun(sv, p, dv, d0, dl)) {
              idx[k++] = i;
              offsets[k] = at;
              p += dl;
            } else bytes[at++] = sv[p++]!;
          }
          idx[k++] = i;
          offsets[k] = at;
        }
      }
      if (k === before && this.outer) {
        reserve(1, 0);
        validity ??= newBitmap(idx.length, true);
        setBit(validity, k, false);
        idx[k++] = i;
        offsets[k] = at;
      }
    }
    if (k === 0) return;
    const base = takeBatch({ columns: this.keep.map((c) => b.columns[c]!), length: n, weights: b.weights }, idx, k);
    const words: Column = { type: 'varchar', length: k, values: 2 * at >= bytes.length ? bytes.subarray(0, at) : bytes.slice(0, at), offsets: offsets.subarray(0, k + 1), validity: validity === null ? null : (validity as Uint8Array).subarray(0, (k + 7) >> 3) };
    out({ columns: [...base.columns, words], length: k, weights: base.weights });
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

/** Whether a[p, p + len) equals b[q, q + len). */
function sameRun(a: Uint8Array, p: number, b: Uint8Array, q: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[p + k] !== b[q + k]) return false;
  return true;
}
