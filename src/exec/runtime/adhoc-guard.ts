/**
 * What a client's ad-hoc SELECT may call. The SELECT text goes to DuckDB as written, and DuckDB
 * has table functions that read files and the network (read_csv, glob, read_text, parquet_scan,
 * query('…') running any SQL …). The engine's DuckDB runs with external access off (see duck.ts);
 * this check is the first line: it refuses such a call wherever it stands (select list, FROM,
 * CTE, subquery, LATERAL) with 42501 naming the function, before DuckDB sees the text.
 *
 * Table functions are refused unless listed as harmless here, so a table function a later DuckDB
 * adds is refused until someone decides otherwise.
 */
import { SluiceError } from '../../common/errors.js';
import { lex } from '../../parser/index.js';

/** Table functions that read only the catalog or compute rows (no files, no network, no writes). */
const HARMLESS_TABLE_FUNCTIONS = new Set([
  'generate_series', 'range', 'unnest', 'json_each', 'json_tree', 'repeat', 'repeat_row',
  'duckdb_columns', 'duckdb_constraints', 'duckdb_databases', 'duckdb_dependencies', 'duckdb_functions',
  'duckdb_indexes', 'duckdb_keywords', 'duckdb_schemas', 'duckdb_sequences', 'duckdb_tables',
  'duckdb_types', 'duckdb_views', 'pragma_table_info', 'pragma_version', 'pragma_show',
  'pg_timezone_names', 'icu_calendar_names',
]);

/** Scalar functions that write, run SQL given as text, or reach outside the database. */
const REFUSED_SCALAR_FUNCTIONS = [
  'json_execute_serialized_sql', 'copy_database', 'write_log', 'enable_profile', 'disable_profile', 'getenv',
];

/** Names of extension readers that may not be loaded yet (autoload is off, but say no early). */
const REFUSED_PATTERN = /^(read_|iceberg_|delta_|sqlite_|postgres_|mysql_|parquet_)|_scan$/;

/** The function names an ad-hoc SELECT may not call, given DuckDB's table functions. */
export class AdHocGuard {
  private readonly refused: ReadonlySet<string>;

  constructor(duckTableFunctions: readonly string[]) {
    const names = duckTableFunctions.map((n) => n.toLowerCase()).filter((n) => !HARMLESS_TABLE_FUNCTIONS.has(n));
    this.refused = new Set([...names, ...REFUSED_SCALAR_FUNCTIONS]);
  }

  /** Throws 42501 if `text` (whose first character is at 0-based `offset`) calls a refused function. */
  check(text: string, offset: number): void {
    const toks = lex(text, offset);
    for (let i = 0; i + 1 < toks.length; i++) {
      const t = toks[i]!;
      const next = toks[i + 1]!;
      if ((t.kind !== 'ident' && t.kind !== 'quoted') || next.kind !== 'symbol' || next.value !== '(') continue;
      const name = t.value.toLowerCase();
      if (!this.refused.has(name) && !REFUSED_PATTERN.test(name)) continue;
      throw new SluiceError('insufficient_privilege', `permission denied for function ${name}`, {
        position: t.start + 1,
        hint: "Ad-hoc queries cannot read files, the network or run SQL from text. Load files into a table with CREATE TABLE … WITH (connector = 'file', path = …) under an allowed path (--allow-path).",
      });
    }
  }
}
