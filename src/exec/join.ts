/**
 * HashJoinExec: an incremental join with the rows of both inputs in state, keyed by the
 * equi-join key. A delta from one side is joined with the other side's current rows and then
 * applied to its own state, so Δ(L ⋈ R) = ΔL ⋈ R + L' ⋈ ΔR, one batch at a time, in any order.
 *
 * Outer joins keep, per stored row of a preserved side, how many rows of the other side match
 * it; when that count leaves or reaches zero the NULL-padded row is inserted or retracted.
 *
 *   Δleft ──► probe right state ──► residual ON ──► (l, r) ± · padded (l, NULL) ± ──► out
 *         └─► apply to left state (with its match count)
 */
import { intervalKey } from '../common/interval.js';
import { batchFromRows, ColumnBuilder, getBit, getString, getValue, isValid, rowOf, takeColumn, type Batch, type Column } from '../common/column.js';
import { ChangeBuilder } from './changes.js';
import type { Field, Schema, SqlType, Value } from '../common/types.js';
import type { TimeExpiry } from '../planner/logical.js';
import type { BoundExpr } from '../planner/expr.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { compile, type EvalContext, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable, type StateTableSpec } from './state/state-table.js';

type JoinPlan = Extract<PhysicalPlan, { kind: 'HashJoinExec' }>;

const NULL_KEY = Symbol('null join key');

/** The Map key of a join key's values (also ColumnarJoinOp's key for types it has no word layout for). */
export function joinKey(kv: readonly Value[]): unknown {
  // One scalar key is the Map key itself; an array (a fresh JS array per read) goes by its encoding.
  return kv.length === 1 && (typeof kv[0] !== 'object' || kv[0] === null) ? kv[0] : encodeValues(kv);
}

/** A join key's kernel; an interval key joins by its span ('1 mon' matches '30 days', as PostgreSQL's =). */
export function keyKernel(e: BoundExpr): Kernel {
  const k = compile(e);
  if (e.type !== 'interval') return k;
  return (b, ctx) => {
    const c = k(b, ctx);
    const out = new ColumnBuilder('varchar', c.length);
    for (let i = 0; i < c.length; i++) out.append(isValid(c, i) ? intervalKey(getString(c, i)) : null);
    return out.finish();
  };
}

interface Entry {
  readonly row: Value[];
  count: number;
  /** Rows of the other side matching this row (with multiplicity); kept for outer joins. */
  matches: number;
}

class SideState {
  /** Rows by join key: the key value itself for one key column, else its encoding. */
  readonly byKey = new Map<unknown, Map<unknown, Entry>>();
  size = 0;
  private seq = 0;
  constructor(readonly keys: readonly Kernel[], readonly width: number, readonly preserved: boolean, readonly appendOnly: boolean) {}

  /**
   * The identity of a stored row: its encoding, so a retraction finds it — or, for an
   * append-only input that never retracts, just a sequence number (no encoding cost).
   */
  rowId(row: readonly Value[]): unknown {
    return this.appendOnly ? this.seq++ : encodeValues(row);
  }

  /** Adds `row` with weight `w` under join key `key` (a new entry starts with `matches`); drops entries at zero. */
  apply(key: unknown, row: Value[], w: number, matches: number): void {
    let bucket = this.byKey.get(key);
    if (!bucket) this.byKey.set(key, (bucket = new Map()));
    const rk = this.rowId(row);
    const e = bucket.get(rk);
    if (e) {
      e.count += w;
      if (e.count === 0) {
        bucket.delete(rk);
        if (bucket.size === 0) this.byKey.delete(key);
      }
    } else if (w !== 0) bucket.set(rk, { row, count: w, matches });
    this.size += w;
  }

  /** Stored rows (entries), each with its multiplicity. */
  entries(): number {
    let n = 0;
    for (const bucket of this.byKey.values()) n += bucket.size;
    return n;
  }
}

/** A table row a stream row was joined with (null: the NULL-padded row of a LEFT join), with its multiplicity then. */
interface Match {
  readonly row: Value[] | null;
  readonly count: number;
}

/** One arrival of a stream row (with weight `w`) and what it was joined with. */
interface Arrival {
  readonly row: Value[];
  w: number;
  readonly matches: readonly Match[];
}

/**
 * What a lookup join over a retracting stream emitted, per stream row (by its encoding): its
 * arrivals, oldest first. A retraction of n copies takes back the oldest arrivals' output. Equal
 * stream rows are interchangeable, so which of their arrivals goes is not observable beyond
 * what PostgreSQL leaves unspecified (the row with no key that identifies it).
 */
