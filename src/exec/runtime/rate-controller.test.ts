import { describe, expect, it } from 'vitest';
import { epochLimit, PidRateEstimator } from './rate-controller.js';
import { flowControlRun } from './flow-control.js';
import { createEngine } from './engine.js';

/**
 * A simulated engine of `capacity` rows/s under `offered` rows/s, driven by the estimator;
 * `slowdown(i)` multiplies epoch i's cost per row (a loaded machine), `target` is
 * backpressure_target (0: Spark's estimator alone).
 */
function simulate(capacity: number, offered: number, epochs: number, intervalMs = 500, slowdown: (i: number) => number = () => 1, target = 0.8) {
  const pid = new PidRateEstimator(() => intervalMs, undefined, () => target);
  let rate: number | null = null;
  let backlog = 0;
  let delay = 0;
  let t = 0;
  const trace: { rows: number; processing: number; delay: number }[] = [];
  for (let i = 0; i < epochs; i++) {
    backlog += (offered * intervalMs) / 1000;
    const limit = epochLimit(rate ?? 100_000, null, intervalMs);
    const rows = Math.min(backlog, limit);
    backlog -= rows;
    const processing = ((rows / capacity) * 1000) * slowdown(i);
    t += Math.max(intervalMs, processing + delay);
    const r = pid.compute(t, rows, processing, delay, rows >= limit);
    if (r !== null) rate = r;
    trace.push({ rows, processing, delay });
    delay = Math.max(0, delay + processing - intervalMs);
  }
  return { rate, trace };
}

describe('PID rate estimator (Spark 1.5 defaults)', () => {
  it('settles the rate at the capacity of an overloaded engine and drains the scheduling delay', () => {
    const { rate, trace } = simulate(200_000, 20_000_000, 60);
    expect(rate).toBeGreaterThan(150_000);
    expect(rate).toBeLessThan(210_000);
    const last = trace.slice(-10);
    for (const e of last) {
      expect(e.processing).toBeLessThan(1.5 * 500);
      expect(e.delay).toBeLessThan(500);
    }
  });

  it('computes Spark\'s update: first epoch seeds, then rate − kp·error − ki·historicalError, floored at 100 rows/s', () => {
    const pid = new PidRateEstimator(() => 1000, undefined, () => 0); // no cost cap: Spark's estimator alone
    expect(pid.compute(1000, 1000, 500, 0)).toBeNull(); // seeds latestRate = 2000 rows/s
    // processingRate 1000/s, error = 2000 − 1000 = 1000, historical = 200 ms × 1000 / 1000 = 200
    expect(pid.compute(2000, 1000, 1000, 200)).toBeCloseTo(2000 - 1000 - 0.2 * 200);
    expect(pid.compute(3000, 10, 1000, 5000)).toBe(100);
    // A light epoch whose read the limit did not cut tells nothing.
    expect(pid.compute(4000, 10, 1, 0)).toBeNull();
  });

  it('caps the rate at target / the highest cost per row of the last 5 fed epochs', () => {
    const pid = new PidRateEstimator(() => 1000, undefined, () => 0.8);
    expect(pid.compute(1000, 1000, 500, 0)).toBeNull(); // cost 0.5 ms/row
    // Spark's update gives 960 rows/s (above); the cap: 0.8 × 1000 / max(0.5, 1.0) = 800.
    expect(pid.compute(2000, 1000, 1000, 200)).toBeCloseTo(800);
    // A cheap epoch (0.25 ms/row, 4 000 rows/s): the recent worst cost (1.0) still caps it at 800.
    expect(pid.compute(3000, 1000, 250, 0)).toBeCloseTo(800);
    expect(pid.costCap).toBeCloseTo(800);
    // Four more cheap epochs push the expensive ones out of the window: 0.8 / 0.25 ms = 3 200.
    pid.compute(4000, 1000, 250, 0);
    pid.compute(5000, 1000, 250, 0);
    expect(pid.compute(6000, 1000, 250, 0)).toBeCloseTo(800);
    expect(pid.compute(7000, 1000, 250, 0)).toBeCloseTo(3200);
  });

  it('with the cost cap, epochs on a noisy machine stay under 1.5 × the interval; Spark\'s estimator alone goes past it', () => {
    // Cost per row varies from epoch to epoch (deterministic noise: ×0.7 … ×1.3, other processes
    // and collections; 200 K rows/s at ×1). Both runs see the same noise. Spark's update takes
    // the last epoch's processing rate, so a ×1.5 step past 1.5 × the interval; the cap aims at
    // 0.8 × the interval at the worst recent cost, so it would take a step of ×1.875 over that.
    let seed = 12345;
    const noise = Array.from({ length: 200 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 0.7 + 0.6 * (seed / 2 ** 31);
    });
    const over = (target: number) => simulate(200_000, 20_000_000, 200, 500, (i) => noise[i]!, target).trace.slice(20).filter((e) => e.processing > 750).length;
    const capped = over(0.8);
    const spark = over(0);
    console.log(`epochs over 1.5 × the interval in 180: cost cap ${capped}, Spark's estimator alone ${spark}`);
    expect(capped).toBe(0);
    expect(spark).toBeGreaterThan(0);
  });

  it('limits an epoch to the smaller of max_rate and the estimated rate times the interval', () => {
    expect(epochLimit(null, null, 500)).toBe(Infinity);
    expect(epochLimit(1000, null, 500)).toBe(500);
    expect(epochLimit(1000, 400, 500)).toBe(200);
    expect(epochLimit(null, 0.5, 500)).toBe(1);
  });
});

