import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, getValue } from '../../common/column.js';
import type { SluiceError } from '../../common/errors.js';
import { addIntervalToTimestamp, decodeInterval, negateInterval } from '../../common/interval.js';
import type { SqlType, Value } from '../../common/types.js';
import { Catalog } from '../../catalog/index.js';
import { compile } from '../../exec/eval.js';
import type { BoundExpr } from '../../planner/expr.js';
import { SCALARS } from './index.js';
import { Binder } from '../../planner/binder.js';
import { parseExpression } from '../../parser/index.js';

function evalRows(expr: string, rows: Value[][]): { values: Value[]; errors: number } {
  const binder = new Binder(new Catalog(null));
  const scope = { fields: [{ qualifier: 'x', name: 't', type: 'timestamp' as SqlType }] };
  const bound = binder.bindExpr(parseExpression(expr), { scope, agg: null, noAggIn: null });
  let errors = 0;
  const col = compile(bound)(batchFromRows(['timestamp'], rows), { now: 0n, onRowError: (_e: SluiceError) => errors++ });
  return { values: rows.map((_, i) => getValue(col, i)), errors };
}

const TWO_52 = 2n ** 52n;

describe('timestamp ± a constant interval', () => {
  // The kernel shifts by a fixed number of µs in doubles when the interval has no months and
  // the timestamp lies within ±2^52 µs; the reference adds the interval row by row in BigInt.
  it('equals the row-by-row addition, near and past ±2^52 µs and the timestamp range (300 cases)', () => {
    const time = fc.oneof(
      fc.bigInt({ min: -TWO_52 - 1000n, max: -TWO_52 + 1000n }),
      fc.bigInt({ min: TWO_52 - 1000n, max: TWO_52 + 1000n }),
      fc.bigInt({ min: 1_600_000_000_000_000n, max: 1_800_000_000_000_000n }),
      fc.bigInt({ min: -210_866_803_200_000_000n, max: 2n ** 63n - 1n }),
      fc.constant(null),
    );
    const interval = fc.record({
      months: fc.oneof(fc.constant(0), fc.integer({ min: -30, max: 30 })),
      days: fc.oneof(fc.constant(0), fc.integer({ min: -100_000, max: 100_000 })),
      micros: fc.oneof(fc.bigInt({ min: -(10n ** 10n), max: 10n ** 10n }), fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n })),
    });
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 40 }), interval, fc.boolean(), (ts, iv, sub) => {
        const literal = `INTERVAL '${iv.months} months ${iv.days} days ${iv.micros} microseconds'`;
        const parts = decodeInterval(evalRows(literal, [[null]]).values[0] as string);
        const p = sub ? negateInterval(parts) : parts;
        // The general path: an interval column with a NULL in it (an extra last row).
        const general = evalRows(`t ${sub ? '-' : '+'} CASE WHEN t IS NULL THEN NULL ELSE ${literal} END`, [...ts.map((t) => [t]), [null]]);
        const want = general.values.slice(0, ts.length);
        const errors = general.errors;
        // Which is the BigInt addition (NULL past the timestamp range), where that fits 64 bits.
        ts.forEach((t, i) => {
          if (t === null) return;
          let r: bigint | null;
          try {
            r = addIntervalToTimestamp(t, p);
          } catch {
            r = null;
          }
          if (r === null || BigInt.asIntN(64, r) === r) expect(want[i]).toBe(r);
        });
        // A literal (known constant), and an expression equal on every row (compared row by row).
        for (const rhs of [literal, `CASE WHEN t IS NULL THEN ${literal} ELSE ${literal} END`]) {
          const got = evalRows(`t ${sub ? '-' : '+'} ${rhs}`, ts.map((t) => [t]));
          expect(got.values).toEqual(want);
          expect(got.errors).toBe(errors);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('NUMERIC with an integer cast to NUMERIC', () => {
  // compile() takes the integers straight into the arithmetic; the reference is the general
  // kernel over the cast column (the integers' NUMERIC text).
  it('gives the values and texts of the arithmetic over the cast column (1000 cases)', () => {
    const big = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.bigInt({ min: -(10n ** 15n) - 5n, max: -(10n ** 15n) + 5n }),
      fc.bigInt({ min: 10n ** 15n - 5n, max: 10n ** 15n + 5n }),
      fc.bigInt({ min: -100000n, max: 100000n }),
      fc.constant(null),
    );
    const int = fc.oneof(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.constant(null));
    const digits = fc.oneof(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.bigInt({ min: -99999n, max: 99999n }));
    const numeric = fc.oneof(
      fc.tuple(digits, fc.nat(20)).map(([d, sc]) => {
        const neg = d < 0n;
        const t = (neg ? -d : d).toString().padStart(sc + 1, '0');
        return (neg ? '-' : '') + (sc === 0 ? t : `${t.slice(0, t.length - sc)}.${t.slice(t.length - sc)}`);
      }),
      fc.constantFrom('0.908', '0', '-0.5', '123456789012345.5', '9007199254740993'),
      fc.constant(null),
    );
    fc.assert(
      fc.property(fc.constantFrom('add', 'sub', 'mul') as fc.Arbitrary<'add' | 'sub' | 'mul'>, fc.boolean(), fc.constantFrom('int', 'bigint') as fc.Arbitrary<'int' | 'bigint'>, fc.array(fc.tuple(numeric, big, int), { minLength: 1, maxLength: 20 }), (fn, numericFirst, intType, rows) => {
        const values: Value[][] = rows.map(([x, b, i]) => [x, intType === 'bigint' ? b : i]);
        const batch = batchFromRows(['numeric', intType], values);
        const num: BoundExpr = { kind: 'col', index: 0, type: 'numeric' };
        const cast: BoundExpr = { kind: 'cast', arg: { kind: 'col', index: 1, type: intType }, type: 'numeric' };
        const args = numericFirst ? [num, cast] : [cast, num];
        const ctx = { now: 0n, onRowError: (e: SluiceError) => { throw e; } };
        const fused = compile({ kind: 'call', fn, args, type: 'numeric' })(batch, ctx);
        const general = SCALARS[fn].kernel(args.map(compile), args, 'numeric')(batch, ctx);
        expect(rows.map((_, i) => getValue(fused, i))).toEqual(rows.map((_, i) => getValue(general, i)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('bigint arithmetic', () => {
  // The kernel computes in doubles when both operands lie within ±2^53 and the result is exact
  // there; the reference is BigInt row by row (NULL and a counted error past the bigint range or
  // for a zero divisor).
  it('equals BigInt arithmetic near ±2^31, ±2^32, ±2^53 and the ends of the range (200 cases per operator)', () => {
    const binder = new Binder(new Catalog(null));
    const scope = { fields: [{ qualifier: 'x', name: 'a', type: 'bigint' as SqlType }, { qualifier: 'x', name: 'b', type: 'bigint' as SqlType }] };
    const near = (c: bigint, d: bigint) => fc.bigInt({ min: c - d, max: c + d });
    const value = fc.oneof(
      fc.bigInt({ min: -1000n, max: 1000n }),
      near(2n ** 31n, 3n), near(-(2n ** 31n), 3n), near(2n ** 32n, 3n), near(-(2n ** 32n), 3n),
      near(2n ** 53n, 3n), near(-(2n ** 53n), 3n), near(2n ** 26n, 3n), near(3037000499n, 3n),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.constant(null),
    );
    const MAX = 2n ** 63n - 1n;
    const MIN = -(2n ** 63n);
    for (const [op, f] of [['+', (a: bigint, b: bigint) => a + b], ['-', (a: bigint, b: bigint) => a - b], ['*', (a: bigint, b: bigint) => a * b], ['%', (a: bigint, b: bigint) => a % b], ['/', (a: bigint, b: bigint) => a / b]] as const) {
      const bound = binder.bindExpr(parseExpression(`a ${op} b`), { scope, agg: null, noAggIn: null });
      fc.assert(
        fc.property(fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 30 }), (pairs) => {
          let errors = 0;
          const col = compile(bound)(batchFromRows(['bigint', 'bigint'], pairs), { now: 0n, onRowError: () => errors++ });
          let wantErrors = 0;
          pairs.forEach(([a, b], i) => {
            let want: bigint | null = null;
            if (a !== null && b !== null) {
              if ((op === '%' || op === '/') && b === 0n) wantErrors++;
              else {
                const r = f(a, b);
                if (r > MAX || r < MIN) wantErrors++;
                else want = r;
              }
            }
            expect(getValue(col, i)).toBe(want);
          });
          expect(errors).toBe(wantErrors);
        }),
        { numRuns: 200 },
      );
    }
  });
});