class EmittedLookups {
  private readonly byRow = new Map<string, Arrival[]>();
  private rows = 0;

  constructor(private readonly left: Schema, private readonly right: Schema) {}

  add(row: Value[], w: number, matches: readonly Match[]): void {
    const k = encodeValues(row);
    let list = this.byRow.get(k);
    if (!list) this.byRow.set(k, (list = []));
    list.push({ row, w, matches });
    this.rows += matches.length;
  }

  /** Takes back `n` copies of `row`: `emit(tableRow or null, count)` for each output row to retract. */
  retract(row: Value[], n: number, emit: (right: Value[] | null, count: number) => void): void {
    const k = encodeValues(row);
    const list = this.byRow.get(k);
    while (list && list.length > 0 && n > 0) {
      const a = list[0]!;
      const take = Math.min(n, a.w);
      for (const m of a.matches) emit(m.row, take * m.count);
      a.w -= take;
      n -= take;
      if (a.w === 0) {
        list.shift();
        this.rows -= a.matches.length;
      }
    }
    if (list && list.length === 0) this.byRow.delete(k);
  }

  /**
   * The state table `emitted`: per arrival and match, the stream row's columns, `_arrival` (its
   * arrival's number within the snapshot), `_w` (its weight), `_c` (the table row's multiplicity,
   * 0 for the NULL-padded row) and the table row's columns (NULL when padded).
   */
  stateTable(): StateTable {
    const taken = new Set(this.left.map((f) => f.name));
    const fresh = (base: string): string => {
      let n = base;
      while (taken.has(n)) n = `_${n}`;
      taken.add(n);
      return n;
    };
    const lw = this.left.length;
    const schema: Field[] = [
      ...this.left,
      { name: fresh('_arrival'), type: 'bigint' },
      { name: fresh('_w'), type: 'bigint' },
      { name: fresh('_c'), type: 'bigint' },
      ...this.right.map((f) => ({ ...f, name: fresh(f.name) })),
    ];
    const rw = this.right.length;
    return rowStateTable(
      { name: 'emitted', schema, key: [] },
      {
        readRows: () => {
          const out: Value[][] = [];
          let n = 0;
          for (const list of this.byRow.values()) {
            for (const a of list) {
              n++;
              for (const m of a.matches) out.push([...a.row, BigInt(n), BigInt(a.w), BigInt(m.row === null ? 0 : m.count), ...(m.row ?? new Array<Value>(rw).fill(null))]);
            }
          }
          return out;
        },
        loadRows: (rows) => {
          this.byRow.clear();
          this.rows = 0;
          // An arrival's rows are consecutive. Snapshots of several instances (a rescale) each
          // number from 1, but a stream row lives in one instance: (number, row) tells arrivals apart.
          let last: bigint | null = null;
          let lastKey: string | null = null;
          let arrival: Arrival | null = null;
          for (const r of rows) {
            const id = r[lw] as bigint;
            const k = encodeValues(r.slice(0, lw));
            if (arrival === null || id !== last || k !== lastKey) {
              arrival = { row: r.slice(0, lw), w: Number(r[lw + 1] as bigint), matches: [] };
              last = id;
              lastKey = k;
              let list = this.byRow.get(k);
              if (!list) this.byRow.set(k, (list = []));
              list.push(arrival);
            }
            const c = Number(r[lw + 2] as bigint);
            (arrival.matches as Match[]).push(c === 0 ? { row: null, count: 1 } : { row: r.slice(lw + 3), count: c });
            this.rows++;
          }
        },
        count: () => this.rows,
      },
    );
  }
}

/** A delta batch probed against the other side's state (see {@link JoinOp.pushSide}). */
interface Probe {
  readonly rows: Value[][];
  /** Each row's join key; null for a NULL key or a late row. */
  readonly keys: unknown[];
  /** Each row's candidates: the other side's rows with its key. */
  readonly candidates: (Map<unknown, Entry> | undefined)[];
  /** The rows the watermark has passed: dropped. */
  readonly late: Set<number>;
  /** Whether the next candidate pair (in probe order) passes the residual ON condition. */
  verdicts: () => boolean;
}

const PASS_ALL = (): boolean => true;

