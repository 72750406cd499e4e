/**
 * Table loaders by `connector` name, for CREATE TABLE … WITH (connector = …): tables whose
 * rows come from a file or a PostgreSQL table and live in the embedded DuckDB.
 */
import { SluiceError } from '../common/errors.js';
import type { Schema } from '../common/types.js';
import type { Options } from '../parser/ast.js';
import type { TableLoaderFactory } from './api.js';

export const tableLoaderFactories: Record<string, TableLoaderFactory> = {};

/** Checks a table's WITH options at CREATE time. */
export function validateTableOptions(connector: string, _options: Options, _schema: Schema): void {
  if (!tableLoaderFactories[connector]) {
    const known = Object.keys(tableLoaderFactories);
    throw new SluiceError('invalid_parameter', `unknown table connector '${connector}'`, {
      hint: known.length ? `Tables load with connector = '${known.join("' | '")}'.` : 'No table connectors are available in this build.',
    });
  }
}
