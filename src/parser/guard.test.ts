import { beforeEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../common/errors.js';
import { inspectStatement, MAX_NESTING, MAX_STATEMENT_CHARS, parseChecked, parseSite } from './guard.js';
import { parseSql, parseSqlGuarded, warmParser } from './index.js';

async function outcome(sql: string): Promise<{ ms: number; kinds?: string[]; error?: SluiceError }> {
  const t0 = Date.now();
  try {
    const statements = await parseSqlGuarded(sql);
    return { ms: Date.now() - t0, kinds: statements.map((s) => s.kind) };
  } catch (e) {
    return { ms: Date.now() - t0, error: e as SluiceError };
  }
}

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

describe('parse guard: pathological statements are answered within a second', () => {
  // A worker that ran past the deadline is replaced at once, but starting one takes ~0.5 s (more
  // on a busy machine), which the deadline does not count; each case starts with a full pool.
  beforeEach(() => warmParser());

  // 1 s deadline plus slack for a loaded 2-core machine.
  const BOUND_MS = 1500;

  const cases: [string, string][] = [
    ['unbalanced deep parentheses', 'SELECT ' + '('.repeat(20) + '1'],
    ['unbalanced very deep parentheses', 'SELECT ' + '('.repeat(100_000) + '1'],
    ['balanced but invalid deep parentheses', 'SELECT ' + nest(12, '(', '1 +', ')')],
    ['balanced but invalid deeper parentheses', 'SELECT ' + nest(40, '(', '1 +', ')')],
    ['nested scalar subqueries, invalid', 'SELECT ' + nest(8, '(SELECT ', '1 +', ')')],
    ['nested CASTs, invalid', 'SELECT ' + nest(8, 'CAST(', '1 +', ' AS int)')],
    ['deep CASE with parenthesised conditions, invalid', 'SELECT ' + nest(10, 'CASE WHEN (', 'a +', ') THEN 1 END')],
    ['deep subqueries in FROM, invalid', 'SELECT * FROM ' + nest(30, '(SELECT * FROM ', 't +', ') AS x')],
    ['a long IN list', 'SELECT 1 IN (' + Array.from({ length: 50_000 }, (_, i) => i).join(',') + ')'],
    ['a long chain of operators', 'SELECT ' + Array.from({ length: 20_000 }, () => '1').join(' + ')],
  ];
  for (const [name, sql] of cases) {
    it(`${name}: a result, 42601 or 54001`, async () => {
      const r = await outcome(sql);
      if (r.error) expect(['42601', '54001'], r.error.message).toContain(r.error.sqlstate);
      expect(r.ms).toBeLessThan(BOUND_MS);
    });
  }

  it('the deadline error says what happened and what to do', async () => {
    const r = await outcome('SELECT ' + nest(20, '(', '1 +', ')'));
    expect(r.error?.sqlstate).toBe('54001');
    expect(r.error?.message).toBe('statement is too complex: parsing took longer than 1 s');
    expect(r.error?.position).toBe(1);
    expect(r.error?.hint).toMatch(/^Simplify the statement/);
  });

  const valid: [string, string][] = [
    ['balanced deep parentheses', 'SELECT ' + nest(30, '(', '1', ')')],
    ['deep subqueries in FROM', 'SELECT * FROM ' + nest(30, '(SELECT * FROM ', 't', ') AS x')],
    ['deep CASE', 'SELECT ' + nest(30, 'CASE WHEN a THEN ', '1', ' END') + ' FROM t'],
    ['an IN list of a thousand', 'SELECT 1 IN (' + Array.from({ length: 1000 }, (_, i) => i).join(',') + ')'],
  ];
  for (const [name, sql] of valid) {
    it(`${name} within the limits still parses`, async () => {
      const r = await outcome(sql);
      expect(r.error).toBeUndefined();
      expect(r.kinds).toEqual(['select']);
      expect(r.ms).toBeLessThan(BOUND_MS);
    });
  }

  it('keeps the event loop turning while a pathological statement is parsed', async () => {
    let last = Date.now();
    let worstGap = 0;
    const tick = setInterval(() => {
      const now = Date.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 10);
    const r = await outcome('SELECT ' + nest(20, '(', '1 +', ')'));
    clearInterval(tick);
    expect(r.error?.sqlstate).toBe('54001');
    expect(worstGap).toBeLessThan(200);
  });

  it('reports positions in the whole script', async () => {
    const r = await outcome('SELECT 1;\nSELECT (2');
    expect([r.error?.sqlstate, r.error?.position]).toEqual(['42601', 18]);
  });

  it('gives what parseSql gives for an ordinary script, errors included', async () => {
    const script = `SELECT a, count(*) FROM t WHERE (a > 1) GROUP BY a; SELECT sum(abs(b)) FROM t;
      CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT a FROM t WHERE a IN (1, 2)) AS s`;
    expect(await parseSqlGuarded(script)).toStrictEqual(parseSql(script));
    const bad = 'SELECT 1; SELECT coalesce((a), b) FROM t WHERE';
    const r = await outcome(bad);
    const sync = errorOf(() => parseSql(bad));
    expect([r.error?.message, r.error?.position]).toEqual([sync.message, sync.position]);
  });
});