/** The residual's verdicts over the candidate pairs, one call per pair in order. */
function residualVerdicts(cond: Column): () => boolean {
  let k = 0;
  return () => {
    const i = k++;
    return isValid(cond, i) && getBit(cond.values as Uint8Array, i);
  };
}

/** The context the join-key kernels run in when a restore recomputes the keys (see {@link sideStateTable}). */
export const RESTORE_CTX: EvalContext = { now: 0n, onRowError: () => undefined };

/** The spec of a join side's state table (see {@link sideStateTable}); ColumnarJoinOp's sides have the same. */
export function sideSpec(name: string, input: Schema, expiry: TimeExpiry | null, appendOnly: boolean): StateTableSpec {
  const taken = new Set(input.map((f) => f.name));
  const fresh = (base: string): string => {
    let n = base;
    while (taken.has(n)) n = `_${n}`;
    taken.add(n);
    return n;
  };
  const schema: Field[] = [...input, { name: fresh('_count'), type: 'bigint' }, { name: fresh('_matches'), type: 'bigint' }];
  return {
    name,
    schema,
    key: appendOnly ? [] : input.map((_, i) => i),
    ...(expiry ? { cleanup: { column: input[expiry.col]!.name, note: `rows whose ${input[expiry.col]!.name} + ${expiry.offset} µs is at or below the watermark` } } : {}),
  };
}

/**
 * The state table of one join side: the side's input columns, then `_count` (the row's
 * multiplicity) and `_matches` (rows of the other side matching it, for outer joins); the
 * extra names get more leading `_` should the input have such a column.
 *
 * Key: a retracting side stores each distinct row once (its identity is its encoding), so its
 * columns are the key. An append-only side stores every arrival as its own entry (its id a
 * sequence number), so equal rows may repeat and no columns identify one: key [].
 *
 * The join keys are not stored: they are the side's key expressions over the row's own
 * columns, so a restore evaluates the key kernels once over a batch of all restored rows and
 * gets the values the rows were filed under. A key that failed to evaluate was NULL then and
 * is NULL again (not reported twice: RESTORE_CTX drops row errors). The snapshot stays the
 * side's logical rows, independent of how join keys are encoded in memory. Rows are read bucket by bucket and loaded in that
 * order, so each bucket's entries keep their order (and thus the order of the join's output).
 * Append-only rows get fresh sequence ids on load and the sequence continues after them.
 *
 * Nothing here runs on the hot path: the table reads the side's map only when asked.
 */
function sideStateTable(name: string, side: SideState, input: Schema, expiry: TimeExpiry | null, lookupIndex: boolean): StateTable {
  const width = input.length;
  const types = input.map((f) => f.type);
  return rowStateTable(
    sideSpec(name, input, expiry, side.appendOnly),
    {
      *readRows() {
        for (const bucket of side.byKey.values()) for (const e of bucket.values()) yield [...e.row, BigInt(e.count), BigInt(e.matches)];
      },
      loadRows(rows) {
        side.byKey.clear();
        side.size = 0;
        if (rows.length === 0) return;
        const stored = rows.map((r) => r.slice(0, width));
        const b = batchFromRows(types, stored);
        const keyCols = side.keys.map((k) => k(b, RESTORE_CTX));
        const kv: Value[] = new Array(keyCols.length);
        for (let i = 0; i < rows.length; i++) {
          const row = stored[i]!;
          let isNull = false;
          for (let k = 0; k < keyCols.length; k++) if ((kv[k] = getValue(keyCols[k]!, i)) === null) isNull = true;
          // A lookup join's table index never holds NULL-key rows; a stream join files them under NULL_KEY.
          if (isNull && lookupIndex) continue;
          const key = isNull ? NULL_KEY : joinKey(kv);
          let bucket = side.byKey.get(key);
          if (!bucket) side.byKey.set(key, (bucket = new Map()));
          const count = Number(rows[i]![width] as bigint);
          bucket.set(side.rowId(row), { row, count, matches: Number(rows[i]![width + 1] as bigint) });
          side.size += count;
        }
      },
      count: () => side.entries(),
    },
  );
}

export class JoinOp implements Operator {
  readonly name = 'HashJoinExec';
  /**
   * `left` and `right`: each side's stored rows (see {@link sideStateTable}). A lookup join
   * keeps no stream rows, only the table's index: just `right`.
   */
  readonly state: readonly StateTable[];
  private readonly left: SideState;
  /**
   * A lookup join over a retracting stream: what each stream row was joined with when it came,
   * so its retraction takes back exactly that (the table may have changed since). Null when the
   * stream is append-only, or for a stream join.
   */
  private readonly emitted: EmittedLookups | null;
  private readonly right: SideState;
  private readonly residual: Kernel | null;
  private readonly types: readonly SqlType[];

