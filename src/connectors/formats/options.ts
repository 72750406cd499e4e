/**
 * The record-format options shared by line-oriented sources (file, socket): `format`,
 * `csv.delimiter` and `csv.header`, validated against the source's schema.
 */
import { SluiceError } from '../../common/errors.js';
import type { Schema } from '../../common/types.js';
import type { OptionReader } from '../option-reader.js';

export type FormatName = 'json' | 'csv' | 'text';

export const FORMAT_NAMES: readonly FormatName[] = ['json', 'csv', 'text'];

/** The option names this module reads; connectors add them to their own lists. */
export const FORMAT_OPTIONS: readonly string[] = ['format', 'csv.delimiter', 'csv.header'];

/** A validated record format: which decoder to use and its settings. */
export interface FormatSpec {
  readonly format: FormatName;
  /** One character; ',' unless `csv.delimiter` says otherwise. */
  readonly csvDelimiter: string;
  /** Whether the first record of each stream (file, connection) names the columns. */
  readonly csvHeader: boolean;
}

/** Reads and checks the format options; `fallback` is the connector's default format. */
export function readFormatOptions(r: OptionReader, schema: Schema, fallback: FormatName): FormatSpec {
  const format = r.choice('format', FORMAT_NAMES) ?? fallback;
  if (format !== 'csv') {
    // A csv.* option with another format is almost always a forgotten format = 'csv'.
    for (const key of ['csv.delimiter', 'csv.header']) {
      if (r.has(key)) {
        throw new SluiceError('invalid_parameter', `option "${key}" of ${r.subject} applies only to format 'csv', but format is '${format}'; add format = 'csv' or drop ${key}`);
      }
    }
  }
  const csvDelimiter = readDelimiter(r);
  const csvHeader = r.boolean('csv.header') ?? false;
  if (format === 'text' && (schema.length !== 1 || schema[0]!.type !== 'varchar')) {
    const cols = schema.map((f) => `${f.name} ${f.type}`).join(', ');
    throw new SluiceError('invalid_parameter', `format 'text' puts each line into a single VARCHAR column, but the schema is (${cols}); declare exactly one VARCHAR column or use format 'json' or 'csv'`);
  }
  return { format, csvDelimiter, csvHeader };
}

function readDelimiter(r: OptionReader): string {
  const raw = r.string('csv.delimiter');
  if (raw === undefined) return ',';
  // SQL strings have no escapes, so a tab is written as '\t' or 'tab'.
  const d = raw === '\\t' || raw.toLowerCase() === 'tab' ? '\t' : raw;
  if (d.length !== 1 || d === '"' || d === '\n' || d === '\r') {
    throw r.bad('csv.delimiter', "a single character other than '\"' and newline (write '\\t' or 'tab' for a tab)");
  }
  return d;
}
