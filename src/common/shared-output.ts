/**
 * Arrays built into shared memory. While a shard worker makes rows for a source (datagen's
 * generators, a piece of a file being decoded), it runs the building under buildShared: the
 * arrays go into SharedArrayBuffers, so the rows reach the engine's thread, and the workers that
 * run the views' scans, without a copy, and stay readable on every thread (a transferred buffer
 * would leave the engine's copy empty, and other views and the retained epochs read the same rows).
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
