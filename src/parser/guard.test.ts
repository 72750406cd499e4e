import { describe, expect, it } from 'vitest';
import { SluiceError } from '../common/errors.js';
import { inspectStatement, MAX_NESTING, MAX_STATEMENT_CHARS, parseChecked, parseSite } from './guard.js';

function errorOf(f: () => unknown): SluiceError {
  try {
    f();
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected an error');
}

const nest = (n: number, open: string, inner: string, close: string) => open.repeat(n) + inner + close.repeat(n);

describe('parse guard: pre-check', () => {
  it('refuses an unclosed "(" at the innermost unclosed one, with 42601', () => {
    const e = errorOf(() => inspectStatement('SELECT ((1', 0));
    expect(e.sqlstate).toBe('42601');
    expect(e.message).toBe('syntax error at or near "("');
    expect(e.position).toBe(9);
    expect(e.hint).toMatch(/Add the "\)"/);
  });

  it('refuses a ")" that closes nothing and a bracket closed by the wrong kind', () => {
    const e = errorOf(() => inspectStatement('SELECT 1)', 0));
    expect([e.sqlstate, e.message, e.position]).toEqual(['42601', 'syntax error at or near ")"', 9]);
    const e2 = errorOf(() => inspectStatement('SELECT a[(1]', 0));
    expect([e2.sqlstate, e2.message, e2.position]).toEqual(['42601', 'syntax error at or near "]"', 12]);
    expect(e2.hint).toBe('Write ")" here to close the "(" at position 10.');
  });

  it('ignores brackets in strings, quoted identifiers and comments', () => {
    expect(inspectStatement(`SELECT '(', ")" FROM t -- (\n /* [ */ WHERE (a)`, 0)).toEqual({ depth: 1 });
  });

  it('reports positions in the whole script', () => {
    expect(errorOf(() => inspectStatement('SELECT (2', 10)).position).toBe(18);
  });

  it(`refuses nesting deeper than ${MAX_NESTING} with 54001 at the first bracket too deep`, () => {
    expect(inspectStatement('SELECT ' + nest(MAX_NESTING, '(', '1', ')'), 0).depth).toBe(MAX_NESTING);
    const e = errorOf(() => inspectStatement('SELECT ' + nest(MAX_NESTING + 1, '(', '1', ')'), 0));
    expect(e.sqlstate).toBe('54001');
    expect(e.message).toBe(`statement is too complex: parentheses and brackets nest more than ${MAX_NESTING} deep`);
    expect(e.position).toBe(7 + MAX_NESTING + 1);
    expect(e.hint).toMatch(/WITH clauses or views/);
  });

  it('refuses a statement over the length limit before lexing it', () => {
    const e = errorOf(() => parseSite('SELECT ' + '1'.repeat(MAX_STATEMENT_CHARS), 0));
    expect(e.sqlstate).toBe('54001');
    expect(e.message).toMatch(/characters long, the limit is 1048576$/);
  });

  it('parses short, shallow statements here and everything else in a worker', () => {
    expect(parseSite('SELECT count(*) FROM t WHERE (a = 1 OR b = 2)', 0)).toBe('here');
    expect(parseSite('SELECT sum(abs(a)) FROM t', 0)).toBe('worker');
    expect(parseSite('SELECT ' + 'a + '.repeat(300) + '1', 0)).toBe('worker');
  });

  it('turns a parser stack overflow into 54001', () => {
    const chain = 'SELECT ' + Array.from({ length: 4000 }, () => '1').join(' + ');
    const e = errorOf(() => parseChecked(chain, 0, chain));
    expect(e.sqlstate).toBe('54001');
    expect(e.message).toBe('statement is too complex: stack depth limit exceeded while parsing it');
  });
});
