/**
 * Streaming models (issue 13): each model is compared after every batch (epoch) with the
 * independent implementation of the issue's rules in ml-reference.ts, within 1e-9 relative;
 * predictions in views with the reference's model as of the epoch before; bad input with its
 * SQLSTATE and position; a diverging model stops alone; a model survives a restart.
 */
import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../src/common/errors.js';
import type { Value } from '../src/common/types.js';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { tempDirEach } from './helpers.js';
import { close, RefKMeans, RefRegression, rng, type RefSgdOptions } from './ml-reference.js';

async function rows(e: Engine, sql: string): Promise<Value[][]> {
  const r = await e.execute(sql);
  const last = r[r.length - 1]!;
  if (last.kind !== 'rows') throw new Error(`${sql}: no rows`);
  return last.rows;
}

const num = (v: Value): number => (v === null ? NaN : Number(v));
const lit = (v: number | null): string => (v === null ? 'NULL' : Number.isInteger(v) ? `${v}.0` : String(v));

function expectClose(actual: readonly number[], expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!close(a, expected[i]!)) expect.fail(`${what}[${i}]: engine ${a}, reference ${expected[i]}`);
  });
}

/** The engine's k-means model as (weights, centers). */
async function kmeansOf(e: Engine, model: string, dims: readonly string[]): Promise<{ weights: number[]; centers: number[][] }> {
  const r = await rows(e, `SELECT cluster, weight, ${dims.join(', ')} FROM ${model} ORDER BY cluster`);
  return { weights: r.map((x) => num(x[1]!)), centers: r.map((x) => x.slice(2).map(num)) };
}

async function weightsOf(e: Engine, model: string): Promise<Map<string, number>> {
  return new Map((await rows(e, `SELECT feature, weight FROM ${model}`)).map((r) => [r[0] as string, num(r[1]!)]));
}

async function expectError(e: Engine, sql: string, sqlstate: string, at?: string): Promise<SluiceError> {
  let err: SluiceError | null = null;
  try {
    await e.execute(sql);
  } catch (x) {
    err = x as SluiceError;
  }
  if (!err) return expect.fail(`no error for: ${sql}`);
  expect(err.sqlstate, `${sql}: ${err.message}`).toBe(sqlstate);
  if (at !== undefined) expect(err.position, `${sql}: ${err.message}`).toBe(sql.indexOf(at) + 1);
  return err;
}

/** Points around a few centers, with an occasional NULL coordinate when `nulls`. */
function blobs(r: ReturnType<typeof rng>, n: number, centers: readonly (readonly number[])[], nulls = false): (number | null)[][] {
  const out: (number | null)[][] = [];
  for (let i = 0; i < n; i++) {
    const c = centers[Math.floor(r.next() * centers.length)]!;
    const p: (number | null)[] = c.map((v) => v + r.normal());
    if (nulls && r.next() < 0.1) p[Math.floor(r.next() * p.length)] = null;
    out.push(p);
  }
  return out;
}

