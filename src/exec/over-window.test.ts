/**
 * Frames of OverWindowExec against an independent model: for random partitions (values with
 * ties and NULLs, counts > 1), random ROWS and RANGE frames and both directions, the
 * operator's sum/count/min/first_value/last_value equal a brute-force reading of the SQL
 * definition (a row is in the frame when its position, or its ORDER BY value, lies within the
 * bounds), evaluated row by row.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, batchRows, type Batch } from '../common/column.js';
import type { Value } from '../common/types.js';
import type { BoundExpr } from '../planner/expr.js';
import type { FrameEdge, WindowCall, WindowFn, WindowFrame } from '../planner/logical.js';
import type { OperatorContext } from './operator.js';
import { OverWindowOp } from './over-window.js';

type Edge = { kind: FrameEdge['kind']; n: number };

const col = (index: number): BoundExpr => ({ kind: 'col', index, type: 'int' });
const ctx = { epoch: 1, now: 0n, watermark: null, countLate: () => undefined } as unknown as OperatorContext;

/** Output rows of an OverWindowOp over input rows (p, id, v) with one call per function, ordered by v (then id for ROWS). */
function run(rows: readonly (readonly [number, number, number | null])[], mode: 'rows' | 'range', start: Edge, end: Edge, desc: boolean, fns: readonly WindowFn[]): Value[][] {
  const edge = (e: Edge, isStart: boolean): FrameEdge => {
    if (mode === 'rows' || (e.kind !== 'preceding' && e.kind !== 'following')) return { kind: e.kind, rows: e.n, value: null };
    // RANGE bound value = v ∓ n in the order's direction.
    const backwards = (e.kind === 'preceding') !== desc;
    void isStart;
    return { kind: e.kind, rows: 0, value: { kind: 'call', fn: backwards ? 'sub' : 'add', args: [col(2), { kind: 'lit', value: e.n, type: 'int' }], type: 'int' } };
  };
  const frame: WindowFrame = { mode, start: edge(start, true), end: edge(end, false) };
  const calls: WindowCall[] = fns.map((fn) => ({ fn, args: fn === 'count_star' ? [] : [col(2)], frame, type: fn === 'count_star' || fn === 'count' || fn === 'sum' ? 'bigint' : 'int' }));
  const orderBy = mode === 'rows' ? [{ expr: col(2), desc, nullsFirst: desc }, { expr: col(1), desc: false, nullsFirst: false }] : [{ expr: col(2), desc, nullsFirst: desc }];
  const schema = [{ name: 'p', type: 'int' as const }, { name: 'id', type: 'int' as const }, { name: 'v', type: 'int' as const }];
  const op = new OverWindowOp('t/0', {
    kind: 'OverWindowExec',
    input: { kind: 'ValuesExec', rows: [], schema, appendOnly: true },
    partitionBy: [col(0)],
    orderBy,
    calls,
    schema: [...schema, ...calls.map((c, k) => ({ name: `w${k}`, type: c.type }))],
    appendOnly: false,
  });
  const out: Batch[] = [];
  op.processBatch(0, batchFromRows(['int', 'int', 'int'], rows.map((r) => [...r])), ctx);
  op.endEpoch(ctx, (b) => out.push(b));
  return out.flatMap((b) => batchRows(b));
}

