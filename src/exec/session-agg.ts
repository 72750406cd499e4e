/**
 * SessionAggExec (SESSION windows) keeps, per key, the rows of its open sessions; at each epoch it
 * recomputes the sessions of the keys that changed (rows closer than `gap` join one session) by
 * adding their rows to a scratch accumulator group, and emits the difference. A session closes
 * when the watermark passes its end (last row + gap).
 */
import { getValue, isValid, takeBatch, type Batch } from '../common/column.js';
import { SluiceError } from '../common/errors.js';
import type { Field, Value } from '../common/types.js';
import { createAccumulator, moreInputs, type GroupsAccumulator } from '../functions/aggregate/index.js';
import { AGGREGATE_SIGNATURES } from '../planner/aggregate-signatures.js';
import { AggregateInputs } from './aggregate-inputs.js';
import { ChangeBuilder } from './changes.js';
import { compile, type Kernel } from './eval.js';
import { encodeValues } from './group-table.js';
import type { Collector, Operator, OperatorContext } from './operator.js';
import { rowStateTable, type StateTable } from './state/state-table.js';
import { emittedSpec, keyFields, keysOfRow, lateReason, SCRATCH, times, uniqueNames, windowWatermark, type WindowAggPlan } from './window-common.js';

interface SessionRow {
  readonly t: number;
  readonly args: Value[];
  readonly filters: boolean[];
  count: number;
}

/** One key's open sessions: its rows (by row key) and, in updating mode, the rows last emitted. */
interface KeyState {
  keys: Value[];
  rows: Map<string, SessionRow>;
  emitted: Value[][];
}

export class SessionAggOp implements Operator {
  readonly name = 'SessionAggExec';
  /** `rows` (key, event time, arguments, filters, count) and, in updating mode, `emitted`. */
  readonly state: readonly StateTable[];
  private readonly time: Kernel;
  private readonly inputs: AggregateInputs;
  /**
   * One accumulator per aggregate, whose SCRATCH group is the session being evaluated. Session
   * rows are added with their (positive) counts, so none of them ever sees a retraction.
   */
  private readonly sessionAccs: GroupsAccumulator[];
  private readonly byKey = new Map<string, KeyState>();
  private readonly dirty = new Set<string>();
  private readonly gap: number;

  constructor(readonly id: string, private readonly plan: WindowAggPlan) {
    this.time = compile(plan.window.time);
    // Session rows keep only each call's argument, from which they are re-added one at a time.
    const ordered = plan.aggs.find((a) => moreInputs(a).length > 0);
    if (ordered) throw new SluiceError('not_supported', `${AGGREGATE_SIGNATURES[ordered.fn].name}() with ORDER BY or a second argument over SESSION windows is not supported yet`, { hint: 'Use it over TUMBLE or HOP windows, or without a window.' });
    this.inputs = new AggregateInputs(plan.keys, plan.aggs);
    this.gap = Number(plan.window.gap);
    this.sessionAccs = plan.aggs.map((a) => createAccumulator(a, false));
    this.state = this.stateTables();
  }

