/**
 * Crash safety by crashing: the real server (`sluice serve --data-dir D`) is SIGKILLed at random
 * moments while a producer drops JSON files into a file source's directory and a client runs
 * INSERTs into a table, then restarted on the same data dir. At the end:
 *
 *   - the aggregate view over the file source equals the oracle over every record produced,
 *   - the file sink of an append-only view over the source holds every record exactly once
 *     (lost = 0, duplicated = 0),
 *   - the file sink with a query of its own (CREATE SINK … AS SELECT, no view) holds changes
 *     that fold to the oracle's aggregate (a duplicated or lost epoch would not),
 *   - every acknowledged INSERT is in the table, and the view over the table equals the same
 *     aggregate run over the table's rows.
 *
 * SLUICE_KILLS sets the number of kills (default 20); scripts/crash-soak.sh runs a longer loop.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirEach } from '../helpers.js';
import { runClient } from './client-loop.js';
import { ServerProcess } from './server-process.js';

const KILLS = Number(process.env.SLUICE_KILLS ?? 20);
const KEYS = 7;

/** A record's x in hundredths: 3, 13, …, 83 (never a tie when rounded to tenths). */
const xHundredths = (id: number) => (id % 9) * 10 + 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One record the producer wrote. */
interface Rec {
  readonly id: number;
  readonly k: string;
  readonly v: number;
}