describe('streaming k-means', () => {
  async function runKMeans(opts: { k: number; d: number; with: string; decay: number; timeUnit: 'batches' | 'points'; initial: number[][] | null; blobsAt: number[][]; seed: number }) {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      const dims = Array.from({ length: opts.d }, (_, i) => `f${i}`);
      await e.execute(`CREATE TABLE pts (${dims.map((x) => `${x} double`).join(', ')}) APPEND ONLY`);
      await e.execute(`CREATE TABLE probe (id int, ${dims.map((x) => `${x} double`).join(', ')}) APPEND ONLY`);
      await e.execute(`CREATE MODEL km WITH (type = 'kmeans', k = ${opts.k}, ${opts.with}) AS SELECT ${dims.join(', ')} FROM pts`);
      await e.execute(`CREATE MATERIALIZED VIEW labelled AS SELECT id, predict(km, ${dims.join(', ')}) AS c FROM probe`);
      // With a seed the starting centers are the model's: read them, then follow the rules.
      const start = opts.initial ?? (await kmeansOf(e, 'km', dims)).centers;
      expect((await kmeansOf(e, 'km', dims)).weights).toEqual(new Array(opts.k).fill(0));
      const ref = new RefKMeans(start, opts.decay, opts.timeUnit);
      const r = rng(opts.seed);
      const expectedLabels: Value[][] = [];
      let skipped = 0;
      let points = 0;
      let id = 0;
      for (let batch = 0; batch < 8; batch++) {
        const pts = blobs(r, 1 + Math.floor(r.next() * 40), opts.blobsAt, true);
        await e.execute(`INSERT INTO pts VALUES ${pts.map((p) => `(${p.map(lit).join(', ')})`).join(', ')}`);
        const probes = blobs(r, 5, opts.blobsAt);
        await e.execute(`INSERT INTO probe VALUES ${probes.map((p) => `(${id++}, ${p.map(lit).join(', ')})`).join(', ')}`);
        // predict in this epoch uses the model as trained through the previous one.
        probes.forEach((p, i) => expectedLabels.push([id - probes.length + i, ref.closest(p as number[])]));
        await e.execute('FLUSH');
        const usable = pts.filter((p) => p.every((v) => v !== null)) as number[][];
        skipped += pts.length - usable.length;
        points += usable.length;
        ref.update(usable);
        const got = await kmeansOf(e, 'km', dims);
        expectClose(got.weights, ref.weights, `batch ${batch} weights`);
        got.centers.forEach((c, j) => expectClose(c, ref.centers[j]!, `batch ${batch} center ${j}`));
      }
      expect(await rows(e, 'SELECT id, c FROM labelled ORDER BY id')).toEqual(expectedLabels);
      const [m] = await rows(e, "SELECT type, batches, points, skipped_rows, error FROM sluice.models WHERE name = 'km'");
      expect(m).toEqual(['kmeans', 8n, BigInt(points), BigInt(skipped), null]);
      return ref;
    } finally {
      await e.close();
    }
  }

  it('follows the rules with decay per batch, and labels probes with the previous epoch\'s model', async () => {
    const initial = [[0, 0], [5, 5], [9, 1]];
    await runKMeans({ k: 3, d: 2, with: `decay_factor = 0.8, initial_centers = '${JSON.stringify(initial)}'`, decay: 0.8, timeUnit: 'batches', initial, blobsAt: [[1, 1], [6, 6], [10, 0]], seed: 1 });
  });

  it('follows the rules with time_unit = points and half_life', async () => {
    const initial = [[0, 0, 0], [4, 4, 4]];
    await runKMeans({ k: 2, d: 3, with: `half_life = 5, time_unit = 'points', initial_centers = '${JSON.stringify(initial)}'`, decay: Math.exp(Math.log(0.5) / 5), timeUnit: 'points', initial, blobsAt: [[0, 1, 0], [5, 3, 4]], seed: 2 });
  });

  it('splits the largest cluster when one dies (a center no point comes near)', async () => {
    const initial = [[0, 0], [1000, 1000], [2, 2]];
    const ref = await runKMeans({ k: 3, d: 2, with: `decay_factor = 0.5, initial_centers = '${JSON.stringify(initial)}'`, decay: 0.5, timeUnit: 'batches', initial, blobsAt: [[0, 0], [3, 3]], seed: 3 });
    // The far center was moved next to the largest one.
    expect(Math.abs(ref.centers[1]![0]!)).toBeLessThan(100);
  });

  it('starts from seeded random centers (the same for the same seed)', async () => {
    await runKMeans({ k: 2, d: 2, with: 'seed = 42, decay_factor = 0.9', decay: 0.9, timeUnit: 'batches', initial: null, blobsAt: [[-1, 0], [1, 0]], seed: 4 });
    const a = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await a.execute('CREATE TABLE t (x double) APPEND ONLY');
      await a.execute("CREATE MODEL m1 WITH (type = 'kmeans', k = 3, seed = 42) AS SELECT x FROM t");
      await a.execute("CREATE MODEL m2 WITH (type = 'kmeans', k = 3, seed = 42) AS SELECT x FROM t");
      await a.execute("CREATE MODEL m3 WITH (type = 'kmeans', k = 3, seed = 43) AS SELECT x FROM t");
      const c1 = await rows(a, 'SELECT x FROM m1 ORDER BY cluster');
      expect(await rows(a, 'SELECT x FROM m2 ORDER BY cluster')).toEqual(c1);
      expect(await rows(a, 'SELECT x FROM m3 ORDER BY cluster')).not.toEqual(c1);
    } finally {
      await a.close();
    }
  });
});

