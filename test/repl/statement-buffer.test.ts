/** The query buffer: statements end at a `;` outside strings, quoted names, dollar quotes and comments. */
import { describe, expect, it } from 'vitest';
import { StatementBuffer } from '../../src/cli/repl/statement-buffer.js';

describe('StatementBuffer', () => {
  it('completes statements at top-level semicolons and keeps the rest', () => {
    const b = new StatementBuffer();
    expect(b.push('SELECT 1')).toEqual({ statements: [], entry: '' });
    expect(b.pending).toBe(true);
    expect(b.state).toBe('sql');
    expect(b.push('  FROM t; SELECT 2; SEL')).toEqual({ statements: ['SELECT 1\n  FROM t', 'SELECT 2'], entry: 'SELECT 1\n  FROM t; SELECT 2;' });
    expect(b.contents).toBe(' SEL');
    expect(b.push('ECT 3;').statements).toEqual(['SEL\nECT 3']);
    expect(b.pending).toBe(false);
  });

  it('waits inside strings, quoted identifiers, dollar quotes and block comments', () => {
    const b = new StatementBuffer();
    b.push("SELECT 'a;");
    expect(b.state).toBe('quote');
    expect(b.push("b';").statements).toEqual(["SELECT 'a;\nb'"]);
    b.push('SELECT "x;');
    expect(b.state).toBe('identifier');
    expect(b.push('y" FROM t;').statements).toEqual(['SELECT "x;\ny" FROM t']);
    b.push('SELECT $$a;');
    expect(b.state).toBe('dollar');
    expect(b.push('$$;').statements).toEqual(['SELECT $$a;\n$$']);
    b.push('SELECT 1 /* ;');
    expect(b.state).toBe('comment');
    expect(b.push('*/ + 1;').statements).toEqual(['SELECT 1 /* ;\n*/ + 1']);
    expect(b.push('SELECT 1 -- ;').statements).toEqual([]);
    expect(b.push(';').statements).toEqual(['SELECT 1 -- ;']);
  });

  it('drops blank text and closed comments after the last statement, and empty statements', () => {
    const b = new StatementBuffer();
    expect(b.push('SELECT 1; -- done').statements).toEqual(['SELECT 1']);
    expect(b.pending).toBe(false);
    expect(b.push(';;').statements).toEqual([]);
    expect(b.pending).toBe(false);
    expect(b.push('-- just a comment').statements).toEqual([]);
    expect(b.pending).toBe(false);
    b.push('SELECT 1; /* still');
    expect(b.pending).toBe(true);
    expect(b.state).toBe('comment');
  });

  it('gives the unterminated rest at the end of input, unless it is inside a literal', () => {
    const b = new StatementBuffer();
    b.push('SELECT 42');
    expect(b.takeRest()).toBe('SELECT 42');
    b.push("SELECT 'open");
    expect(b.takeRest()).toBeNull();
    expect(b.pending).toBe(false);
  });
});
