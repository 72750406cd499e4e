import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import type { BoundExpr } from '../../planner/expr.js';
import { bindScalar, SCALARS, type ScalarFn } from './index.js';

const col = (type: BoundExpr['type'], index = 0): BoundExpr => ({ kind: 'col', index, type });

describe('scalar function registry', () => {
  it('gives every SQL name to exactly one function', () => {
    const owner = new Map<string, ScalarFn>();
    for (const fn of Object.keys(SCALARS) as ScalarFn[]) {
      const sig = SCALARS[fn].signature;
      if (sig.kind !== 'function') continue;
      for (const name of sig.names) {
        expect(owner.get(name), `${name} is claimed by ${owner.get(name)} and ${fn}`).toBeUndefined();
        owner.set(name, fn);
      }
    }
    expect(owner.get('substring')).toBe('substr');
    expect(owner.get('date_part')).toBe('extract');
  });

  it('binds an alias to its function, coercing the arguments', () => {
    const e = bindScalar('substring', [col('varchar'), col('bigint', 1)], 7);
    expect(e).toEqual({ kind: 'call', fn: 'substr', type: 'varchar', args: [col('varchar'), { kind: 'cast', arg: col('bigint', 1), type: 'int' }] });
  });

  it('names the function and keeps the position when no signature matches', () => {
    const err = (() => {
      try {
        bindScalar('upper', [col('int')], 12);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).category).toBe('undefined_function');
    expect((err as SluiceError).message).toBe('function upper(integer) does not exist');
    expect((err as SluiceError).position).toBe(12);
    expect(() => bindScalar('no_such_function', [], 3)).toThrow('function no_such_function() does not exist');
  });

  it('does not let operators be called by name', () => {
    expect(() => bindScalar('add', [col('int'), col('int')], 0)).toThrow(SluiceError);
  });

  it('holds the array functions, typed beside their kernels', () => {
    expect(bindScalar('cardinality', [col('int[]')], 0)).toEqual({ kind: 'call', fn: 'cardinality', type: 'int', args: [col('int[]')] });
    expect(bindScalar('string_to_array', [col('varchar'), col('varchar', 1)], 0).type).toBe('varchar[]');
    expect(() => bindScalar('array_length', [col('varchar'), col('int', 1)], 4)).toThrow('function array_length(character varying, integer) does not exist');
    expect(() => bindScalar('array_ctor', [col('int')], 0)).toThrow(SluiceError);
  });
});
