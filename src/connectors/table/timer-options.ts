/**
 * Duration options of table connectors that end up as Node timers: `refresh_interval` (how
 * often the engine reloads the table) and timeouts. Both are bounded by what a timer can wait.
 */
import type { OptionReader } from '../option-reader.js';

/** The longest interval a Node timer can wait (2³¹−1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Reads `refresh_interval` in milliseconds; `fallbackMicros` applies when it is absent, and
 * without one the result is null (load once).
 */
export function readRefreshMs(r: OptionReader, fallbackMicros?: bigint): number | null {
  const micros = r.duration('refresh_interval') ?? fallbackMicros;
  if (micros === undefined) return null;
  const ms = Number(micros / 1000n);
  // Node turns a longer delay into 1 ms, which would reload the table continuously.
  if (ms < 1 || ms > MAX_TIMER_MS) throw r.bad('refresh_interval', 'between 1 millisecond and 24 days');
  return ms;
}

/** Reads a timeout option (such as `connect_timeout`) in milliseconds, `fallbackMs` when absent. */
export function readTimeoutMs(r: OptionReader, key: string, fallbackMs: number): number {
  const micros = r.duration(key);
  if (micros === undefined) return fallbackMs;
  const ms = Number(micros / 1000n);
  if (ms < 1 || ms > MAX_TIMER_MS) throw r.bad(key, 'between 1 millisecond and 24 days');
  return ms;
}