describe('streaming regression', () => {
  async function runRegression(opts: { type: 'linear_regression' | 'logistic_regression'; with: string; o: RefSgdOptions; d: number; initial?: number[]; truth: number[]; seed: number }) {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      const dims = Array.from({ length: opts.d }, (_, i) => `x${i}`);
      await e.execute(`CREATE TABLE samples (${dims.map((x) => `${x} double`).join(', ')}, y ${opts.o.logistic ? 'int' : 'double'}) APPEND ONLY`);
      await e.execute(`CREATE TABLE probe (id int, ${dims.map((x) => `${x} double`).join(', ')}) APPEND ONLY`);
      // The label is not the first column: features are the other columns, in order.
      await e.execute(`CREATE MODEL lr WITH (type = '${opts.type}', label = 'y', ${opts.with}) AS SELECT ${[dims[0], 'y', ...dims.slice(1)].join(', ')} FROM samples`);
      const proba = opts.o.logistic ? ', predict_proba(lr, ' + dims.join(', ') + ') AS p' : '';
      await e.execute(`CREATE MATERIALIZED VIEW scored AS SELECT id, predict(lr, ${dims.join(', ')}) AS yhat${proba} FROM probe`);
      const ref = new RefRegression(opts.d, opts.o, opts.initial);
      const r = rng(opts.seed);
      const expected: Value[][] = [];
      let id = 0;
      let skipped = 0;
      for (let batch = 0; batch < 8; batch++) {
        const n = 2 + Math.floor(r.next() * 60);
        const sample: { x: number[]; y: number | null }[] = [];
        for (let i = 0; i < n; i++) {
          const x = dims.map(() => r.normal() * 2);
          const lin = x.reduce((s, v, j) => s + v * opts.truth[j]!, opts.truth[opts.d] ?? 0);
          const y = opts.o.logistic ? (r.next() < 1 / (1 + Math.exp(-lin)) ? 1 : 0) : lin + r.normal() * 0.1;
          sample.push({ x, y: r.next() < 0.05 ? null : y });
        }
        await e.execute(`INSERT INTO samples VALUES ${sample.map((s) => `(${s.x.map(lit).join(', ')}, ${s.y === null ? 'NULL' : opts.o.logistic ? s.y : lit(s.y)})`).join(', ')}`);
        const probes = Array.from({ length: 4 }, () => dims.map(() => r.normal() * 2));
        await e.execute(`INSERT INTO probe VALUES ${probes.map((p) => `(${id++}, ${p.map(lit).join(', ')})`).join(', ')}`);
        for (const [i, p] of probes.entries()) {
          const m = ref.margin(p);
          const row: Value[] = [id - probes.length + i, opts.o.logistic ? (1 / (1 + Math.exp(-m)) > 0.5 ? 1 : 0) : m];
          if (opts.o.logistic) row.push(1 / (1 + Math.exp(-m)));
          expected.push(row);
        }
        await e.execute('FLUSH');
        const usable = sample.filter((s) => s.y !== null) as { x: number[]; y: number }[];
        skipped += n - usable.length;
        if (usable.length) ref.update(usable);
        const got = await weightsOf(e, 'lr');
        const names = [...dims, ...(opts.o.intercept ? ['intercept'] : [])];
        expect([...got.keys()].sort()).toEqual([...names].sort());
        expectClose(names.map((f) => got.get(f)!), ref.w, `batch ${batch} weights`);
      }
      const scored = await rows(e, `SELECT * FROM scored ORDER BY id`);
      expect(scored.length).toBe(expected.length);
      scored.forEach((row, i) => {
        expect(row[0]).toBe(expected[i]![0]);
        if (opts.o.logistic) {
          expect(row[1]).toBe(expected[i]![1]);
          expectClose([num(row[2]!)], [expected[i]![2] as number], `probability ${i}`);
        } else expectClose([num(row[1]!)], [expected[i]![1] as number], `prediction ${i}`);
      });
      const [m] = await rows(e, "SELECT batches, skipped_rows, error FROM sluice.models WHERE name = 'lr'");
      expect(m).toEqual([8n, BigInt(skipped), null]);
      return ref;
    } finally {
      await e.close();
    }
  }

  const base = { logistic: false, intercept: false, stepSize: 0.1, numIterations: 50, convergenceTol: 0.001, regParam: 0 };

  it('linear regression follows mini-batch SGD with the defaults (step 0.1, 50 iterations)', async () => {
    await runRegression({ type: 'linear_regression', with: "initial_weights = '[0,0,0]'", o: base, d: 3, initial: [0, 0, 0], truth: [2, -1, 0.5], seed: 11 });
  });

  it('linear regression with an intercept, reg_param, its own step, iterations and tolerance', async () => {
    const o = { ...base, intercept: true, stepSize: 0.05, numIterations: 20, convergenceTol: 0.0001, regParam: 0.1 };
    await runRegression({ type: 'linear_regression', with: 'intercept = true, step_size = 0.05, num_iterations = 20, convergence_tol = 0.0001, reg_param = 0.1', o, d: 2, truth: [1.5, -3, 4], seed: 12 });
  });

  it('logistic regression with an intercept: weights, predict and predict_proba', async () => {
    const o = { ...base, logistic: true, intercept: true, stepSize: 1.0 };
    await runRegression({ type: 'logistic_regression', with: 'intercept = true, step_size = 1.0', o, d: 2, truth: [2, -1, 0.5], seed: 13 });
  });

  it('stops early when the weights settle (convergence_tol)', async () => {
    const o = { ...base, stepSize: 0.5, convergenceTol: 0.05 };
    await runRegression({ type: 'linear_regression', with: 'step_size = 0.5, convergence_tol = 0.05', o, d: 1, truth: [3], seed: 14 });
  });
});

