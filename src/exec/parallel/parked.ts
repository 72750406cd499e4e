/**
 * Parked parts: rows a shard worker made for a source and kept, so that a spread scan can hand
 * them back to that worker by id instead of sending them.
 *
 * At parallelism p a datagen poll is made in p parts at once, part s in worker s (pool.ts
 * runTask). The worker keeps its part and transfers a copy to the engine's thread, which keeps
 * and reads the copy (its views, the source's retained epochs for ad-hoc SELECTs). A spread scan
 * that deals part s whole to instance s — which runs in worker s — sends only the task id and the
 * scan's columns. When the epoch has been read, the engine tells each worker which parts to drop
 * (release).
 *
 * This replaced parts in SharedArrayBuffers (session 27). In Node 20 (V8 11.3) a
 * SharedArrayBuffer whose handle lived through two collections of a thread's heap was not freed
 * by later ordinary collections, only by the all-available-garbage kind a heap snapshot runs
 * (measured: a thread keeping each part for three rounds grew by every part's size; a round, or
 * ordinary transferred buffers, did not). The engine's thread held every part for the ad-hoc
 * SELECTs and collected several times in a long epoch, so at parallelism 2 every part stayed
 * allocated until V8 gave up on it: 1.4-2.1 GB RSS, and each new part in fresh memory the kernel
 * zeroed (~40 % of the workers' CPU). Ordinary buffers owned by one thread are freed as usual.
 */
import type { Batch } from '../../common/column.js';
import { shardPool } from './pool.js';

interface Parked {
  readonly shard: number;
  readonly id: number;
}

const parked = new Map<Batch, Parked>();
let handedBack = 0;

/** Records that worker `shard` keeps the rows of `b` (the copy it transferred) under task `id`. */
export function park(b: Batch, shard: number, id: number): void {
  parked.set(b, { shard, id });
}

/** Where the rows of `b` are kept, if a worker keeps them. */
export function parkedOf(b: Batch): Parked | undefined {
  return parked.size === 0 ? undefined : parked.get(b);
}

/** The epoch that read `batches` is over: the workers drop the rows they keep for them. */
export function release(batches: Iterable<readonly Batch[]>): void {
  if (parked.size === 0) return;
  const byShard = new Map<number, number[]>();
  for (const bs of batches) {
    for (const b of bs) {
      const p = parked.get(b);
      if (p === undefined) continue;
      parked.delete(b);
      let ids = byShard.get(p.shard);
      if (ids === undefined) byShard.set(p.shard, (ids = []));
      ids.push(p.id);
    }
  }
  for (const [shard, ids] of byShard) shardPool().post(shard, { t: 'unpark', pid: 0, ids });
}

/** Counts a spread part handed back to the worker that keeps it. */
export function noteHandedBack(): void {
  handedBack++;
}

/** Parts recorded and not released, and parts handed back so far (for tests). */
export function parkedFigures(): { readonly kept: number; readonly handedBack: number } {
  return { kept: parked.size, handedBack };
}
