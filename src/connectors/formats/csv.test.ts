import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { CSV_BAD_QUOTE, CSV_OPEN_QUOTE, CsvDecoder, CsvSplitter } from './csv.js';

const schema: Schema = [
  { name: 'id', type: 'int' },
  { name: 'name', type: 'varchar' },
  { name: 'at', type: 'timestamp' },
];
const pos = (i: number) => `data.csv:${i + 1}`;

describe('CsvSplitter', () => {
  const fields = (s: string, d = ',') => {
    const sp = new CsvSplitter(d);
    const n = sp.split(s);
    return n < 0 ? n : sp.fields.slice(0, n);
  };

  it('splits RFC 4180 records', () => {
    expect(fields('a,b,c')).toEqual(['a', 'b', 'c']);
    expect(fields('"a,b","say ""hi""",')).toEqual(['a,b', 'say "hi"', '']);
    expect(fields('')).toEqual(['']);
    expect(fields('x;"y;z"', ';')).toEqual(['x', 'y;z']);
    expect(fields('a"b,c')).toEqual(['a"b', 'c']);
    expect(fields('"multi\nline",2')).toEqual(['multi\nline', '2']);
  });

  it('reports open and misplaced quotes', () => {
    expect(fields('"open,1')).toBe(CSV_OPEN_QUOTE);
    expect(fields('"a"b,1')).toBe(CSV_BAD_QUOTE);
  });
});

describe('CsvDecoder', () => {
  it('maps fields by position, with unquoted empty as NULL and "" as empty string', () => {
    const { batch, deadLetters } = new CsvDecoder(schema, ',', false).decode(['1,ann,2024-01-01 00:00:01', '2,,', '3,"",', ''], pos);
    expect(deadLetters).toEqual([]);
    expect(batchRows(batch)).toEqual([
      [1, 'ann', 1704067201000000n],
      [2, null, null],
      [3, '', null],
    ]);
  });

  it('dead-letters bad records with their line and keeps decoding', () => {
    const lines = ['1,a,', 'x,b,', '2,c', '3,"d', '4,"e"x,', '5,f,soon', '6,g,'];
    const { batch, deadLetters } = new CsvDecoder(schema, ',', false).decode(lines, pos);
    expect(batchRows(batch).map((r) => r[0])).toEqual([1, 6]);
    expect(deadLetters.map((d) => [d.position, d.error.split(':')[0]])).toEqual([
      ['data.csv:2', 'column "id"'],
      ['data.csv:3', 'expected 3 fields, got 2'],
      ['data.csv:4', 'unterminated quoted field'],
      ['data.csv:5', 'unexpected character after a closing quote at offset 5; a quoted field must end at a delimiter'],
      ['data.csv:6', 'column "at"'],
    ]);
    expect(deadLetters[0]!.raw).toBe('x,b,');
  });

  it('joins a quoted field across lines and reports the first line', () => {
    const lines = ['1,"two', 'lines",', '2,"x,"y', '3,z,'];
    const { batch, deadLetters } = new CsvDecoder(schema, ',', false).decode(lines, pos);
    expect(batchRows(batch)).toEqual([
      [1, 'two\nlines', null],
      [3, 'z', null],
    ]);
    expect(deadLetters.map((d) => d.position)).toEqual(['data.csv:3']);
  });

  it('blames only the opening line for a quote that never closes, and resumes after it', () => {
    const lines = ['1,"oops,', '2,b,', '3,c,'];
    const { batch, deadLetters } = new CsvDecoder(schema, ',', false).decode(lines, pos);
    expect(batchRows(batch).map((r) => r[0])).toEqual([2, 3]);
    expect(deadLetters.map((d) => [d.position, d.raw])).toEqual([['data.csv:1', '1,"oops,']]);
  });

  it('uses a header to map columns by name, across decode calls of one stream', () => {
    const d = new CsvDecoder(schema, '\t', true);
    const first = d.decode(['extra\tNAME\tid'], pos);
    expect(first.batch.length).toBe(0);
    expect(first.deadLetters).toEqual([]);
    const { batch, deadLetters } = d.decode(['x\tann\t1', 'y\tbob', 'z\tcid\t3'], pos);
    expect(batchRows(batch)).toEqual([
      [1, 'ann', null],
      [3, 'cid', null],
    ]);
    expect(deadLetters.map((x) => x.error)).toEqual(['expected 3 fields, got 2']);
  });

  it('reports a header that names no column and falls back to positions', () => {
    const { batch, deadLetters } = new CsvDecoder(schema, ',', true).decode(['a,b,c', '1,x,'], pos);
    expect(deadLetters[0]!.position).toBe('data.csv:1');
    expect(deadLetters[0]!.error).toMatch(/names none of the columns/);
    expect(batchRows(batch)).toEqual([[1, 'x', null]]);
  });
});
