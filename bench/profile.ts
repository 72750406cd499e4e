/**
 * SLUICE_BENCH_PROFILE=DIR for the benchmarks: a V8 CPU profile of a case's measured phase only,
 * written as DIR/NAME.cpuprofile (Chrome DevTools or speedscope read it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Starts the profiler when SLUICE_BENCH_PROFILE is set; the returned function stops it and writes the profile (its path to `written`). */
export async function startProfile(written?: (file: string) => void): Promise<((name: string) => Promise<void>) | null> {
  const dir = process.env.SLUICE_BENCH_PROFILE;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    written?.(file);
  };
}
