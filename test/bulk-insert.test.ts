/**
 * A bulk INSERT is not a pathological statement: DuckDB parses it (linearly), node-sql-parser
 * never sees it, so the parse guard's deadline does not refuse tens of thousands of rows, and
 * its syntax errors still come with SQLSTATE and position.
 */
import { describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import { createEngine } from '../src/exec/runtime/engine.js';

describe('bulk INSERT', () => {
  it('takes 30 000 rows in one statement, and places a syntax error', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE t (a INT, b VARCHAR); CREATE MATERIALIZED VIEW n AS SELECT count(*) AS c, sum(a) AS s FROM t');
      const rows = Array.from({ length: 30_000 }, (_, i) => `(${i}, 'row ${i}')`).join(', ');
      await e.execute(`INSERT INTO t VALUES ${rows}; FLUSH`);
      expect(await e.viewRows('n')).toEqual([[30_000n, BigInt((29_999 * 30_000) / 2)]]);
      const err = await e.execute("SELECT 1; INSERT INTO t VALUS (1, 'x')").then(() => null, (x: unknown) => toSluiceError(x));
      expect(err?.sqlstate).toBe('42601');
      expect(err?.message).toBe('syntax error at or near "VALUS"');
      expect(err?.position).toBe('SELECT 1; INSERT INTO t '.length + 1);
    } finally {
      await e.close();
    }
  });
});
