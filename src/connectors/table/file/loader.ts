/**
 * The loader of a table with `connector = 'file'`: a CSV, Parquet or JSON file (or a glob of
 * them) read by the embedded DuckDB's own readers at CREATE TABLE and every `refresh_interval`.
 * Declared columns are read by name (by position for CSV without a header) and cast to their
 * types by DuckDB.
 */
import { stat } from 'node:fs/promises';
import type { Value } from '../../../common/types.js';
import type { TableLoader, TableLoaderContext } from '../../api.js';
import { checkJsonKeys, directoryError, explainLoadFailure, missingFileError } from './load-errors.js';
import { readFileTableOptions } from './options.js';
import { snapshotQuery } from './query.js';

/** Creates the loader of a file table; its options are checked again here (the engine validated them). */
export function createFileTableLoader(ctx: TableLoaderContext): TableLoader {
  const cfg = readFileTableOptions(ctx.options);
  const sql = snapshotQuery(cfg, ctx.schema);
  return {
    refreshMs: cfg.refreshMs,
    async snapshot(): Promise<Value[][]> {
      if (cfg.singleLocalFile) {
        const st = await stat(cfg.path).catch(() => null);
        if (st === null) throw missingFileError(ctx.name, cfg);
        if (st.isDirectory()) throw directoryError(ctx.name, cfg);
        // An empty file is an empty table: DuckDB would find no header and no columns in it.
        if (st.size === 0) return [];
      }
      let rows: Value[][];
      try {
        rows = await ctx.query(sql);
      } catch (e) {
        throw await explainLoadFailure(e, ctx, cfg);
      }
      if (cfg.format === 'json') await checkJsonKeys(ctx, cfg, rows, ctx.schema);
      return rows;
    },
    async close() {},
  };
}
