import { microsInterval } from './interval.js';
import { describe, expect, it } from 'vitest';
import { formatTimestamp, parseTimestamp, parseText, castValue, formatValue } from './values.js';

describe('values', () => {
  it('parses and prints timestamps in microseconds', () => {
    expect(parseTimestamp('2023-11-14 22:13:20')).toBe(1_700_000_000_000_000n);
    expect(parseTimestamp('2023-11-14T22:13:20.5Z')).toBe(1_700_000_000_500_000n);
    expect(parseTimestamp('2023-11-14 23:13:20+01:00')).toBe(1_700_000_000_000_000n);
    expect(formatTimestamp(1_700_000_000_000_001n)).toBe('2023-11-14 22:13:20.000001');
    expect(formatTimestamp(-1n)).toBe('1969-12-31 23:59:59.999999');
  });

  it('rejects out-of-range dates instead of rolling them over', () => {
    expect(() => parseTimestamp('2024-13-45')).toThrow(/out of range/);
    expect(() => parseTimestamp('2023-02-29 00:00:00')).toThrow(/out of range/);
    expect(() => parseTimestamp('2023-01-01 24:00:00')).toThrow(/out of range/);
    expect(parseTimestamp('2024-02-29')).toBe(1_709_164_800_000_000n);
  });

  it('converts text and values with PostgreSQL rules', () => {
    expect(parseText(' 42 ', 'int')).toBe(42);
    expect(() => parseText('42.5', 'int')).toThrow(/invalid input syntax for type integer/);
    expect(() => parseText('3000000000', 'int')).toThrow(/out of range/);
    expect(parseText('t', 'boolean')).toBe(true);
    expect(castValue(2.5, 'double', 'int')).toBe(3);
    expect(castValue(-2.5, 'double', 'int')).toBe(-3);
    expect(castValue(7, 'int', 'varchar')).toBe('7');
    expect(formatValue(parseText('1 day 01:01:01', 'interval'), 'interval')).toBe('1 day 01:01:01');
    expect(formatValue(microsInterval(90_061_000_000n), 'interval')).toBe('25:01:01');
    expect(formatValue(true, 'boolean')).toBe('t');
  });
});

describe('array values', () => {
  it('prints arrays in PostgreSQL text form, quoting where needed', () => {
    expect(formatValue(['a', null, 'c d', '', 'null', 'x"y', 'a,b', 'b\\c'], 'varchar[]')).toBe('{a,NULL,"c d","","null","x\\"y","a,b","b\\\\c"}');
    expect(formatValue([1, null, -2], 'int[]')).toBe('{1,NULL,-2}');
    expect(formatValue([true, false], 'boolean[]')).toBe('{t,f}');
    expect(formatValue([], 'double[]')).toBe('{}');
  });

  it('parses the text form back, and rejects malformed literals', () => {
    expect(parseText('{a,NULL,"c d","","null","x\\"y"}', 'varchar[]')).toEqual(['a', null, 'c d', '', 'null', 'x"y']);
    expect(parseText(' { 1 , 2,NULL } ', 'int[]')).toEqual([1, 2, null]);
    expect(parseText('{}', 'bigint[]')).toEqual([]);
    expect(parseText('{t,false}', 'boolean[]')).toEqual([true, false]);
    expect(() => parseText('{1,x}', 'int[]')).toThrow(/invalid input syntax for type integer/);
    expect(() => parseText('1,2', 'int[]')).toThrow(/malformed array literal/);
    expect(() => parseText('{{1},{2}}', 'int[]')).toThrow(/malformed array literal/);
    expect(() => parseText('{1,,2}', 'int[]')).toThrow(/malformed array literal/);
  });

  it('casts arrays element by element', () => {
    expect(castValue([1, null], 'int[]', 'bigint[]')).toEqual([1n, null]);
    expect(castValue([1, 2], 'int[]', 'varchar')).toBe('{1,2}');
    expect(() => castValue([1], 'int[]', 'int')).toThrow(/cannot cast type integer\[\] to integer/);
  });
});
