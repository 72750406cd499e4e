import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Schema } from '../../common/types.js';
import { OptionReader } from '../option-reader.js';
import { createDecoder } from './index.js';
import { LineSplitter, splitLines } from './lines.js';
import { readFormatOptions } from './options.js';

const words: Schema = [{ name: 'line', type: 'varchar' }];

describe('splitLines / LineSplitter', () => {
  it('splits whole text, dropping CR, BOM and the empty piece after a final newline', () => {
    expect(splitLines('\ufeffa\r\nb\n\nc\n')).toEqual(['a', 'b', '', 'c']);
    expect(splitLines('')).toEqual([]);
    expect(splitLines('x')).toEqual(['x']);
  });

  it('holds a partial line between chunks', () => {
    const s = new LineSplitter();
    const out: string[] = [];
    expect(s.push('hel', out)).toBe(0);
    expect(s.push('lo\r\nwor', out)).toBe(1);
    expect(s.push('ld\nnext', out)).toBe(1);
    expect(s.flush(out)).toBe(1);
    expect(out).toEqual(['hello', 'world', 'next']);
  });
});

describe('text format', () => {
  it('puts each line into the single column', () => {
    const d = createDecoder({ format: 'text', csvDelimiter: ',', csvHeader: false }, words);
    const { batch, deadLetters } = d.decode(['to be', '', 'or not – to be'], () => '');
    expect(deadLetters).toEqual([]);
    expect(batchRows(batch)).toEqual([['to be'], [''], ['or not – to be']]);
  });
});

describe('readFormatOptions', () => {
  const read = (o: Record<string, string>, schema = words) => readFormatOptions(new OptionReader('file', o), schema, 'json');

  it('reads defaults and csv settings', () => {
    expect(read({})).toEqual({ format: 'json', csvDelimiter: ',', csvHeader: false });
    expect(read({ format: 'CSV', 'csv.delimiter': '\\t', 'csv.header': 'true' })).toEqual({ format: 'csv', csvDelimiter: '\t', csvHeader: true });
  });

  it('rejects bad values with what is expected', () => {
    expect(() => read({ format: 'xml' })).toThrow(/option "format" of connector 'file' must be one of 'json', 'csv', 'text', got 'xml'/);
    expect(() => read({ format: 'csv', 'csv.delimiter': ';;' })).toThrow(/csv.delimiter.*single character/);
    expect(() => read({ format: 'csv', 'csv.header': 'yes' })).toThrow(/'true' or 'false'/);
    expect(() => read({ 'csv.header': 'true' })).toThrow(/applies only to format 'csv'/);
    expect(() => read({ format: 'text' }, [...words, { name: 'n', type: 'int' }])).toThrow(/single VARCHAR column/);
    try {
      read({ format: 'xml' });
    } catch (e) {
      expect(e).toBeInstanceOf(SluiceError);
      expect((e as SluiceError).sqlstate).toBe('22023');
    }
  });
});
