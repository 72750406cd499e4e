/**
 * Table loaders by `connector` name, for CREATE TABLE … WITH (connector = …): tables whose
 * rows come from a file or a PostgreSQL table and live in the embedded DuckDB.
 */
import { SluiceError } from '../common/errors.js';
import type { Schema } from '../common/types.js';
import type { Options } from '../parser/ast.js';
import type { TableLoaderFactory } from './api.js';
import { createFileTableLoader } from './table/file/loader.js';
import { readFileTableOptions } from './table/file/options.js';
import { createPostgresTableLoader } from './table/postgres/loader.js';
import { readPostgresTableOptions } from './table/postgres/options.js';

/** The loader factory of each table connector. */
export const tableLoaderFactories: Record<string, TableLoaderFactory> = {
  file: createFileTableLoader,
  postgres: createPostgresTableLoader,
};

/** Each table connector's options check: throws a SluiceError 'invalid_parameter' naming the option at fault. */
const optionChecks: Record<string, (options: Options) => unknown> = {
  file: readFileTableOptions,
  postgres: readPostgresTableOptions,
};

/** Checks a table's connector and WITH options at CREATE TABLE, before anything is loaded. */
export function validateTableOptions(connector: string, options: Options, _schema: Schema): void {
  const check = optionChecks[connector];
  if (!check || !tableLoaderFactories[connector]) {
    const known = Object.keys(tableLoaderFactories);
    throw new SluiceError('invalid_parameter', `unknown table connector '${connector}'`, {
      hint: known.length ? `Tables load with connector = '${known.join("' | '")}'.` : 'No table connectors are available in this build.',
    });
  }
  check(options);
}
