/**
 * Snapshot and restore of operator state: for random views from the differential generators
 * (aggregates, windows, joins, top-N), an engine runs a random script and the test records
 * every epoch the view's pipeline ran (its input deltas, T_n, watermarks). Offline, a fresh
 * pipeline runs all epochs uninterrupted; another runs the first k, snapshots every state
 * table through Arrow IPC, and a third, freshly built, restores the snapshot and runs the rest.
 * The restored run must emit exactly what the uninterrupted one emits, epoch by epoch, and the
 * view's contents (its store, snapshot and restored the same way) must end the same.
 * Temporal filters run with an injected clock, so their rows enter and leave between epochs.
 */
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../src/common/column.js';
import { batchRows } from '../src/common/column.js';
import type { OperatorContext } from '../src/exec/operator.js';
import { Pipeline as BasePipeline } from '../src/exec/pipeline.js';
import { createEngine } from '../src/exec/runtime/engine.js';
import { decodeSnapshot, encodeSnapshot } from '../src/exec/state/state-table.js';
import { readBlobFile, writeBlobFile, type BlobRef } from '../src/exec/checkpoint/files.js';
import { readViewState, writeViewState } from '../src/exec/checkpoint/view-state.js';
import { rescaleState } from '../src/exec/rescale.js';
import type { PhysicalPlan } from '../src/planner/physical.js';
import type { PlannedQuery } from '../src/planner/index.js';
import { uniqueKey } from '../src/planner/index.js';
import { createViewStore, type ViewStore } from '../src/exec/view-store.js';
import { canonical, canonicalRows } from './helpers.js';
import { AGGS, epochs, epochsArb, joinQuery, K1, op, query, sqlLit, TABLE, topNQuery, ts, tvf, twoTableOp, V, windowKind } from './generators.js';

interface RecordedEpoch {
  readonly deltas: ReadonlyMap<string, readonly Batch[]>;
  readonly ctx: Pick<OperatorContext, 'epoch' | 'now' | 'watermark'>;
}

// CI runs fewer cases (the suite takes minutes at 200); SLUICE_FC_RUNS=200 for the full count.
const RUNS = Number(process.env.SLUICE_FC_RUNS ?? (process.env.CI ? 60 : 200));

/** Runs `statements` on an engine (the view is `mv`) and records each epoch mv's pipeline ran. */
async function record(statements: readonly string[], clock?: () => number): Promise<{ plan: PhysicalPlan; store: () => ViewStore; epochs: RecordedEpoch[] }> {
  const epochsSeen: RecordedEpoch[] = [];
  const run = BasePipeline.prototype.runEpoch;
  BasePipeline.prototype.runEpoch = function (this: BasePipeline, deltas, ctx) {
    if (this.operators[0]?.id.startsWith('mv/')) epochsSeen.push({ deltas: new Map(deltas), ctx: { epoch: ctx.epoch, now: ctx.now, watermark: ctx.watermark } });
    return run.call(this, deltas, ctx);
  };
  const engine = await createEngine({ autoStart: false, log: () => undefined, ...(clock ? { clock } : {}) });
  try {
    for (const s of statements) await engine.execute(s);
    await engine.execute('FLUSH');
    const views = (engine as unknown as { state: { views: Map<string, { planned: PlannedQuery }> } }).state.views;
    const planned = views.get('mv')!.planned;
    const store = () => createViewStore(planned.optimized.schema, planned.optimized.appendOnly, uniqueKey(planned.optimized));
    return { plan: planned.physical, store, epochs: epochsSeen };
  } finally {
    BasePipeline.prototype.runEpoch = run;
    await engine.close();
  }
}

/** An epoch's output as a sorted list of `row × net weight`, zero weights dropped. */
function consolidate(batches: readonly Batch[]): string[] {
  const net = new Map<string, number>();
  for (const b of batches) {
    batchRows(b).forEach((r, i) => {
      const k = r.map(canonical).join('|');
      net.set(k, (net.get(k) ?? 0) + (b.weights ? b.weights[i]! : 1));
    });
  }
  return [...net].filter(([, w]) => w !== 0).map(([k, w]) => `${k} ×${w}`).sort();
}