describe('models as relations and objects', () => {
  it('a view over a model follows it; DROP MODEL needs CASCADE with dependents; SHOW, DESCRIBE, EXPLAIN', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE pts (x double, y double) APPEND ONLY');
      await e.execute(`CREATE MODEL clusters WITH (type = 'kmeans', k = 2, initial_centers = '[[0,0],[10,10]]') AS SELECT x, y FROM pts`);
      await e.execute('CREATE MATERIALIZED VIEW heavy AS SELECT cluster, weight FROM clusters WHERE weight >= 2');
      expect(await rows(e, 'SELECT * FROM heavy')).toEqual([]);
      await e.execute('INSERT INTO pts VALUES (1, 1), (2, 2), (9, 9)');
      await e.execute('FLUSH');
      expect(await rows(e, 'SELECT * FROM heavy')).toEqual([[0, 2]]);
      await e.execute('INSERT INTO pts VALUES (11, 11)');
      await e.execute('FLUSH');
      expect(await rows(e, 'SELECT * FROM heavy ORDER BY cluster')).toEqual([[0, 2], [1, 2]]);
      expect(await rows(e, 'SHOW MODELS')).toEqual([['clusters']]);
      expect(await rows(e, 'SHOW MATERIALIZED VIEWS')).toEqual([['heavy']]);
      expect(await rows(e, 'DESCRIBE clusters')).toEqual([['cluster', 'integer'], ['weight', 'double precision'], ['x', 'double precision'], ['y', 'double precision']]);
      expect((await rows(e, "SELECT name FROM sluice.views")).map((r) => r[0])).toEqual(['heavy']);
      const plan = (await rows(e, "EXPLAIN CREATE MODEL m WITH (type = 'linear_regression', label = 'y') AS SELECT x, y FROM pts")).map((r) => r[0]).join('\n');
      expect(plan).toContain('ModelTrainExec: m [linear_regression label=y features=[x]');
      expect(plan).toContain('table params');
      await expectError(e, 'DROP MODEL clusters', '2BP01');
      await expectError(e, 'DROP MATERIALIZED VIEW clusters', '42P01');
      await e.execute('DROP MODEL clusters CASCADE');
      expect(await rows(e, 'SHOW MODELS')).toEqual([]);
      expect(await rows(e, 'SHOW MATERIALIZED VIEWS')).toEqual([]);
      await e.execute('DROP MODEL IF EXISTS clusters');
    } finally {
      await e.close();
    }
  });

  it('a model created over a table trains on its rows as one batch, however large', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE big (x double) APPEND ONLY');
      // More rows than one backfill part (64 K).
      await e.execute('INSERT INTO big SELECT (i % 10)::double FROM generate_series(1, 70000) AS g(i)');
      await e.execute("CREATE MODEL m WITH (type = 'kmeans', k = 1, initial_centers = '[[0]]') AS SELECT x FROM big");
      const [row] = await rows(e, "SELECT batches, points FROM sluice.models WHERE name = 'm'");
      expect(row).toEqual([1n, 70000n]);
      // One batch from weight 0: the center is the mean, 4.5.
      expect(await rows(e, 'SELECT weight, x FROM m')).toEqual([[70000, 4.5]]);
    } finally {
      await e.close();
    }
  });

  it('a view using predict depends on the model', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE s (x double, y double) APPEND ONLY');
      await e.execute("CREATE MODEL lin WITH (type = 'linear_regression', label = 'y') AS SELECT x, y FROM s");
      await e.execute('CREATE MATERIALIZED VIEW p AS SELECT x, predict(lin, x) AS yhat FROM s');
      await expectError(e, 'DROP MODEL lin', '2BP01');
      await e.execute('DROP MODEL lin CASCADE');
      expect(await rows(e, 'SHOW MATERIALIZED VIEWS')).toEqual([]);
    } finally {
      await e.close();
    }
  });

  it('bad input: SQLSTATE and position', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE pts (x double, y double, name varchar) APPEND ONLY');
      await e.execute('CREATE TABLE keyed (x double, y double)');
      await e.execute("CREATE MODEL km WITH (type = 'kmeans', k = 2, seed = 1) AS SELECT x, y FROM pts");
      await e.execute("CREATE MODEL lin WITH (type = 'linear_regression', label = 'y') AS SELECT x, y FROM pts");
      let sql = "CREATE MODEL m WITH (type = 'kmeans', k = 2, colour = 'red', seed = 1) AS SELECT x FROM pts";
      await expectError(e, sql, '22023', 'colour');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = 0, seed = 1) AS SELECT x FROM pts";
      await expectError(e, sql, '22023', 'k = 0');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = -3, seed = 1) AS SELECT x FROM pts";
      await expectError(e, sql, '22023', 'k = -3');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = 2, initial_centers = '[[1,2],[3]]') AS SELECT x, y FROM pts";
      await expectError(e, sql, '22023', 'initial_centers');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = 2, initial_centers = 'not json') AS SELECT x, y FROM pts";
      await expectError(e, sql, '22023', 'initial_centers');
      sql = "CREATE MODEL m WITH (type = 'svm') AS SELECT x FROM pts";
      await expectError(e, sql, '22023', 'type');
      sql = "CREATE MODEL m WITH (type = 'linear_regression', label = 'z') AS SELECT x, y FROM pts";
      await expectError(e, sql, '42703', 'label');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = 2, seed = 1) AS SELECT x, name FROM pts";
      await expectError(e, sql, '42804', 'name');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = 2, seed = 1) AS SELECT x, y FROM keyed";
      await expectError(e, sql, '0A000', 'SELECT');
      sql = "CREATE MODEL m WITH (type = 'kmeans', k = 2, seed = 1) AS SELECT count(*) AS n FROM pts";
      await expectError(e, sql, '0A000', 'SELECT');
      sql = 'CREATE MATERIALIZED VIEW v AS SELECT predict(km, x) FROM pts';
      await expectError(e, sql, '42883', 'predict');
      sql = 'CREATE MATERIALIZED VIEW v AS SELECT predict(km, x, name) FROM pts';
      await expectError(e, sql, '42883', 'name)');
      sql = 'CREATE MATERIALIZED VIEW v AS SELECT predict(nomodel, x) FROM pts';
      await expectError(e, sql, '42704', 'nomodel');
      sql = 'CREATE MATERIALIZED VIEW v AS SELECT predict(pts, x) FROM pts';
      await expectError(e, sql, '42704', 'pts,');
      sql = 'CREATE MATERIALIZED VIEW v AS SELECT predict_proba(lin, x) FROM pts';
      await expectError(e, sql, '42883', 'predict_proba');
      sql = 'SELECT x, predict(lin, x) FROM pts';
      await expectError(e, sql, '0A000', 'predict');
      sql = 'CREATE MODEL km WITH (type = \'kmeans\', k = 2, seed = 1) AS SELECT x FROM pts';
      await expectError(e, sql, '42710');
      expect(await rows(e, 'SHOW MODELS')).toEqual([['km'], ['lin']]);
    } finally {
      await e.close();
    }
  });

  it('NULL features predict NULL; a diverging model stops with an error in sluice.models, the engine goes on', async () => {
    const e = await createEngine({ autoStart: false, log: () => undefined });
    try {
      await e.execute('CREATE TABLE s (x double, y double) APPEND ONLY');
      await e.execute("CREATE MODEL wild WITH (type = 'linear_regression', label = 'y', step_size = 1e150, num_iterations = 5) AS SELECT x, y FROM s");
      await e.execute("CREATE MODEL calm WITH (type = 'linear_regression', label = 'y') AS SELECT x, y FROM s WHERE x IS NULL OR abs(x) < 1000");
      await e.execute('CREATE MATERIALIZED VIEW p AS SELECT x, predict(calm, x) AS yhat FROM s');
      await e.execute('INSERT INTO s VALUES (1e100, 1), (NULL, 2)');
      await e.execute('FLUSH');
      const [wild] = await rows(e, "SELECT batches, error FROM sluice.models WHERE name = 'wild'");
      expect(wild![0]).toBe(0n);
      expect(String(wild![1])).toMatch(/non-finite/);
      // Its parameters are the last good ones (the initial zeros).
      expect([...(await weightsOf(e, 'wild')).values()]).toEqual([0]);
      await e.execute('INSERT INTO s VALUES (1, 2)');
      await e.execute('FLUSH');
      const [calm] = await rows(e, "SELECT batches, skipped_rows, error FROM sluice.models WHERE name = 'calm'");
      // The first epoch had no usable row for it: not a batch.
      expect(calm).toEqual([1n, 1n, null]);
      expect(await rows(e, 'SELECT x, yhat FROM p WHERE x IS NULL')).toEqual([[null, null]]);
      expect((await rows(e, 'SELECT count(*) FROM p'))[0]![0]).toBe(3n);
    } finally {
      await e.close();
    }
  });
});

