/**
 * Parallelism (issue 16): a view's keyed operators run as N instances, each owning a range of the
 * 256 key groups, with a keyed exchange in front. The differential suites run their cases at
 * parallelism 1, 2 and 4; this file checks the setting, the view option, EXPLAIN, the monitor,
 * and that a view keeps its parallelism, and its checkpointed state, across a restart.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchFromRows, type Batch } from '../src/common/column.js';
import { createEngine } from '../src/exec/runtime/engine.js';
import { parkedFigures, parkedOf } from '../src/exec/parallel/parked.js';
import { KEY_GROUPS, keyGroupRange, keyGroupsOf, numericKey, ownerOf, splitByOwner } from '../src/exec/exchange.js';
import { canonicalRows } from './helpers.js';

// The instances run in shard worker threads (the default; SLUICE_SHARD_THREADS=0 would keep them on the engine's thread).
delete process.env.SLUICE_SHARD_THREADS;

const explainLines = async (e: Awaited<ReturnType<typeof createEngine>>, sql: string): Promise<string[]> => {
  const [r] = await e.execute(`EXPLAIN ${sql}`);
  if (r?.kind !== 'rows') throw new Error('EXPLAIN returned no rows');
  return r.rows.map((x) => String(x[0]));
};

describe('key groups and the exchange', () => {
  it('gives equal keys one key group across types, and every row one owner', () => {
    const g = (type: Parameters<typeof batchFromRows>[0][number], v: unknown) => keyGroupsOf(batchFromRows([type], [[v as never]]).columns, 1)[0]!;
    // Integers by value whatever their width; integral doubles as the integer; -0 as 0.
    for (const v of [0, 1, -1, 7, 2147483647, -2147483648]) {
      expect(g('bigint', BigInt(v))).toBe(g('int', v));
      expect(g('double', v)).toBe(g('int', v));
    }
    expect(g('double', -0)).toBe(g('double', 0));
    expect(g('bigint', 2n ** 40n)).toBe(g('double', 2 ** 40));
    // NUMERIC by value: trailing fractional zeros do not count.
    expect(g('numeric', '1.50')).toBe(g('numeric', '1.5'));
    expect(g('numeric', '2.000')).toBe(g('numeric', '2'));
    expect(numericKey('-0.00')).toBe('0');
    // Ranges cover the key groups exactly once, and agree with ownerOf.
    for (const n of [1, 2, 3, 4, 7, 64]) {
      let next = 0;
      for (let s = 0; s < n; s++) {
        const { from, to } = keyGroupRange(s, n);
        expect(from).toBe(next);
        for (let k = from; k < to; k++) expect(ownerOf(k, n)).toBe(s);
        next = to;
      }
      expect(next).toBe(KEY_GROUPS);
    }
  });

  it('splits a batch so that each row goes to its key owner, weights with it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }), fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 2 })), { maxLength: 40 }), fc.constantFrom(2, 3, 4), (rows, n) => {
        const b = batchFromRows(['int', 'varchar'], rows.map(([k, s]) => [k, s]), rows.map(([, , w]) => w));
        const parts = splitByOwner(b, [b.columns[0]!], n);
        const groups = keyGroupsOf([b.columns[0]!], b.length);
        const seen: string[] = [];
        parts.forEach((p, s) => {
          if (!p) return;
          const pg = keyGroupsOf([p.columns[0]!], p.length);
          for (let i = 0; i < p.length; i++) {
            expect(ownerOf(pg[i]!, n)).toBe(s);
            seen.push(JSON.stringify([p.columns[0]!.validity && !((p.columns[0]!.validity[i >> 3]! >> (i & 7)) & 1) ? null : (p.columns[0]!.values as Int32Array)[i], p.weights![i]]));
          }
        });
        const all = rows.map(([k, , w]) => JSON.stringify([k, w]));
        expect(seen.sort()).toEqual(all.sort());
        expect(groups.length).toBe(b.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('parallelism', () => {
  it('SET parallelism, the view option, EXPLAIN and the monitor', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      expect((await e.execute('SHOW parallelism'))[0]).toMatchObject({ rows: [['1']] });
      await e.execute('SET parallelism = 4');
      expect((await e.execute('SHOW parallelism'))[0]).toMatchObject({ rows: [['4']] });
      await expect(e.execute('SET parallelism = 0')).rejects.toMatchObject({ category: 'invalid_parameter' });
      await expect(e.execute("SET parallelism = 'many'")).rejects.toThrow(/whole number from 1 to 64/);
      await e.execute("CREATE TABLE t (k INT, g VARCHAR, v INT); INSERT INTO t VALUES (1, 'a', 5), (2, 'b', 6), (3, 'a', 7), (4, 'c', 8)");
      const plan = await explainLines(e, 'CREATE MATERIALIZED VIEW x AS SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g');
      expect(plan).toContain('Distribution (parallelism 4; keyed state in 256 key groups):');
      expect(plan.some((l) => /^ {2}x\/[0.]+ HashAggExec: hash\(g\), 4 instances$/.test(l))).toBe(true);
      expect(plan).toContain('  x/0.0.0 ScanExec: single');
      expect(plan.some((l) => /table groups: .*\(in each of 4 instances\)/.test(l))).toBe(true);
      // A global aggregate needs all its rows in one instance.
      expect((await explainLines(e, 'CREATE MATERIALIZED VIEW y AS SELECT count(*) AS n FROM t')).some((l) => /^ {2}y\/[0.]+ HashAggExec: single$/.test(l))).toBe(true);
      // The option wins over the setting.
      const two = await explainLines(e, 'CREATE MATERIALIZED VIEW z WITH (parallelism = 2) AS SELECT g, count(*) AS n FROM t GROUP BY g');
      expect(two.some((l) => /^ {2}z\/[0.]+ HashAggExec: hash\(g\), 2 instances$/.test(l))).toBe(true);
      await expect(e.execute('CREATE MATERIALIZED VIEW z WITH (parallelism = 65) AS SELECT g FROM t')).rejects.toMatchObject({ category: 'invalid_parameter' });

      await e.execute('CREATE MATERIALIZED VIEW x AS SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g');
      await e.execute("INSERT INTO t VALUES (5, 'd', 1), (6, 'a', 1); FLUSH");
      expect(canonicalRows(await e.viewRows('x'))).toEqual(canonicalRows([['a', 3n, 13n], ['b', 1n, 6n], ['c', 1n, 8n], ['d', 1n, 1n]]));
      // The monitor shows each plan node once, its state summed over its instances.
      const ops = await e.monitor((m) => m.views().find((v) => v.name === 'x')!.operators);
      const agg = ops.find((o) => o.name === 'HashAggExec')!;
      expect(agg.id).toMatch(/^x\/[0.]+$/);
      expect(agg.rowsIn).toBe(6);
      expect(agg.stateTables.find((t) => t.name === 'groups')!.rows).toBe(4);
      // Its 4 instances run in the first 4 shard worker threads.
      const [w] = await e.execute("SELECT worker, status, views, view_names FROM sluice.workers WHERE worker < 4 ORDER BY worker");
      expect(w).toMatchObject({ rows: [0, 1, 2, 3].map((k) => [k, 'running', 1, 'x']) });
      // DROP stops them there: no pipeline of any engine is left in the workers.
      await e.execute('DROP MATERIALIZED VIEW x');
      const [after] = await e.execute('SELECT worker, views, pipelines FROM sluice.workers WHERE worker < 4 ORDER BY worker');
      expect(after).toMatchObject({ rows: [0, 1, 2, 3].map((k) => [k, 0, 0]) });
    } finally {
      await e.close();
    }
  });

  it('reports row errors and late rows of instances in worker threads as one instance would', async () => {
    const counts: Record<number, { errors: number; late: number; rows: string[] }> = {};
    for (const parallelism of [1, 3]) {
      const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
      try {
        await e.execute("CREATE TABLE t (k INT, v INT); CREATE TABLE ev (k INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1 minute') APPEND ONLY");
        // 10 / v fails for v = 0: the row is skipped and counted, in whichever instance has its key.
        await e.execute('CREATE MATERIALIZED VIEW q AS SELECT k, sum(10 / v) AS s, count(*) AS n FROM t GROUP BY k');
        await e.execute("CREATE MATERIALIZED VIEW w AS SELECT k, window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1 minute') GROUP BY k, window_start, window_end EMIT ON WINDOW CLOSE");
        await e.execute('INSERT INTO t VALUES (1, 0), (2, 5), (3, 0), (4, 2), (5, 0), (6, 1); FLUSH');
        await e.execute("INSERT INTO ev VALUES (1, '2024-01-01 00:10:00'), (2, '2024-01-01 00:10:30'); FLUSH");
        // Far behind the watermark (00:09): late, dropped and counted.
        await e.execute("INSERT INTO ev VALUES (1, '2024-01-01 00:01:00'), (2, '2024-01-01 00:02:00'), (3, '2024-01-01 00:03:00'); FLUSH");
        const views = e.stats().views;
        counts[parallelism] = { errors: views.q!.rowErrors, late: views.w!.lateRows, rows: canonicalRows(await e.viewRows('q')).map(String) };
      } finally {
        await e.close();
      }
    }
    expect(counts[1]!.errors).toBe(3);
    expect(counts[1]!.late).toBe(3);
    expect(counts[3]).toEqual(counts[1]);
  });

  it('a view keeps its parallelism and its checkpointed state across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-par-'));
    const logs: string[] = [];
    try {
      const a = await createEngine({ dataDir: dir, autoStart: false, parallelism: 3, log: (m) => logs.push(m) });
      await a.execute('CREATE TABLE t (k INT, g VARCHAR, v INT)');
      await a.execute('CREATE MATERIALIZED VIEW byg AS SELECT g, count(*) AS n, sum(v) AS s, max(v) AS m FROM t GROUP BY g');
      await a.execute('CREATE MATERIALIZED VIEW j WITH (parallelism = 2) AS SELECT t.k, b.n FROM t JOIN byg b ON t.g = b.g');
      const rows: string[] = [];
      for (let i = 0; i < 200; i++) rows.push(`(${i}, 'g${i % 17}', ${i})`);
      await a.execute(`INSERT INTO t VALUES ${rows.join(', ')}; FLUSH`);
      await a.execute('DELETE FROM t WHERE k % 5 = 0; FLUSH');
      const before = { byg: canonicalRows(await a.viewRows('byg')), j: canonicalRows(await a.viewRows('j')) };
      await a.close();

      // Restarted with another default: the views keep 3 and 2 instances and restore their state.
      const b = await createEngine({ dataDir: dir, autoStart: false, parallelism: 1, log: (m) => logs.push(m) });
      try {
        expect(logs.some((m) => /has no checkpointed state/.test(m))).toBe(false);
        expect(canonicalRows(await b.viewRows('byg'))).toEqual(before.byg);
        expect(canonicalRows(await b.viewRows('j'))).toEqual(before.j);
        const plan = await explainLines(b, 'CREATE MATERIALIZED VIEW other AS SELECT g, count(*) AS n FROM t GROUP BY g');
        expect(plan.some((l) => /^ {2}other\/[0.]+ HashAggExec: hash\(g\), 1 instance$/.test(l))).toBe(true);
        const state = (b as unknown as { state: { views: Map<string, { pipeline: { parallelism: number } }> } }).state;
        expect(state.views.get('byg')!.pipeline.parallelism).toBe(3);
        expect(state.views.get('j')!.pipeline.parallelism).toBe(2);
        await b.execute("DELETE FROM t WHERE g = 'g3'; INSERT INTO t VALUES (1000, 'g4', 1000); FLUSH");
        const [oracle] = await b.execute('SELECT g, count(*) AS n, sum(v) AS s, max(v) AS m FROM t GROUP BY g');
        expect(canonicalRows(await b.viewRows('byg'))).toEqual(canonicalRows(oracle!.kind === 'rows' ? oracle!.rows : []));
        const [oj] = await b.execute('SELECT t.k, b.n FROM t JOIN (SELECT g, count(*) AS n FROM t GROUP BY g) b ON t.g = b.g');
        expect(canonicalRows(await b.viewRows('j'))).toEqual(canonicalRows(oj!.kind === 'rows' ? oj!.rows : []));
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('keeps an epoch that waits for its worker threads alive through garbage collections', async () => {
    // The pool knows pipelines only weakly; an epoch awaiting its workers may be reachable from
    // nothing else (its caller's frame hangs off the promise the reply resolves). A collection
    // during the wait used to drop the pipeline, and the epoch never ended: this test then times out.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const run = async () => {
      const e = await createEngine({ autoStart: false, log: () => undefined, parallelism: 2 });
      try {
        // 3 000 rows, 100 per epoch: k cycles 0…6, v counts up from 1.
        await e.execute(`CREATE SOURCE s (k BIGINT, v BIGINT) WITH (connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 100, max_rows = 3000,
          fields.k.kind = 'sequence', fields.k.start = 0, fields.k.end = 6, fields.v.kind = 'sequence', fields.v.start = 1)`);
        await e.execute('CREATE MATERIALIZED VIEW m AS SELECT k, count(*) AS n, sum(v) AS t FROM s GROUP BY k');
        const collect = setInterval(gc, 20);
        try {
          for (let i = 0; i < 30; i++) await e.flush();
        } finally {
          clearInterval(collect);
        }
        return await e.viewRows('m');
      } finally {
        await e.close();
      }
    };
    const rows = await run();
    expect(rows).toHaveLength(7);
    expect(rows.reduce((a, r) => a + BigInt(r[1] as bigint), 0n)).toBe(3000n);
    expect(rows.reduce((a, r) => a + BigInt(r[2] as string | bigint), 0n)).toBe((3000n * 3001n) / 2n);
  }, 60_000);
  it('reads a datagen source in parts in the worker threads: the same rows, and the same views, as in one piece', async () => {
    const results: unknown[] = [];
    for (const parallelism of [1, 2, 3]) {
      const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
      const keptBefore = parkedFigures().kept;
      try {
        // 100 000 rows in two polls of 50 000: each is made in `parallelism` parts at once. The
        // watermark reads one column of each part on the engine's thread.
        await e.execute(`CREATE SOURCE g (id BIGINT, k INT, name VARCHAR, amount DOUBLE, ts TIMESTAMP, flag BOOLEAN,
          WATERMARK FOR ts AS ts - INTERVAL '1 millisecond') WITH (
          connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 50000, max_rows = 100000, seed = 7,
          fields.id.kind = 'sequence', fields.id.start = 1, fields.k.kind = 'random', fields.k.start = 0, fields.k.end = 99,
          fields.name.kind = 'random', fields.name.length = 3, fields.amount.kind = 'random', fields.amount.start = 0, fields.amount.end = 1000,
          fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00')`);
        // A keyed view (its scan spread over the instances), one that keeps every row, in order of
        // arrival, and an event-time window closed by the watermark.
        const handedBefore = parkedFigures().handedBack;
        const fetchedBefore = parkedFigures().fetched;
        await e.execute('CREATE MATERIALIZED VIEW by_k AS SELECT k, count(*) AS n, sum(id) AS s, min(name) AS lo, max(ts) AS last, sum(amount) AS total FROM g GROUP BY k');
        await e.execute('CREATE MATERIALIZED VIEW every AS SELECT id, k, name, amount, ts, flag FROM g WHERE id % 97 = 0');
        await e.execute("CREATE MATERIALIZED VIEW per_10ms AS SELECT window_start, count(*) AS n, max(id) AS hi FROM TUMBLE(g, ts, INTERVAL '10 milliseconds') GROUP BY window_start");
        await e.execute('FLUSH; FLUSH; FLUSH');
        // At parallelism > 1 the workers that made the parts keep them; the engine's retained
        // epochs (for ad-hoc SELECTs) hold handles, and the keyed view's scan handed each part
        // back to its worker by id (parked.ts).
        const kept = (e as unknown as { state: { sources: Map<string, { retained: { batches: Batch[] }[] }> } }).state.sources.get('g')!.retained.flatMap((r) => r.batches);
        expect(kept.length).toBe(parallelism === 1 ? 2 : 2 * parallelism);
        for (const b of kept) expect(parkedOf(b) !== undefined).toBe(parallelism > 1);
        expect(parkedFigures().kept - keptBefore).toBe(parallelism === 1 ? 0 : kept.length);
        if (parallelism > 1) expect(parkedFigures().handedBack).toBeGreaterThan(handedBefore);
        // The watermark's column was fetched, and the rows the other views read on this thread.
        if (parallelism > 1) expect(parkedFigures().fetched).toBeGreaterThan(fetchedBefore);
        // An ad-hoc SELECT over the source reads the kept rows (fetched from the workers).
        const [adHoc] = await e.execute('SELECT count(*), sum(id), min(name), max(amount), count(*) FILTER (WHERE flag) FROM g');
        results.push({
          byK: canonicalRows(await e.viewRows('by_k')),
          every: await e.viewRows('every'),
          per10ms: canonicalRows(await e.viewRows('per_10ms')),
          adHoc: adHoc?.kind === 'rows' ? adHoc.rows : null,
        });
      } finally {
        await e.close();
      }
      // Closing the engine released every part its source kept.
      expect(parkedFigures().kept).toBe(keptBefore);
    }
    const [one, two, three] = results as { byK: unknown[][]; every: unknown[][]; per10ms: unknown[][]; adHoc: unknown[][] }[];
    expect(one!.byK).toHaveLength(100);
    expect(one!.every).toHaveLength(Math.floor(100_000 / 97));
    expect(one!.per10ms.length).toBeGreaterThan(1);
    expect(one!.adHoc[0]![0]).toBe(100_000n);
    expect(two).toEqual(one);
    expect(three).toEqual(one);
  }, 60_000);

  it('pre-aggregates spread parts of exact, order-free aggregates in the workers, with the answers and row counts of one instance', async () => {
    const results: unknown[] = [];
    for (const parallelism of [1, 2, 3]) {
      const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
      try {
        await e.execute(`CREATE SOURCE g (id BIGINT, k INT, name VARCHAR, amount DOUBLE, n NUMERIC, ts TIMESTAMP, flag BOOLEAN) WITH (
          connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 60000, max_rows = 120000, seed = 11,
          fields.id.kind = 'sequence', fields.id.start = 1, fields.k.kind = 'random', fields.k.start = 0, fields.k.end = 99,
          fields.name.kind = 'random', fields.name.length = 3, fields.amount.kind = 'random', fields.amount.start = 0, fields.amount.end = 10,
          fields.n.kind = 'random', fields.n.start = 0, fields.n.end = 100, fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00')`);
        // Combinable: counts, exact sums and averages, running min/max, bool_or, a FILTER.
        await e.execute(`CREATE MATERIALIZED VIEW pre AS SELECT k % 10 AS g, count(*) AS c, count(name) FILTER (WHERE id % 3 = 0) AS c3, sum(id) AS s,
          avg(k) AS a, sum(n) AS sn, min(name) AS lo, max(ts) AS last, max(amount) AS hi, bool_or(flag) AS anyf FROM g GROUP BY k % 10`);
        // Not combinable (a double sum's rounding depends on the grouping): rows go to the owners.
        await e.execute('CREATE MATERIALIZED VIEW rows_on AS SELECT k % 10 AS g, sum(amount) AS total, count(*) AS c FROM g GROUP BY k % 10');
        // A global aggregate stays on the engine's thread; with combinable calls its input is
        // spread and each part arrives as one partial row, else the rows come to it.
        const globalSql = `SELECT count(*) AS c, sum(id * 2) AS s, sum(k) AS sk, avg(n) AS a, min(name) AS lo, max(ts) AS last, bool_and(flag) AS allf, count(*) FILTER (WHERE k < 7) AS few FROM g WHERE id % 5 <> 0`;
        await e.execute(`CREATE MATERIALIZED VIEW total AS ${globalSql}`);
        await e.execute('CREATE MATERIALIZED VIEW total_rows AS SELECT sum(amount) AS total, count(*) AS c FROM g');
        const explained = (await explainLines(e, `CREATE MATERIALIZED VIEW x AS ${globalSql}`)).join('\n');
        expect(explained.includes('input spread over')).toBe(parallelism > 1);
        await e.execute('FLUSH; FLUSH; FLUSH');
        const [ops] = await e.execute(`SELECT view, sum(rows_in) FROM sluice.operators WHERE name = 'HashAggExec' GROUP BY view ORDER BY view`);
        results.push({
          pre: canonicalRows(await e.viewRows('pre')),
          rowsOn: canonicalRows(await e.viewRows('rows_on')),
          total: await e.viewRows('total'),
          totalRows: await e.viewRows('total_rows'),
          ops: ops?.kind === 'rows' ? ops.rows : null,
        });
      } finally {
        await e.close();
      }
    }
    const [one, two, three] = results as { pre: unknown[][]; rowsOn: unknown[][]; ops: unknown[][] }[];
    expect(one!.pre).toHaveLength(10);
    // Every input row is counted in by the aggregate, whether it came as a row or in a partial aggregate.
    expect(one!.ops).toEqual([['pre', 120000n], ['rows_on', 120000n], ['total', 96000n], ['total_rows', 120000n]]);
    expect(two).toEqual(one);
    expect(three).toEqual(one);
  }, 60_000);

  it('decodes file pieces in the worker threads: the same rows in the same order, and the same dead letters, as in one thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-par-files-'));
    // Decoding in the workers is off by default (see FileSource.decodesInWorkers).
    process.env.SLUICE_PARALLEL_DECODE = '1';
    try {
      for (const sub of ['json', 'text', 'csv']) mkdirSync(join(dir, sub));
      for (let f = 0; f < 5; f++) {
        const json: string[] = [];
        const csv: string[] = [];
        for (let i = 0; i < 3000; i++) {
          const id = f * 10_000 + i;
          // Every 97th line is malformed, every 89th has a value of the wrong type.
          json.push(i % 97 === 5 ? `{"id": ${id}, "name": ` : i % 89 === 7 ? `{"id": "x${id}", "name": "n"}` : `{"id": ${id}, "name": "n${id % 13}", "score": ${(id % 7) / 2}}`);
          csv.push(i % 89 === 7 ? `${id},bad,x` : `${id},n${id % 13},${id % 5}`);
        }
        // The last file has no line end after its last line.
        const end = f === 4 ? '' : '\n';
        writeFileSync(join(dir, 'json', `${f}.jsonl`), json.join('\n') + end);
        writeFileSync(join(dir, 'text', `${f}.txt`), json.join('\n') + end);
        writeFileSync(join(dir, 'csv', `${f}.csv`), csv.join('\n') + end);
      }
      const results: unknown[] = [];
      for (const parallelism of [1, 2, 3]) {
        const e = await createEngine({ autoStart: false, log: () => undefined, parallelism, allowPaths: [dir] });
        try {
          await e.execute(`CREATE SOURCE j (id BIGINT, name VARCHAR, score DOUBLE) WITH (connector = 'file', path = '${join(dir, 'json')}', format = 'json');
            CREATE SOURCE t (line VARCHAR) WITH (connector = 'file', path = '${join(dir, 'text')}', format = 'text');
            CREATE SOURCE c (id BIGINT, name VARCHAR, k INT) WITH (connector = 'file', path = '${join(dir, 'csv')}', format = 'csv');
            CREATE MATERIALIZED VIEW jall AS SELECT id, name, score FROM j;
            CREATE MATERIALIZED VIEW jby AS SELECT name, count(*) AS n, sum(id) AS s FROM j GROUP BY name;
            CREATE MATERIALIZED VIEW tall AS SELECT line FROM t;
            CREATE MATERIALIZED VIEW call AS SELECT id, name, k FROM c`);
          await e.execute('FLUSH; FLUSH; FLUSH');
          // Decoded rows reach the engine in ordinary buffers, which it can keep (parked.ts).
          const kept = (e as unknown as { state: { sources: Map<string, { retained: { batches: Batch[] }[] }> } }).state.sources.get('j')!.retained.flatMap((r) => r.batches);
          expect(kept.length).toBeGreaterThan(0);
          for (const b of kept) for (const c of b.columns) expect(c.values.buffer).not.toBeInstanceOf(SharedArrayBuffer);
          const errors = async (src: string) => {
            const [r] = await e.execute(`SELECT position, error FROM ${src}_errors ORDER BY position`);
            return r?.kind === 'rows' ? r.rows : null;
          };
          results.push({
            jall: await e.viewRows('jall'),
            jby: canonicalRows(await e.viewRows('jby')),
            tall: await e.viewRows('tall'),
            call: await e.viewRows('call'),
            jErrors: await errors('j'),
            cErrors: await errors('c'),
          });
        } finally {
          await e.close();
        }
      }
      const [one, two, three] = results as Record<string, unknown[]>[];
      expect(one!.tall).toHaveLength(15_000);
      expect(one!.jErrors!.length).toBeGreaterThan(100);
      expect(one!.cErrors!.length).toBeGreaterThan(100);
      expect(two).toEqual(one);
      expect(three).toEqual(one);
    } finally {
      delete process.env.SLUICE_PARALLEL_DECODE;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('passes rows the workers made in shared memory to a keyed view and leaves them whole for the next view', async () => {
    const results: unknown[] = [];
    for (const parallelism of [1, 2]) {
      const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
      try {
        // Every column type here is generated into SharedArrayBuffers, so a keyed view's workers
        // get the batch as it is; the view created after it reads the same batch afterwards.
        await e.execute(`CREATE SOURCE g (id BIGINT, k INT, name VARCHAR, amount DOUBLE, ts TIMESTAMP) WITH (
          connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 40000, max_rows = 80000, seed = 3,
          fields.id.kind = 'sequence', fields.id.start = 1, fields.k.kind = 'random', fields.k.start = 0, fields.k.end = 49,
          fields.name.kind = 'random', fields.name.length = 4, fields.amount.kind = 'random', fields.amount.start = 0, fields.amount.end = 10,
          fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00')`);
        await e.execute('CREATE MATERIALIZED VIEW by_k AS SELECT k, count(*) AS n, sum(id) AS s, max(name) AS hi, sum(amount) AS total FROM g GROUP BY k');
        await e.execute('CREATE MATERIALIZED VIEW tail AS SELECT id, k, name, amount, ts FROM g WHERE id % 101 = 0');
        await e.execute('FLUSH; FLUSH; FLUSH');
        results.push({ byK: canonicalRows(await e.viewRows('by_k')), tail: await e.viewRows('tail') });
      } finally {
        await e.close();
      }
    }
    const [one, two] = results as { byK: unknown[][]; tail: unknown[][] }[];
    expect(one!.byK).toHaveLength(50);
    expect(one!.tail).toHaveLength(Math.floor(80_000 / 101));
    expect(two).toEqual(one);
  }, 60_000);
});