  private stateTables(): StateTable[] {
    const plan = this.plan;
    const byKey = this.byKey;
    const keys = keyFields(plan);
    const nk = keys.length;
    const nAggs = plan.aggs.length;
    // Only the aggregates with an argument / a filter have a column: the others hold null / true.
    const withArg = plan.aggs.flatMap((a, i) => (a.arg ? [i] : []));
    const withFilter = plan.aggs.flatMap((a, i) => (a.filter ? [i] : []));
    const rowsSchema = uniqueNames([
      ...keys,
      { name: '_t', type: 'timestamp' },
      ...withArg.map((i) => ({ name: `arg${i}`, type: plan.aggs[i]!.arg!.type })),
      ...withFilter.map((i): Field => ({ name: `filter${i}`, type: 'boolean' })),
      { name: '_count', type: 'bigint' },
    ]);
    const tables: StateTable[] = [
      rowStateTable(
        {
          name: 'rows',
          schema: rowsSchema,
          key: rowsSchema.slice(0, -1).map((_, i) => i),
          cleanup: { column: '_t', note: 'rows go with their session, once the watermark passes its end (last row + gap)' },
        },
        {
          // Key by key, each key's rows in insertion order: ties in event time keep their order.
          readRows: function* (this: void) {
            for (const s of byKey.values()) {
              for (const r of s.rows.values()) {
                const row: Value[] = [...s.keys, BigInt(r.t)];
                for (const i of withArg) row.push(r.args[i] ?? null);
                for (const i of withFilter) row.push(r.filters[i]!);
                row.push(BigInt(r.count));
                yield row;
              }
            }
          },
          loadRows: (rows) => {
            for (const s of byKey.values()) s.rows.clear();
            for (const r of rows) {
              const s = this.entry(r.slice(0, nk));
              const t = Number(r[nk] as bigint);
              const args: Value[] = new Array<Value>(nAggs).fill(null);
              const filters: boolean[] = new Array<boolean>(nAggs).fill(true);
              let o = nk + 1;
              for (const i of withArg) args[i] = r[o++]!;
              for (const i of withFilter) filters[i] = r[o++] === true;
              const count = Number(r[o] as bigint);
              s.rows.set(`${t}|${encodeValues(args)}|${filters.map((x) => (x ? 1 : 0)).join('')}`, { t, args, filters, count });
            }
          },
          count: () => this.stateRows(),
        },
      ),
    ];
    if (!plan.emitOnClose) tables.push(this.emittedTable());
    return tables;
  }

  /** `emitted` (updating mode): the sessions' rows as emitted, per key. */
  private emittedTable(): StateTable {
    const plan = this.plan;
    const byKey = this.byKey;
    return rowStateTable(emittedSpec(plan, 'the session end, last row + gap'), {
      readRows: function* (this: void) {
        for (const s of byKey.values()) yield* s.emitted;
      },
      loadRows: (rows) => {
        for (const s of byKey.values()) s.emitted = [];
        for (const r of rows) this.entry(keysOfRow(plan, r)).emitted.push(r);
      },
      count: () => {
        let n = 0;
        for (const s of byKey.values()) n += s.emitted.length;
        return n;
      },
    });
  }

  /** The state of the key kv, created (empty) if new. */
  private entry(kv: Value[]): KeyState {
    const enc = encodeValues(kv);
    let s = this.byKey.get(enc);
    if (!s) this.byKey.set(enc, (s = { keys: kv, rows: new Map(), emitted: [] }));
    return s;
  }

  stateRows(): number {
    let n = 0;
    for (const s of this.byKey.values()) n += s.rows.size;
    return n;
  }

  processBatch(_input: number, b: Batch, ctx: OperatorContext): void {
    const n = b.length;
    const t = times(this.time(b, ctx), n);
    const { before } = windowWatermark(this.plan, ctx);
    const keys = this.inputs.keyColumns(b, ctx);
    const args = this.inputs.argColumns(b, ctx);
    const filters = this.inputs.filterColumns(b, ctx);
    const late: number[] = [];
    for (let i = 0; i < n; i++) {
      const ti = t[i]!;
      if (Number.isNaN(ti)) continue;
      if (before !== null && ti < Number(before)) {
        late.push(i);
        continue;
      }
      const kv = keys.map((c) => getValue(c, i));
      const enc = encodeValues(kv);
      let s = this.byKey.get(enc);
      if (!s) this.byKey.set(enc, (s = { keys: kv, rows: new Map(), emitted: [] }));
      const av = args.map((c) => (c ? getValue(c, i) : null));
      const fv = filters.map((c) => (c ? isValid(c, i) && getValue(c, i) === true : true));
      const rowKey = `${ti}|${encodeValues(av)}|${fv.map((x) => (x ? 1 : 0)).join('')}`;
      const w = b.weights ? b.weights[i]! : 1;
      const cur = s.rows.get(rowKey);
      if (cur) {
        cur.count += w;
        if (cur.count === 0) s.rows.delete(rowKey);
      } else s.rows.set(rowKey, { t: ti, args: av, filters: fv, count: w });
      this.dirty.add(enc);
    }
    if (late.length) {
      ctx.onLate?.(takeBatch(b, Int32Array.from(late), late.length), lateReason(t[late[0]!]!, before!));
    }
  }

