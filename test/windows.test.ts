/**
 * Windows, watermarks and emit modes against an oracle. Random event streams with out-of-order
 * times are cut into random epochs; the test tracks the watermark itself to know which rows are
 * late, loads the rows that were not late into a plain table, and computes the expected windows
 * with DuckDB (bucket arithmetic for TUMBLE and HOP) or, for SESSION, in plain JS. EMIT ON
 * WINDOW CLOSE views must hold exactly the closed windows; updating views every window.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { canonicalRows, parallelismArb } from './helpers.js';
import type { Value } from '../src/common/types.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { fromDuck } from '../src/exec/duck.js';
import { AGGS, BASE, epochs, MIN, ts, tvf, windowKind, type Ev, type W } from './generators.js';

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

/** Expected rows [k, window_start µs, window_end µs, c, s, a, lo, hi] from rows that were not late. */
async function oracle(w: W, ok: Ev[]): Promise<Value[][]> {
  if (w.kind !== 'session') {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run('CREATE TABLE ok (k INT, ts TIMESTAMP, v INT)');
    if (ok.length) await conn.run(`INSERT INTO ok VALUES ${ok.map((x) => `(${x.k}, ${ts(x.t)}, ${x.v ?? 'NULL'})`).join(', ')}`);
    const slide = (w.kind === 'hop' ? w.slide : w.size) * MIN;
    const size = w.size * MIN;
    const copies = size / slide;
    const r = await conn.runAndReadAll(`
      WITH tagged AS (
        SELECT k, v, (epoch_us(ts) // ${slide}) * ${slide} - j * ${slide} AS ws
        FROM ok, range(0, ${copies}) AS r(j)
      )
      SELECT k, ws AS window_start, ws + ${size} AS window_end, ${AGGS.join(', ')}
      FROM tagged GROUP BY k, ws`);
    const types = ['int', 'bigint', 'bigint', 'bigint', 'bigint', 'double', 'int', 'int'] as const;
    const rows = r.getRows().map((row) => row.map((v, i) => fromDuck(v, types[i]!)));
    conn.closeSync();
    db.closeSync();
    return rows;
  }
  const gap = w.gap * MIN;
  const out: Value[][] = [];
  for (const k of [0, 1, 2]) {
    const rows = ok.filter((x) => x.k === k).map((x) => ({ t: BASE + x.t * MIN, v: x.v })).sort((a, b) => a.t - b.t);
    let i = 0;
    while (i < rows.length) {
      let j = i;
      while (j + 1 < rows.length && rows[j + 1]!.t - rows[j]!.t < gap) j++;
      const m = rows.slice(i, j + 1);
      const vs = m.map((x) => x.v).filter((v): v is number => v !== null);
      out.push([
        k, BigInt(m[0]!.t), BigInt(m[m.length - 1]!.t + gap), BigInt(m.length),
        vs.length ? BigInt(vs.reduce((a, b) => a + b, 0)) : null,
        vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null,
        vs.length ? Math.min(...vs) : null,
        vs.length ? Math.max(...vs) : null,
      ]);
      i = j + 1;
    }
  }
  return out;
}

async function runCase(w: W, delay: number, batches: Ev[][], parallelism = 1): Promise<void> {
  const e = await createEngine({ autoStart: false, log: () => undefined, parallelism });
  engines.push(e);
  await e.execute(`CREATE TABLE ev (k INT, ts TIMESTAMP, v INT, WATERMARK FOR ts AS ts - INTERVAL '${delay} minutes') APPEND ONLY;
    CREATE MATERIALIZED VIEW eowc AS SELECT k, window_start, window_end, ${AGGS.join(', ')} FROM ${tvf(w, 'ev')} GROUP BY k, window_start, window_end EMIT ON WINDOW CLOSE;
    CREATE MATERIALIZED VIEW upd AS SELECT k, window_start, window_end, ${AGGS.join(', ')} FROM ${tvf(w, 'ev')} GROUP BY k, window_start, window_end;`);
  let wm: number | null = null;
  const ok: Ev[] = [];
  for (const batch of batches) {
    if (batch.length) {
      await e.execute(`INSERT INTO ev VALUES ${batch.map((x) => `(${x.k}, ${ts(x.t)}, ${x.v ?? 'NULL'})`).join(', ')}`);
      for (const x of batch) if (wm === null || x.t >= wm) ok.push(x);
      const max = Math.max(...batch.map((x) => x.t)) - delay;
      if (wm === null || max > wm) wm = max;
    }
    await e.execute('FLUSH');
  }
  const expected = await oracle(w, ok);
  const closed = expected.filter((r) => wm !== null && Number(r[2] as bigint) <= BASE + wm * MIN);
  expect(canonicalRows(await e.viewRows('eowc'))).toEqual(canonicalRows(closed));
  expect(canonicalRows(await e.viewRows('upd'))).toEqual(canonicalRows(expected));
  const lateSeen = batches.flat().length - ok.length;
  expect(e.stats().views.eowc!.lateRows).toBe(lateSeen);
}