  constructor(readonly id: string, private readonly plan: JoinPlan) {
    const t = plan.joinType;
    this.left = new SideState(plan.leftKeys.map(keyKernel), plan.left.schema.length, t === 'left' || t === 'full', plan.left.appendOnly);
    this.right = new SideState(plan.rightKeys.map(keyKernel), plan.right.schema.length, !plan.lookup && (t === 'right' || t === 'full'), plan.right.appendOnly);
    this.residual = plan.residual ? compile(plan.residual) : null;
    this.types = plan.schema.map((f) => f.type);
    const tb = plan.timeBound;
    const right = sideStateTable('right', this.right, plan.right.schema, tb?.right ?? null, plan.lookup);
    this.emitted = plan.lookup && !plan.left.appendOnly ? new EmittedLookups(plan.left.schema, plan.right.schema) : null;
    this.state = plan.lookup
      ? this.emitted ? [right, this.emitted.stateTable()] : [right]
      : [sideStateTable('left', this.left, plan.left.schema, tb?.left ?? null, false), right];
  }

  /** Rows held in state on both sides, when the watermark cleans them (a time-bounded join). */
  stateRows(): number {
    return this.plan.timeBound ? this.left.size + this.right.size : 0;
  }

  /** A lookup join's stream rows wait for the end of the epoch, when the table is as of it. */
  private pendingLookups: Batch[] = [];

  /** Input 0 is the left side, input 1 the right. */
  processBatch(input: number, b: Batch, ctx: OperatorContext, out: Collector): void {
    if (input === 0) {
      if (this.plan.lookup) this.pendingLookups.push(b);
      else this.pushSide(b, this.left, this.right, true, ctx, out);
    } else if (this.plan.lookup) {
      // A lookup join's table side only keeps its index current: no output, no retraction.
      this.applyOnly(b, this.right, ctx);
    } else this.pushSide(b, this.right, this.left, false, ctx, out);
  }

  private applyOnly(b: Batch, own: SideState, ctx: OperatorContext): void {
    const keyCols = own.keys.map((k) => k(b, ctx));
    for (let i = 0; i < b.length; i++) {
      const kv = keyCols.map((c) => getValue(c, i));
      if (kv.some((v) => v === null)) continue;
      own.apply(joinKey(kv), rowOf(b, i), b.weights ? b.weights[i]! : 1, 0);
    }
  }

  /** Probes a lookup join's stream rows; drops the rows no future row can match. */
  endEpoch(ctx: OperatorContext, out: Collector): void {
    for (const b of this.pendingLookups.splice(0)) this.pushSide(b, this.left, this.right, true, ctx, out);
    const after = this.plan.timeBound ? ctx.watermark?.after ?? null : null;
    if (after === null) return;
    for (const [side, isLeft] of [[this.left, true], [this.right, false]] as const) {
      for (const [key, bucket] of side.byKey) {
        for (const [rk, e] of bucket) {
          const exp = this.expiryOf(e.row, isLeft);
          if (exp !== null && exp <= after) {
            side.size -= e.count;
            bucket.delete(rk);
          }
        }
        if (bucket.size === 0) side.byKey.delete(key);
      }
    }
  }

  private expiryOf(row: readonly Value[], isLeft: boolean, late = false): bigint | null {
    const tb = this.plan.timeBound;
    if (!tb) return null;
    const e = isLeft ? tb.left : tb.right;
    const t = row[e.col];
    return t === null || t === undefined ? null : (t as bigint) + (late ? e.lateOffset : e.offset);
  }

