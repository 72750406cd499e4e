/**
 * Prompt young-generation collections for threads that pass columns in shared memory.
 *
 * A SharedArrayBuffer is freed only when every thread (V8 isolate) that held it has collected
 * its handle. A shard worker's columns are read by the engine's thread and another worker too,
 * and a worker allocates little on its own JavaScript heap, so its scavenges come seldom: in
 * `count_sum_1k_keys_p2` a worker scavenged about every 500 ms, the buffers of ~10 epochs stayed
 * alive (1.4-1.7 GB peak RSS against 0.4 GB at parallelism 1), and the memory glibc handed out
 * for the next epochs was fresh, so the kernel zeroed it on the first touch: ~40 % of the
 * workers' CPU. A scavenge costs ~1 ms when little of the young generation lives, and it drops
 * the handles of the columns that died with the epoch.
 *
 * Each thread counts the column bytes it made or was handed (noteColumnBytes) and collects its
 * young generation when they pass SLUICE_YOUNG_GC_MB (default 16) at the end of a unit of work
 * (collectIfDue). SLUICE_YOUNG_GC_MB=0 turns it off. The collection needs V8's `gc` function:
 * `--expose-gc` is set at run time and the function taken from a fresh context, which is the
 * only one that sees the flag; if that fails, nothing is collected early.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options: { type: 'minor' | 'major' }) => void;

const thresholdBytes = (() => {
  const text = process.env.SLUICE_YOUNG_GC_MB;
  const mb = text === undefined || text === '' ? 16 : Number(text);
  return Number.isFinite(mb) && mb > 0 ? mb * 1024 * 1024 : 0;
})();

let gcFunction: GcFunction | null | undefined;
let pending = 0;
let collections = 0;

function gcFn(): GcFunction | null {
  if (gcFunction !== undefined) return gcFunction;
  try {
    const existing = (globalThis as { gc?: unknown }).gc;
    if (typeof existing === 'function') {
      gcFunction = existing as GcFunction;
    } else {
      setFlagsFromString('--expose-gc');
      const fn: unknown = runInNewContext('typeof gc === "function" ? gc : null');
      gcFunction = typeof fn === 'function' ? (fn as GcFunction) : null;
    }
  } catch {
    gcFunction = null;
  }
  return gcFunction;
}

/** Counts `bytes` of columns this thread made or received (their handles die with the epoch). */
export function noteColumnBytes(bytes: number): void {
  if (thresholdBytes > 0) pending += bytes;
}

/** Collects this thread's young generation if the bytes noted since the last one reach the threshold. */
export function collectIfDue(): void {
  if (thresholdBytes === 0 || pending < thresholdBytes) return;
  pending = 0;
  const gc = gcFn();
  if (gc === null) return;
  gc({ type: 'minor' });
  collections++;
}

/** Young collections this thread ran through collectIfDue (for tests). */
export function youngCollections(): number {
  return collections;
}