describe('rate limits and backpressure in the engine', () => {
  it('honours max_rate on a source per epoch and shows it in stats', async () => {
    const e = await createEngine({ dataDir: null, autoStart: false, batchIntervalMs: 500, log: () => undefined });
    try {
      await e.execute(`CREATE SOURCE g (id BIGINT) WITH (connector = 'datagen', rows_per_second = 1000000, max_rate = 2000, fields.id.kind = 'sequence', fields.id.start = 1);
        CREATE MATERIALIZED VIEW c AS SELECT count(*) AS n FROM g;`);
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 3; i++) await e.execute('FLUSH');
      expect(e.metrics().map((m) => m.rowsIn.g).filter((n) => n !== undefined)).toEqual([1000, 1000, 1000]);
      expect(e.stats().sources.g!.rate).toBe(2000);
      await expect(e.execute(`CREATE SOURCE h (id BIGINT) WITH (connector = 'datagen', max_rate = 0)`)).rejects.toThrow(/option "max_rate" of connector 'datagen' must be a number greater than 0/);
      await expect(e.execute('SET backpressure = maybe')).rejects.toThrow(/requires a Boolean value/);
      await e.execute('SET backpressure = off');
      expect(await e.execute('SHOW backpressure')).toMatchObject([{ rows: [['off']] }]);
      expect(await e.execute('SHOW backpressure_target')).toMatchObject([{ rows: [['0.8']] }]);
      await expect(e.execute('SET backpressure_target = 1.5')).rejects.toThrow(/backpressure_target must be a share of the batch interval between 0 and 1/);
      await e.execute('SET backpressure_target = 0');
      expect(await e.execute('SHOW backpressure_target')).toMatchObject([{ rows: [['0']] }]);
    } finally {
      await e.close();
    }
  });

  it('keeps a 20 M rows/s datagen under a 500 ms interval with backpressure on (shortened run; scripts/flow-control.ts runs a minute)', async () => {
    const on = await flowControlRun(true, Number(process.env.SLUICE_FLOW_SECONDS ?? 20));
    console.log(`flow control, backpressure on: ${JSON.stringify(on)}`);
    expect(on.medianDelayMs).toBeLessThan(500);
    // The controller aims processing time at the interval; on this shared 2-core machine single
    // epochs spike (GC, other processes), so the median is asserted and the spread reported.
    const sorted = [...on.processingMs].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(750);
    expect(on.rate).not.toBeNull();
    expect(on.heapMb.end).toBeLessThan(on.heapMb.early * 2 + 100);
  }, 120_000);
});
