/**
 * Why a file table did not load, told as a SluiceError that names the table, the file and the
 * column or line at fault, with a hint that says what to change. DuckDB's reader errors are
 * translated here; where its message does not name the culprit (a missing column), a small
 * query on the file finds it.
 */
import { SluiceError } from '../../../common/errors.js';
import type { Schema } from '../../../common/types.js';
import type { TableLoaderContext } from '../../api.js';
import type { FileTableConfig } from './options.js';
import { describeQuery, duckTypeName, jsonKeysQuery } from './query.js';

/** The file(s) of a table as messages name them. */
function fileName(cfg: FileTableConfig): string {
  return cfg.singleLocalFile ? `file ${cfg.path}` : `files ${cfg.path}`;
}

/** The error for a path that names no file. */
export function missingFileError(table: string, cfg: FileTableConfig): SluiceError {
  const what = cfg.singleLocalFile ? `file ${cfg.path} of table "${table}" does not exist` : `no file matches ${cfg.path} of table "${table}"`;
  return new SluiceError('invalid_parameter', what, {
    hint: `Check the path option; a relative path starts at the directory sluice runs in (${process.cwd()}).`,
  });
}

/** The error for a path that is a directory. */
export function directoryError(table: string, cfg: FileTableConfig): SluiceError {
  return new SluiceError('invalid_parameter', `path ${cfg.path} of table "${table}" is a directory, not a file`, {
    hint: `Point path at one file, or at the files in the directory with a glob such as '${cfg.path}/*.${cfg.format}'.`,
  });
}

/** DuckDB's full error text (the engine keeps only its first line in the message). */
function fullText(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  const text = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  // Drop DuckDB's "LINE 1: SELECT …" excerpt of our own query: it means nothing to the user.
  return text.replace(/\n+LINE \d+:[\s\S]*$/, '').replace(/^[A-Za-z ]+ Error: /, '');
}

const firstLine = (s: string) => s.split('\n')[0]!.trim();

/** Translates a failed snapshot query into an error that names what is wrong and what to do. */
export async function explainLoadFailure(e: unknown, ctx: TableLoaderContext, cfg: FileTableConfig): Promise<SluiceError> {
  const text = fullText(e);
  const where = fileName(cfg);
  const name = ctx.name;
  if (/No files found that match the pattern/.test(text)) return missingFileError(name, cfg);
  if (e instanceof SluiceError && e.category === 'undefined_column') {
    const missing = await missingColumns(ctx, cfg);
    if (missing) return missing;
  }
  if (/header having less columns than expected/.test(text)) {
    const found = /Actual number of columns (\d+)/.exec(text)?.[1];
    return new SluiceError('invalid_input', `${where} has ${found ?? 'fewer'} columns per line, fewer than the ${ctx.schema.length} table "${name}" declares`, {
      hint: "With csv.header = 'false' columns are read by position: declare at most as many as each line has.",
      cause: e,
    });
  }
  if (/Error when sniffing file|CSV Error on Line/.test(text)) {
    const detail = /Error when sniffing file/.test(text)
      ? 'DuckDB cannot make out its layout (do all lines have the same number of fields?)'
      : [firstLine(text), ...text.split('\n').filter((l) => /^(Original Line|Expected Number of Columns)/.test(l))].join('; ');
    const delimiter = cfg.csvDelimiter === '\t' ? 'a tab' : `'${cfg.csvDelimiter}'`;
    return new SluiceError('invalid_input', `${where} of table "${name}" is not valid CSV with delimiter ${delimiter}: ${detail}`, {
      hint: 'Every line needs the same number of fields, and fields that contain the delimiter, a quote or a newline need double quotes; set csv.delimiter if the file uses another one.',
      cause: e,
    });
  }
  if (cfg.format === 'json' && /JSON/.test(text)) {
    return new SluiceError('invalid_input', `${where} of table "${name}" is not valid JSON: ${firstLine(text)}`, {
      hint: "format 'json' reads one JSON object per line, or one array of objects.",
      cause: e,
    });
  }
  if (cfg.format === 'parquet' && /magic bytes|parquet file/i.test(text)) {
    return new SluiceError('invalid_input', `${where} of table "${name}" is not a Parquet file: ${firstLine(text)}`, {
      hint: "Check the path, or set format = 'csv' or 'json' to match the file.",
      cause: e,
    });
  }
  const types = ctx.schema.map((f) => `${f.name} ${duckTypeName(f.type)}`).join(', ');
  if (/^Conversion Error|Could not convert|invalid .*format|out of range/i.test(firstLine(text)) || (e instanceof SluiceError && (e.category === 'invalid_input' || e.category === 'numeric_out_of_range'))) {
    return new SluiceError('invalid_input', `cannot load table "${name}" from ${where}: ${firstLine(text)}`, {
      hint: `Each value must fit its column's declared type (${types}); fix the file or declare a type that fits (VARCHAR holds anything).`,
      cause: e,
    });
  }
  return new SluiceError('invalid_input', `cannot load table "${name}" from ${where}: ${firstLine(text)}`, {
    hint: `Check that the file is ${cfg.format.toUpperCase()} with the columns ${types}.`,
    cause: e,
  });
}