  /** Sessions of one key: rows sorted by time, split where the gap to the next is ≥ gap. */
  private sessions(keys: Value[], rows: Map<string, SessionRow>): { start: number; end: number; row: Value[]; members: string[] }[] {
    const sorted = [...rows.entries()].filter(([, r]) => r.count > 0).sort((a, b) => a[1].t - b[1].t);
    const out: { start: number; end: number; row: Value[]; members: string[] }[] = [];
    let i = 0;
    while (i < sorted.length) {
      let j = i;
      while (j + 1 < sorted.length && sorted[j + 1]![1].t - sorted[j]![1].t < this.gap) j++;
      const members = sorted.slice(i, j + 1);
      const start = members[0]![1].t;
      const end = members[members.length - 1]![1].t + this.gap;
      const row: Value[] = [];
      let k = 0;
      for (const r of this.plan.roles) {
        if (r === 'window_start') row.push(BigInt(start));
        else if (r === 'window_end') row.push(BigInt(end));
        else row.push(keys[k++]!);
      }
      for (let a = 0; a < this.sessionAccs.length; a++) row.push(this.aggregate(a, members));
      out.push({ start, end, row, members: members.map(([k2]) => k2) });
      i = j + 1;
    }
    return out;
  }

  /** Aggregate a over a session's rows (those passing its filter), through its scratch group. */
  private aggregate(a: number, members: readonly (readonly [string, SessionRow])[]): Value {
    const acc = this.sessionAccs[a]!;
    acc.reset(SCRATCH);
    for (const [, r] of members) if (r.filters[a]) acc.add(SCRATCH, r.args[a] ?? null, r.count);
    return acc.evaluate(SCRATCH);
  }

  endEpoch(ctx: OperatorContext, out: Collector): void {
    const { after } = windowWatermark(this.plan, ctx);
    const closeAt = after === null ? null : Number(after);
    const changes = new ChangeBuilder(this.plan.schema.map((f) => f.type));
    const add = (row: Value[], w: number) => changes.add(row, w);
    const keysToCheck = closeAt !== null ? [...this.byKey.keys()] : [...this.dirty];
    for (const enc of keysToCheck) {
      const s = this.byKey.get(enc)!;
      const sessions = this.sessions(s.keys, s.rows);
      if (this.plan.emitOnClose) {
        for (const ses of sessions) {
          if (closeAt === null || ses.end > closeAt) continue;
          add(ses.row, 1);
          for (const m of ses.members) s.rows.delete(m);
        }
      } else {
        if (this.dirty.has(enc)) {
          const fresh = sessions.map((x) => x.row);
          const oldEnc = new Map<string, number>();
          for (const r of s.emitted) oldEnc.set(encodeValues(r), (oldEnc.get(encodeValues(r)) ?? 0) + 1);
          const newEnc = new Map<string, number>();
          for (const r of fresh) newEnc.set(encodeValues(r), (newEnc.get(encodeValues(r)) ?? 0) + 1);
          for (const r of s.emitted) if (!newEnc.has(encodeValues(r))) add(r, -1);
          for (const r of fresh) if (!oldEnc.has(encodeValues(r))) add(r, 1);
          s.emitted = fresh;
        }
        if (closeAt !== null) {
          // Closed sessions are final: late rows can no longer reach them.
          const closed = sessions.filter((x) => x.end <= closeAt);
          for (const ses of closed) for (const m of ses.members) s.rows.delete(m);
          if (closed.length) {
            const closedRows = new Set(closed.map((x) => encodeValues(x.row)));
            s.emitted = s.emitted.filter((r) => !closedRows.has(encodeValues(r)));
          }
        }
      }
      if (s.rows.size === 0 && s.emitted.length === 0) this.byKey.delete(enc);
    }
    this.dirty.clear();
    changes.flush(out);
  }
}
