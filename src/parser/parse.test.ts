import { describe, expect, it } from 'vitest';
import { SluiceError } from '../common/errors.js';
import { parseSql } from './index.js';

function errorOf(sql: string): SluiceError {
  try {
    parseSql(sql);
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('parser', () => {
  it('parses streaming DDL with options, watermark, append only and primary key', () => {
    const [src, tbl] = parseSql(`
      CREATE SOURCE bids (auction BIGINT, price BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5 seconds')
        WITH (connector = 'datagen', rows_per_second = 100, fields.price.kind = 'random');
      CREATE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, name VARCHAR(20), score DOUBLE PRECISION) APPEND ONLY;`);
    expect(src).toMatchObject({
      kind: 'create_source',
      name: 'bids',
      columns: [{ name: 'auction', type: 'bigint' }, { name: 'price', type: 'bigint' }, { name: 'ts', type: 'timestamp' }],
      watermark: { column: 'ts' },
      options: { connector: 'datagen', rows_per_second: '100', 'fields.price.kind': 'random' },
    });
    expect(tbl).toMatchObject({ kind: 'create_table', name: 'users', ifNotExists: true, primaryKey: ['id'], appendOnly: true });
  });

  it('parses views, EMIT ON WINDOW CLOSE, sinks, DML, DROP, SHOW, SET, FLUSH, EXPLAIN, DESCRIBE', () => {
    const stmts = parseSql(`
      CREATE MATERIALIZED VIEW v AS SELECT a, count(*) FROM t GROUP BY a EMIT ON WINDOW CLOSE;
      CREATE SINK s FROM v WITH (connector = 'print');
      INSERT INTO t VALUES (1); UPDATE t SET a = 2 WHERE a = 1; DELETE FROM t WHERE a = 2;
      DROP MATERIALIZED VIEW IF EXISTS v CASCADE; SHOW SOURCES; SHOW batch_interval;
      SET batch_interval = '500ms'; SET RW_IMPLICIT_FLUSH TO true; FLUSH; EXPLAIN SELECT * FROM t; DESCRIBE t;`);
    expect(stmts.map((s) => s.kind)).toEqual([
      'create_view', 'create_sink', 'insert', 'update', 'delete', 'drop', 'show_objects', 'show_variable', 'set', 'set', 'flush', 'explain', 'describe',
    ]);
    expect(stmts[0]).toMatchObject({ emitOnWindowClose: true });
    expect(stmts[3]).toMatchObject({ selectOldText: 'SELECT * FROM "t" WHERE a = 1' });
    expect(stmts[5]).toMatchObject({ objectKind: 'view', ifExists: true, cascade: true });
    expect(stmts[9]).toMatchObject({ name: 'rw_implicit_flush', value: 'true' });
  });

  it('parses CREATE SINK … AS query WITH (…): the last WITH (…) is the sink\'s, a CTE\'s is the query\'s', () => {
    const [a, b, c, d] = parseSql(`CREATE SINK a AS WITH x AS (SELECT 1 AS v) SELECT v FROM x WITH (connector = 'print');
      CREATE SINK IF NOT EXISTS b AS SELECT k FROM t WHERE k IN (1, 2);
      CREATE SINK c AS SELECT window_start, count(*) FROM TUMBLE(t, ts, INTERVAL '1 minute') GROUP BY window_start EMIT ON WINDOW CLOSE WITH (connector = 'file', path = 'o');
      CREATE SINK d FROM v WITH (connector = 'print');`);
    expect(a).toMatchObject({ kind: 'create_sink', name: 'a', from: null, options: { connector: 'print' }, query: { queryText: 'WITH x AS (SELECT 1 AS v) SELECT v FROM x ', emitOnWindowClose: false } });
    expect(b).toMatchObject({ kind: 'create_sink', name: 'b', ifNotExists: true, from: null, options: {}, query: { queryText: 'SELECT k FROM t WHERE k IN (1, 2)' } });
    expect(c).toMatchObject({ options: { connector: 'file', path: 'o' }, query: { emitOnWindowClose: true } });
    expect((c as { query: { queryText: string } }).query.queryText).not.toMatch(/emit/i);
    expect(d).toMatchObject({ kind: 'create_sink', from: 'v', query: null, options: { connector: 'print' } });
    expect(errorOf(`CREATE SINK e AS SELECT FROM WITH (connector = 'print')`).sqlstate).toBe('42601');
  });

  it('splits statements without breaking quoted semicolons or comments', () => {
    const stmts = parseSql("SELECT ';' AS x; -- a comment; here\nSELECT 2 /* ; */;");
    expect(stmts).toHaveLength(2);
  });

  it('reports syntax errors with SQLSTATE 42601 and a position', () => {
    const e = errorOf('SELECT a FROM t WHERE');
    expect(e.sqlstate).toBe('42601');
    expect(e.message).toBe('syntax error at end of input');
    expect(e.position).toBe(22);
    const e2 = errorOf('SELECT 1;\nSELECT * FRM t');
    expect(e2.message).toBe('syntax error at or near "FRM"');
    expect(e2.position).toBe(20);
    const e3 = errorOf('CREATE SOURCE s (a INT');
    expect(e3.sqlstate).toBe('42601');
    expect(e3.position).toBe(23);
  });

  it('refuses unsupported types with 0A000 at the type', () => {
    const e = errorOf('CREATE TABLE t (a INT, b GEOMETRY)');
    expect(e.sqlstate).toBe('0A000');
    expect(e.position).toBe(26);
  });
});