/** Runs epochs [from, to) through `p`, returning each epoch's consolidated output. */
async function replay(p: BasePipeline, out: Batch[], epochs: readonly RecordedEpoch[], from: number, to: number): Promise<string[][]> {
  const result: string[][] = [];
  for (let i = from; i < to; i++) {
    await p.runEpoch(epochs[i]!.deltas, context(epochs[i]!));
    result.push(consolidate(out.splice(0)));
  }
  return result;
}

/** Uninterrupted vs a snapshot taken between two of the recorded epochs (chosen by `cutAt`), restored into a fresh pipeline. */
async function checkRestore(statements: readonly string[], cutAt: number, clock?: () => number): Promise<void> {
  const { plan, store, epochs } = await record(statements, clock);
  // Both parts non-empty: the cut falls between two recorded epochs.
  const cut = epochs.length < 2 ? epochs.length : 1 + (cutAt % (epochs.length - 1));
  // The pipelines below run at parallelism 1, 2 or 4 (issue 16), chosen by the case.
  const parallelism = [1, 2, 4][Math.floor(cutAt / 7) % 3]!;
  const made: BasePipeline[] = [];
  const Pipeline = class extends BasePipeline {
    constructor(view: string, p: PhysicalPlan, emit: (b: Batch) => void) {
      super(view, p, emit, undefined, { parallelism });
      made.push(this);
    }
  };
  try {
    await checkPipelines(Pipeline, plan, store, epochs, cut, cutAt, parallelism);
  } finally {
    // Instances in worker threads go with them.
    for (const p of made) p.dispose();
  }
}

