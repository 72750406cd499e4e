/**
 * The WITH options of `connector = 'file'`, as a source and as a sink.
 *
 * Source: `path` (the directory to watch, required), `format` ('json' | 'csv' | 'text',
 * default 'json'), `pattern` (a glob on file names such as '*.csv': `*` is any run of
 * characters, `?` one character), `csv.delimiter`, `csv.header`.
 *
 * Sink: `path` (the directory to write, created if missing), `format` ('json' only: JSON lines).
 */
import type { Schema } from '../../common/types.js';
import type { Options } from '../../parser/ast.js';
import { FORMAT_OPTIONS, readFormatOptions, type FormatSpec } from '../formats/options.js';
import { OptionReader } from '../option-reader.js';
import { globToRegExp } from './glob.js';

/** Validated file source settings. */
export interface FileSourceConfig {
  readonly path: string;
  readonly format: FormatSpec;
  /** Names the source reads; null reads every regular file that does not start with '.'. */
  readonly pattern: RegExp | null;
}

/** Validated file sink settings. */
export interface FileSinkConfig {
  readonly path: string;
}

/** Reads and checks the options of a file source with `schema`. */
export function readFileSourceOptions(options: Options, schema: Schema): FileSourceConfig {
  const r = new OptionReader('file', options);
  r.checkNames(['path', 'pattern', ...FORMAT_OPTIONS]);
  const path = r.required('path', 'the directory whose files the source reads');
  const format = readFormatOptions(r, schema, 'json');
  const glob = r.string('pattern');
  if (glob !== undefined && (glob === '' || glob.includes('/'))) throw r.bad('pattern', "a file-name pattern without '/' such as '*.csv'");
  return { path, format, pattern: glob === undefined ? null : globToRegExp(glob) };
}

/** Reads and checks the options of a file sink. */
export function readFileSinkOptions(options: Options): FileSinkConfig {
  const r = new OptionReader('file', options);
  r.checkNames(['path', 'format']);
  const path = r.required('path', 'the directory the sink writes part files to');
  r.choice('format', ['json'] as const);
  return { path };
}
