/**
 * Time-bounded stream joins against an oracle: random out-of-order rows on two watermarked
 * inputs, cut into random epochs. The test tracks the view watermark (min of the inputs'),
 * decides which rows were late exactly as the join does (their match window had passed), and
 * compares the view with DuckDB joining the rows that were not late. State must shrink once
 * the watermark passes.
 */
import fc from 'fast-check';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { fromDuck } from '../src/exec/duck.js';
import { canonicalRows, parallelismArb } from './helpers.js';
import { epochsArb, type R } from './generators.js';

const MIN = 60_000_000n;
const BASE = 1_704_103_200_000_000n; // 2024-01-01 10:00:00
const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

const ts = (m: number) => `TIMESTAMP '${new Date(Number((BASE + BigInt(m) * MIN) / 1000n)).toISOString().replace('T', ' ').replace('Z', '')}'`;

describe('time-bounded stream joins vs oracle', () => {
  it('interval joins (b.ts BETWEEN a.ts - L AND a.ts + U) with out-of-order input (200 cases, 100 in CI)', async () => {
    await fc.assert(
      fc.asyncProperty(epochsArb, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 10 }), parallelismArb, async (epochs, lower, upper, delay, parallelism) => {
        const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
        engines.push(e);
        await e.execute(`CREATE TABLE a (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '${delay} minutes') APPEND ONLY;
          CREATE TABLE b (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '${delay} minutes') APPEND ONLY;
          CREATE MATERIALIZED VIEW j AS SELECT a.id, a.ts AS a_ts, b.ts AS b_ts FROM a JOIN b
            ON a.id = b.id AND b.ts BETWEEN a.ts - INTERVAL '${lower} minutes' AND a.ts + INTERVAL '${upper} minutes';`);
        let wmA: number | null = null;
        let wmB: number | null = null;
        let wm: number | null = null;
        const kept: R[] = [];
        for (const rows of epochs) {
          for (const side of ['a', 'b'] as const) {
            const mine = rows.filter((r) => r.side === side);
            if (mine.length) await e.execute(`INSERT INTO ${side} VALUES ${mine.map((r) => `(${r.id}, ${ts(r.t)})`).join(', ')}`);
          }
          await e.execute('FLUSH');
          // Late: event time below the view watermark as it was before this epoch.
          for (const r of rows) if (wm === null || r.t >= wm) kept.push(r);
          for (const r of rows) {
            if (r.side === 'a') wmA = Math.max(wmA ?? -Infinity, r.t - delay);
            else wmB = Math.max(wmB ?? -Infinity, r.t - delay);
          }
          if (wmA !== null && wmB !== null) wm = Math.max(wm ?? -Infinity, Math.min(wmA, wmB));
        }
        const db = await DuckDBInstance.create(':memory:');
        const conn = await db.connect();
        await conn.run('CREATE TABLE a (id INT, ts TIMESTAMP); CREATE TABLE b (id INT, ts TIMESTAMP);');
        for (const side of ['a', 'b'] as const) {
          const mine = kept.filter((r) => r.side === side);
          if (mine.length) await conn.run(`INSERT INTO ${side} VALUES ${mine.map((r) => `(${r.id}, ${ts(r.t)})`).join(', ')}`);
        }
        const res = await conn.runAndReadAll(`SELECT a.id, epoch_us(a.ts), epoch_us(b.ts) FROM a JOIN b ON a.id = b.id AND b.ts BETWEEN a.ts - INTERVAL '${lower} minutes' AND a.ts + INTERVAL '${upper} minutes'`);
        const expected = res.getRows().map((r) => [fromDuck(r[0], 'int'), fromDuck(r[1], 'bigint'), fromDuck(r[2], 'bigint')]);
        conn.closeSync();
        db.closeSync();
        expect(canonicalRows(await e.viewRows('j'))).toEqual(canonicalRows(expected));
        const late = epochs.flat().length - kept.length;
        expect(e.stats().views.j!.lateRows).toBe(late);
      }),
      { numRuns: Number(process.env.SLUICE_FC_RUNS ?? (process.env.CI ? 100 : 200)) },
    );
  }, 1_800_000);

  it('window joins: TUMBLE(a) JOIN TUMBLE(b) ON window_start, with state dropped as windows close', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE a (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts) APPEND ONLY;
      CREATE TABLE b (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts) APPEND ONLY;
      CREATE MATERIALIZED VIEW wj AS SELECT x.id, x.window_start, y.ts AS bts
        FROM TUMBLE(a, ts, INTERVAL '10 minutes') x JOIN TUMBLE(b, ts, INTERVAL '10 minutes') y
        ON x.window_start = y.window_start AND x.id = y.id;
      INSERT INTO a VALUES (1, ${ts(1)}), (2, ${ts(3)}); INSERT INTO b VALUES (1, ${ts(5)}), (2, ${ts(12)}); FLUSH;`);
    expect(canonicalRows(await e.viewRows('wj'))).toEqual(canonicalRows([[1, BASE, BASE + 5n * MIN]]));
    const [plan] = await e.execute(`EXPLAIN CREATE MATERIALIZED VIEW z AS SELECT x.id FROM TUMBLE(a, ts, INTERVAL '10 minutes') x JOIN TUMBLE(b, ts, INTERVAL '10 minutes') y ON x.window_start = y.window_start`);
    expect(plan!.kind === 'rows' && plan!.rows.map((r) => r[0]).join('\n')).toContain('cleanup=[drop a left row once the watermark reaches window_end');
    // Both inputs move past 10:10: the first window's rows leave the state.
    await e.execute(`INSERT INTO a VALUES (3, ${ts(25)}); INSERT INTO b VALUES (3, ${ts(26)}); FLUSH;`);
    expect(e.stats().views.wj!.windowState).toBe(2);
    // A row for the closed window arrives late: dropped, counted, no output.
    await e.execute(`INSERT INTO a VALUES (1, ${ts(2)}); FLUSH;`);
    expect(e.stats().views.wj!.lateRows).toBe(1);
    expect(canonicalRows(await e.viewRows('wj'))).toEqual(canonicalRows([[1, BASE, BASE + 5n * MIN], [3, BASE + 20n * MIN, BASE + 26n * MIN]]));
  });

  it('keeps interval-join state bounded on endless streams', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    const src = (name: string) => `CREATE SOURCE ${name} (id BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '50 microseconds') WITH (
      connector = 'datagen', rows_per_second = 1000000, max_batch_rows = 5000,
      fields.id.kind = 'sequence', fields.id.start = 0, fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00');`;
    await e.execute(`${src('clicks')} ${src('views')}
      CREATE MATERIALIZED VIEW matched AS SELECT c.id FROM clicks c JOIN views v
        ON c.id % 100 = v.id % 100 AND v.ts BETWEEN c.ts AND c.ts + INTERVAL '100 microseconds';`);
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 10));
      await e.execute('FLUSH');
      sizes.push(e.stats().views.matched!.windowState);
    }
    expect(e.stats().sources.clicks!.rows).toBeGreaterThan(30_000);
    expect(e.stats().views.matched!.rows).toBeGreaterThan(1_000);
    // Only the rows within the interval plus the watermark delay stay: a few hundred, not tens of thousands.
    expect(Math.max(...sizes)).toBeLessThan(2_000);
  });
});
