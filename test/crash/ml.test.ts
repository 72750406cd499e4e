/**
 * Models survive kill -9: the real server (`sluice serve --data-dir D`) trains a k-means and a
 * linear regression model on a table, one INSERT per batch and one FLUSH per epoch, and is
 * SIGKILLed during or right after some FLUSHes, then restarted on the same data dir. Epochs run
 * only on FLUSH (the batch interval is an hour), and after a restart the first FLUSH runs the
 * batch a kill may have cut short, so every batch is one epoch whether or not a kill hit it.
 * At the end each model equals the test's independent implementation fed every batch exactly
 * once (within 1e-9 relative), and sluice.models counts every batch once.
 *
 * SLUICE_ML_KILLS sets the number of kills (default 3).
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tempDirEach } from '../helpers.js';
import { close, RefKMeans, RefRegression, rng } from '../ml-reference.js';
import { ServerProcess } from './server-process.js';

const KILLS = Number(process.env.SLUICE_ML_KILLS ?? 3);
const ROUNDS = Math.max(8, KILLS * 3);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9 of the server while models train', () => {
  const dir = tempDirEach('sluice-ml-crash-');

  it(`keeps every model equal to the rules fed each batch once over ${KILLS} kills`, async () => {
    const data = dir();
    const start = async (): Promise<{ server: ServerProcess; c: pg.Client }> => {
      const server = await ServerProcess.start(data, ['--batch-interval', '3600000']);
      const c = await server.client();
      // Operator state every other epoch: recovery replays the epoch after it from the log.
      await c.query("SET checkpoint_interval = '2 epochs'");
      return { server, c };
    };
    let { server, c } = await start();
    const initial = [[0, 0], [5, 5], [10, 0]];
    await c.query('CREATE TABLE pts (x DOUBLE PRECISION, y DOUBLE PRECISION, z DOUBLE PRECISION) APPEND ONLY');
    await c.query(`CREATE MODEL km WITH (type = 'kmeans', k = 3, decay_factor = 0.8, initial_centers = '${JSON.stringify(initial)}') AS SELECT x, y FROM pts`);
    await c.query("CREATE MODEL lin WITH (type = 'linear_regression', label = 'z', intercept = true, step_size = 0.05) AS SELECT x, y, z FROM pts");
    const km = new RefKMeans(initial, 0.8, 'batches');
    const lin = new RefRegression(2, { logistic: false, intercept: true, stepSize: 0.05, numIterations: 50, convergenceTol: 0.001, regParam: 0 });
    const r = rng(99);
    const centers = [[1, 1], [6, 5], [9, 1]];
    // Kills spread over the rounds, never in the first.
    const killAt = new Set(Array.from({ length: KILLS }, (_, i) => 1 + Math.floor(((i + 0.5) * (ROUNDS - 1)) / KILLS)));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const pts = Array.from({ length: 10 + Math.floor(r.next() * 30) }, () => {
          const c0 = centers[Math.floor(r.next() * centers.length)]!;
          const x = c0[0]! + r.normal();
          const y = c0[1]! + r.normal();
          return [x, y, 0.7 * x - 0.3 * y + 2 + r.normal() * 0.1];
        });
        await c.query(`INSERT INTO pts VALUES ${pts.map((p) => `(${p.join(', ')})`).join(', ')}`);
        km.update(pts.map((p) => [p[0]!, p[1]!]));
        lin.update(pts.map((p) => ({ x: [p[0]!, p[1]!], y: p[2]! })));
        if (!killAt.has(round)) {
          await c.query('FLUSH');
          continue;
        }
        // The kill lands during the FLUSH or just after it.
        const flushing = c.query('FLUSH').catch(() => undefined);
        await sleep(Math.floor(r.next() * 40));
        await server.kill();
        await flushing;
        ({ server, c } = await start());
        // Runs the cut-short batch if its epoch did not commit (else an epoch with no rows).
        await c.query('FLUSH');
      }
      const kmRows = (await c.query('SELECT cluster, weight, x, y FROM km ORDER BY cluster')).rows as { weight: number; x: number; y: number }[];
      kmRows.forEach((row, j) => {
        for (const [got, want, what] of [[row.weight, km.weights[j]!, 'weight'], [row.x, km.centers[j]![0]!, 'x'], [row.y, km.centers[j]![1]!, 'y']] as const) {
          if (!close(got, want)) expect.fail(`km cluster ${j} ${what}: engine ${got}, reference ${want}`);
        }
      });
      const linRows = new Map(((await c.query('SELECT feature, weight FROM lin')).rows as { feature: string; weight: number }[]).map((x) => [x.feature, x.weight]));
      ['x', 'y', 'intercept'].forEach((f, j) => {
        if (!close(linRows.get(f)!, lin.w[j]!)) expect.fail(`lin ${f}: engine ${linRows.get(f)}, reference ${lin.w[j]}`);
      });
      const models = (await c.query('SELECT name, batches, error FROM sluice.models ORDER BY name')).rows as { name: string; batches: string; error: string | null }[];
      expect(models.map((m) => [m.name, Number(m.batches), m.error])).toEqual([['km', ROUNDS, null], ['lin', ROUNDS, null]]);
      expect(server.stderr.join('')).not.toMatch(/stopped/);
    } finally {
      await c.end().catch(() => undefined);
      await server.stop();
    }
  });
});