  /**
   * Lookup join without a residual condition: probe the table index per row and build the
   * output column-wise (the stream's columns by index, the table's from the matched rows).
   */
  private lookupProbe(b: Batch, ctx: OperatorContext, out: Collector): void {
    const keyCols = this.left.keys.map((k) => k(b, ctx));
    const leftIdx: number[] = [];
    const matched: (Value[] | null)[] = [];
    const weights: number[] = [];
    const kv: Value[] = new Array(keyCols.length);
    for (let i = 0; i < b.length; i++) {
      const w = b.weights ? b.weights[i]! : 1;
      let isNull = false;
      for (let k = 0; k < keyCols.length; k++) if ((kv[k] = getValue(keyCols[k]!, i)) === null) isNull = true;
      let found = false;
      if (!isNull) {
        const bucket = this.right.byKey.get(joinKey(kv));
        if (bucket) {
          for (const e of bucket.values()) {
            if (e.count <= 0) continue;
            leftIdx.push(i);
            matched.push(e.row);
            weights.push(w * e.count);
            found = true;
          }
        }
      }
      if (!found && this.left.preserved) {
        leftIdx.push(i);
        matched.push(null);
        weights.push(w);
      }
    }
    if (leftIdx.length === 0) return;
    const idx = Int32Array.from(leftIdx);
    const n = idx.length;
    const right = this.plan.right.schema.map((f, j) => {
      const cb = new ColumnBuilder(f.type, n);
      for (let k = 0; k < n; k++) cb.append(matched[k] ? matched[k]![j]! : null);
      return cb.finish();
    });
    const allOnes = weights.every((w) => w === 1);
    out({ columns: [...b.columns.map((c) => takeColumn(c, idx, n)), ...right], length: n, weights: allOnes && !b.weights ? null : Int32Array.from(weights) });
  }

  /**
   * Joins a delta of one side with the other side's stored rows, then applies it to its own:
   * probe (candidates by key, late rows dropped, the residual ON over all candidate pairs at
   * once), emit each row's matches, and store the row with its match count.
   */
  private pushSide(b: Batch, own: SideState, other: SideState, isLeft: boolean, ctx: OperatorContext, out: Collector): void {
    if (b.length === 0) return;
    if (this.plan.lookup && isLeft && this.emitted) {
      this.lookupRetracting(b, this.emitted, ctx, out);
      return;
    }
    if (this.plan.lookup && isLeft && !this.residual) {
      this.lookupProbe(b, ctx, out);
      return;
    }
    const probe = this.probe(b, own, other, isLeft, ctx);
    const changes = new ChangeBuilder(this.types);
    for (let i = 0; i < probe.rows.length; i++) {
      if (probe.late.has(i)) continue;
      const row = probe.rows[i]!;
      const w = b.weights ? b.weights[i]! : 1;
      const total = this.joinRow(row, w, probe.candidates[i], isLeft, other, probe.verdicts, changes);
      if (own.preserved && total === 0) changes.add(this.padded(row, isLeft), w);
      // A lookup join keeps no stream rows: table changes never revisit them.
      if (!this.plan.lookup) own.apply(probe.keys[i] ?? NULL_KEY, row, w, total);
    }
    changes.flush(out);
  }

  /**
   * A lookup join's stream delta when the stream retracts: an inserted row is joined with the
   * table as of now and what it was joined with is remembered; a retracted row takes back what
   * it was joined with then, whatever the table holds now (as RisingWave's temporal join does
   * over a stream with a key).
   */
  private lookupRetracting(b: Batch, emitted: EmittedLookups, ctx: OperatorContext, out: Collector): void {
    const probe = this.probe(b, this.left, this.right, true, ctx);
    const changes = new ChangeBuilder(this.types);
    for (let i = 0; i < probe.rows.length; i++) {
      const row = probe.rows[i]!;
      const w = b.weights ? b.weights[i]! : 1;
      const cands = probe.candidates[i];
      if (w < 0) {
        // Its candidates' verdicts are in the probe order: read past them.
        if (this.residual && cands) for (let k = 0; k < cands.size; k++) probe.verdicts();
        emitted.retract(row, -w, (right, n) => changes.add(right === null ? this.padded(row, true) : [...row, ...right], -n));
        continue;
      }
      const matches: Match[] = [];
      if (cands) {
        for (const c of cands.values()) {
          if (!probe.verdicts() || c.count <= 0) continue;
          matches.push({ row: c.row, count: c.count });
          changes.addPair(row, c.row, w * c.count);
        }
      }
      if (matches.length === 0 && this.left.preserved) {
        matches.push({ row: null, count: 1 });
        changes.add(this.padded(row, true), w);
      }
      if (matches.length > 0) emitted.add(row, w, matches);
    }
    changes.flush(out);
  }

