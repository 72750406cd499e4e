/**
 * Parameter substitution: finding `$n` outside literals and comments, typed literals, and mapping
 * error positions back to the text the client sent.
 */
import { describe, expect, it } from 'vitest';
import { findPlaceholders, parameterLiteral, placeholderCount, substituteParameters } from '../../src/server/parameters.js';
import { leadingKeyword, mayReturnRows } from '../../src/server/statement-kind.js';

const lit = (s: string | null, oid: number) => parameterLiteral(s === null ? null : Buffer.from(s), 0, oid, 0);

describe('parameters', () => {
  it('finds placeholders only outside strings, identifiers and comments', () => {
    const sql = `SELECT $1, '$2', E'it\\'s $3', "a$4", a$5, $$ $6 $$, $tag$ $7 $tag$, /* $8 /* $9 */ $10 */ -- $11\n $12`;
    expect(findPlaceholders(sql).map((p) => p.n)).toEqual([1, 12]);
    expect(placeholderCount(`SELECT $3, $1`)).toBe(3);
    expect(placeholderCount(`SELECT 1`)).toBe(0);
  });

  it('substitutes literals and maps positions back to the original text', () => {
    const bound = substituteParameters(`SELECT $1 + nope, $2`, [`'a long literal'`, '7']);
    expect(bound.text).toBe(`SELECT 'a long literal' + nope, 7`);
    const at = bound.text.indexOf('nope') + 1;
    expect(bound.originalPosition(at)).toBe(`SELECT $1 + nope, $2`.indexOf('nope') + 1);
    // A position inside a literal points at its placeholder.
    expect(bound.originalPosition(10)).toBe(8);
    expect(bound.originalPosition(1)).toBe(1);
  });

  it('makes typed literals and rejects malformed values', () => {
    expect(lit('42', 23)).toBe('42');
    expect(lit('-42', 23)).toBe('(-42)');
    expect(lit('9000000000', 20)).toBe('CAST(9000000000 AS BIGINT)');
    expect(lit('1.5', 701)).toBe(`CAST('1.5' AS DOUBLE)`);
    expect(lit('on', 16)).toBe('TRUE');
    expect(lit(`it's`, 25)).toBe(`CAST('it''s' AS VARCHAR)`);
    expect(lit(`it's`, 0)).toBe(`'it''s'`);
    expect(lit('back\\slash', 0)).toBe(`'back\\slash'`);
    expect(lit('2024-01-01 10:00:00+02', 1184)).toBe(`CAST('2024-01-01 08:00:00' AS TIMESTAMP)`);
    expect(lit(null, 23)).toBe('CAST(NULL AS INT)');
    expect(lit(null, 0)).toBe('NULL');
    expect(() => lit('12x', 23)).toThrow(expect.objectContaining({ sqlstate: '22P02' }));
    expect(() => lit('3000000000', 23)).toThrow(expect.objectContaining({ sqlstate: '22003' }));
    expect(() => lit('40000', 21)).toThrow(expect.objectContaining({ sqlstate: '22003' }));
    expect(() => lit('a\0b', 0)).toThrow(expect.objectContaining({ sqlstate: '22021' }));
    expect(() => parameterLiteral(Buffer.from([1, 2]), 1, 23, 0)).toThrow(expect.objectContaining({ sqlstate: '22P03' }));
    expect(() => parameterLiteral(Buffer.from([0xff, 0xfe]), 0, 25, 0)).toThrow(expect.objectContaining({ sqlstate: '22021' }));
  });

  it('tells statements that may return rows from commands', () => {
    expect(leadingKeyword(`  -- c\n /* x */ (SELECT 1)`)).toBe('(');
    expect(mayReturnRows('SHOW TABLES')).toBe(true);
    expect(mayReturnRows('insert into t values (1)')).toBe(false);
    expect(mayReturnRows('/* hi */ CREATE TABLE x (a INT)')).toBe(false);
  });
});
