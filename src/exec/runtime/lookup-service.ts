/**
 * The lookup service: how stream–table lookup joins reach DuckDB. It picks each table's lookup
 * strategy when a view is planned (a JS hash index for small tables, DuckDB for large ones) and
 * runs the DuckDB strategy for an epoch's batch.
 */
import type { Value } from '../../common/types.js';
import type { EvalContext } from '../eval.js';
import { createTableSql, fromDuck, quoteIdent } from '../duck.js';
import { queryConnection, type EngineState } from './state.js';

/** Tables up to this many rows get a JS hash index in lookup joins; larger ones are joined in DuckDB. */
const LOOKUP_HASH_MAX_ROWS = 1_000_000;

/** One DuckDB lookup: the request a lookup join's operator sends for an epoch's batch. */
export type LookupRequest = Parameters<NonNullable<EvalContext['lookupInDuck']>>[0];

/** The lookup strategies and the DuckDB lookup over an engine's tables. */
export class LookupService {
  constructor(private readonly state: EngineState) {}

  /** The DuckDB lookup-join strategy: the stream rows go to a temp table joined with the table. */
  async lookupInDuck(req: LookupRequest): Promise<Value[][]> {
    const { duck } = this.state;
    const conn = await queryConnection(this.state);
    const tmp = '__sluice_lookup_input';
    const streamSchema = req.streamSchema.map((f, i) => ({ name: `c${i}`, type: f.type }));
    await duck.run(createTableSql(tmp, streamSchema, [], true).replace(/^CREATE TEMP TABLE/, 'CREATE OR REPLACE TEMP TABLE'), conn);
    await duck.appendBatch(tmp, streamSchema, req.batches, conn);
    const on = req.streamKeys.map((k, i) => `s.c${k} = t.${quoteIdent(req.tableKeys[i]!)}`).join(' AND ');
    const cols = [...streamSchema.map((f) => `s.${f.name}`), ...req.columns.map((c) => `t.${quoteIdent(c)}`)].join(', ');
    const r = await duck.run(`SELECT ${cols} FROM temp.main.${tmp} s ${req.left ? 'LEFT ' : ''}JOIN main.${quoteIdent(req.table)} t ON ${on}`, conn);
    const rows = r.getRows().map((row) => row.map((v, i) => fromDuck(v, req.outputTypes[i]!)));
    await duck.run(`DROP TABLE temp.main.${tmp}`, conn);
    return rows;
  }

  /** Lookup strategy per table: SET lookup_join_strategy = 'hash' | 'duckdb' | 'auto' (by table size). */
  async strategies(relations: readonly string[]): Promise<(table: string) => 'hash' | 'duckdb'> {
    const mode = (this.state.settings.custom.get('lookup_join_strategy') ?? 'auto').toLowerCase();
    if (mode === 'hash' || mode === 'duckdb') return () => mode;
    const sizes = new Map<string, number>();
    for (const rel of relations) {
      if (!this.state.tables.has(rel)) continue;
      const { rows } = await this.state.duck.query(`SELECT count(*) FROM ${quoteIdent(rel)}`);
      sizes.set(rel, Number(rows[0]![0]));
    }
    // A small table fits a JS hash index; a large one stays in DuckDB.
    return (table) => ((sizes.get(table) ?? 0) > LOOKUP_HASH_MAX_ROWS ? 'duckdb' : 'hash');
  }
}