describe('durability', () => {
  const dir = tempDirEach('sluice-ml-');

  it('a model survives a restart on its data dir with identical parameters, and trains on', async () => {
    const opts = { dataDir: dir(), autoStart: false, log: () => undefined };
    let e = await createEngine(opts);
    const r = rng(21);
    const initial = [[0, 0], [5, 5]];
    const km = new RefKMeans(initial, 0.7, 'batches');
    const lr = new RefRegression(2, { logistic: true, intercept: true, stepSize: 1, numIterations: 50, convergenceTol: 0.001, regParam: 0 });
    const batch = async (eng: Engine) => {
      const pts = blobs(r, 20, [[1, 1], [6, 4]]) as number[][];
      const ys = pts.map((p) => (p[0]! + p[1]! > 6 ? 1 : 0));
      await eng.execute(`INSERT INTO pts VALUES ${pts.map((p, i) => `(${p.map(lit).join(', ')}, ${ys[i]})`).join(', ')}`);
      await eng.execute('FLUSH');
      km.update(pts);
      lr.update(pts.map((x, i) => ({ x, y: ys[i]! })));
    };
    try {
      await e.execute('CREATE TABLE pts (x double, y double, label int) APPEND ONLY');
      await e.execute(`CREATE MODEL km WITH (type = 'kmeans', k = 2, decay_factor = 0.7, initial_centers = '${JSON.stringify(initial)}') AS SELECT x, y FROM pts`);
      await e.execute("CREATE MODEL lg WITH (type = 'logistic_regression', label = 'label', intercept = true, step_size = 1.0) AS SELECT x, y, label FROM pts");
      for (let i = 0; i < 3; i++) await batch(e);
      // Only every third epoch writes operator state: the rest is replayed from the offsets log.
      await e.execute("SET checkpoint_interval = '3 epochs'");
      for (let i = 0; i < 2; i++) await batch(e);
      const before = { km: await rows(e, 'SELECT * FROM km ORDER BY cluster'), lg: await rows(e, 'SELECT * FROM lg ORDER BY feature'), m: await rows(e, 'SELECT name, batches, points, last_loss FROM sluice.models ORDER BY name') };
      await e.close();
      e = await createEngine(opts);
      expect(await rows(e, 'SELECT * FROM km ORDER BY cluster')).toEqual(before.km);
      expect(await rows(e, 'SELECT * FROM lg ORDER BY feature')).toEqual(before.lg);
      expect(await rows(e, 'SELECT name, batches, points, last_loss FROM sluice.models ORDER BY name')).toEqual(before.m);
      for (let i = 0; i < 2; i++) await batch(e);
      const got = await kmeansOf(e, 'km', ['x', 'y']);
      expectClose(got.weights, km.weights, 'weights');
      got.centers.forEach((c, j) => expectClose(c, km.centers[j]!, `center ${j}`));
      const w = await weightsOf(e, 'lg');
      expectClose([w.get('x')!, w.get('y')!, w.get('intercept')!], lr.w, 'logistic weights');
    } finally {
      await e.close();
    }
  });
});
