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
  /** string_to_table's pieces per input byte in the last batch (with 10 % room), to size the next one's arrays. */
  private piecesPerByte = 0;
  /**
   * string_to_table's input row of each piece, kept from batch to batch: fresh memory costs a
   * page fault per 4 KiB on first touch, which on a loaded machine weighs more than the split.
   */
  private idxScratch: Int32Array = new Int32Array(16);

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
    const p = new Pieces(n * 2 + Math.ceil((so[n]! - so[0]!) * this.piecesPerByte), so[n]! - so[0]!, this.idxScratch);
    for (let i = 0; i < n; i++) {
      const s0 = so[i]!;
      const e0 = so[i + 1]!;
      const before = p.k;
      if (!isValid(sc, i)) {
        // A NULL string splits into nothing.
      } else if (!isValid(dc, i) || (nc !== undefined && isValid(nc, i))) {
        for (const v of this.expandRow(0, args, i, ctx)) p.addValue(i, v === null ? null : Buffer.from(v as string, 'utf8'));
      } else if (e0 > s0) {
        const d0 = dof[i]!;
        const dl = dof[i + 1]! - d0;
        // At most one piece per delimiter and one more; the pieces' bytes are at most the string's.
        p.reserve(dl === 0 ? 1 : Math.floor((e0 - s0) / dl) + 1, e0 - s0);
        if (dl === 1) p.splitByte(i, sv, s0, e0, dv[d0]!);
        else p.split(i, sv, s0, e0, dv, d0, dl);
      }
      if (p.k === before && this.outer) p.addValue(i, null);
    }
    // The next batch's arrays are sized from this one's pieces per byte (growing them was 12 % of a word count).
    if (so[n]! > so[0]!) this.piecesPerByte = Math.min(1, (1.1 * p.k) / (so[n]! - so[0]!));
    // takeBatch copies what it takes, so the row indexes are scratch for the next batch.
    this.idxScratch = p.idx;
    if (p.k === 0) return;
    const base = takeBatch({ columns: this.keep.map((c) => b.columns[c]!), length: n, weights: b.weights }, p.idx, p.k);
    out({ columns: [...base.columns, p.column()], length: p.k, weights: base.weights });
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

/**
 * The VARCHAR column string_to_table builds, with the input row of each piece (idx). Its loops
 * keep the counters in locals: captured by a closure they would live in a context object.
 */
class Pieces {
  idx: Int32Array;
  private offsets: Int32Array;
  private bytes: Uint8Array;
  private validity: Uint8Array | null = null;
  /** Pieces so far, and their bytes. */
  k = 0;
  private at = 0;

  /** `idx` is scratch to reuse when it has room for `rows` (it is the column's only array that is not handed on). */
  constructor(rows: number, bytes: number, idx: Int32Array) {
    this.idx = idx.length >= rows ? idx : new Int32Array(Math.max(16, rows));
    // Not zeroed: every offset up to k and every byte up to at is written before it is read.
    this.offsets = unzeroedInt32(Math.max(16, rows) + 1);
    this.offsets[0] = 0;
    this.bytes = unzeroedBytes(Math.max(64, bytes + 16));
  }

  /** Room for `rows` more pieces and `len` more bytes. */
  reserve(rows: number, len: number): void {
    const k = this.k;
    if (k + rows > this.idx.length) {
      const idx = new Int32Array(Math.max(this.idx.length * 2, k + rows));
      idx.set(this.idx.subarray(0, k));
      this.idx = idx;
    }
    if (k + rows + 1 > this.offsets.length) {
      const cap = Math.max((this.offsets.length - 1) * 2, k + rows);
      const offsets = new Int32Array(cap + 1);
      offsets.set(this.offsets.subarray(0, k + 1));
      this.offsets = offsets;
      if (this.validity !== null) {
        const v = newBitmap(cap, true);
        v.set(this.validity);
        this.validity = v;
      }
    }
    if (this.at + len > this.bytes.length) {
      const nb = new Uint8Array(Math.max(this.bytes.length * 2, this.at + len));
      nb.set(this.bytes.subarray(0, this.at));
      this.bytes = nb;
    }
  }

  /** One piece of row i: its UTF-8 bytes, or NULL. */
  addValue(i: number, v: Uint8Array | null): void {
    this.reserve(1, v?.length ?? 0);
    if (v === null) {
      this.validity ??= newBitmap(this.offsets.length - 1, true);
      setBit(this.validity, this.k, false);
    } else {
      this.bytes.set(v, this.at);
      this.at += v.length;
    }
    this.idx[this.k++] = i;
    this.offsets[this.k] = this.at;
  }

  /** The pieces of row i's bytes s[s0, e0) between the bytes equal to d (room reserved). */
  splitByte(i: number, s: Uint8Array, s0: number, e0: number, d: number): void {
    const idx = this.idx;
    const offsets = this.offsets;
    const bytes = this.bytes;
    let k = this.k;
    let at = this.at;
    for (let q = s0; q < e0; q++) {
      const c = s[q]!;
      if (c === d) {
        idx[k++] = i;
        offsets[k] = at;
      } else bytes[at++] = c;
    }
    idx[k++] = i;
    offsets[k] = at;
    this.k = k;
    this.at = at;
  }

  /** The pieces of row i's bytes s[s0, e0) between matches of d[d0, d0 + dl) (room reserved). */
  split(i: number, s: Uint8Array, s0: number, e0: number, d: Uint8Array, d0: number, dl: number): void {
    const idx = this.idx;
    const offsets = this.offsets;
    const bytes = this.bytes;
    let k = this.k;
    let at = this.at;
    if (dl === 0) {
      // An empty delimiter: the whole string is the one piece.
      bytes.set(s.subarray(s0, e0), at);
      at += e0 - s0;
    } else {
      let q = s0;
      while (q < e0) {
        if (q + dl <= e0 && s[q] === d[d0] && sameRun(s, q, d, d0, dl)) {
          idx[k++] = i;
          offsets[k] = at;
          q += dl;
        } else bytes[at++] = s[q++]!;
      }
    }
    idx[k++] = i;
    offsets[k] = at;
    this.k = k;
    this.at = at;
  }

  column(): Column {
    const { k, at, bytes, validity } = this;
    return { type: 'varchar', length: k, values: 2 * at >= bytes.length ? bytes.subarray(0, at) : bytes.slice(0, at), offsets: this.offsets.subarray(0, k + 1), validity: validity === null ? null : validity.subarray(0, (k + 7) >> 3) };
  }
}

/**
 * A Uint8Array of n bytes that are not zeroed (a Buffer's memory, as a plain array of its own
 * ArrayBuffer: slice() copies and the buffer can be transferred); zeroed when Buffer would hand
 * out a slice of its shared pool.
 */
function unzeroedBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return b.byteOffset === 0 && b.buffer.byteLength === n ? new Uint8Array(b.buffer, 0, n) : new Uint8Array(n);
}

/** An Int32Array of n values that are not zeroed (see unzeroedBytes). */
function unzeroedInt32(n: number): Int32Array {
  const b = Buffer.allocUnsafe(4 * n);
  return b.byteOffset === 0 && b.buffer.byteLength === 4 * n ? new Int32Array(b.buffer, 0, n) : new Int32Array(n);
}

/** Whether a[p, p + len) equals b[q, q + len). */
function sameRun(a: Uint8Array, p: number, b: Uint8Array, q: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[p + k] !== b[q + k]) return false;
  return true;
}
