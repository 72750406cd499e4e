/**
 * Shared twins of source batches, for one epoch.
 *
 * A shard worker that makes a source's rows (datagen's parts) builds them in shared memory, so
 * a spread scan can deal a part to any worker without a copy, and also copies them into ordinary
 * buffers that it transfers to the engine's thread. The engine keeps and reads the ordinary copy
 * (its views, the source's retained epochs for ad-hoc SELECTs); the shared batch is its twin,
 * registered here until the epoch ends, and used only to send the part on.
 *
 * Why not keep the shared batch: in Node 20 (V8 11.3) a SharedArrayBuffer whose handle lived
 * through two collections of a thread's heap was not freed by later ordinary collections, only
 * by the all-available-garbage kind a heap snapshot runs (measured: a thread keeping each part
 * for three rounds grew by every part's size, a round's part or an ordinary buffer did not).
 * The engine kept each epoch's rows for ad-hoc SELECTs, so at parallelism 2 every datagen part
 * stayed allocated until V8 gave up on it: 1.4-1.7 GB RSS, and each new part in fresh memory
 * that the kernel zeroed, ~40 % of the workers' CPU. Twins are dropped when the epoch ends
 * (clearTwins), and the engine's thread then collects its young generation (young-gc.ts), so no
 * shared handle of the engine's outlives a collection.
 */
import type { Batch, Column } from './column.js';
import { noteColumnBytes } from './young-gc.js';

const twins = new Map<Batch, Batch>();

/** Registers `shared` (in shared memory) as the twin of `local` (the same rows in ordinary buffers) until clearTwins. */
export function setTwin(local: Batch, shared: Batch): void {
  twins.set(local, shared);
  noteColumnBytes(shared.columns.reduce((n, c) => n + columnBytes(c), shared.weights?.byteLength ?? 0));
}

function columnBytes(c: Column): number {
  const values = (c.values as { byteLength?: number }).byteLength ?? 0;
  return values + (c.offsets?.byteLength ?? 0) + (c.validity?.byteLength ?? 0) + (c.child ? columnBytes(c.child) : 0);
}

/** The shared twin of `b`, if it has one this epoch. */
export function twinOf(b: Batch): Batch | undefined {
  return twins.size === 0 ? undefined : twins.get(b);
}

/** Drops every twin (the epoch that read them is over). */
export function clearTwins(): void {
  twins.clear();
}
