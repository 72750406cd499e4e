import { describe, expect, it } from 'vitest';
import type { CatalogEntry, Comment } from '../../catalog/index.js';
import { catalogRows, readsCatalog, rewriteCatalogQuery, type CatalogSource } from './pg-catalog.js';

function source(entries: CatalogEntry[], comments: Comment[] = []): CatalogSource {
  return { catalog: { list: () => entries, comments: () => comments, indexes: () => [], roles: { names: () => ['ann'] } }, settings: () => [['batch_interval', '1s', 'epoch length']] };
}

describe('catalog query routing and rewriting', () => {
  it('routes queries naming the catalog, and only those', () => {
    expect(readsCatalog('SELECT * FROM pg_catalog.pg_class')).toBe(true);
    expect(readsCatalog('select relname from pg_class')).toBe(true);
    expect(readsCatalog("SELECT * FROM information_schema.tables WHERE table_schema = 'public'")).toBe(true);
    expect(readsCatalog('SELECT pg_catalog.format_type(23, -1)')).toBe(true);
    expect(readsCatalog('SELECT * FROM t')).toBe(false);
    expect(readsCatalog("INSERT INTO t VALUES ('pg_class')")).toBe(false);
    expect(readsCatalog("SELECT 'pg_class' FROM t")).toBe(false);
  });

  it("drops pg_catalog qualifiers, reads information_schema from sluice_pg, and unwraps OPERATOR(pg_catalog.~) and COLLATE", () => {
    expect(rewriteCatalogQuery("SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default"))
      .toBe("SELECT c.relname FROM pg_class c WHERE c.relname  ~  '^(t)$'  ");
    expect(rewriteCatalogQuery('SELECT * FROM information_schema.columns')).toBe('SELECT * FROM sluice_pg.info.columns');
    expect(rewriteCatalogQuery("SELECT x::pg_catalog.regclass, pg_catalog.format_type(1, 2)")).toBe('SELECT x::regclass, sluice_pg.main.format_type(1, 2)');
    // Strings are left alone.
    expect(rewriteCatalogQuery("SELECT 'pg_catalog.pg_class' FROM pg_class")).toBe("SELECT 'pg_catalog.pg_class' FROM pg_class");
  });
});

describe('catalog rows', () => {
  const table: CatalogEntry = {
    kind: 'table', name: 'users', sql: 'CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR)', createdAt: 1,
    schema: [{ name: 'id', type: 'bigint' }, { name: 'name', type: 'varchar' }], primaryKey: ['id'], appendOnly: false, options: {}, watermark: null,
  };
  const src: CatalogEntry = {
    kind: 'source', name: 'feed', sql: "CREATE SOURCE feed (a INT) WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1', password = 'hunter2')", createdAt: 2,
    schema: [{ name: 'a', type: 'int' }], options: { connector: 'mqtt', url: 'mqtt://127.0.0.1', password: 'hunter2' }, watermark: null,
  };

  it('gives a table its primary key index and constraint, and NOT NULL key columns', () => {
    const rows = catalogRows(source([table]));
    expect(rows.pg_class!.filter((r) => r[2] === 2200).map((r) => [r[0], r[1], r[16]])).toEqual([[16385, 'users', 'r'], [1016385, 'users_pkey', 'i']]);
    expect(rows.pg_attribute!.filter((r) => r[0] === 16385).map((r) => [r[1], r[2], r[5], r[13]])).toEqual([['id', 20, 1, true], ['name', 1043, 2, false]]);
    expect(rows.pg_index!.map((r) => [r[0], r[1], r[6], r[15]])).toEqual([[1016385, 16385, true, [1]]]);
    expect(rows.pg_constraint!.map((r) => [r[1], r[3], r[18]])).toEqual([['users_pkey', 'p', [1]]]);
  });

  it('makes a source a foreign table on its connector, with its secrets redacted', () => {
    const rows = catalogRows(source([src]));
    expect(rows.pg_foreign_server!.map((r) => r[1])).toEqual(['mqtt']);
    expect(rows.pg_foreign_table).toEqual([[16386, 4_000_000, ['url=mqtt://127.0.0.1', 'password=[REDACTED]']]]);
    expect(JSON.stringify(rows)).not.toContain('hunter2');
  });

  it('puts comments on relations and columns into pg_description', () => {
    const rows = catalogRows(source([table], [{ object: 'users', column: null, text: 'people' }, { object: 'users', column: 'name', text: 'as signed' }, { object: 'gone', column: null, text: 'x' }]));
    expect(rows.pg_description).toEqual([[16385, 1259, 0, 'people'], [16385, 1259, 2, 'as signed']]);
  });
});

describe('readsCatalog over leading comments', () => {
  it('answers a script opening with many comment lines (it once backtracked without end)', () => {
    const comments = '-- a comment line\n-- another\n'.repeat(40) + '/* block */\n';
    expect(readsCatalog(`${comments}CREATE TABLE t (a INT); SELECT 1`)).toBe(false);
    expect(readsCatalog(`${comments}SELECT * FROM pg_catalog.pg_class`)).toBe(true);
  });
});