/** The model: frame membership straight from the definition. */
function model(rows: readonly (readonly [number, number, number | null])[], mode: 'rows' | 'range', start: Edge, end: Edge, desc: boolean, fns: readonly WindowFn[]): Value[][] {
  const out: Value[][] = [];
  const cmpV = (a: number | null, b: number | null): number => {
    // NULLS LAST ascending, NULLS FIRST descending (the default), DESC flips non-NULL values.
    if (a === null || b === null) return a === b ? 0 : (a === null) === desc ? -1 : 1;
    return desc ? b - a : a - b;
  };
  for (const p of new Set(rows.map((r) => r[0]))) {
    const part = rows.filter((r) => r[0] === p).sort((a, b) => cmpV(a[2], b[2]) || a[1] - b[1]);
    part.forEach((cur, i) => {
      const inFrame = (j: number): boolean => {
        if (mode === 'rows') {
          const lo = start.kind === 'unbounded_preceding' ? -Infinity : start.kind === 'current_row' ? i : start.kind === 'preceding' ? i - start.n : i + start.n;
          const hi = end.kind === 'unbounded_following' ? Infinity : end.kind === 'current_row' ? i : end.kind === 'preceding' ? i - end.n : i + end.n;
          return j >= lo && j <= hi;
        }
        const x = part[j]![2];
        const c = cur[2];
        const peer = cmpV(x, c) === 0;
        const after = (e: Edge): boolean => {
          // x at or after the start edge e (in the order).
          if (e.kind === 'unbounded_preceding') return true;
          if (e.kind === 'current_row') return cmpV(x, c) >= 0;
          if (c === null) return peer || cmpV(x, c) > 0;
          if (x === null) return cmpV(x, c) > 0;
          const bound = e.kind === 'preceding' ? (desc ? c + e.n : c - e.n) : desc ? c - e.n : c + e.n;
          return desc ? x <= bound : x >= bound;
        };
        const before = (e: Edge): boolean => {
          if (e.kind === 'unbounded_following') return true;
          if (e.kind === 'current_row') return cmpV(x, c) <= 0;
          if (c === null) return peer || cmpV(x, c) < 0;
          if (x === null) return cmpV(x, c) < 0;
          const bound = e.kind === 'preceding' ? (desc ? c + e.n : c - e.n) : desc ? c - e.n : c + e.n;
          return desc ? x >= bound : x <= bound;
        };
        return after(start) && before(end);
      };
      const frame = part.filter((_, j) => inFrame(j));
      const vals = frame.map((r) => r[2]).filter((v): v is number => v !== null);
      const results = fns.map((fn): Value => {
        switch (fn) {
          case 'sum':
            return vals.length ? BigInt(vals.reduce((a, b) => a + b, 0)) : null;
          case 'count':
            return BigInt(vals.length);
          case 'count_star':
            return BigInt(frame.length);
          case 'min':
            return vals.length ? Math.min(...vals) : null;
          case 'max':
            return vals.length ? Math.max(...vals) : null;
          case 'first_value':
            return frame.length ? frame[0]![2] : null;
          case 'last_value':
            return frame.length ? frame[frame.length - 1]![2] : null;
          default:
            throw new Error(fn);
        }
      });
      out.push([...cur, ...results]);
    });
  }
  return out;
}

const edgeArb = (isStart: boolean) =>
  fc.oneof(
    fc.constant<Edge>({ kind: isStart ? 'unbounded_preceding' : 'unbounded_following', n: 0 }),
    fc.constant<Edge>({ kind: 'current_row', n: 0 }),
    fc.integer({ min: 0, max: 3 }).map((n): Edge => ({ kind: 'preceding', n })),
    fc.integer({ min: 0, max: 3 }).map((n): Edge => ({ kind: 'following', n })),
  );

/** PostgreSQL's frame rules (a start after the end is refused): */
const valid = (s: Edge, e: Edge) => !(s.kind === 'current_row' && e.kind === 'preceding') && !(s.kind === 'following' && (e.kind === 'preceding' || e.kind === 'current_row'));

const key = (r: readonly Value[]) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));

describe('OverWindowExec frames vs a brute-force model', () => {
  it('random ROWS and RANGE frames, ascending and descending, with ties and NULLs', () => {
    const rowsArb = fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 40 }), fc.option(fc.integer({ min: -4, max: 4 }), { nil: null, freq: 4 })), { selector: (r) => r[1], maxLength: 12 });
    fc.assert(
      fc.property(rowsArb, fc.constantFrom<'rows' | 'range'>('rows', 'range'), edgeArb(true), edgeArb(false), fc.boolean(), (rows, mode, s, e, desc) => {
        fc.pre(valid(s, e));
        const fns: WindowFn[] = mode === 'rows' ? ['sum', 'count', 'count_star', 'min', 'max', 'first_value', 'last_value'] : ['sum', 'count', 'count_star', 'min', 'max'];
        const got = run(rows, mode, s, e, desc, fns).map(key).sort();
        const want = model(rows, mode, s, e, desc, fns).map(key).sort();
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});
