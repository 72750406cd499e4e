/**
 * WindowAggExec (TUMBLE and HOP) aggregates per pane — (group key, pane start) with panes of width
 * gcd(slide, size) — so each input row touches exactly one pane. A window's result merges its
 * panes' accumulator groups into a scratch group and evaluates it; for consecutive windows of a
 * key, invertible accumulators (count, sum, avg, min/max multisets) slide: merge the entering
 * pane, un-merge the leaving one (the seeds' reduceByKeyAndWindow(_ + _, _ - _)); the others
 * re-merge the window's panes. Rows below the watermark are late: dropped,
 * counted, optionally kept. Updating mode emits −old/+new for every changed window each epoch;
 * EMIT ON WINDOW CLOSE emits a window once, when the watermark passes its end. A pane is
 * dropped once the watermark passes the end of the last window containing it.
 *
 *   row ──► pane (key, ⌊(t − offset) / pane⌋) ──► panes of window w ──► combine ──► row of w
 */
import { getValue, takeBatch, type Batch } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Field, SqlType, Value } from '../common/types.js';
import { createAccumulator, scalarStateColumns, type AccumulatorState, type GroupsAccumulator } from '../functions/aggregate/index.js';
import { AggregateInputs } from './aggregate-inputs.js';
import { ChangeBuilder, sameRow } from './changes.js';
import { compile, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable, type WatermarkCleanup } from './state/state-table.js';
import { emittedSpec, floorTo, keyFields, keysOfRow, lateReason, SCRATCH, times, uniqueNames, windowWatermark, type WindowAggPlan } from './window-common.js';

class PaneState {
  /** Group key (encoded) → pane start → pane id: two levels, so no key string per lookup. */
  readonly index = new Map<string, Map<number, number>>();
  keys: Value[][] = [];
  keyEnc: string[] = [];
  start: number[] = [];
  rows = new Float64Array(64);
  readonly free: number[] = [];
  live = 0;

  /** The pane of (key, start), created if new; `keys` is copied only then. */
  id(keyEnc: string, keys: readonly Value[], start: number): number {
    let byStart = this.index.get(keyEnc);
    if (!byStart) this.index.set(keyEnc, (byStart = new Map()));
    let g = byStart.get(start);
    if (g !== undefined) return g;
    g = this.free.pop() ?? this.keys.length;
    if (g >= this.rows.length) {
      const r = new Float64Array(this.rows.length * 2);
      r.set(this.rows);
      this.rows = r;
    }
    this.keys[g] = keys.slice();
    this.keyEnc[g] = keyEnc;
    this.start[g] = start;
    this.rows[g] = 0;
    byStart.set(start, g);
    this.live++;
    return g;
  }

  /** Forgets every pane (restore; the accumulators are reset by the caller). */
  clear(): void {
    this.index.clear();
    this.keys = [];
    this.keyEnc = [];
    this.start = [];
    this.rows.fill(0);
    this.free.length = 0;
    this.live = 0;
  }

  find(keyEnc: string, start: number): number | undefined {
    return this.index.get(keyEnc)?.get(start);
  }

  drop(g: number): void {
    const byStart = this.index.get(this.keyEnc[g]!);
    byStart?.delete(this.start[g]!);
    if (byStart && byStart.size === 0) this.index.delete(this.keyEnc[g]!);
    this.free.push(g);
    this.live--;
  }

  /** Every live pane id. */
  *ids(): Generator<number> {
    for (const byStart of this.index.values()) yield* byStart.values();
  }
}

export class WindowAggOp implements Operator {
  readonly name = 'WindowAggExec';
  /**
   * `panes` (key, pane start, rows, each accumulator's scalar state), `a<i>_values` for the
   * accumulators that keep a value multiset, and `emitted` (updating) or `open` (EOWC).
   * Restore in this order: `panes` first (it assigns the pane ids the value tables load into).
   */
  readonly state: readonly StateTable[];
  private readonly time: Kernel;
  private readonly inputs: AggregateInputs;
  /** One accumulator per aggregate, one group per pane. */
  private readonly accs: GroupsAccumulator[];
  /** One accumulator per aggregate, whose SCRATCH group is the window being evaluated. */
  private readonly windowAccs: GroupsAccumulator[];
  private readonly panes = new PaneState();
  private readonly dirty = new Set<number>();
  /** Rows emitted per window (updating mode), to retract them when the window changes. */
  private readonly emitted = new Map<string, Value[]>();
  /** Windows with rows not yet emitted (EMIT ON WINDOW CLOSE). */
  private readonly open = new Map<string, { keyEnc: string; keys: Value[]; start: number }>();
  private readonly size: number;
  private readonly slide: number;
  private readonly pane: number;
  private readonly offset: number;
  private gids = new Int32Array(1024);

