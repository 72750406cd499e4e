/**
 * Keeps the `sluice_pg` catalog tables (pg-catalog.ts) filled from the catalog: before a catalog
 * query, if anything they are made of changed since the last fill, they are refilled in one
 * DuckDB transaction (a query running meanwhile sees the old or the new rows, never a mix).
 * Rows go in through appenders: DuckDB binds a long VALUES list of these wide rows slowly
 * (about 2 ms a row).
 */
import { BIGINT, LIST, SMALLINT, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import type { Value } from '../../common/types.js';
import type { Duck } from '../duck.js';
import { catalogFingerprint, catalogRows, PG_DB, TABLES, type CatalogSource } from './pg-catalog.js';

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

const LIST_TYPES = { 'VARCHAR[]': LIST(VARCHAR), 'BIGINT[]': LIST(BIGINT), 'SMALLINT[]': LIST(SMALLINT) } as const;

function append(app: Appender, v: Value, duckType: string): void {
  if (v === null) return app.appendNull();
  switch (duckType) {
    case 'BIGINT': return app.appendBigInt(BigInt(v as number));
    case 'INTEGER': return app.appendInteger(Number(v));
    case 'SMALLINT': return app.appendSmallInt(Number(v));
    case 'DOUBLE': return app.appendDouble(Number(v));
    case 'BOOLEAN': return app.appendBoolean(Boolean(v));
    case 'VARCHAR': return app.appendVarchar(String(v));
    default: {
      const items = v as unknown as readonly (number | string)[];
      const list = duckType === 'VARCHAR[]' ? items.map(String) : duckType === 'BIGINT[]' ? items.map((x) => BigInt(x)) : items.map(Number);
      return app.appendList(list, LIST_TYPES[duckType as keyof typeof LIST_TYPES]);
    }
  }
}

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
    const rows = catalogRows(this.source);
    await this.duck.run('BEGIN TRANSACTION', conn);
    try {
      for (const [table, data] of Object.entries(rows)) {
        await this.duck.run(`DELETE FROM ${PG_DB}.main.${table}`, conn);
        const cols = TABLES[table]!;
        const app = await conn.createAppender(table, 'main', PG_DB);
        try {
          for (const r of data) {
            cols.forEach(([, type], j) => append(app, r[j] ?? null, type));
            app.endRow();
          }
          app.flushSync();
        } finally {
          app.closeSync();
        }
      }
      await this.duck.run('COMMIT', conn);
    } catch (e) {
      await this.duck.run('ROLLBACK', conn).catch(() => undefined);
      throw e;
    }
    this.fingerprint = fingerprint;
  }
}
