/**
 * Rescaling a view (issue 16): ALTER MATERIALIZED VIEW … SET PARALLELISM moves its keyed state to
 * the new number of instances, key group by key group, and the view goes on as if it had always
 * run there; a restart keeps the new parallelism, and a checkpoint written at the old one (a
 * crash between the ALTER's catalog write and its checkpoint) is moved at recovery. Each view
 * is checked against a twin created at parallelism 1 over the same inputs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEngine } from '../src/exec/runtime/engine.js';
import { canonicalRows } from './helpers.js';

delete process.env.SLUICE_SHARD_THREADS;

type Engine = Awaited<ReturnType<typeof createEngine>>;

/** Views under test: name → query (each also created as `<name>_1` at parallelism 1). */
const VIEWS: Record<string, string> = {
  agg: 'SELECT k % 7 AS g, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM t GROUP BY k % 7',
  joined: 'SELECT t.k, t.v, u.name FROM t JOIN u ON t.k = u.k',
  top: 'SELECT k, v, r FROM (SELECT k, v, row_number() OVER (PARTITION BY k % 5 ORDER BY v DESC, k) AS r FROM t) x WHERE r <= 2',
  running: 'SELECT k, v, sum(v) OVER (PARTITION BY k % 3 ORDER BY v, k) AS acc FROM t',
};

let dir: string;
let seq = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-rescale-'));
  seq = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => createEngine({ autoStart: false, log: () => undefined, dataDir: dir, parallelism: 2 });

async function setUp(e: Engine): Promise<void> {
  await e.execute('CREATE TABLE t (k INT, v INT)');
  await e.execute('CREATE TABLE u (k INT, name VARCHAR)');
  for (const [name, q] of Object.entries(VIEWS)) {
    await e.execute(`CREATE MATERIALIZED VIEW ${name} AS ${q}`);
    await e.execute(`CREATE MATERIALIZED VIEW ${name}_1 WITH (parallelism = 1) AS ${q}`);
  }
}

/** Inserts, updates and deletes a few rows of t and u, then runs an epoch. */
async function churn(e: Engine, n = 40): Promise<void> {
  const rows = Array.from({ length: n }, () => {
    seq++;
    return `(${(seq * 37) % 101}, ${(seq * 53) % 97})`;
  });
  await e.execute(`INSERT INTO t VALUES ${rows.join(', ')}`);
  await e.execute(`INSERT INTO u VALUES ${Array.from({ length: 5 }, (_, i) => `(${(seq + i) % 101}, 'n${seq + i}')`).join(', ')}`);
  await e.execute(`DELETE FROM t WHERE k = ${seq % 101}`);
  await e.execute(`UPDATE t SET v = v + 1 WHERE k % 11 = ${seq % 11}`);
  await e.execute('FLUSH');
}

async function expectTwins(e: Engine): Promise<void> {
  for (const name of Object.keys(VIEWS)) {
    const rows = canonicalRows(await e.viewRows(name));
    expect(rows.length, name).toBeGreaterThan(0);
    expect(rows, name).toEqual(canonicalRows(await e.viewRows(`${name}_1`)));
  }
}

