/**
 * Parallel views survive kill -9 (issue 16): the real server (`sluice serve --data-dir D
 * --parallelism 2`) runs an aggregate and a join whose keyed operators run as two instances
 * each (on the engine's thread: worker threads are opt-in for now), with per-instance state
 * checkpoints, while a client INSERTs and DELETEs; the server is SIGKILLed at random moments and
 * restarted on the same data dir. At the end every acknowledged statement is in the table, and
 * each view equals the same query run once over the table (DuckDB, through the server) — so
 * nothing was lost or counted twice across the per-instance checkpoints, their restores and the
 * replayed epochs.
 *
 * A second test kills the server right after sending ALTER MATERIALIZED VIEW … SET PARALLELISM
 * (0–40 ms later, so some kills land between the ALTER's catalog write and the checkpoint that
 * holds the moved state): after each restart, and at the end, the views equal their queries.
 *
 * SLUICE_PARALLEL_KILLS sets the number of kills (default 6).
 */
import { describe, expect, it } from 'vitest';
import { tempDirEach } from '../helpers.js';
import { runClient } from './client-loop.js';
import { ServerProcess } from './server-process.js';

const KILLS = Number(process.env.SLUICE_PARALLEL_KILLS ?? 6);
const KEYS = 23;
const ARGS = ['--batch-interval', '100', '--parallelism', '2'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const AGG = 'SELECT k, count(*) AS n, sum(v) AS total, max(v) AS top FROM t GROUP BY k';
const JOIN = 'SELECT t.id, t.k, g.n FROM t JOIN (SELECT k, count(*) AS n FROM t GROUP BY k) g ON t.k = g.k';

/** The table and the two parallel views both tests run. */
async function createViews(c: Awaited<ReturnType<ServerProcess['client']>>): Promise<void> {
  await c.query('CREATE TABLE t (id INT PRIMARY KEY, k INT, v INT)');
  await c.query(`CREATE MATERIALIZED VIEW agg AS ${AGG}`);
  await c.query(`CREATE MATERIALIZED VIEW j AS ${JOIN}`);
}

describe('kill -9 of a server running parallel views', () => {
  const dir = tempDirEach('sluice-crash-par-');

  it(`loses and duplicates nothing over ${KILLS} kills`, async () => {
    const data = dir();
    let server = await ServerProcess.start(data, ARGS);
    const setup = await server.client();
    await createViews(setup);
    // Both run at the server's parallelism: their keyed operators as two instances.
    const plan = (await setup.query(`EXPLAIN CREATE MATERIALIZED VIEW x AS ${AGG}`)).rows.map((r) => String(r['QUERY PLAN']));
    expect(plan.some((l) => /HashAggExec: hash\(k\), 2 instances/.test(l))).toBe(true);
    await setup.end();

    const acked = new Set<number>();
    const deleted = new Set<number>();
    // One statement at a time: an INSERT of a new id, or now and then a DELETE of an acknowledged one.
    let id = 0;
    const stopWriter = runClient(
      () => server,
      async (client) => {
        if (id % 7 === 6 && acked.size > deleted.size) {
          const victim = [...acked].find((x) => !deleted.has(x))!;
          await client.query(`DELETE FROM t WHERE id = ${victim}`);
          deleted.add(victim);
        }
        const next = id++;
        await client.query(`INSERT INTO t VALUES (${next}, ${next % KEYS}, ${next % 101})`);
        acked.add(next);
      },
    );

    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(700 + Math.random() * 1500);
      await server.kill();
      server = await ServerProcess.start(data, ARGS);
    }
    await stopWriter();

    const c = await server.client();
    try {
      await c.query('FLUSH');
      // Acknowledged statements survived (an INSERT in doubt may be there too; a DELETE in doubt may have happened).
      const ids = new Set((await c.query('SELECT id FROM t')).rows.map((r) => Number(r.id)));
      expect([...acked].filter((x) => !deleted.has(x) && !ids.has(x))).toEqual([]);
      expect([...deleted].filter((x) => ids.has(x))).toEqual([]);
      expect(acked.size).toBeGreaterThan(KILLS);
      const rows = async (sql: string) => (await c.query(sql)).rows.map((r) => JSON.stringify(Object.values(r))).sort();
      // The views against their queries over the table as it is.
      expect(await rows('SELECT k, n, total, top FROM agg')).toEqual(await rows(AGG));
      expect(await rows('SELECT id, k, n FROM j')).toEqual(await rows(JOIN));
    } finally {
      await c.end();
      await server.stop();
    }
  }, 300_000);

  it(`moves the views' state to another parallelism and is killed during the ALTER, ${KILLS} times`, async () => {
    const data = dir();
    let server = await ServerProcess.start(data, ARGS);
    const setup = await server.client();
    await createViews(setup);
    await setup.end();
    let id = 0;
    const writer = () => runClient(
      () => server,
      async (client) => {
        const next = id++;
        await client.query(`INSERT INTO t VALUES (${next}, ${next % KEYS}, ${next % 101})`);
      },
    );
    let stopWriter = writer();
    const rows = async (c: Awaited<ReturnType<ServerProcess['client']>>, sql: string) => (await c.query(sql)).rows.map((r) => JSON.stringify(Object.values(r))).sort();
    const seen = new Set<string>();
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(300 + Math.random() * 700);
      const c = await server.client();
      const view = kill % 2 === 0 ? 'agg' : 'j';
      const to = 1 + Math.floor(Math.random() * 3);
      // Sent, not awaited: the kill lands somewhere in the ALTER (or just after it).
      const alter = c.query(`ALTER MATERIALIZED VIEW ${view} SET PARALLELISM = ${to}`).then(() => 'done', () => 'in doubt');
      await sleep(Math.random() * 40);
      await server.kill();
      seen.add(await alter);
      await c.end().catch(() => undefined);
      server = await ServerProcess.start(data, ARGS);
      // Recovered, whichever parallelism the view came back at: it equals its query (compared
      // with the writer paused, so the view and the query see the same table).
      await stopWriter();
      const check = await server.client();
      try {
        await check.query('FLUSH');
        const p = Number((await check.query(`SELECT parallelism FROM sluice.views WHERE name = '${view}'`)).rows[0].parallelism);
        expect([1, 2, 3]).toContain(p);
        expect(await rows(check, 'SELECT k, n, total, top FROM agg')).toEqual(await rows(check, AGG));
        expect(await rows(check, 'SELECT id, k, n FROM j')).toEqual(await rows(check, JOIN));
      } finally {
        await check.end();
      }
      stopWriter = writer();
    }
    await stopWriter();
    const c = await server.client();
    try {
      await c.query('FLUSH');
      expect(await rows(c, 'SELECT k, n, total, top FROM agg')).toEqual(await rows(c, AGG));
      expect(await rows(c, 'SELECT id, k, n FROM j')).toEqual(await rows(c, JOIN));
      expect(id).toBeGreaterThan(KILLS);
    } finally {
      await c.end();
      await server.stop();
    }
    // Which way each ALTER went is up to the timing; both outcomes must recover.
    expect(seen.size).toBeGreaterThan(0);
  }, 300_000);
});
