import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceError } from '../src/common/errors.js';
import { createEngine, type Change, type Engine } from '../src/exec/runtime/engine.js';
import { canonicalRows } from './helpers.js';

const engines: Engine[] = [];
async function engine(opts: Parameters<typeof createEngine>[0] = { autoStart: false }): Promise<Engine> {
  const e = await createEngine({ log: () => undefined, ...opts });
  engines.push(e);
  return e;
}
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

async function errorOf(e: Engine, sql: string): Promise<SluiceError> {
  try {
    await e.execute(sql);
  } catch (err) {
    return err as SluiceError;
  }
  throw new Error(`expected failure: ${sql}`);
}

async function rows(e: Engine, sql: string): Promise<string[]> {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error('no rows');
  return canonicalRows(r.rows);
}

describe('engine', () => {
  it('keeps every view running and unchanged when statements fail', async () => {
    const e = await engine();
    await e.execute(`CREATE TABLE t (k VARCHAR, v INT);
      CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k;
      INSERT INTO t VALUES ('a', 1), ('b', 2); FLUSH;`);
    const before = await rows(e, 'SELECT * FROM s');
    const bad = [
      ['SELEC * FROM s', '42601'],
      ['SELECT * FROM missing', '42P01'],
      ['CREATE MATERIALIZED VIEW x AS SELECT nope FROM t', '42703'],
      ['CREATE MATERIALIZED VIEW x AS SELECT k, v FROM t GROUP BY k', '42803'],
      ["CREATE MATERIALIZED VIEW x AS SELECT k + 1 FROM t", '42883'],
      ['INSERT INTO t VALUES (1, 2, 3)', undefined],
      ["INSERT INTO t VALUES ('c', 'not a number')", '22P02'],
      ['CREATE TABLE t (a INT)', '42710'],
      ['DROP TABLE t', '2BP01'],
    ] as const;
    for (const [sql, state] of bad) {
      const err = await errorOf(e, sql);
      if (state) expect(err.sqlstate, sql).toBe(state);
    }
    expect(await rows(e, 'SELECT * FROM s')).toEqual(before);
    await e.execute("INSERT INTO t VALUES ('a', 10); FLUSH;");
    expect(await rows(e, 'SELECT * FROM s ORDER BY k')).toEqual(['"a" | 11', '"b" | 2']);
    const pos = await errorOf(e, 'SELECT k, nope FROM s');
    expect(pos.sqlstate).toBe('42703');
    expect(pos.message).toBe('column "nope" does not exist');
    expect(pos.position).toBe(11);
  });

  it('points at the unknown column and relation in a view definition', async () => {
    const e = await engine();
    await e.execute('CREATE TABLE t (k VARCHAR, v INT)');
    const col = await errorOf(e, 'CREATE MATERIALIZED VIEW x AS SELECT k, nope FROM t');
    expect(col.message).toBe('column "nope" does not exist');
    expect(col.position).toBe(41);
    const rel = await errorOf(e, 'CREATE MATERIALIZED VIEW x AS SELECT * FROM nothere');
    expect(rel.sqlstate).toBe('42P01');
    expect(rel.position).toBe(45);
  });

  it('runs views on views, UNION ALL and DISTINCT, and retracts through them', async () => {
    const e = await engine();
    await e.execute(`CREATE TABLE t (k INT, v INT);
      CREATE MATERIALIZED VIEW per_k AS SELECT k, count(*) AS n FROM t GROUP BY k;
      CREATE MATERIALIZED VIEW hist AS SELECT n, count(*) AS keys FROM per_k GROUP BY n;
      CREATE MATERIALIZED VIEW both_sides AS SELECT k FROM t WHERE v > 0 UNION ALL SELECT k FROM t WHERE v < 0;
      CREATE MATERIALIZED VIEW ks AS SELECT DISTINCT k FROM t;
      INSERT INTO t VALUES (1, 1), (1, -1), (2, 5); FLUSH;`);
    expect(await rows(e, 'SELECT * FROM hist')).toEqual(['1 | 1', '2 | 1']);
    await e.execute('DELETE FROM t WHERE k = 1 AND v = 1; FLUSH;');
    expect(await rows(e, 'SELECT * FROM hist')).toEqual(['1 | 2']);
    expect(await rows(e, 'SELECT * FROM both_sides')).toEqual(['1', '2']);
    await e.execute('DELETE FROM t WHERE k = 2; FLUSH;');
    expect(await rows(e, 'SELECT * FROM ks')).toEqual(['1']);
  });

  it('delivers every change to subscribers with weights and epochs', async () => {
    const e = await engine();
    await e.execute('CREATE TABLE t (k INT); CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM t;');
    const seen: Change[] = [];
    e.subscribe('c', (ch) => seen.push(...ch));
    await e.execute('INSERT INTO t VALUES (1), (2); FLUSH; INSERT INTO t VALUES (3); FLUSH;');
    expect(seen.map((c) => [c.row[0], c.weight])).toEqual([[0n, -1], [2n, 1], [2n, -1], [3n, 1]]);
    expect(seen[0]!.epoch).toBeLessThan(seen[2]!.epoch);
  });

  it('runs epochs on its own at batch_interval and records metrics', async () => {
    const e = await engine({ autoStart: true, batchIntervalMs: 50 });
    await e.execute("SET batch_interval = '60ms'");
    const [show] = await e.execute('SHOW batch_interval');
    expect(show).toMatchObject({ rows: [['60ms']] });
    expect((await errorOf(e, "SET batch_interval = '10ms'")).sqlstate).toBe('22023');
    await e.execute('CREATE TABLE t (k INT); INSERT INTO t VALUES (1), (2), (3);');
    const deadline = Date.now() + 10_000;
    while (e.metrics().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const m = e.metrics();
    expect(m.length).toBeGreaterThanOrEqual(4);
    expect(m.reduce((a, x) => a + (x.rowsIn.t ?? 0), 0)).toBe(3);
    for (let i = 1; i < m.length; i++) {
      expect(m[i]!.epoch).toBe(m[i - 1]!.epoch + 1);
      expect(m[i]!.batchTimeMs).toBeGreaterThanOrEqual(m[i - 1]!.batchTimeMs);
    }
  });

  it('restores every object from the data dir after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-'));
    try {
      const a = await createEngine({ dataDir: dir, autoStart: false, log: () => undefined });
      await a.execute(`CREATE TABLE t (k VARCHAR, v INT);
        CREATE MATERIALIZED VIEW s AS SELECT k, sum(v) AS total FROM t GROUP BY k;
        INSERT INTO t VALUES ('a', 1), ('a', 2), ('b', 5); FLUSH;`);
      const before = await rows(a, 'SELECT * FROM s');
      await a.close();
      const b = await engine({ dataDir: dir, autoStart: false });
      expect(await rows(b, 'SHOW TABLES')).toEqual(['"t"']);
      expect(await rows(b, 'SHOW MATERIALIZED VIEWS')).toEqual(['"s"']);
      expect(await rows(b, 'SELECT * FROM s')).toEqual(before);
      await b.execute("INSERT INTO t VALUES ('b', 1); FLUSH;");
      expect(await rows(b, 'SELECT * FROM s')).toEqual(['"a" | 3', '"b" | 6']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops with RESTRICT by default and CASCADE on request', async () => {
    const e = await engine();
    await e.execute('CREATE TABLE t (k INT); CREATE MATERIALIZED VIEW a AS SELECT k FROM t; CREATE MATERIALIZED VIEW b AS SELECT count(*) AS n FROM a;');
    const err = await errorOf(e, 'DROP MATERIALIZED VIEW a');
    expect(err.sqlstate).toBe('2BP01');
    expect(err.hint).toContain('materialized view b');
    await e.execute('DROP TABLE t CASCADE');
    expect(await rows(e, 'SHOW MATERIALIZED VIEWS')).toEqual([]);
    await e.execute('DROP TABLE IF EXISTS t');
  });

  it('explains plans with append-only/updating marks, pruned scans and pushed-down filters', async () => {
    const e = await engine();
    await e.execute('CREATE TABLE t (k VARCHAR, v INT, w INT, extra VARCHAR) APPEND ONLY');
    const [r] = await e.execute("EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT k, n FROM (SELECT k, count(*) AS n, sum(w) AS sw FROM t GROUP BY k) s WHERE k <> 'z' AND n > 1");
    const text = r!.kind === 'rows' ? r!.rows.map((x) => x[0]).join('\n') : '';
    expect(text).toContain('Scan: t (table) columns=[k]  [append-only]');
    expect(text).toMatch(/Filter: \(k <> 'z'\)  \[append-only\]\n\s+Scan/);
    expect(text).toContain('HashAggExec: keys=[k] aggs=[count(*)] input=append-only');
    expect(text).not.toContain('sum(');
    expect(text).toMatch(/Filter: \(_agg0 > 1\)  \[updating\]/);
  });

  it('says in EXPLAIN that an append-only view over a source grows with its input', async () => {
    const e = await engine();
    await e.execute("CREATE SOURCE s (id BIGINT) WITH (connector = 'datagen', rows_per_second = '10', fields.id.kind = 'sequence')");
    await e.execute('CREATE TABLE t (id BIGINT) APPEND ONLY');
    await e.execute('CREATE MATERIALIZED VIEW f AS SELECT id FROM s WHERE id > 0');
    const head = async (sql: string) => {
      const [r] = await e.execute(sql);
      return r!.kind === 'rows' ? String(r!.rows[0]![0]) : '';
    };
    expect(await head('EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT id * 2 AS d FROM f')).toBe('MaterializeExec: x [append-only: rows kept as batches; unbounded: grows with every input row of its sources — set WITH (retention = …)]');
    expect(await head('EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT id FROM t')).toBe('MaterializeExec: x [append-only: rows kept as batches]');
    expect(await head('EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT count(*) AS n FROM s')).toMatch(/^MaterializeExec: x \[updating/);
  });
});