  constructor(readonly id: string, private readonly plan: WindowAggPlan) {
    this.time = compile(plan.window.time);
    this.inputs = new AggregateInputs(plan.keys, plan.aggs);
    this.size = Number(plan.window.size);
    this.slide = Number(plan.window.slide);
    this.pane = Number(plan.pane);
    this.offset = Number(plan.window.offset);
    this.accs = plan.aggs.map((a) => createAccumulator(a, plan.retracting));
    this.windowAccs = plan.aggs.map((a) => createAccumulator(a, plan.retracting));
    this.state = this.stateTables();
  }

  private stateTables(): StateTable[] {
    const keys = keyFields(this.plan);
    const cleanup: WatermarkCleanup = {
      column: '_pane_start',
      note: 'a pane goes once the watermark passes the end of the last window containing it: floor(_pane_start − offset, slide) + offset + size',
    };
    const layouts = this.accs.map((a) => a.stateLayout);
    const tables: StateTable[] = [this.panesTable(keys, cleanup, layouts)];
    layouts.forEach((l, i) => {
      if (l.values !== null) tables.push(this.valuesTable(keys, cleanup, i, l.values));
    });
    tables.push(this.plan.emitOnClose ? this.openTable(keys) : this.emittedTable());
    return tables;
  }

  /** `panes`: key, pane start, rows and each accumulator's scalar state, one row per pane. */
  private panesTable(keys: Field[], cleanup: WatermarkCleanup, layouts: readonly AccumulatorState[]): StateTable {
    const nk = keys.length;
    const paneKey = [...keys.keys(), nk];
    const panes = this.panes;
    const accs = this.accs;
    const acc = scalarStateColumns(layouts, nk + 2);
    return rowStateTable(
      {
        name: 'panes',
        schema: uniqueNames([...keys, { name: '_pane_start', type: 'timestamp' }, { name: '_rows', type: 'bigint' }, ...acc.fields]),
        key: paneKey,
        cleanup,
        ...(acc.added.length > 0 ? { added: acc.added } : {}),
      },
      {
        readRows: function* (this: void) {
          for (const g of panes.ids()) {
            const row: Value[] = [...panes.keys[g]!, BigInt(panes.start[g]!), BigInt(panes.rows[g]!)];
            for (const a of accs) for (const v of a.saveGroup(g)) row.push(v);
            yield row;
          }
        },
        loadRows: (rows) => {
          for (const g of [...panes.ids()]) for (const a of accs) a.reset(g);
          panes.clear();
          for (const r of rows) {
            const kv = r.slice(0, nk);
            const g = panes.id(encodeValues(kv), kv, Number(r[nk] as bigint));
            panes.rows[g] = Number(r[nk + 1] as bigint);
            let o = nk + 2;
            for (let a = 0; a < accs.length; a++) {
              const w = layouts[a]!.scalar.length;
              accs[a]!.loadGroup(g, r.slice(o, o + w));
              o += w;
            }
          }
        },
        count: () => panes.live,
      },
    );
  }

  /** `a<i>_values`: the value multiset of accumulator i, one row per (pane, value). */
  private valuesTable(keys: Field[], cleanup: WatermarkCleanup, i: number, values: SqlType): StateTable {
    const nk = keys.length;
    const paneKey = [...keys.keys(), nk];
    const panes = this.panes;
    const acc = this.accs[i]!;
    return rowStateTable(
      {
        name: `a${i}_values`,
        schema: uniqueNames([...keys, { name: '_pane_start', type: 'timestamp' }, { name: 'value', type: values }, { name: '_count', type: 'bigint' }]),
        key: [...paneKey, nk + 1],
        cleanup,
      },
      {
        readRows: function* (this: void) {
          for (const g of panes.ids()) {
            for (const [v, c] of acc.saveValues(g)) yield [...panes.keys[g]!, BigInt(panes.start[g]!), v, BigInt(c)];
          }
        },
        loadRows: (rows) => {
          for (const r of rows) {
            const kv = r.slice(0, nk);
            const g = panes.find(encodeValues(kv), Number(r[nk] as bigint));
            if (g === undefined) throw new SluiceError('internal', `state table a${i}_values: a value of a pane missing from the panes table`);
            acc.loadValues(g, [[r[nk + 1]!, Number(r[nk + 2] as bigint)]]);
          }
        },
        count: () => {
          let n = 0;
          for (const g of panes.ids()) n += acc.saveValues(g).length;
          return n;
        },
      },
    );
  }

