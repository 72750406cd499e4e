/**
 * SLUICE_BENCH_PROFILE=DIR for the benchmarks: a V8 CPU profile of a case's measured phase only,
 * written as DIR/NAME.cpuprofile (Chrome DevTools or speedscope read it).
 *
 * SLUICE_BENCH_PERF_CTL=FIFO: `perf record` limited to the measured phase. The V8 profile puts
 * time spent in the kernel (page faults) and in V8's helper threads (concurrent marking,
 * compilation) on whatever JS frame is on top, or nowhere; perf sees all of it. Run
 *   mkfifo /tmp/ctl; SLUICE_BENCH_PERF_CTL=/tmp/ctl perf record -k 1 -D -1 --control fifo:/tmp/ctl -g \
 *     -o out.data -- bin/sluice-env node --perf-prof --interpreted-frames-native-stack --import tsx bench/run.ts CASE
 *   perf inject --jit -i out.data -o out.jit.data   (then perf report/script on out.jit.data)
 * and the case writes `enable` to the FIFO as each measured run starts and `disable` as it ends.
 * (--perf-prof writes jitdump files that follow code as V8 moves it; --perf-basic-prof's map
 * names moved code after whatever first occupied its address.) bench/files.ts and bench/kafka.ts
 * run each case in a child process: pass the node flags in NODE_OPTIONS there.
 */
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';

/** Starts the profiler when SLUICE_BENCH_PROFILE is set; the returned function stops it and writes the profile (its path to `written`). */
export async function startProfile(written?: (file: string) => void): Promise<((name: string) => Promise<void>) | null> {
  const ctl = process.env.SLUICE_BENCH_PERF_CTL;
  if (ctl) {
    perfControl(ctl, 'enable');
    return async () => perfControl(ctl, 'disable');
  }
  const heapDir = process.env.SLUICE_BENCH_HEAP_PROFILE;
  if (heapDir) return startHeapProfile(heapDir, written);
  const dir = process.env.SLUICE_BENCH_PROFILE;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    finish(session, join(dir, `${name}.cpuprofile`), profile, written);
  };
}

/** Writes a profile to `file` (its directory made as needed) and ends the inspector session. */
function finish(session: Session, file: string, profile: unknown, written?: (file: string) => void): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
  written?.(file);
}

/** Writes a command to perf's control FIFO (blocks until perf has it open, as perf opens it at its start). */
function perfControl(fifo: string, command: 'enable' | 'disable'): void {
  const fd = openSync(fifo, 'w');
  try {
    writeSync(fd, `${command}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * SLUICE_BENCH_HEAP_PROFILE=DIR: V8's sampling heap profile of the measured phase, counting the
 * objects a major GC collected (those that lived long enough to be promoted: what old-space
 * garbage collections are spent on) beside those still live at its end; DIR/NAME.heapprofile.
 */
async function startHeapProfile(dir: string, written?: (file: string) => void): Promise<(name: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
  return async (name) => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    finish(session, join(dir, `${name}.heapprofile`), profile, written);
  };
}
