/**
 * The WITH options of `connector = 'file'`, as a source and as a sink.
 *
 * Source: `path` (the directory to watch, required), `format` ('json' | 'csv' | 'text',
 * default 'json'), `pattern` (a glob on file names such as '*.csv': `*` is any run of
 * characters, `?` one character), `csv.delimiter`, `csv.header`, `max_bytes_per_epoch` (bytes of
 * input one epoch takes at most, default 64 MiB; a line is never split, so an epoch may go over
 * by one line), `max_files_per_epoch` (files one epoch reads from at most, default 1000).
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
  readonly maxBytesPerEpoch: number;
  readonly maxFilesPerEpoch: number;
}

/** Default bytes of input per epoch: big enough to amortise an epoch, small enough to bound memory. */
export const DEFAULT_MAX_BYTES_PER_EPOCH = 64 << 20;
export const DEFAULT_MAX_FILES_PER_EPOCH = 1000;

/** Validated file sink settings. */
export interface FileSinkConfig {
  readonly path: string;
}

/** Reads and checks the options of a file source with `schema`. */
export function readFileSourceOptions(options: Options, schema: Schema): FileSourceConfig {
  const r = new OptionReader('file', options);
  r.checkNames(['path', 'pattern', 'max_bytes_per_epoch', 'max_files_per_epoch', ...FORMAT_OPTIONS]);
  const path = r.required('path', 'the directory whose files the source reads');
  const format = readFormatOptions(r, schema, 'json');
  const glob = r.string('pattern');
  if (glob !== undefined && (glob === '' || glob.includes('/'))) throw r.bad('pattern', "a file-name pattern without '/' such as '*.csv'");
  const maxBytesPerEpoch = r.integer('max_bytes_per_epoch', 1) ?? DEFAULT_MAX_BYTES_PER_EPOCH;
  const maxFilesPerEpoch = r.integer('max_files_per_epoch', 1) ?? DEFAULT_MAX_FILES_PER_EPOCH;
  return { path, format, pattern: glob === undefined ? null : globToRegExp(glob), maxBytesPerEpoch, maxFilesPerEpoch };
}

/** Reads and checks the options of a file sink. */
export function readFileSinkOptions(options: Options): FileSinkConfig {
  const r = new OptionReader('file', options);
  r.checkNames(['path', 'format']);
  const path = r.required('path', 'the directory the sink writes part files to');
  r.choice('format', ['json'] as const);
  return { path };
}