describe('ALTER MATERIALIZED VIEW … SET PARALLELISM', () => {
  it('moves each view to 3 instances, then 1, then 4, and they go on like their single-instance twins, across restarts', async () => {
    let e = await open();
    try {
      await setUp(e);
      await churn(e);
      await churn(e);
      await expectTwins(e);
      for (const [n, form] of [[3, 'SET PARALLELISM = 3'], [1, 'SET (parallelism = 1)'], [4, 'SET PARALLELISM TO 4']] as const) {
        for (const name of Object.keys(VIEWS)) {
          const [r] = await e.execute(`ALTER MATERIALIZED VIEW ${name} ${form}`);
          expect(r).toMatchObject({ kind: 'command', tag: 'ALTER_MATERIALIZED_VIEW' });
        }
        await churn(e);
        await expectTwins(e);
        await e.close();
        e = await open();
        // The view kept its new parallelism and state across the restart.
        const [d] = await e.execute(`SELECT name, parallelism FROM sluice.views WHERE name IN ('agg', 'agg_1') ORDER BY name`);
        expect(d).toMatchObject({ kind: 'rows', rows: [['agg', n], ['agg_1', 1]] });
        await churn(e);
        await expectTwins(e);
      }
    } finally {
      await e.close();
    }
  }, 120_000);

  it('moves a checkpoint written at another parallelism at recovery', async () => {
    let e = await open();
    try {
      await setUp(e);
      await churn(e);
      await churn(e);
      await e.close();
      // As if the ALTER's catalog write had landed and its checkpoint had not: the catalog says
      // 3 instances, the newest checkpoint holds 2.
      const f = join(dir, 'catalog.json');
      const catalog = JSON.parse(readFileSync(f, 'utf8')) as { objects: { name: string; parallelism?: number }[] };
      for (const o of catalog.objects) if (o.name in VIEWS) o.parallelism = 3;
      writeFileSync(f, JSON.stringify(catalog));
      const logs: string[] = [];
      e = await createEngine({ autoStart: false, log: (m) => logs.push(m), dataDir: dir, parallelism: 2 });
      expect(logs.join('\n')).toMatch(/view agg was checkpointed at parallelism 2; its state moved to parallelism 3/);
      await expectTwins(e);
      await churn(e);
      await churn(e);
      await expectTwins(e);
    } finally {
      await e.close();
    }
  }, 120_000);

  it('keeps the statement of a view created WITH (parallelism = 2) when only its parallelism changes, so a crash before the next checkpoint restores its state', async () => {
    let e = await open();
    try {
      await e.execute('CREATE TABLE t (k INT, v INT)');
      await e.execute('CREATE TABLE u (k INT, name VARCHAR)');
      await e.execute('CREATE MATERIALIZED VIEW agg WITH (parallelism = 2) AS SELECT k % 7 AS g, count(*) AS n FROM t GROUP BY k % 7');
      await churn(e);
      const [before] = await e.execute('SHOW CREATE MATERIALIZED VIEW agg');
      await e.execute('ALTER MATERIALIZED VIEW agg SET PARALLELISM = 3');
      const [after] = await e.execute('SHOW CREATE MATERIALIZED VIEW agg');
      expect(after).toEqual(before);
      const [p] = await e.execute(`SELECT parallelism FROM sluice.views WHERE name = 'agg'`);
      expect(p).toMatchObject({ kind: 'rows', rows: [[3]] });
      const rows = canonicalRows(await e.viewRows('agg'));
      await e.close();
      // The catalog says 3 and the statement still says 2: the catalog wins at the restart.
      const logs: string[] = [];
      e = await createEngine({ autoStart: false, log: (m) => logs.push(m), dataDir: dir, parallelism: 1 });
      expect(logs.join('\n')).not.toMatch(/recomputed from its inputs/);
      expect(canonicalRows(await e.viewRows('agg'))).toEqual(rows);
      const [q] = await e.execute(`SELECT parallelism FROM sluice.views WHERE name = 'agg'`);
      expect(q).toMatchObject({ kind: 'rows', rows: [[3]] });
    } finally {
      await e.close();
    }
  }, 60_000);

  it('refuses a bad parallelism and a view whose per-row state cannot move, leaving the view as it was', async () => {
    const e = await open();
    try {
      await setUp(e);
      await churn(e);
      await expect(e.execute('ALTER MATERIALIZED VIEW agg SET PARALLELISM = 0')).rejects.toMatchObject({ category: 'invalid_parameter' });
      await expect(e.execute('ALTER MATERIALIZED VIEW agg SET PARALLELISM = 65')).rejects.toMatchObject({ category: 'invalid_parameter' });
      await expect(e.execute('ALTER MATERIALIZED VIEW agg SET PARALLELISM 3')).rejects.toMatchObject({ category: 'syntax' });
      // A temporal filter over an aggregate's output keeps rows per instance that name no key group.
      await e.execute(`CREATE MATERIALIZED VIEW recent AS SELECT g, n FROM (SELECT k % 7 AS g, count(*) AS n, max(v) AS hi FROM t GROUP BY k % 7) x WHERE now() < to_timestamp(hi + 1000000000)`);
      await e.execute('FLUSH');
      const before = canonicalRows(await e.viewRows('recent'));
      await expect(e.execute('ALTER MATERIALIZED VIEW recent SET PARALLELISM = 3')).rejects.toMatchObject({ category: 'not_supported', message: expect.stringMatching(/per-row state/) });
      // To one instance it can move (all rows meet there).
      await e.execute('ALTER MATERIALIZED VIEW recent SET PARALLELISM = 1');
      await churn(e);
      expect(canonicalRows(await e.viewRows('recent')).length).toBeGreaterThanOrEqual(before.length);
      await expectTwins(e);
    } finally {
      await e.close();
    }
  }, 120_000);
});

