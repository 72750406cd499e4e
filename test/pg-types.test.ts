/**
 * Differential checks of sluice's types against the real PostgreSQL (127.0.0.1:5432, database
 * `test`): BYTEA input (hex and escape formats) and its text output, and a view over a BYTEA
 * column under deletes compared with PostgreSQL's answer over the final table.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../src/common/errors.js';
import { castValue, formatValue } from '../src/common/values.js';
import { createEngine } from '../src/exec/runtime/engine.js';

let client: pg.Client;
const TABLE = `sluice_bytea_${process.pid}`;

beforeAll(async () => {
  for (const user of [process.env.PGUSER, 'postgres', 'root'].filter((u): u is string => !!u)) {
    const c = new pg.Client({ host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), user, database: 'test' });
    try {
      await c.connect();
      client = c;
      break;
    } catch {
      await c.end().catch(() => undefined);
    }
  }
  if (!client) throw new Error('cannot connect to PostgreSQL at 127.0.0.1:5432/test as postgres or root; start the server');
});

afterAll(async () => {
  if (!client) return;
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.end();
});

/** PostgreSQL's text of `s::bytea`, or 'ERROR <sqlstate>'. */
async function pgBytea(s: string): Promise<string> {
  try {
    const r = await client.query({ text: 'SELECT $1::bytea::text AS t', values: [s] });
    return String((r.rows[0] as { t: string }).t);
  } catch (e) {
    return `ERROR ${(e as { code: string }).code}`;
  }
}

function ourBytea(s: string): string {
  try {
    return formatValue(castValue(s, 'varchar', 'bytea'), 'bytea')!;
  } catch (e) {
    if (e instanceof SluiceError) return `ERROR ${e.sqlstate}`;
    throw e;
  }
}

const hexInput = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }).chain((bytes) =>
  fc.constantFrom(' ', '', '  ').map((sep) => '\\x' + bytes.map((b) => b.toString(16).padStart(2, '0')).map((h, i) => (i % 2 ? h.toUpperCase() : h)).join(sep)),
);
const escapeInput = fc.array(fc.constantFrom('a', 'Z', ' ', '\\\\', '\\001', '\\377', 'é', '\\', '\\9', 'x', '\\x'), { maxLength: 5 }).map((xs) => xs.join(''));
const badHex = fc.constantFrom('\\x3 1', '\\x0', '\\xzz', '\\x 0 1');

describe('BYTEA vs PostgreSQL', () => {
  it('reads hex and escape input and prints hex, or fails with the same SQLSTATE', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(hexInput, escapeInput, badHex), async (s) => {
      expect(ourBytea(s)).toBe(await pgBytea(s));
    }), { numRuns: 200 });
  });

  it('a view grouping by a BYTEA column equals PostgreSQL over the final table', async () => {
    const engine = await createEngine({ autoStart: false, log: () => undefined });
    try {
      const ddl = `CREATE TABLE ${TABLE} (k BYTEA, n INT)`;
      await client.query(`DROP TABLE IF EXISTS ${TABLE}; ${ddl}`);
      await engine.execute(ddl);
      const q = `SELECT k, count(*) AS c, sum(n) AS s, k < '\\x62'::bytea AS lt FROM ${TABLE} GROUP BY k`;
      await engine.execute(`CREATE MATERIALIZED VIEW mv AS ${q}`);
      for (const stmt of [
        `INSERT INTO ${TABLE} VALUES ('\\x31', 1), ('abc', 2), ('', 3), ('\\x616263', 4), ('\\x', 5), ('\\x61 62', 6)`,
        'FLUSH',
        `DELETE FROM ${TABLE} WHERE n = 2`,
        `INSERT INTO ${TABLE} VALUES (E'a\\\\\\\\b', 7), ('\\xFF', 8)`,
      ]) {
        await engine.execute(stmt);
        if (stmt !== 'FLUSH') await client.query(stmt);
      }
      await engine.execute('FLUSH');
      const schema = engine.catalog.relation('mv').schema;
      const got = (await engine.viewRows('mv')).map((r) => JSON.stringify(r.map((v, i) => formatValue(v, schema[i]!.type)))).sort();
      const r = await client.query({ text: q, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
      expect(got).toEqual((r.rows as unknown[][]).map((row) => JSON.stringify(row)).sort());
    } finally {
      await engine.close();
    }
  });
});