  /** The probe of {@link pushSide}: each row's values, key and candidates, and the residual's verdicts on the pairs. */
  private probe(b: Batch, own: SideState, other: SideState, isLeft: boolean, ctx: OperatorContext): Probe {
    const before = this.plan.timeBound ? ctx.watermark?.before ?? null : null;
    const keyCols = own.keys.map((k) => k(b, ctx));
    const probe: Probe = { rows: [], keys: [], candidates: [], late: new Set(), verdicts: PASS_ALL };
    const pairRows: Value[][] = [];
    for (let i = 0; i < b.length; i++) {
      const row = rowOf(b, i);
      probe.rows.push(row);
      if (before !== null && this.isLate(row, isLeft, before)) {
        // A row the watermark has passed is late: dropped and counted.
        ctx.countLate(1);
        probe.keys.push(null);
        probe.candidates.push(undefined);
        probe.late.add(i);
        continue;
      }
      const kv = keyCols.map((c) => getValue(c, i));
      // SQL equality: a NULL key matches nothing.
      const enc = kv.some((v) => v === null) ? null : joinKey(kv);
      probe.keys.push(enc);
      const cands = enc === null ? undefined : other.byKey.get(enc);
      probe.candidates.push(cands);
      if (this.residual && cands) for (const c of cands.values()) pairRows.push(isLeft ? [...row, ...c.row] : [...c.row, ...row]);
    }
    if (this.residual && pairRows.length) probe.verdicts = residualVerdicts(this.residual(batchFromRows(this.types, pairRows), ctx));
    return probe;
  }

  /**
   * The output of one delta row: its pairs with the candidates the residual accepts, and the
   * other side's NULL-padded rows whose match count leaves or reaches zero. Returns how many
   * stored rows (with multiplicity) the row matches.
   */
  private joinRow(row: Value[], w: number, cands: Map<unknown, Entry> | undefined, isLeft: boolean, other: SideState, verdicts: () => boolean, changes: ChangeBuilder): number {
    let total = 0;
    if (!cands) return total;
    for (const c of cands.values()) {
      const ok = verdicts();
      if (!ok || c.count <= 0) continue;
      total += c.count;
      if (isLeft) changes.addPair(row, c.row, w * c.count);
      else changes.addPair(c.row, row, w * c.count);
      if (other.preserved) {
        const before = c.matches;
        c.matches += w;
        if (before === 0 && c.matches > 0) changes.add(this.padded(c.row, !isLeft), -c.count);
        else if (before > 0 && c.matches === 0) changes.add(this.padded(c.row, !isLeft), c.count);
      }
    }
    return total;
  }

  /** A row of one side with NULLs for the other side's columns. */
  private padded(row: readonly Value[], rowIsLeft: boolean): Value[] {
    return rowIsLeft ? [...row, ...new Array<Value>(this.right.width).fill(null)] : [...new Array<Value>(this.left.width).fill(null), ...row];
  }

  /** Whether the watermark (before this batch) has passed the last time a row of this side could still match. */
  private isLate(row: readonly Value[], isLeft: boolean, watermark: bigint): boolean {
    const exp = this.expiryOf(row, isLeft, true);
    return exp === null || exp <= watermark;
  }
}

/**
 * The DuckDB strategy of a lookup join: the epoch's stream rows are collected and, at the end
 * of the epoch, handed to DuckDB, which joins them with the table as it is in this epoch.
 * No state is kept here.
 */
export class DuckLookupOp implements Operator {
  readonly name = 'HashJoinExec';
  /** The table is DuckDB's; the buffered stream rows are per-epoch scratch. */
  readonly state: readonly StateTable[] = [];
  private buffered: Batch[] = [];
  constructor(readonly id: string, private readonly plan: JoinPlan) {}

  /** Input 0: stream rows, joined at the end of the epoch. Input 1: the table's changes, already in DuckDB. */
  processBatch(input: number, b: Batch): void {
    if (input === 0 && b.length) this.buffered.push(b);
  }

  async endEpoch(ctx: OperatorContext, out: Collector): Promise<void> {
    if (this.buffered.length === 0) return;
    const batches = this.buffered;
    this.buffered = [];
    if (!ctx.lookupInDuck) throw new Error('the DuckDB lookup strategy needs the engine');
    const t = this.plan.lookupTable!;
    const types = this.plan.schema.map((f) => f.type);
    const rows = await ctx.lookupInDuck({
      table: t.name,
      columns: t.columns,
      tableKeys: t.keys,
      streamKeys: this.plan.leftKeys.map((k) => (k as { index: number }).index),
      streamSchema: this.plan.left.schema,
      batches,
      left: this.plan.joinType === 'left',
      outputTypes: types,
    });
    if (rows.length) out(batchFromRows(types, rows));
  }
}
