/**
 * The WITH options of a table with `connector = 'file'`:
 *
 *   path              a file, or a glob DuckDB expands ('data/users-*.csv'); required
 *   format            'csv' | 'parquet' | 'json' (JSON lines or one array); by default taken
 *                     from the path's extension (.csv .tsv .parquet .pq .json .jsonl .ndjson)
 *   csv.header        'true' (default): the first line names the columns, read by name;
 *                     'false': columns are read by position
 *   csv.delimiter     one character (default ',', or a tab for .tsv); '\t' or 'tab' for a tab
 *   refresh_interval  reload this often, e.g. '10 seconds'; absent: load once at CREATE TABLE
 */
import { isAbsolute, resolve } from 'node:path';
import { SluiceError } from '../../../common/errors.js';
import type { Options } from '../../../parser/ast.js';
import { OptionReader } from '../../option-reader.js';
import { readRefreshMs } from '../timer-options.js';

/** A file format DuckDB reads for a file table. */
export type TableFileFormat = 'csv' | 'parquet' | 'json';

/** Validated settings of a file table. */
export interface FileTableConfig {
  /** Absolute for local files; a path with a scheme (s3://, https://) is passed on as written. */
  readonly path: string;
  /** Whether `path` is a local file (not a glob, not a URL), so it can be checked before reading. */
  readonly singleLocalFile: boolean;
  readonly format: TableFileFormat;
  readonly csvHeader: boolean;
  readonly csvDelimiter: string;
  /** How often to reload, or null to load once. */
  readonly refreshMs: number | null;
}

const FORMATS: readonly TableFileFormat[] = ['csv', 'parquet', 'json'];

const BY_EXTENSION: Readonly<Record<string, TableFileFormat>> = {
  csv: 'csv', tsv: 'csv', parquet: 'parquet', pq: 'parquet', json: 'json', jsonl: 'json', ndjson: 'json',
};

/** Reads and checks the options of a file table. */
export function readFileTableOptions(options: Options): FileTableConfig {
  const r = new OptionReader('file', options);
  r.checkNames(['path', 'format', 'csv.header', 'csv.delimiter', 'refresh_interval']);
  const written = r.required('path', 'the file, or a glob, the table is loaded from');
  const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(written);
  const path = remote || isAbsolute(written) ? written : resolve(written);
  const extension = fileExtension(written);
  const format = r.choice('format', FORMATS) ?? (extension === undefined ? undefined : BY_EXTENSION[extension]);
  if (format === undefined) {
    throw new SluiceError('invalid_parameter', `connector 'file' cannot tell the format of '${written}' from its name`, {
      hint: "Add format = 'csv', 'parquet' or 'json' to the WITH list.",
    });
  }
  if (format !== 'csv') {
    // A csv.* option with another format is almost always a forgotten format = 'csv'.
    for (const key of ['csv.header', 'csv.delimiter']) {
      if (r.has(key)) throw new SluiceError('invalid_parameter', `option "${key}" of ${r.subject} applies only to format 'csv', but format is '${format}'; add format = 'csv' or drop ${key}`);
    }
  }
  return {
    path,
    singleLocalFile: !remote && !/[*?[{]/.test(written),
    format,
    csvHeader: r.boolean('csv.header') ?? true,
    csvDelimiter: readDelimiter(r, extension === 'tsv' ? '\t' : ','),
    refreshMs: readRefreshMs(r),
  };
}

/** The extension of the last path segment, lower case, looking through .gz/.zst compression. */
function fileExtension(path: string): string | undefined {
  const name = (path.split(/[\\/]/).pop() ?? '').toLowerCase().replace(/\.(gz|zst)$/, '');
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : undefined;
}

function readDelimiter(r: OptionReader, fallback: string): string {
  const raw = r.string('csv.delimiter');
  if (raw === undefined) return fallback;
  // SQL strings have no escapes, so a tab is written as '\t' or 'tab'.
  const d = raw === '\\t' || raw.toLowerCase() === 'tab' ? '\t' : raw;
  if (d.length !== 1 || d === '"' || d === '\n' || d === '\r') {
    throw r.bad('csv.delimiter', "a single character other than '\"' and newline (write '\\t' or 'tab' for a tab)");
  }
  return d;
}