  /** `open` (EMIT ON WINDOW CLOSE): the windows with rows not yet emitted. */
  private openTable(keys: Field[]): StateTable {
    const nk = keys.length;
    const paneKey = [...keys.keys(), nk];
    const size = this.size;
    const open = this.open;
    return rowStateTable(
      {
        name: 'open',
        schema: uniqueNames([...keys, { name: '_window_start', type: 'timestamp' }, { name: '_window_end', type: 'timestamp' }]),
        key: paneKey,
        cleanup: { column: '_window_end', note: 'a window is emitted and goes once the watermark reaches its end' },
      },
      {
        readRows: function* (this: void) {
          for (const w of open.values()) yield [...w.keys, BigInt(w.start), BigInt(w.start + size)];
        },
        loadRows: (rows) => {
          open.clear();
          for (const r of rows) {
            const kv = r.slice(0, nk);
            const enc = encodeValues(kv);
            const start = Number(r[nk] as bigint);
            open.set(`${enc}#${start}`, { keyEnc: enc, keys: kv, start });
          }
        },
        count: () => open.size,
      },
    );
  }

  /** `emitted` (updating mode): the rows emitted per window. */
  private emittedTable(): StateTable {
    const plan = this.plan;
    const size = this.size;
    const emitted = this.emitted;
    const startIdx = plan.roles.indexOf('window_start');
    const endIdx = plan.roles.indexOf('window_end');
    return rowStateTable(emittedSpec(plan, 'window_start + size'), {
      readRows: () => emitted.values(),
      loadRows: (rows) => {
        emitted.clear();
        for (const r of rows) {
          const start = startIdx >= 0 ? Number(r[startIdx] as bigint) : Number(r[endIdx] as bigint) - size;
          emitted.set(`${encodeValues(keysOfRow(plan, r))}#${start}`, r);
        }
      },
      count: () => emitted.size,
    });
  }