describe('kill -9 of the server with a file source, a file sink and a table', () => {
  const dir = tempDirEach('sluice-crash-');

  it(`loses and duplicates nothing over ${KILLS} kills`, async () => {
    const data = dir();
    const inDir = join(data, 'in');
    const outDir = join(data, 'out');
    const qoutDir = join(data, 'qout');
    const staging = join(data, 'staging');
    for (const d of [inDir, outDir, qoutDir, staging]) mkdirSync(d);

    let server = await ServerProcess.start(data, ['--batch-interval', '100']);
    const setup = await server.client();
    await setup.query(`CREATE SOURCE events (id BIGINT, k VARCHAR, v BIGINT, x NUMERIC(6, 1)) WITH (connector = 'file', path = '${inDir}', format = 'json')`);
    await setup.query('CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(v) AS total FROM events GROUP BY k');
    // x is written with two decimals and stored rounded to one, in live and in replayed epochs alike.
    await setup.query('CREATE MATERIALIZED VIEW xagg AS SELECT k, sum(x) AS xs FROM events GROUP BY k');
    await setup.query('CREATE MATERIALIZED VIEW passthru AS SELECT id, k, v FROM events WHERE v >= 0');
    await setup.query(`CREATE SINK out FROM passthru WITH (connector = 'file', path = '${outDir}')`);
    await setup.query(`CREATE SINK qout AS SELECT k, count(*) AS n, sum(v) AS total FROM events GROUP BY k WITH (connector = 'file', path = '${qoutDir}')`);
    await setup.query('CREATE TABLE t (id INT, k VARCHAR)');
    await setup.query('CREATE MATERIALIZED VIEW tv AS SELECT k, count(*) AS n FROM t GROUP BY k');
    await setup.end();

    const produced: Rec[] = [];
    const acked = new Set<number>();
    const inDoubt = new Set<number>();
    let running = true;

    // The producer: a file of 50 records every ~20 ms, renamed into the watched directory.
    const producer = (async () => {
      let file = 0;
      while (running) {
        const recs: Rec[] = [];
        for (let i = 0; i < 50; i++) {
          const id = produced.length + recs.length;
          recs.push({ id, k: `k${id % KEYS}`, v: id % 13 });
        }
        const name = `f-${String(file++).padStart(6, '0')}.json`;
        writeFileSync(join(staging, name), recs.map((r) => JSON.stringify({ ...r, x: xHundredths(r.id) / 100 })).join('\n') + '\n');
        renameSync(join(staging, name), join(inDir, name));
        produced.push(...recs);
        await sleep(20);
      }
    })();

    // The inserter: one row per INSERT; an INSERT whose answer was lost to a kill is in doubt.
    let id = 0;
    const stopInserter = runClient(
      () => server,
      async (client) => {
        const next = id++;
        inDoubt.add(next);
        await client.query(`INSERT INTO t VALUES (${next}, 'k${next % KEYS}')`);
        inDoubt.delete(next);
        acked.add(next);
      },
    );

    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(300 + Math.random() * 1200);
      await server.kill();
      server = await ServerProcess.start(data, ['--batch-interval', '100']);
    }
    running = false;
    await producer;
    await stopInserter();

    // Let the last server read everything, then compare.
    const c = await server.client();
    try {
      const expectedTotal = produced.length;
      // Until it has read everything, or 60 s pass without progress (a loaded machine reads
      // slowly, a stuck server not at all).
      let deadline = Date.now() + 60_000;
      let seen = -1;
      while (Date.now() < deadline) {
        await c.query('FLUSH');
        const now = Number((await c.query('SELECT coalesce(sum(n), 0) AS s FROM agg')).rows[0].s);
        if (now > seen) deadline = Date.now() + 60_000;
        seen = now;
        if (seen >= expectedTotal) break;
        await sleep(100);
      }
      expect(seen).toBe(expectedTotal);

      const oracle = new Map<string, { n: number; total: number }>();
      for (const r of produced) {
        const o = oracle.get(r.k) ?? { n: 0, total: 0 };
        o.n++;
        o.total += r.v;
        oracle.set(r.k, o);
      }
      const agg = (await c.query('SELECT k, n, total FROM agg ORDER BY k')).rows.map((r) => `${r.k}:${r.n}:${r.total}`);
      expect(agg).toEqual([...oracle].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, o]) => `${k}:${o.n}:${o.total}`));
      // Rounded to tenths: 0.03 → 0.0, 0.13 → 0.1, … (id % 9 tenths).
      const xOracle = new Map<string, number>();
      for (const r of produced) xOracle.set(r.k, (xOracle.get(r.k) ?? 0) + (r.id % 9));
      const xagg = (await c.query('SELECT k, xs FROM xagg ORDER BY k')).rows.map((r) => `${r.k}:${r.xs}`);
      expect(xagg).toEqual([...xOracle].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, t]) => `${k}:${Math.floor(t / 10)}.${t % 10}`));

      // The sink: every record exactly once across all part files.
      const count = new Map<number, number>();
      for (const f of readdirSync(outDir).filter((n) => n.startsWith('part-'))) {
        for (const line of readFileSync(join(outDir, f), 'utf8').split('\n')) {
          if (!line) continue;
          const row = JSON.parse(line) as { op: string; id: number };
          expect(row.op).toBe('+');
          count.set(row.id, (count.get(row.id) ?? 0) + 1);
        }
      }
      const lost = produced.filter((r) => !count.has(r.id)).length;
      const duplicated = [...count.values()].filter((n) => n > 1).length;
      expect({ lost, duplicated, rows: count.size }).toEqual({ lost: 0, duplicated: 0, rows: produced.length });

      // The query sink: its changes fold (+1/−1 per row) to the oracle's aggregate.
      const folded = new Map<string, number>();
      for (const f of readdirSync(qoutDir).filter((n) => n.startsWith('part-'))) {
        for (const line of readFileSync(join(qoutDir, f), 'utf8').split('\n')) {
          if (!line) continue;
          const row = JSON.parse(line) as { op: string; k: string; n: number; total: number };
          const key = `${row.k}:${row.n}:${row.total}`;
          folded.set(key, (folded.get(key) ?? 0) + (row.op === '-' ? -1 : 1));
        }
      }
      const sunk = [...folded].filter(([, n]) => n !== 0).map(([key, n]) => `${key}×${n}`).sort();
      expect(sunk).toEqual([...oracle].map(([k, o]) => `${k}:${o.n}:${o.total}×1`).sort());

      // The table: acknowledged INSERTs survived; the view agrees with the table.
      const ids = new Set((await c.query('SELECT id FROM t')).rows.map((r) => Number(r.id)));
      const missing = [...acked].filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
      for (const id of ids) expect(acked.has(id) || inDoubt.has(id)).toBe(true);
      const fromTable = (await c.query('SELECT k, count(*) AS n FROM t GROUP BY k ORDER BY k')).rows.map((r) => `${r.k}:${r.n}`);
      const fromView = (await c.query('SELECT k, n FROM tv ORDER BY k')).rows.map((r) => `${r.k}:${r.n}`);
      expect(fromView).toEqual(fromTable);
      expect(acked.size).toBeGreaterThan(KILLS);
    } finally {
      await c.end();
      await server.stop();
    }
  }, 600_000);
});