describe('windows vs oracle', () => {
  it('TUMBLE, HOP and SESSION with out-of-order events in random epochs (EOWC and updating, 200 cases, 100 in CI)', async () => {
    await fc.assert(
      fc.asyncProperty(windowKind, fc.integer({ min: 0, max: 20 }), epochs, parallelismArb, async (w, delay, batches, parallelism) => runCase(w as W, delay, batches, parallelism)),
      { numRuns: Number(process.env.SLUICE_FC_RUNS ?? (process.env.CI ? 100 : 200)) },
    );
  }, 1_800_000);

  it('keeps late rows in <view>_late with the reason when asked', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE ev (k INT, ts TIMESTAMP, v INT, WATERMARK FOR ts AS ts - INTERVAL '1 minute') APPEND ONLY;
      CREATE MATERIALIZED VIEW w WITH (late_rows = 'keep') AS SELECT window_start, count(*) AS c, sum(v) AS s FROM TUMBLE(ev, ts, INTERVAL '10 minutes') GROUP BY window_start;
      INSERT INTO ev VALUES (1, ${ts(30)}, 1); FLUSH;
      INSERT INTO ev VALUES (1, ${ts(5)}, 2), (1, ${ts(29)}, 3); FLUSH;`);
    const [late] = await e.execute('SELECT v, reason FROM w_late');
    expect(late!.kind === 'rows' && late!.rows.map((r) => r[0])).toEqual([2]);
    expect(late!.kind === 'rows' && String(late!.rows[0]![1])).toContain('below the watermark');
    // 22:43:20 and 22:42:20 share the window [22:40, 22:50); 22:18:20 came below the watermark.
    expect(canonicalRows(await e.viewRows('w'))).toEqual(canonicalRows([[1_700_001_600_000_000n, 2n, 4n]]));
    expect(e.stats().views.w!.lateRows).toBe(1);
    expect(e.stats().tables.ev!.lateRows).toBe(1);
  });

  it('refuses EMIT ON WINDOW CLOSE without a watermark and SESSION without aggregation', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute('CREATE TABLE t (ts TIMESTAMP, v INT)');
    await expect(e.execute("CREATE MATERIALIZED VIEW x AS SELECT window_start, count(*) FROM TUMBLE(t, ts, INTERVAL '1 minute') GROUP BY window_start EMIT ON WINDOW CLOSE")).rejects.toThrow(/needs a watermark/);
    await expect(e.execute("CREATE MATERIALIZED VIEW x AS SELECT * FROM SESSION(t, ts, INTERVAL '1 minute')")).rejects.toThrow(/SESSION windows need an aggregate/);
    await expect(e.execute('CREATE TABLE u (ts TIMESTAMP, WATERMARK FOR ts AS ts) ')).rejects.toThrow(/APPEND ONLY/);
  });
});

describe('bounded window state on an endless stream', () => {
  it('closes thousands of TUMBLE and HOP windows while the live state stays bounded', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    // Event time advances 1 µs per row (a timestamp sequence at 1 M rows/s).
    await e.execute(`CREATE SOURCE s (id BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '100 microseconds') WITH (
        connector = 'datagen', rows_per_second = 1000000, max_batch_rows = 20000,
        fields.id.kind = 'sequence', fields.id.start = 0, fields.ts.kind = 'sequence', fields.ts.start = '2024-01-01 00:00:00');
      CREATE MATERIALIZED VIEW tumbling AS SELECT id % 10 AS k, window_start, count(*) AS n
        FROM TUMBLE(s, ts, INTERVAL '50 microseconds') GROUP BY id % 10, window_start EMIT ON WINDOW CLOSE;
      CREATE MATERIALIZED VIEW hopping AS SELECT window_start, count(*) AS n, max(id) AS top
        FROM HOP(s, ts, INTERVAL '20 microseconds', INTERVAL '100 microseconds') GROUP BY window_start;`);
    const states: number[] = [];
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 25));
      await e.execute('FLUSH');
      const st = e.stats().views;
      states.push(st.tumbling!.windowState, st.hopping!.windowState);
    }
    const st = e.stats();
    const rowsIn = st.sources.s!.rows;
    expect(rowsIn).toBeGreaterThan(200_000);
    // Thousands of windows closed and emitted…
    expect(st.views.tumbling!.rows).toBeGreaterThan(30_000);
    expect(st.views.hopping!.rows).toBeGreaterThan(5_000);
    // …while live panes stay within what the watermark delay keeps open (10 keys × a few panes).
    expect(Math.max(...states)).toBeLessThan(100);
    const [r] = await e.execute('SELECT sum(n) FROM tumbling');
    expect(Number(r!.kind === 'rows' ? r!.rows[0]![0] : 0)).toBeGreaterThan(rowsIn - 1000);
  });

  it('runs processing-time windows over PROCTIME() on the epoch batch time', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`CREATE TABLE clicks (page VARCHAR);
      CREATE MATERIALIZED VIEW per_window AS SELECT page, window_start, window_end, count(*) AS n
        FROM TUMBLE(clicks, PROCTIME(), INTERVAL '1 hour') GROUP BY page, window_start, window_end EMIT ON WINDOW CLOSE;
      CREATE MATERIALIZED VIEW live AS SELECT page, window_start, count(*) AS n
        FROM TUMBLE(clicks, PROCTIME(), INTERVAL '1 hour') GROUP BY page, window_start;
      INSERT INTO clicks VALUES ('a'), ('b'), ('a'); FLUSH;`);
    const live = await e.viewRows('live');
    expect(live.map((r) => [r[0], r[2]]).sort()).toEqual([['a', 2n], ['b', 1n]]);
    const start = live[0]![1] as bigint;
    const batchTime = BigInt(e.metrics().at(-1)!.batchTimeMs) * 1000n;
    expect(start).toBe(batchTime - (batchTime % 3_600_000_000n));
    // The current hour has not closed: nothing emitted on close yet.
    expect(await e.viewRows('per_window')).toEqual([]);
    const [ex] = await e.execute("EXPLAIN CREATE MATERIALIZED VIEW x AS SELECT window_start, count(*) FROM TUMBLE(clicks, PROCTIME(), INTERVAL '1 minute') GROUP BY window_start EMIT ON WINDOW CLOSE");
    const text = ex!.kind === 'rows' ? ex!.rows.map((x) => x[0]).join('\n') : '';
    expect(text).toContain('watermark=processing time');
    expect(text).toContain('emit=on-window-close');
  });
});

describe('watermarks across inputs', () => {
  it('takes the minimum over a view\'s inputs and stops waiting for an idle one', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    engines.push(e);
    await e.execute(`SET watermark_idle_timeout = '300ms';
      CREATE TABLE a (ts TIMESTAMP, WATERMARK FOR ts AS ts) APPEND ONLY;
      CREATE TABLE b (ts TIMESTAMP, WATERMARK FOR ts AS ts) APPEND ONLY;
      CREATE MATERIALIZED VIEW both_sides AS
        SELECT window_start, count(*) AS n FROM TUMBLE(a, ts, INTERVAL '1 minute') GROUP BY window_start
        UNION ALL
        SELECT window_start, count(*) AS n FROM TUMBLE(b, ts, INTERVAL '1 minute') GROUP BY window_start;
      INSERT INTO a VALUES ('2024-01-01 10:00:30'); INSERT INTO b VALUES ('2024-01-01 10:00:10'); FLUSH;`);
    const wm = () => e.stats().views.both_sides!.watermark;
    expect(wm()).toBe(1_704_103_210_000_000n); // min(a, b) = b's 10:00:10
    await e.execute("INSERT INTO a VALUES ('2024-01-01 10:05:00'); FLUSH;");
    expect(wm()).toBe(1_704_103_210_000_000n); // b holds the view back
    await new Promise((r) => setTimeout(r, 400));
    await e.execute("INSERT INTO a VALUES ('2024-01-01 10:06:00'); FLUSH;");
    expect(wm()).toBe(1_704_103_560_000_000n); // b is idle: a's 10:06 alone
    // a's closed windows dropped their panes: only the open minute of a and b's pane remain.
    expect(e.stats().views.both_sides!.windowState).toBeLessThanOrEqual(2);
    // Never decreasing: b waking up with an old time does not move the watermark back.
    await e.execute("INSERT INTO b VALUES ('2024-01-01 10:01:00'); FLUSH;");
    expect(wm()).toBe(1_704_103_560_000_000n);
  });
});
