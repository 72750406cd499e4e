/**
 * Table loaders by `connector` name, for CREATE TABLE … WITH (connector = …): tables whose
 * rows come from a file or a PostgreSQL table and live in the embedded DuckDB.
 */
import { SluiceError } from '../common/errors.js';
import type { Schema } from '../common/types.js';
import type { Options } from '../parser/ast.js';
import type { TableLoaderFactory } from './api.js';
import { createFileTableLoader, readFileTableOptions } from './table-file/loader.js';
import { createPostgresTableLoader, readPostgresTableOptions } from './table-postgres/loader.js';

export const tableLoaderFactories: Record<string, TableLoaderFactory> = {
  file: createFileTableLoader,
  postgres: createPostgresTableLoader,
};

const validators: Record<string, (o: Options) => unknown> = {
  file: readFileTableOptions,
  postgres: readPostgresTableOptions,
};

/** Checks a table's WITH options at CREATE time. */
export function validateTableOptions(connector: string, options: Options, _schema: Schema): void {
  validators[connector]?.(options);
  if (!tableLoaderFactories[connector]) {
    const known = Object.keys(tableLoaderFactories);
    throw new SluiceError('invalid_parameter', `unknown table connector '${connector}'`, {
      hint: known.length ? `Tables load with connector = '${known.join("' | '")}'.` : 'No table connectors are available in this build.',
    });
  }
}
