/**
 * ColumnarJoinOp against JoinOp (the general path) on random append-only inputs: every join
 * type (cross: no keys), int, bigint, text and composite keys with NULLs, with and without a residual ON and a
 * time bound, random watermarks and epochs. The outputs must be the same changes in the same
 * order, the state tables the same rows, and a restore (from either operator's snapshot)
 * must carry on identically.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows, type Batch } from '../common/column.js';
import type { Schema, SqlType, Value } from '../common/types.js';
import type { BoundExpr } from '../planner/expr.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { ColumnarJoinOp, columnarJoinApplies } from './columnar-join.js';
import { JoinOp } from './join.js';
import type { Operator, OperatorContext } from './operator.js';

type JoinPlan = Extract<PhysicalPlan, { kind: 'HashJoinExec' }>;

interface Setup {
  readonly keyType: 'int' | 'bigint' | 'varchar' | 'composite';
  readonly joinType: 'inner' | 'left' | 'right' | 'full' | 'cross';
  readonly residual: boolean;
  readonly timed: boolean;
}

/** Side columns: k (the key), k2 (second key of a composite), v, ts. */
function plan(s: Setup): JoinPlan {
  const kt: SqlType = s.keyType === 'composite' ? 'int' : s.keyType;
  const side: Schema = [{ name: 'k', type: kt }, { name: 'k2', type: 'bigint' }, { name: 'v', type: 'int' }, { name: 'ts', type: 'timestamp' }];
  const input = { kind: 'ValuesExec', rows: [], schema: side, appendOnly: true } as const;
  const col = (index: number, type: SqlType): BoundExpr => ({ kind: 'col', index, type });
  const keys = s.joinType === 'cross' ? [] : s.keyType === 'composite' ? [col(0, kt), col(1, 'bigint')] : [col(0, kt)];
  const bound = { col: 3, offset: 5n, lateOffset: 3n };
  return {
    kind: 'HashJoinExec',
    left: input,
    right: input,
    joinType: s.joinType,
    leftKeys: keys,
    rightKeys: keys,
    // l.v < r.v (the right side's columns follow the left's four).
    residual: s.residual ? { kind: 'call', fn: 'lt', args: [col(2, 'int'), col(6, 'int')], type: 'boolean' } : null,
    lookup: false,
    lookupStrategy: null,
    lookupTable: null,
    timeBound: s.timed ? { left: bound, right: bound } : null,
    schema: [...side, ...side.map((f) => ({ ...f, name: `r_${f.name}` }))],
    appendOnly: s.joinType === 'inner' || s.joinType === 'cross',
  } as JoinPlan;
}

type Step = { readonly kind: 'batch'; readonly input: number; readonly rows: readonly (readonly [number | null, number, number, number | null, number])[] } | { readonly kind: 'epoch'; readonly advance: number };

const rowArb = fc.tuple(fc.option(fc.integer({ min: 0, max: 5 }), { freq: 8 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 9 }), fc.option(fc.integer({ min: 0, max: 40 }), { freq: 10 }), fc.integer({ min: 1, max: 3 }));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('batch' as const), input: fc.integer({ min: 0, max: 1 }), rows: fc.array(rowArb, { maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('epoch' as const), advance: fc.integer({ min: 0, max: 8 }) }) },
);
const setupArb: fc.Arbitrary<Setup> = fc.record({
  keyType: fc.constantFrom('int', 'bigint', 'varchar', 'composite'),
  joinType: fc.constantFrom('inner', 'left', 'right', 'full', 'cross'),
  residual: fc.boolean(),
  timed: fc.boolean(),
});

function toBatch(s: Setup, rows: Step & { kind: 'batch' }, weighted: boolean): Batch {
  const types: SqlType[] = [s.keyType === 'composite' ? 'int' : s.keyType, 'bigint', 'int', 'timestamp'];
  const key = (k: number | null): Value => (k === null ? null : s.keyType === 'varchar' ? `key-${k}` : s.keyType === 'bigint' ? BigInt(k) * 10_000_000_000n : k);
  const vals = rows.rows.map(([k, k2, v, t]) => [key(k), BigInt(k2), v, t === null ? null : BigInt(t)]);
  return batchFromRows(types, vals, weighted ? rows.rows.map((r) => r[4]) : undefined);
}

