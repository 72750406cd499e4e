import { afterAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../common/errors.js';
import { parseStatement } from './parse.js';
import { splitStatements } from './lexer.js';
import { ParsePool } from './parse-pool.js';

const pools: ParsePool[] = [];
const pool = (opts?: ConstructorParameters<typeof ParsePool>[0]) => {
  const p = new ParsePool(opts);
  pools.push(p);
  return p;
};
afterAll(() => Promise.all(pools.map((p) => p.close())));

/** A worker module given as a data: URL, for workers that misbehave on purpose. */
const moduleUrl = (code: string) => `data:text/javascript,${encodeURIComponent(code)}`;

async function errorOf(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected an error');
}

const pathological = 'SELECT ' + '('.repeat(20) + '1 +' + ')'.repeat(20);

describe('parse pool', () => {
  it('gives the statements the calling thread gives, through structured clone', async () => {
    const script = `
      CREATE SOURCE bids (auction BIGINT, price BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5 seconds')
        WITH (connector = 'datagen', rows_per_second = 100);
      CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(20)) APPEND ONLY;
      CREATE MATERIALIZED VIEW v AS SELECT window_start, count(*), max(price) FROM TUMBLE(bids, ts, INTERVAL '10 seconds')
        WHERE price IN (1, 2, 3000000000) AND NOT (auction = -1) GROUP BY window_start EMIT ON WINDOW CLOSE;
      CREATE MATERIALIZED VIEW top AS SELECT auction, price FROM bids ORDER BY price DESC FETCH FIRST 3 ROWS WITH TIES;
      SELECT CASE WHEN (a > 1) THEN 'x' ELSE NULL END, CAST(b AS DOUBLE PRECISION), extract(hour FROM ts) FROM t;
      INSERT INTO users VALUES (1, 'a'), (2, 'b'); UPDATE users SET name = 'c' WHERE id = 1; DELETE FROM users WHERE id = 2;
      EXPLAIN SELECT sum(abs(price)) FROM bids; SET batch_interval = '500ms'; SHOW SOURCES; DROP TABLE users CASCADE`;
    const p = pool();
    const parts = splitStatements(script);
    expect(parts).toHaveLength(12);
    for (const s of parts) expect(await p.parse(s.text, s.offset)).toStrictEqual(parseStatement(s.text, s.offset, script));
  });

  it('rebuilds the worker’s SluiceError with category, message, position and hint', async () => {
    const script = 'SELECT 1; CREATE TABLE t (a INT, b GEOMETRY)';
    const [, s] = splitStatements(script);
    let sync: SluiceError | undefined;
    try {
      parseStatement(s!.text, s!.offset, script);
    } catch (e) {
      sync = e as SluiceError;
    }
    const e = await errorOf(pool().parse(s!.text, s!.offset));
    expect(e).toBeInstanceOf(SluiceError);
    expect([e.category, e.message, e.position, e.hint]).toEqual([sync!.category, sync!.message, sync!.position, sync!.hint]);
  });

  it('refuses a statement that runs past the deadline with 54001, and serves the next with a fresh worker', async () => {
    const p = pool({ deadlineMs: 300 });
    await p.warm();
    const t0 = Date.now();
    const e = await errorOf(p.parse(pathological, 10));
    const ms = Date.now() - t0;
    expect([e.sqlstate, e.message, e.position]).toEqual(['54001', 'statement is too complex: parsing took longer than 0.3 s', 11]);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(800);
    expect((await p.parse('SELECT ((1))')).kind).toBe('select');
  });

  it('parses two pathological statements side by side, not one after the other', async () => {
    const p = pool();
    await p.warm();
    const t0 = Date.now();
    const both = await Promise.all([errorOf(p.parse(pathological)), errorOf(p.parse(pathological))]);
    expect(both.map((e) => e.sqlstate)).toEqual(['54001', '54001']);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('turns a worker crash into 54001 and keeps serving', async () => {
    const crashing = moduleUrl(`
      import { parentPort } from 'node:worker_threads';
      parentPort.on('message', () => { throw new Error('boom'); });
      parentPort.postMessage({ kind: 'ready' });`);
    const p = pool({ entry: crashing });
    const e = await errorOf(p.parse('SELECT 1'));
    expect([e.sqlstate, e.message]).toEqual(['54001', 'statement is too complex: the parser crashed on it (boom)']);
    const again = await errorOf(p.parse('SELECT 1'));
    expect(again.sqlstate).toBe('54001');
  });

  it('refuses with an internal error, not a restart loop, when a worker cannot start', async () => {
    const p = pool({ entry: moduleUrl(`throw new Error('cannot load the parser');`) });
    const e = await errorOf(p.parse('SELECT 1'));
    expect([e.sqlstate, e.message]).toEqual(['XX000', 'the parse worker failed to start: cannot load the parser']);
    await p.warm();
  });

  it('refuses what is still waiting when closed', async () => {
    const p = pool();
    const waiting = errorOf(p.parse('SELECT 1'));
    await p.close();
    expect((await waiting).message).toBe('the parse pool is closed');
  });
});
