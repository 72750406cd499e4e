/** The WITH options of file tables: defaults, format from the extension, and clear errors. */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileTableOptions } from '../../src/connectors/table/file/options.js';
import { validateTableOptions } from '../../src/connectors/table-loaders.js';

const read = (o: Record<string, string>) => readFileTableOptions({ connector: 'file', ...o });

describe('file table options', () => {
  it('takes the format from the extension and resolves relative paths', () => {
    expect(read({ path: 'data/users.csv' })).toEqual({
      path: resolve('data/users.csv'), singleLocalFile: true, format: 'csv', csvHeader: true, csvDelimiter: ',', refreshMs: null,
    });
    expect(read({ path: '/d/u.tsv' })).toMatchObject({ format: 'csv', csvDelimiter: '\t' });
    expect(read({ path: '/d/u.parquet' }).format).toBe('parquet');
    expect(read({ path: '/d/u.PQ' }).format).toBe('parquet');
    expect(read({ path: '/d/u.jsonl' }).format).toBe('json');
    expect(read({ path: '/d/u.ndjson.gz' }).format).toBe('json');
    expect(read({ path: '/d/u.txt', format: 'CSV' }).format).toBe('csv');
  });

  it('reads globs and URLs as written, and the csv and refresh options', () => {
    expect(read({ path: '/d/part-*.parquet' })).toMatchObject({ singleLocalFile: false, format: 'parquet' });
    expect(read({ path: 's3://bucket/u.csv' })).toMatchObject({ path: 's3://bucket/u.csv', singleLocalFile: false });
    expect(read({ path: '/d/u.csv', 'csv.header': 'false', 'csv.delimiter': ';', refresh_interval: '10 seconds' })).toMatchObject({
      csvHeader: false, csvDelimiter: ';', refreshMs: 10_000,
    });
    expect(read({ path: '/d/u.csv', 'csv.delimiter': '\\t' }).csvDelimiter).toBe('\t');
    expect(read({ path: '/d/u.csv', 'csv.delimiter': 'tab' }).csvDelimiter).toBe('\t');
    expect(read({ path: '/d/u.csv', refresh_interval: '250 milliseconds' }).refreshMs).toBe(250);
  });

  it('says which option is wrong and what it takes', () => {
    const bad = (o: Record<string, string>) => () => read(o);
    expect(bad({ path: '/d/u.csv', paht: 'x' })).toThrow(/unknown option "paht" for connector 'file'; valid options are: connector, path, format/);
    expect(bad({})).toThrow(/needs option "path"/);
    expect(bad({ path: '/d/users' })).toThrow(/cannot tell the format of '\/d\/users'/);
    expect(bad({ path: '/d/u.csv', format: 'xml' })).toThrow(/option "format" of connector 'file' must be one of 'csv', 'parquet', 'json', got 'xml'/);
    expect(bad({ path: '/d/u.parquet', 'csv.header': 'false' })).toThrow(/applies only to format 'csv', but format is 'parquet'/);
    expect(bad({ path: '/d/u.csv', 'csv.delimiter': ';;' })).toThrow(/csv.delimiter.*single character/);
    expect(bad({ path: '/d/u.csv', 'csv.header': 'yes' })).toThrow(/csv.header.*'true' or 'false'/);
    expect(bad({ path: '/d/u.csv', refresh_interval: 'soon' })).toThrow(/refresh_interval.*a duration such as '5 seconds'/);
    expect(bad({ path: '/d/u.csv', refresh_interval: '0 seconds' })).toThrow(/refresh_interval.*positive/);
    // Node cannot wait longer than ~24.8 days; a longer timer would fire every millisecond.
    expect(bad({ path: '/d/u.csv', refresh_interval: '30 days' })).toThrow(/refresh_interval.*between 1 millisecond and 24 days/);
    expect(bad({ path: '/d/u.csv', bogus: '1' })).toThrow(expect.objectContaining({ name: 'SluiceError', sqlstate: '22023' }));
    expect(bad({ path: '/d/users' })).toThrow(expect.objectContaining({ sqlstate: '22023', hint: "Add format = 'csv', 'parquet' or 'json' to the WITH list." }));
  });

  it('is what CREATE TABLE validates, and unknown connectors are named', () => {
    expect(() => validateTableOptions('file', { connector: 'file', path: join('/d', 'x.csv'), nope: '1' }, [])).toThrow(/unknown option "nope"/);
    expect(() => validateTableOptions('postgres', { connector: 'postgres', table: 't', nope: '1' }, [])).toThrow(/unknown option "nope" for connector 'postgres'/);
    expect(() => validateTableOptions('mysql', { connector: 'mysql' }, [])).toThrow(/unknown table connector 'mysql'/);
  });
});