async function checkPipelines(
  Pipeline: new (view: string, p: PhysicalPlan, emit: (b: Batch) => void) => BasePipeline,
  plan: PhysicalPlan,
  store: () => ViewStore,
  epochs: readonly RecordedEpoch[],
  cut: number,
  cutAt: number,
  parallelism: number,
): Promise<void> {
  const outA: Batch[] = [];
  const a = new Pipeline('mv', plan, (b) => outA.push(b));
  const whole = await replay(a, outA, epochs, 0, epochs.length);
  if (parallelism > 1) {
    // Every epoch's output, consolidated, is the single-instance pipeline's.
    const out1: Batch[] = [];
    expect(whole).toEqual(await replay(new BasePipeline('mv', plan, (b) => out1.push(b)), out1, epochs, 0, epochs.length));
  }

  const outB: Batch[] = [];
  const b = new Pipeline('mv', plan, (x) => outB.push(x));
  const prefix = await replay(b, outB, epochs, 0, cut);
  expect(prefix).toEqual(whole.slice(0, cut));
  // Instances in worker threads send their state here first (as a checkpoint has them do).
  await b.fetchState(false);
  const files = new Map<string, Uint8Array[]>();
  for (const [id, tables] of b.stateTables()) files.set(id, tables.map((t) => encodeSnapshot(t.spec, t.snapshot())));

  const outC: Batch[] = [];
  const c = new Pipeline('mv', plan, (x) => outC.push(x));
  const fresh = c.stateTables();
  expect([...fresh.keys()]).toEqual([...files.keys()]);
  for (const [id, tables] of fresh) tables.forEach((t, i) => t.restore(decodeSnapshot(t.spec, files.get(id)![i]!)));
  const rest = await replay(c, outC, epochs, cut, epochs.length);
  expect(rest).toEqual(whole.slice(cut));

  // Rescaling (issue 16): the state of b moves to a pipeline at another parallelism, each row to
  // the instance owning its key group there, and that pipeline goes on like the uninterrupted one.
  const other = [3, 1, 2, 4].filter((x) => x !== parallelism)[cutAt % 3]!;
  const outD: Batch[] = [];
  const d = new BasePipeline('mv', plan, (x) => outD.push(x), undefined, { parallelism: other });
  try {
    let moved = true;
    try {
      rescaleState('mv', b.instancesByNode(), d.instancesByNode());
    } catch (e) {
      // Only per-row state over a keyed operator's output (a temporal filter) is refused.
      expect(String(e)).toMatch(/per-row state/);
      expect(JSON.stringify(plan)).toContain('TemporalFilterExec');
      moved = false;
    }
    if (moved) expect(await replay(d, outD, epochs, cut, epochs.length), `rescaled from ${parallelism} to ${other}`).toEqual(whole.slice(cut));
  } finally {
    d.dispose();
  }

  // The view's contents: a store fed the prefix, snapshot, restored fresh and fed the rest,
  // holds what a store fed everything holds.
  const full = store();
  for (const b of await outputs(plan, epochs, 0, epochs.length, parallelism)) full.apply(b);
  const before = store();
  for (const b of await outputs(plan, epochs, 0, cut, parallelism)) before.apply(b);
  const after = store();
  after.state.restore(decodeSnapshot(before.state.spec, encodeSnapshot(before.state.spec, before.state.snapshot())));
  const tail = await outputsAfterRestore(plan, epochs, cut, files, parallelism);
  for (const b of tail) after.apply(b);
  expect(canonicalRows(after.rows())).toEqual(canonicalRows(full.rows()));

  // Incremental checkpoints: state files written after each epoch before the cut — a full one,
  // then deltas of the changed keys (a new full file every `fullEvery`) — restore into a fresh
  // pipeline and store that go on exactly like the uninterrupted run.
  const fullEvery = 1 + (cutAt % 4);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-chain-'));
  try {
    const liveStore = store();
    const live = new Pipeline('mv', plan, (x) => liveStore.apply(x));
    let chain: string[] = [];
    for (let i = 0; i < cut; i++) {
      await live.runEpoch(epochs[i]!.deltas, context(epochs[i]!));
      const path = join(dir, `${i}.bin`);
      const mode = chain.length > 0 && chain.length < fullEvery ? 'always' : false;
      await live.fetchState(mode);
      const w = writeViewState(path, 'mv', live, liveStore, mode);
      chain = w.full ? [path] : [...chain, path];
    }
    const outR: Batch[] = [];
    const restoredStore = store();
    const r = new Pipeline('mv', plan, (x) => {
      outR.push(x);
      restoredStore.apply(x);
    });
    readViewState(chain.map((path) => ({ path })), 'mv', r, restoredStore);
    expect(canonicalRows(restoredStore.rows()), `restored from ${chain.length} files`).toEqual(canonicalRows(liveStore.rows()));
    expect(await replay(r, outR, epochs, cut, epochs.length)).toEqual(whole.slice(cut));
    expect(canonicalRows(restoredStore.rows())).toEqual(canonicalRows(full.rows()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The output batches of a fresh pipeline over epochs [from, to). */
async function outputs(plan: PhysicalPlan, epochs: readonly RecordedEpoch[], from: number, to: number, parallelism: number): Promise<Batch[]> {
  const out: Batch[] = [];
  const p = new BasePipeline('mv', plan, (b) => out.push(b), undefined, { parallelism });
  const kept: Batch[] = [];
  try {
    for (let i = 0; i < to; i++) {
      await p.runEpoch(epochs[i]!.deltas, context(epochs[i]!));
      if (i >= from) kept.push(...out);
      out.length = 0;
    }
  } finally {
    p.dispose();
  }
  return kept;
}

/** The output batches of epochs [cut, end) of a pipeline restored from `files`. */
async function outputsAfterRestore(plan: PhysicalPlan, epochs: readonly RecordedEpoch[], cut: number, files: ReadonlyMap<string, Uint8Array[]>, parallelism: number): Promise<Batch[]> {
  const out: Batch[] = [];
  const p = new BasePipeline('mv', plan, (b) => out.push(b), undefined, { parallelism });
  try {
    for (const [id, tables] of p.stateTables()) tables.forEach((t, i) => t.restore(decodeSnapshot(t.spec, files.get(id)![i]!)));
    for (let i = cut; i < epochs.length; i++) await p.runEpoch(epochs[i]!.deltas, context(epochs[i]!));
  } finally {
    p.dispose();
  }
  return out;
}

/**
 * A copy at `to` of the state file at `from` without the columns whose names match `drop`, in
 * every table: what a version whose state lacked them wrote. Returns `to`.
 */
function withoutColumns(from: string, to: string, drop: RegExp): string {
  const f = readBlobFile<{ tables: { columns: string; ref: BlobRef }[] }>(from);
  const tables = f.header.tables.map((e) => {
    const keep = e.columns.split(',').filter((c) => !drop.test(c.slice(0, c.indexOf(':'))));
    const names = keep.map((c) => c.slice(0, c.indexOf(':')));
    return { ...e, columns: keep.join(','), blob: tableToIPC(tableFromIPC(f.blob(e.ref)).select(names), 'stream') };
  });
  writeBlobFile(to, tables.map((e) => e.blob), (refs) => ({ ...f.header, tables: tables.map(({ blob: _, ...e }, i) => ({ ...e, ref: refs[i]! })) }));
  return to;
}

function context(e: RecordedEpoch): OperatorContext {
  return { ...e.ctx, onRowError: () => undefined, onLate: () => undefined, countLate: () => undefined };
}

const cutAt = fc.nat({ max: 10_000 });

describe('operator state survives snapshot and restore into a fresh pipeline', () => {
  it(`aggregates, filters, projections, DISTINCT, UNION (${RUNS} cases)`, async () => {
    const scenario = fc.record({ before: fc.array(op, { maxLength: 6 }), after: fc.array(op, { maxLength: 14 }), query, cutAt });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => checkRestore([TABLE, ...s.before, `CREATE MATERIALIZED VIEW mv AS ${s.query}`, ...s.after], s.cutAt)),
      { numRuns: RUNS },
    );
  }, 600_000);

  it(`TUMBLE, HOP and SESSION windows, updating and EMIT ON WINDOW CLOSE (${RUNS} cases)`, async () => {
    const scenario = fc.record({ w: windowKind, delay: fc.integer({ min: 0, max: 20 }), batches: epochs, eowc: fc.boolean(), cutAt });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => {
        const statements = [
          `CREATE TABLE ev (k INT, ts TIMESTAMP, v INT, WATERMARK FOR ts AS ts - INTERVAL '${s.delay} minutes') APPEND ONLY`,
          `CREATE MATERIALIZED VIEW mv AS SELECT k, window_start, window_end, ${AGGS.join(', ')} FROM ${tvf(s.w, 'ev')} GROUP BY k, window_start, window_end${s.eowc ? ' EMIT ON WINDOW CLOSE' : ''}`,
        ];
        for (const batch of s.batches) {
          if (batch.length) statements.push(`INSERT INTO ev VALUES ${batch.map((x) => `(${x.k}, ${ts(x.t)}, ${x.v ?? 'NULL'})`).join(', ')}`);
          statements.push('FLUSH');
        }
        return checkRestore(statements, s.cutAt);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  it(`windows over a table with deletes: retracting panes, min/max multisets, FILTER (${Math.ceil(RUNS / 2)} cases)`, async () => {
    const aggs = 'count(*) AS c, sum(v) AS s, min(v) AS lo, max(v) AS hi, count(v) FILTER (WHERE v > 0) AS pos';
    const scenario = fc.record({
      w: windowKind.filter((w) => w.kind !== 'session'),
      batches: epochs,
      deletes: fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: -20, max: 20 })), { maxLength: 8 }),
      cutAt,
    });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => {
        const statements = [
          'CREATE TABLE evr (k INT, ts TIMESTAMP, v INT)',
          `CREATE MATERIALIZED VIEW mv AS SELECT k, window_start, window_end, ${aggs} FROM ${tvf(s.w, 'evr')} GROUP BY k, window_start, window_end`,
        ];
        s.batches.forEach((batch, i) => {
          if (batch.length) statements.push(`INSERT INTO evr VALUES ${batch.map((x) => `(${x.k}, ${ts(x.t)}, ${x.v ?? 'NULL'})`).join(', ')}`);
          for (const [at, v] of s.deletes) if (at === i) statements.push(`DELETE FROM evr WHERE v < ${v}`);
          statements.push('FLUSH');
        });
        return checkRestore(statements, s.cutAt);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 600_000);

  it(`order-sensitive, boolean and spread aggregates, grouped and over windows with deletes (${Math.ceil(RUNS / 2)} cases)`, async () => {
    const aggs = "string_agg(v::varchar, ',' ORDER BY v DESC) AS sa, array_agg(DISTINCT v) AS ad, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS pc, mode() WITHIN GROUP (ORDER BY v) AS mo, first_value(v ORDER BY ts) AS fv, bool_and(v > 0) AS ba, stddev(v) AS sd, var_pop(v::double) AS vp";
    const scenario = fc.record({
      w: fc.option(windowKind.filter((w) => w.kind !== 'session'), { nil: null }),
      batches: epochs,
      deletes: fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: -20, max: 20 })), { maxLength: 8 }),
      cutAt,
    });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => {
        const statements = [
          'CREATE TABLE evr (k INT, ts TIMESTAMP, v INT)',
          s.w === null
            ? `CREATE MATERIALIZED VIEW mv AS SELECT k, ${aggs} FROM evr GROUP BY k`
            : `CREATE MATERIALIZED VIEW mv AS SELECT k, window_start, window_end, ${aggs} FROM ${tvf(s.w, 'evr')} GROUP BY k, window_start, window_end`,
        ];
        s.batches.forEach((batch, i) => {
          if (batch.length) statements.push(`INSERT INTO evr VALUES ${batch.map((x) => `(${x.k}, ${ts(x.t)}, ${x.v ?? 'NULL'})`).join(', ')}`);
          for (const [at, v] of s.deletes) if (at === i) statements.push(`DELETE FROM evr WHERE v < ${v}`);
          statements.push('FLUSH');
        });
        return checkRestore(statements, s.cutAt);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 600_000);

  it(`incremental joins over tables, time-bounded interval joins and lookup joins (${RUNS} cases)`, async () => {
    const tables = fc.record({ before: fc.array(twoTableOp, { maxLength: 6 }), after: fc.array(twoTableOp, { maxLength: 12 }), query: joinQuery, cutAt }).map((s) => ({
      statements: [TABLE, TABLE.replace('TABLE t', 'TABLE u'), ...s.before, `CREATE MATERIALIZED VIEW mv AS ${s.query}`, ...s.after],
      cutAt: s.cutAt,
    }));
    const interval = fc.record({ rows: epochsArb, upper: fc.integer({ min: 0, max: 20 }), delay: fc.integer({ min: 0, max: 10 }), cutAt }).map((s) => {
      const statements = [
        `CREATE TABLE a (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '${s.delay} minutes') APPEND ONLY`,
        `CREATE TABLE b (id INT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '${s.delay} minutes') APPEND ONLY`,
        `CREATE MATERIALIZED VIEW mv AS SELECT a.id, a.ts AS a_ts, b.ts AS b_ts FROM a JOIN b ON a.id = b.id AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '${s.upper} minutes'`,
      ];
      for (const rows of s.rows) {
        for (const side of ['a', 'b'] as const) {
          const mine = rows.filter((r) => r.side === side);
          if (mine.length) statements.push(`INSERT INTO ${side} VALUES ${mine.map((r) => `(${r.id}, ${ts(r.t)})`).join(', ')}`);
        }
        statements.push('FLUSH');
      }
      return { statements, cutAt: s.cutAt };
    });
    // Lookup joins: an append-only stream of (k1, v) probing t as of each epoch while t changes.
    const streamInsert = fc.array(fc.tuple(K1, V), { minLength: 1, maxLength: 5 }).map((rs) => `INSERT INTO s VALUES ${rs.map((r) => `(${r.map(sqlLit).join(', ')})`).join(', ')}`);
    // A stream that retracts (not APPEND ONLY) takes back what each row was joined with then:
    // that memory is state too.
    const streamChange = fc.tuple(K1, fc.boolean()).map(([k, del]) => (del ? `DELETE FROM s WHERE k1 = ${sqlLit(k)}` : `UPDATE s SET v = v + 1 WHERE k1 = ${sqlLit(k)}`));
    const lookup = fc.record({
      before: fc.array(op, { maxLength: 6 }),
      after: fc.array(fc.oneof(op, streamInsert, streamInsert, streamChange), { maxLength: 14 }),
      left: fc.boolean(),
      retracting: fc.boolean(),
      cutAt,
    }).map((s) => ({
      statements: [TABLE, `CREATE TABLE s (k1 INT, v INT)${s.retracting ? '' : ' APPEND ONLY'}`, ...s.before,
        `CREATE MATERIALIZED VIEW mv AS SELECT s.k1, s.v, t.k2, t.d FROM s ${s.left ? 'LEFT ' : ''}JOIN t FOR SYSTEM_TIME AS OF PROCTIME() ON s.k1 = t.k1`,
        ...s.after.filter((x) => s.retracting || !/^(DELETE FROM|UPDATE) s /.test(x))],
      cutAt: s.cutAt,
    }));
    await fc.assert(fc.asyncProperty(fc.oneof(tables, interval, lookup), (s) => checkRestore(s.statements, s.cutAt)), { numRuns: RUNS });
  }, 600_000);

  it(`window functions over partitions: ranking, offsets, framed aggregates, over a GROUP BY (${RUNS} cases)`, async () => {
    // The restored pipeline recomputes a changed partition's previous output from its restored
    // rows: it must retract exactly what the uninterrupted one emitted.
    const windowQuery = fc.constantFrom(
      'SELECT k1, v, row_number() OVER (PARTITION BY k1 ORDER BY v, k2, d, b, big) AS rn, rank() OVER (PARTITION BY k1 ORDER BY v) AS r FROM t',
      'SELECT k2, v, lag(v, 1, -1) OVER w AS l, lead(d) OVER w AS n, sum(v) OVER (w ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS s FROM t WINDOW w AS (PARTITION BY k2 ORDER BY v, k1, d, b, big)',
      'SELECT k1, d, count(*) OVER (PARTITION BY k1 ORDER BY v RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS c, max(d) OVER (PARTITION BY k1) AS m, percent_rank() OVER (ORDER BY v DESC) AS pr FROM t',
      'SELECT k1, sum(v) AS s, dense_rank() OVER (ORDER BY sum(v)) AS dr, sum(count(*)) OVER (ORDER BY k1) AS running FROM t GROUP BY k1',
      'SELECT k1, v, v - lag(v * 2 + k1, 2) OVER (PARTITION BY k1 % 2 ORDER BY abs(v), v, k2, d, b, big) AS l, ntile(2) OVER (PARTITION BY k1 % 2 ORDER BY abs(v), v, k2, d, b, big) AS t FROM t',
    );
    const scenario = fc.record({ before: fc.array(op, { maxLength: 6 }), after: fc.array(op, { maxLength: 14 }), query: windowQuery, cutAt });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => checkRestore([TABLE, ...s.before, `CREATE MATERIALIZED VIEW mv AS ${s.query}`, ...s.after], s.cutAt)),
      { numRuns: RUNS },
    );
  }, 600_000);

  it(`temporal filters: rows waiting to enter or leave by batch time, with deletes (${RUNS} cases)`, async () => {
    const MIN = 60_000;
    const BASE = Date.parse('2026-03-01T12:00:00Z');
    const at = (m: number) => `'${new Date(BASE + m * MIN).toISOString().replace('T', ' ').replace('Z', '')}'`;
    const views = [
      "SELECT id, k, ts FROM ev WHERE ts > now() - INTERVAL '30 minutes' AND ts <= now()",
      "SELECT k, count(*) AS c, max(ts) AS m FROM ev WHERE ts BETWEEN now() - INTERVAL '20 minutes' AND now() GROUP BY k",
      "SELECT k, count(*) AS c FROM ev GROUP BY k HAVING max(ts) + INTERVAL '15 minutes' > now()",
    ];
    const row = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }), fc.integer({ min: -40, max: 120 }));
    const evOp = fc.oneof(
      { weight: 4, arbitrary: fc.array(row, { minLength: 1, maxLength: 4 }).map((rs) => `INSERT INTO ev VALUES ${rs.map(([i, k, m]) => `(${i}, ${k ?? 'NULL'}, ${at(m)})`).join(', ')}`) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `DELETE FROM ev WHERE id = ${i}`) },
      { weight: 3, arbitrary: fc.constant('FLUSH') },
    );
    const scenario = fc.record({ view: fc.nat({ max: views.length - 1 }), before: fc.array(evOp, { maxLength: 6 }), after: fc.array(evOp, { maxLength: 16 }), cutAt });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => {
        // Every epoch moves the batch time 7 minutes: rows enter and leave between the epochs.
        let t = BASE - 10 * MIN;
        const clock = () => (t += 7 * MIN);
        return checkRestore(['CREATE TABLE ev (id INT, k INT, ts TIMESTAMP)', ...s.before, `CREATE MATERIALIZED VIEW mv AS ${views[s.view]}`, ...s.after], s.cutAt, clock);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  // A bigint sum keeps its 64-bit value and a count of wraps past ±2^63: a restore that lost the
  // wraps would go on from the wrapped sum. The script runs 7 epochs (the first before any
  // insert): cutAt 1 cuts after the first insert at parallelism 1, cutAt 9 after the third at
  // parallelism 2: group 1's sum is past 2^63 at both, group 2's below −2^63 at the second.
  for (const cutAt of [1, 9]) {
    it(`bigint sums past 2^63, grouped and over windows, go on exactly after a restore (cutAt ${cutAt})`, async () => {
      const max = 2n ** 63n - 1n;
      const insert = (rows: string) => `INSERT INTO t VALUES ${rows}`;
      const epochs = [
        insert(`(1, 1, '2024-01-01 00:00:01', ${max}), (1, 2, '2024-01-01 00:00:02', ${max}), (2, 3, '2024-01-01 00:00:03', ${-max})`),
        insert(`(2, 4, '2024-01-01 00:00:04', ${-max}), (2, 5, '2024-01-01 00:00:05', -7), (3, 6, '2024-01-01 00:00:06', 1)`),
        insert(`(1, 7, '2024-01-01 00:00:07', 5)`),
        'DELETE FROM t WHERE id = 2',
        insert(`(1, 8, '2024-01-01 00:00:08', ${max})`),
      ].flatMap((e) => [e, 'FLUSH']);
      const table = 'CREATE TABLE t (k INT, id INT, ts TIMESTAMP, v BIGINT)';
      await checkRestore([table, 'CREATE MATERIALIZED VIEW mv AS SELECT k, sum(v) AS s, avg(v) AS a, count(*) AS n FROM t GROUP BY k', ...epochs], cutAt);
      await checkRestore([table, `CREATE MATERIALIZED VIEW mv AS SELECT k, window_start, sum(v) AS s, avg(v) AS a FROM TUMBLE(t, ts, INTERVAL '1 minute') GROUP BY k, window_start`, ...epochs], cutAt);
    }, 120_000);
  }

  it('restores a checkpoint written before sums kept their wraps (as 0 wraps), and refuses one lacking another column', async () => {
    const table = 'CREATE TABLE t (k INT, v BIGINT)';
    const view = 'CREATE MATERIALIZED VIEW mv AS SELECT k, sum(v) AS s, avg(v) AS a, count(*) AS n FROM t GROUP BY k';
    const { plan, store, epochs } = await record([table, view, 'INSERT INTO t VALUES (1, 5), (2, -3), (1, 9)', 'FLUSH', 'INSERT INTO t VALUES (2, 4)', 'FLUSH', 'DELETE FROM t WHERE v = 5', 'FLUSH']);
    const cut = 2;
    const out: Batch[] = [];
    const whole = await replay(new BasePipeline('mv', plan, (b) => out.push(b)), out, epochs, 0, epochs.length);
    const dir = mkdtempSync(join(tmpdir(), 'sluice-old-'));
    try {
      const liveStore = store();
      const live = new BasePipeline('mv', plan, (x) => liveStore.apply(x));
      for (let i = 0; i < cut; i++) await live.runEpoch(epochs[i]!.deltas, context(epochs[i]!));
      const path = join(dir, 'now.bin');
      writeViewState(path, 'mv', live, liveStore);
      const goOnFrom = async (file: string): Promise<string[][]> => {
        const outR: Batch[] = [];
        const r = new BasePipeline('mv', plan, (x) => outR.push(x));
        readViewState([{ path: file }], 'mv', r, store());
        return replay(r, outR, epochs, cut, epochs.length);
      };
      expect(await goOnFrom(withoutColumns(path, join(dir, 'old.bin'), /^a\d+_wraps$/))).toEqual(whole.slice(cut));
      await expect(goOnFrom(withoutColumns(path, join(dir, 'other.bin'), /^a\d+_count$/))).rejects.toThrow(/does not fit its plan/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`top-N: ORDER BY … LIMIT, ROW_NUMBER() per partition, DISTINCT ON (${RUNS} cases)`, async () => {
    const scenario = fc.record({ before: fc.array(op, { maxLength: 6 }), after: fc.array(op, { maxLength: 14 }), query: topNQuery, cutAt });
    await fc.assert(
      fc.asyncProperty(scenario, (s) => checkRestore([TABLE, ...s.before, `CREATE MATERIALIZED VIEW mv AS ${s.query}`, ...s.after], s.cutAt)),
      { numRuns: RUNS },
    );
  }, 600_000);
});
