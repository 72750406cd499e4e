/**
 * Keeps the `sluice_pg` catalog tables (pg-catalog.ts) filled from the catalog: before a catalog
 * query, if anything they are made of changed since the last fill, they are refilled in one
 * DuckDB transaction (a query running meanwhile sees the old or the new rows, never a mix).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Duck } from '../duck.js';
import { catalogFingerprint, catalogRows, insertSql, PG_DB, type CatalogSource } from './pg-catalog.js';

export class PgCatalogTables {
  private fingerprint = '';
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly duck: Duck,
    private readonly source: CatalogSource,
  ) {}

  /** Brings the tables up to date (one refill at a time). */
  refresh(conn: DuckDBConnection): Promise<void> {
    const run = this.chain.then(() => this.fill(conn));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async fill(conn: DuckDBConnection): Promise<void> {
    const fingerprint = catalogFingerprint(this.source);
    if (fingerprint === this.fingerprint) return;
    const statements = ['BEGIN TRANSACTION'];
    for (const [table, rows] of Object.entries(catalogRows(this.source))) statements.push(`DELETE FROM ${PG_DB}.main.${table}`, insertSql(table, rows));
    statements.push('COMMIT');
    try {
      await this.duck.run(statements.join(';\n'), conn);
    } catch (e) {
      await this.duck.run('ROLLBACK', conn).catch(() => undefined);
      throw e;
    }
    this.fingerprint = fingerprint;
  }
}
