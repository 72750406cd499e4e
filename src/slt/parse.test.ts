import { describe, expect, it } from 'vitest';
import { parseSlt, SltParseError } from './parse.js';

describe('parseSlt', () => {
  it('reads an error block under ---- up to two blank lines, blank lines inside it included', () => {
    const recs = parseSlt(
      [
        'statement error',
        'select 1/0',
        '----',
        'db error: ERROR: Failed to run the query',
        '',
        'Caused by:',
        '  Division by zero',
        '',
        '',
        'statement ok',
        'select 1',
        '',
      ].join('\n'),
    );
    expect(recs).toEqual([
      { kind: 'statement', ok: false, error: null, errorText: 'db error: ERROR: Failed to run the query\n\nCaused by:\n  Division by zero', sql: 'select 1/0', line: 1 },
      { kind: 'statement', ok: true, error: null, sql: 'select 1', line: 10 },
    ]);
  });

  it('ends an error block at the end of the file', () => {
    expect(parseSlt('query error\nselect x\n----\nno column x\n')).toEqual([{ kind: 'statement', ok: false, error: null, errorText: 'no column x', sql: 'select x', line: 1 }]);
  });

  it('takes statement count N and query error <regex>', () => {
    expect(parseSlt('statement count 3\ninsert into t values (1), (2), (3)\n\nquery error division by zero\nselect 1/0\n')).toEqual([
      { kind: 'statement', ok: true, error: null, count: 3, sql: 'insert into t values (1), (2), (3)', line: 1 },
      { kind: 'statement', ok: false, error: 'division by zero', sql: 'select 1/0', line: 4 },
    ]);
  });

  it('keeps an inline error regex and a result block', () => {
    expect(parseSlt('statement error relation .* does not exist\nselect * from nope\n\nquery I rowsort\nselect 1\n----\n1\n')).toEqual([
      { kind: 'statement', ok: false, error: 'relation .* does not exist', sql: 'select * from nope', line: 1 },
      { kind: 'query', types: 'I', sort: 'rowsort', sql: 'select 1', expected: ['1'], line: 4 },
    ]);
  });

  it('names the line of a record it does not know', () => {
    expect(() => parseSlt('statement ok\nselect 1\n\nlet x\nselect 1\n')).toThrow(new SltParseError('line 4: unknown record "let"'));
    expect(() => parseSlt('statement maybe\nselect 1\n')).toThrow(SltParseError);
  });
});