/** The error for declared columns the file lacks (CSV with a header, Parquet), or null if none is missing. */
async function missingColumns(ctx: TableLoaderContext, cfg: FileTableConfig): Promise<SluiceError | null> {
  let have: string[];
  try {
    have = (await ctx.query(describeQuery(cfg, ctx.schema))).map((r) => String(r[0]));
  } catch {
    return null;
  }
  // DuckDB binds names case-insensitively, so compare the same way.
  const lower = new Set(have.map((h) => h.toLowerCase()));
  const missing = ctx.schema.filter((f) => !lower.has(f.name.toLowerCase())).map((f) => `"${f.name}"`);
  if (missing.length === 0) return null;
  const hint = cfg.format === 'csv'
    ? "Declare only columns the file's header names (matched case-insensitively), or set csv.header = 'false' to read the columns by position."
    : 'Declare only columns the file has (matched case-insensitively).';
  return new SluiceError('undefined_column', `${fileName(cfg)} has no column ${missing.join(', ')} for table "${ctx.name}" (its columns: ${listNames(have)})`, { hint });
}

/**
 * Checks that every declared column of a JSON table is a key of the file: a column that is NULL
 * in every row may be a key the file never has (a typo, or a case mismatch).
 */
export async function checkJsonKeys(ctx: TableLoaderContext, cfg: FileTableConfig, rows: readonly (readonly unknown[])[], schema: Schema): Promise<void> {
  if (rows.length === 0) return;
  const allNull = schema.filter((_, i) => rows.every((r) => r[i] === null));
  if (allNull.length === 0) return;
  let keys: string[];
  try {
    keys = (await ctx.query(jsonKeysQuery(cfg))).map((r) => String(r[0]));
  } catch {
    return; // The rows loaded; a failing check must not fail the load.
  }
  const present = new Set(keys);
  const missing = allNull.filter((f) => !present.has(f.name));
  if (missing.length === 0) return;
  const caseHint = missing
    .map((f) => ({ f, k: keys.find((k) => k.toLowerCase() === f.name.toLowerCase()) }))
    .filter((x) => x.k !== undefined)
    .map((x) => `the file has "${x.k}": declare the column as "${x.k}" (quoted) to match it`);
  throw new SluiceError('undefined_column', `${fileName(cfg)} has no key ${missing.map((f) => `"${f.name}"`).join(', ')} for table "${ctx.name}" (its keys: ${listNames(keys)})`, {
    hint: caseHint.length ? `JSON keys match column names exactly; ${caseHint.join('; ')}.` : 'JSON keys match column names exactly; declare only columns the records have.',
  });
}

/** A list of names for a message, shortened when long. */
function listNames(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, 20).join(', ');
  return names.length > 20 ? `${shown}, … (${names.length} in all)` : shown;
}
