/**
 * SlotColumn's text arena against a plain model (an array of the values a column builder would
 * hold): random scatters, sets, integer texts, copies (within one column and between two) and
 * NULLs, over slots rewritten many times so runs move, grow and the arena compacts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, canonicalText, getValue } from '../common/column.js';
import type { SqlType, Value } from '../common/types.js';
import { SlotColumn } from './slot-columns.js';

type Op =
  | { readonly kind: 'scatter'; readonly values: readonly (string | null)[]; readonly slots: readonly number[] }
  | { readonly kind: 'set'; readonly slot: number; readonly value: string | null }
  | { readonly kind: 'int'; readonly slot: number; readonly x: number }
  | { readonly kind: 'copy'; readonly from: number; readonly to: number; readonly other: boolean };

const SLOTS = 10;
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
// Long runs of one letter, too: values outgrowing their runs fill the arena with garbage, so it compacts.
const text = fc.oneof(fc.string({ maxLength: 3 }), fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.integer({ min: 1, max: 400 }).map((n) => 'y'.repeat(n)));
const numericText = fc.oneof(fc.integer().map(String), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((x) => x.toFixed(3)), fc.constantFrom('-0', '007', '1.500', '0.0'));

function opArb(numeric: boolean): fc.Arbitrary<Op> {
  const value = numeric ? numericText : text;
  return fc.oneof(
    fc.record({ kind: fc.constant('scatter' as const), values: fc.array(fc.option(value, { freq: 5 }), { minLength: 1, maxLength: 8 }), slots: fc.array(slot, { minLength: 8, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('set' as const), slot, value: fc.option(value, { freq: 5 }) }),
    fc.record({ kind: fc.constant('int' as const), slot, x: fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constant(0), fc.constantFrom(9, 10, 99, 100, 99999, 100000, 999999999, 1000000000, 2147483647, -2147483647, 2147483648, -2147483648, 4294967296)) }),
    fc.record({ kind: fc.constant('copy' as const), from: slot, to: slot, other: fc.boolean() }),
  );
}

function check(type: SqlType, ops: readonly Op[]): void {
  const a = new SlotColumn(type, 4);
  const b = new SlotColumn(type, 4);
  a.ensure(SLOTS);
  b.ensure(SLOTS);
  const model: Value[] = new Array<Value>(SLOTS).fill(null);
  const modelB: Value[] = new Array<Value>(SLOTS).fill(null);
  for (let s = 0; s < SLOTS; s++) {
    a.setNull(s);
    b.set(s, type === 'numeric' ? String(s * 7) : `b${s}`);
    modelB[s] = type === 'numeric' ? String(s * 7) : `b${s}`;
  }
  for (const op of ops) {
    switch (op.kind) {
      case 'scatter': {
        const col = batchFromRows([type], op.values.map((v) => [v])).columns[0]!;
        // Distinct slots (a scatter writes each slot once).
        const slots = [...new Set(op.slots)].slice(0, op.values.length);
        a.scatter(col, null, Int32Array.from(slots), slots.length);
        slots.forEach((s, k) => (model[s] = getValue(col, k)));
        break;
      }
      case 'set':
        a.set(op.slot, op.value);
        model[op.slot] = op.value === null ? null : canonicalText(type, op.value);
        break;
      case 'int':
        a.setIntegerText(op.slot, op.x);
        model[op.slot] = canonicalText(type, String(op.x));
        break;
      case 'copy':
        if (op.other) {
          a.copySlot(b, op.from, op.to);
          model[op.to] = modelB[op.from]!;
        } else {
          a.copySlot(a, op.from, op.to);
          model[op.to] = model[op.from]!;
        }
        break;
    }
  }
  for (let s = 0; s < SLOTS; s++) expect(a.get(s)).toBe(model[s]);
  const all = Int32Array.from({ length: SLOTS }, (_, s) => SLOTS - 1 - s);
  const gathered = a.gather(all, SLOTS);
  for (let k = 0; k < SLOTS; k++) expect(getValue(gathered, k)).toBe(model[SLOTS - 1 - k]);
  for (let s = 0; s < SLOTS; s++) for (let t = 0; t < SLOTS; t += 5) expect(a.sameAs(s, b, t)).toBe(model[s] === modelB[t]);
  mixed(a, model, b, modelB);
}

/** gatherEither and copySlots against the models of two columns. */
function mixed(a: SlotColumn, model: Value[], b: SlotColumn, modelB: Value[]): void {
  const n = model.length;
  const mine = Int32Array.from({ length: n }, (_, k) => (k * 7) % n);
  const other = Int32Array.from({ length: n }, (_, k) => (k % 3 === 0 ? -1 : n - 1 - k));
  const either = a.gatherEither(mine, b, other, n);
  for (let k = 0; k < n; k++) expect(getValue(either, k)).toBe(other[k]! >= 0 ? modelB[other[k]!] : model[mine[k]!]);
  const from = Int32Array.from({ length: n >> 1 }, (_, k) => 2 * k + 1);
  const to = Int32Array.from({ length: n >> 1 }, (_, k) => n - 1 - 2 * k);
  a.copySlots(b, from, to, from.length);
  from.forEach((f, k) => (model[to[k]!] = modelB[f]!));
  for (let s = 0; s < n; s++) expect(a.get(s)).toBe(model[s]);
}

describe('SlotColumn text slots', () => {
  it('hold what a column would, through moves, growth and compaction (varchar, 300 cases)', () => {
    fc.assert(fc.property(fc.array(opArb(false), { maxLength: 300 }), (ops) => check('varchar', ops)), { numRuns: 300 });
  });
  it('compact the arena when values keep outgrowing their runs', () => {
    const ops: Op[] = [];
    for (let i = 1; i <= 400; i++) ops.push({ kind: 'set', slot: i % 3, value: `${i}:${'y'.repeat(i)}` }, { kind: 'copy', from: i % 3, to: 3 + (i % 5), other: false });
    check('varchar', ops);
  });
  it('gather and copy fixed-width values a column at a time (int, bigint, double, boolean; 200 cases)', () => {
    const types: [SqlType, fc.Arbitrary<Value>][] = [
      ['int', fc.integer()],
      ['bigint', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
      ['double', fc.double({ noNaN: true })],
      ['boolean', fc.boolean()],
    ];
    for (const [type, arb] of types) {
      fc.assert(
        fc.property(fc.array(fc.option(arb, { freq: 4 }), { minLength: SLOTS, maxLength: SLOTS }), fc.array(fc.option(arb, { freq: 4 }), { minLength: SLOTS, maxLength: SLOTS }), (va, vb) => {
          const a = new SlotColumn(type, SLOTS);
          const b = new SlotColumn(type, SLOTS);
          va.forEach((v, s) => a.set(s, v));
          vb.forEach((v, s) => b.set(s, v));
          mixed(a, va.slice(), b, vb.slice());
        }),
        { numRuns: 50 },
      );
    }
  });
  it('hold canonical numeric text, integers written as digits (300 cases)', () => {
    fc.assert(fc.property(fc.array(opArb(true), { maxLength: 300 }), (ops) => check('numeric', ops)), { numRuns: 300 });
  });
});
