/**
 * Warm, repeated runs for the benchmarks (bench/run.ts, bench/files.ts, bench/kafka.ts).
 *
 * A case runs once to warm up (JIT compilation of its hot paths, V8's heap and the C allocator
 * grown to the workload, as in a server that has been running), then SLUICE_BENCH_RUNS times
 * (default 3); the run with the median events per CPU-second is the one reported, with each run's
 * figure in `runs` and the warm-up's in `firstRun`. On the shared VM these figures are measured on,
 * one run moves by ±25 % from the next, so a single run says little; issue 15's targets and its
 * side-by-side comparison with Spark and Flink are of warm runs. SLUICE_BENCH_COLD=1 runs a case
 * once, without a warm-up, and reports that run.
 */

/**
 * The V8 flags a benchmark's child process (a case run alone, bench/files.ts, bench/kafka.ts,
 * bench/receivers.ts) is started with: this process's heap settings from bin/sluice-env, which
 * node takes only on its command line.
 */
export const CHILD_NODE_FLAGS: readonly string[] = process.execArgv.filter((a) => a.startsWith('--initial-old-space-size='));

/** Whether a case runs once to warm up before the runs that are measured. */
export const WARM_UP = process.env.SLUICE_BENCH_COLD !== '1';
/** Measured runs per case (the median is reported): SLUICE_BENCH_RUNS, a whole number ≥ 1, else 3. */
export const RUNS = WARM_UP ? runsSetting(process.env.SLUICE_BENCH_RUNS) : 1;

function runsSetting(text: string | undefined): number {
  const n = Number(text ?? 3);
  return Number.isInteger(n) && n >= 1 ? n : 3;
}

/** What is kept of a warm-up run. */
export interface FirstRun {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsPerCpuSecond: number;
}

interface Measured {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsPerCpuSecond: number;
}

/** The run with the median events per CPU-second (the lower middle one of an even count). */
export function medianRun<T extends Measured>(runs: readonly T[]): T {
  if (runs.length === 0) throw new Error('medianRun: no runs');
  const sorted = [...runs].sort((a, b) => a.eventsPerCpuSecond - b.eventsPerCpuSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * Runs `run` to warm up (`warmUp` true) unless SLUICE_BENCH_COLD=1, then RUNS times; returns the
 * median run with every run's events per CPU-second and the warm-up's figures. `profile` is true
 * for the first measured run only: a profile (bench/profile.ts) is of that run.
 */
export async function warmRuns<T extends Measured>(run: (warmUp: boolean, profile: boolean) => Promise<T>): Promise<T & { runs?: number[]; firstRun?: FirstRun }> {
  const first = WARM_UP ? await run(true, false) : null;
  const measured: T[] = [];
  for (let k = 0; k < RUNS; k++) measured.push(await run(false, k === 0));
  const median = medianRun(measured);
  return {
    ...median,
    ...(RUNS > 1 ? { runs: measured.map((m) => m.eventsPerCpuSecond) } : {}),
    ...(first ? { firstRun: { cpuSeconds: first.cpuSeconds, wallSeconds: first.wallSeconds, eventsPerCpuSecond: first.eventsPerCpuSecond } } : {}),
  };
}