  /** Live panes (group key × pane) held in state. */
  stateRows(): number {
    return this.panes.live;
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext): void {
    const n = b.length;
    const t = times(this.time(b, ctx), n);
    const { before } = windowWatermark(this.plan, ctx);
    const keep: number[] = [];
    const late: number[] = [];
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(t[i]!)) continue;
      if (before !== null && t[i]! < Number(before)) late.push(i);
      else keep.push(i);
    }
    if (late.length) {
      ctx.onLate?.(takeBatch(b, Int32Array.from(late), late.length), lateReason(t[late[0]!]!, before!));
    }
    if (keep.length === 0) return;
    const batch = keep.length === n ? b : takeBatch(b, Int32Array.from(keep), keep.length);
    const tt = keep.length === n ? t : Float64Array.from(keep, (i) => t[i]!);
    const m = batch.length;
    const keyCols = this.inputs.keyColumns(batch, ctx);
    if (this.gids.length < m) this.gids = new Int32Array(m * 2);
    const gids = this.gids;
    const row: Value[] = new Array(keyCols.length);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < keyCols.length; k++) row[k] = getValue(keyCols[k]!, i);
      const enc = encodeValues(row);
      const g = this.panes.id(enc, row, floorTo(tt[i]!, this.pane, this.offset));
      gids[i] = g;
      this.dirty.add(g);
    }
    const w = batch.weights;
    const rows = this.panes.rows;
    for (let i = 0; i < m; i++) rows[gids[i]!]! += w ? w[i]! : 1;
    this.inputs.update(this.accs, batch, ctx, gids);
  }

  /** Window starts [s, s + size) that contain the pane starting at p. */
  private windowsOfPane(p: number): number[] {
    const out: number[] = [];
    for (let s = floorTo(p, this.slide, this.offset); s + this.size >= p + this.pane; s -= this.slide) out.push(s);
    return out;
  }

  private panesOf(keyEnc: string, start: number): number[] {
    const out: number[] = [];
    for (let p = start; p < start + this.size; p += this.pane) {
      const g = this.panes.find(keyEnc, p);
      if (g !== undefined) out.push(g);
    }
    return out;
  }

  /** The output rows of consecutive windows `starts` (ascending) of one key; null where empty. */
  private results(keyEnc: string, keys: Value[], starts: readonly number[]): (Value[] | null)[] {
    const out: (Value[] | null)[] = [];
    const win = this.windowAccs;
    let prevStart: number | null = null;
    let rowCount = 0;
    for (const s of starts) {
      if (prevStart !== null && s - prevStart === this.slide && this.slide < this.size) {
        // One slide on: the leaving panes go out and the entering ones come in, for the row count
        // and the invertible accumulators; the others start over from the window's panes.
        for (let p = prevStart; p < s; p += this.pane) {
          const g = this.panes.find(keyEnc, p);
          if (g !== undefined) rowCount += this.mergePane(g, -1, true);
        }
        for (let p = prevStart + this.size; p < s + this.size; p += this.pane) {
          const g = this.panes.find(keyEnc, p);
          if (g !== undefined) rowCount += this.mergePane(g, 1, true);
        }
        const panes = this.panesOf(keyEnc, s);
        for (let a = 0; a < win.length; a++) {
          if (win[a]!.invertible) continue;
          win[a]!.reset(SCRATCH);
          for (const g of panes) win[a]!.merge(SCRATCH, this.accs[a]!, g, 1);
        }
      } else {
        rowCount = 0;
        for (const w of win) w.reset(SCRATCH);
        for (const g of this.panesOf(keyEnc, s)) rowCount += this.mergePane(g, 1, false);
      }
      prevStart = s;
      if (rowCount <= 0) {
        out.push(null);
        continue;
      }
      const row: Value[] = [];
      let k = 0;
      for (const r of this.plan.roles) {
        if (r === 'window_start') row.push(BigInt(s));
        else if (r === 'window_end') row.push(BigInt(s + this.size));
        else row.push(keys[k++]!);
      }
      for (const w of win) row.push(w.evaluate(SCRATCH));
      out.push(row);
    }
    return out;
  }

  /**
   * Merges pane g into (sign 1) or out of (sign −1) the window accumulators' scratch group (only
   * the invertible ones when `onlyInvertible`); returns the pane's signed row count.
   */
  private mergePane(g: number, sign: 1 | -1, onlyInvertible: boolean): number {
    for (let a = 0; a < this.accs.length; a++) {
      const w = this.windowAccs[a]!;
      if (!onlyInvertible || w.invertible) w.merge(SCRATCH, this.accs[a]!, g, sign);
    }
    return sign * this.panes.rows[g]!;
  }

  endEpoch(ctx: OperatorContext, out: Collector): void {
    const { after } = windowWatermark(this.plan, ctx);
    const closeAt = after === null ? null : Number(after);
    const changes = new ChangeBuilder(this.plan.schema.map((f) => f.type));
    // Windows touched this epoch, grouped by key, starts ascending.
    const touched = new Map<string, { keys: Value[]; starts: Set<number> }>();
    for (const g of this.dirty) {
      const enc = this.panes.keyEnc[g]!;
      let e = touched.get(enc);
      if (!e) touched.set(enc, (e = { keys: this.panes.keys[g]!, starts: new Set() }));
      for (const s of this.windowsOfPane(this.panes.start[g]!)) e.starts.add(s);
    }
    this.dirty.clear();
    if (this.plan.emitOnClose) {
      for (const [enc, e] of touched) for (const s of e.starts) this.open.set(`${enc}#${s}`, { keyEnc: enc, keys: e.keys, start: s });
      if (closeAt !== null) {
        const closing = new Map<string, { keys: Value[]; starts: number[] }>();
        for (const [id, w] of this.open) {
          if (w.start + this.size > closeAt) continue;
          this.open.delete(id);
          let c = closing.get(w.keyEnc);
          if (!c) closing.set(w.keyEnc, (c = { keys: w.keys, starts: [] }));
          c.starts.push(w.start);
        }
        for (const [enc, c] of closing) {
          c.starts.sort((x, y) => x - y);
          for (const r of this.results(enc, c.keys, c.starts)) if (r) changes.add(r, 1);
        }
      }
    } else {
      for (const [enc, e] of touched) {
        const starts = [...e.starts].sort((x, y) => x - y);
        const res = this.results(enc, e.keys, starts);
        starts.forEach((s, k) => {
          const id = `${enc}#${s}`;
          const old = this.emitted.get(id);
          const fresh = res[k]!;
          if (old && fresh && sameRow(old, fresh)) return;
          changes.update(old, fresh);
          if (fresh) this.emitted.set(id, fresh);
          else this.emitted.delete(id);
        });
      }
      if (closeAt !== null) {
        for (const [id, row] of this.emitted) {
          const endIdx = this.plan.roles.indexOf('window_end');
          const startIdx = this.plan.roles.indexOf('window_start');
          const end = endIdx >= 0 ? Number(row[endIdx] as bigint) : Number(row[startIdx] as bigint) + this.size;
          if (end <= closeAt) this.emitted.delete(id);
        }
      }
    }
    if (closeAt !== null) this.dropClosedPanes(closeAt);
    changes.flush(out);
  }

  private dropClosedPanes(closeAt: number): void {
    for (const g of [...this.panes.ids()]) {
      const p = this.panes.start[g]!;
      const lastEnd = floorTo(p, this.slide, this.offset) + this.size;
      if (lastEnd <= closeAt) {
        this.panes.drop(g);
        for (const a of this.accs) a.reset(g);
      }
    }
  }
}
