/**
 * Arrays built into shared memory. While a shard worker makes datagen's rows for a source, it
 * runs the generators under buildShared: the arrays go into SharedArrayBuffers, so a spread scan
 * deals the rows to the workers that run the views' scans without a copy. The engine's thread
 * keeps an ordinary copy and holds the shared rows only for the epoch (src/common/shared-twin.ts).
 */

let sharing = false;

/** Runs `f` with newTypedArray (and the builders that ask sharingOutput) allocating shared memory. */
export function buildShared<T>(f: () => T): T {
  sharing = true;
  try {
    return f();
  } finally {
    sharing = false;
  }
}

/** Whether buildShared is running. */
export function sharingOutput(): boolean {
  return sharing;
}

type TypedArrayOf<T> = { new (n: number): T; new (b: SharedArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };

/** A zeroed array of n elements: in a SharedArrayBuffer while buildShared runs. */
export function newTypedArray<T>(C: TypedArrayOf<T>, n: number): T {
  return sharing ? new C(new SharedArrayBuffer(n * C.BYTES_PER_ELEMENT)) : new C(n);
}
