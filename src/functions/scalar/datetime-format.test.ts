import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../common/values.js';
import { formatFields, intervalFields, parseWithTemplate, timestampToChar } from './datetime-format.js';
import { numberToChar } from './number-format.js';

const T = parseTimestamp('2020-03-05 13:04:05.123456');

describe('to_char templates (answers taken from PostgreSQL 15)', () => {
  it.each([
    ['TZ|tz|OF|TZH|TZM|FX|BC|a.d.', '||+00|+00|00||AD|a.d.'],
    ['RM|rm|FMRM|CC|Y,YYY|IYYY', 'III |iii |III|21|2,020|2020'],
    ['DDDth|FMDDth|Dth|SSSS|FF3', '065th|5th|5th|47045|123'],
    ['hh12|Hh24|mm|Mm', '01|Hh24|03|Mm'],
    ['DAY|Day|FMDay|TMDay|day', 'THURSDAY |Thursday |Thursday|Thursday|thursday '],
    ['w|WW|J|Q', '1|10|2458914|1'],
    ['HH24:MI:SS.MS.US AM a.m. pm', '13:04:05.123.123456 PM p.m. pm'],
    ['"Day" Day "at" HH', 'Day Thursday  at 01'],
    ['Mon MON mon Month MONTH FMmonth', 'Mar MAR mar March     MARCH     march'],
    ['IW ID IDDD', '10 4 067'],
  ])('%s', (fmt, want) => {
    expect(timestampToChar(T, fmt)).toBe(want);
  });

  it('formats an interval by its fields, and refuses calendar-only patterns', () => {
    expect(formatFields(intervalFields(0, -1, -10_560_000_000n), 'DD HH24 HH12 MI SS')).toBe('-1 -02 -02 -56 00');
    // select to_char(interval '-1 years -1 mons -1 days -1:01:01.000001', …) in PostgreSQL 15.
    expect(formatFields(intervalFields(-13, -1, -3_661_000_001n), 'YYYY|YYY|YY|Y|MM|DD|HH|HH12|HH24|MI|SS|MS|US|SSSS')).toBe('-0001|-001|-01|-1|-01|-1|-01|-01|-01|-01|-01|000|-00001|-3661');
    expect(() => formatFields(intervalFields(0, 3, 0n), 'Day')).toThrow(/invalid format specification for an interval value/);
  });

  it('reads text back by a template', () => {
    expect(parseWithTemplate('20200102', 'YYYYMMDD')).toBe(parseTimestamp('2020-01-02'));
    expect(parseWithTemplate('2020 5 3', 'YYYY MM DD')).toBe(parseTimestamp('2020-05-03'));
    expect(parseWithTemplate('5 Mar 2020 07:08:09 pm', 'DD Mon YYYY HH12:MI:SS AM')).toBe(parseTimestamp('2020-03-05 19:08:09'));
    // 0001-01-01 00:00:12.3: fields not given default to year 1, January 1st.
    expect(parseWithTemplate('12.3', 'SS.MS')).toBe(-62_135_596_800_000_000n + 12_300_000n);
    expect(() => parseWithTemplate('2020-13-01', 'YYYY-MM-DD')).toThrow(/out of range/);
    expect(() => parseWithTemplate('13:00', 'HH12:MI')).toThrow(/12-hour clock/);
  });
});

describe('to_char of numbers (answers taken from PostgreSQL 15)', () => {
  it.each([
    ['12', '999', '  12'], ['-12', '999', ' -12'], ['0.5', '999', '   1'], ['1234.567', '999', ' ###'], ['0', '999', '   0'],
    ['12', 'FM999', '12'], ['12', 'S999', ' +12'], ['0.5', '9.99', '  .50'], ['-0.5', '0.99', '-0.50'], ['1234.567', '9,999.9', ' 1,234.6'],
    ['0.5', 'FM9,999.00', '.50'], ['-12', '999PR', ' <12>'], ['-12', '999MI', ' 12-'], ['12', 'S0000.0', '+0012.0'], ['12', 'SG999', '+ 12'],
    ['-12', 'PL999', '  -12'], ['12', 'FM999.999', '12.'], ['0', 'FM999.999', '0.'], ['1.235', '9.99', ' 1.24'], ['0', '9.', ' 0'],
  ])('to_char(%s, %s)', (x, fmt, want) => {
    expect(numberToChar(x, fmt)).toBe(want);
  });
});