/** Runs the steps through an operator, returning every output row with its weight, in order. */
function run(op: Operator, s: Setup, steps: readonly Step[], weighted: boolean, wm0: number | null): { out: Value[][]; late: number; wm: number | null } {
  const out: Value[][] = [];
  let late = 0;
  let wm = wm0;
  const ctx = (before: number | null, after: number | null): OperatorContext => ({
    now: 0n,
    epoch: 1,
    onRowError: () => undefined,
    countLate: (n) => (late += n),
    watermark: { before: before === null ? null : BigInt(before), after: after === null ? null : BigInt(after) },
  });
  const collect = (b: Batch): void => {
    batchRows(b).forEach((r, i) => out.push([...r, b.weights ? b.weights[i]! : 1]));
  };
  for (const step of steps) {
    if (step.kind === 'batch') op.processBatch(step.input, toBatch(s, step, weighted), ctx(wm, wm), collect);
    else {
      const after = (wm ?? 0) + step.advance;
      void op.endEpoch(ctx(wm, after), collect);
      out.push(['epoch']);
      wm = after;
    }
  }
  return { out, late, wm };
}

function snapshotRows(op: Operator): Value[][][] {
  return op.state.map((t) => t.snapshot().flatMap((b) => batchRows(b)));
}

/** Rows as sorted JSON (snapshots list keys in a different order; a key's rows keep theirs). */
function sorted(rows: readonly Value[][]): string[] {
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).sort();
}

describe('ColumnarJoinOp', () => {
  it('applies to stream joins of two append-only inputs only', () => {
    const p = plan({ keyType: 'int', joinType: 'inner', residual: false, timed: false });
    expect(columnarJoinApplies(p)).toBe(true);
    expect(columnarJoinApplies({ ...p, lookup: true })).toBe(false);
    expect(columnarJoinApplies({ ...p, right: { ...p.right, appendOnly: false } as PhysicalPlan })).toBe(false);
  });

  it('emits what JoinOp emits, in the same order, and holds the same state (500 cases)', () => {
    fc.assert(
      fc.property(setupArb, fc.array(stepArb, { maxLength: 30 }), fc.array(stepArb, { maxLength: 15 }), fc.boolean(), (s, steps, more, weighted) => {
        const p = plan(s);
        const general = new JoinOp('j', p);
        const columnar = new ColumnarJoinOp('j', p);
        const a = run(general, s, steps, weighted, null);
        const b = run(columnar, s, steps, weighted, null);
        expect(b.out).toEqual(a.out);
        expect(b.late).toBe(a.late);
        expect(columnar.stateRows()).toBe(general.stateRows());
        const snapA = snapshotRows(general);
        const snapB = snapshotRows(columnar);
        for (let t = 0; t < 2; t++) expect(sorted(snapB[t]!)).toEqual(sorted(snapA[t]!));
        expect(columnar.state.map((t) => t.spec)).toEqual(general.state.map((t) => t.spec));
        expect(columnar.state.map((t) => t.rows())).toEqual(general.state.map((t) => t.rows()));
        // A restore from either snapshot carries on as the general path does.
        for (const from of [general, columnar]) {
          const g2 = new JoinOp('j', p);
          const c2 = new ColumnarJoinOp('j', p);
          from.state.forEach((t, i) => {
            g2.state[i]!.restore(t.snapshot());
            c2.state[i]!.restore(t.snapshot());
          });
          const ga = run(g2, s, more, weighted, a.wm);
          const cb = run(c2, s, more, weighted, a.wm);
          expect(cb.out).toEqual(ga.out);
          expect(cb.late).toBe(ga.late);
        }
      }),
      { numRuns: 500 },
    );
  });
});
