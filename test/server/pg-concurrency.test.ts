/**
 * Many sessions at once against a view that keeps changing: every answer must be a consistent
 * snapshot (count = sum when every row has v = 1), each session must see its view move only
 * forward, and no session may starve.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';

let engine: Engine;
let server: PgServer;

const connect = async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await c.connect();
  return c;
};

beforeAll(async () => {
  engine = await createEngine({ autoStart: true, batchIntervalMs: 50, log: () => undefined });
  // 100 readers and a writer: more than the default max_connections of 100.
  server = await startPgServer(engine, { port: 0, log: () => undefined, maxConnections: 128 });
  await engine.execute(`CREATE TABLE t (v INT); CREATE MATERIALIZED VIEW agg AS SELECT count(*) AS n, sum(v) AS s FROM t`);
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

describe('pg server: concurrency', () => {
  it('serves 100 concurrent clients consistent snapshots while the view updates', async () => {
    const CLIENTS = 100;
    const QUERIES = 15;
    const writer = await connect();
    const readers = await Promise.all(Array.from({ length: CLIENTS }, connect));
    let stop = false;
    let inserted = 0;
    const writing = (async () => {
      while (!stop) {
        await writer.query(`INSERT INTO t VALUES (1), (1), (1)`);
        inserted += 3;
        if (inserted % 2 === 0) await writer.query(`FLUSH`);
      }
    })();
    const latencies: number[] = [];
    const seen: number[][] = [];
    await Promise.all(
      readers.map(async (c, i) => {
        const mine: number[] = [];
        for (let q = 0; q < QUERIES; q++) {
          const t0 = performance.now();
          // Alternate simple and extended protocol.
          const r = q % 2 === 0 ? await c.query(`SELECT n, s FROM agg`) : await c.query(`SELECT n, s FROM agg WHERE n >= $1`, [0]);
          latencies.push(performance.now() - t0);
          const row = r.rows[0] as { n: string; s: string | null } | undefined;
          const n = row ? Number(row.n) : 0;
          const s = row && row.s !== null ? Number(row.s) : 0;
          expect(s, `client ${i} query ${q}`).toBe(n);
          expect(n % 3, 'a snapshot never shows part of an INSERT').toBe(0);
          mine.push(n);
        }
        seen.push(mine);
      }),
    );
    stop = true;
    await writing;
    await writer.query(`FLUSH`);
    const final = await writer.query(`SELECT n, s FROM agg`);
    expect(Number(final.rows[0].n)).toBe(inserted);
    expect(Number(final.rows[0].s)).toBe(inserted);
    // Each session sees the view only move forward.
    for (const mine of seen) for (let i = 1; i < mine.length; i++) expect(mine[i]!).toBeGreaterThanOrEqual(mine[i - 1]!);
    // Every session finished all its queries; none waited disproportionately long.
    expect(seen.length).toBe(CLIENTS);
    expect(seen.every((m) => m.length === QUERIES)).toBe(true);
    expect(inserted).toBeGreaterThan(0);
    expect(Math.max(...latencies)).toBeLessThan(20_000);
    await Promise.all([writer, ...readers].map((c) => c.end()));
  });
});
