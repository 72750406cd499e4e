/**
 * The random numbers of datagen: a counter-based generator. Value k of a stream is a hash of
 * (seed, column, stream, row index k) rather than the next state of a sequential PRNG, so any
 * row range can be generated on its own and a recorded range `{from, to}` regenerates exactly
 * the same rows. The mixer is lowbias32 (Chris Wellons' hash-prospector), a 32-bit bijection
 * with low avalanche bias, applied twice with two keys so different seeds give unrelated
 * streams rather than permutations of one another.
 */

/** lowbias32: mixes 32 bits into 32 well-distributed bits (a bijection). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const TWO32 = 4294967296;

/** One stream of 32-bit random words indexed by row, with a reusable output buffer. */
export class HashStream {
  private readonly k1: number;
  private readonly k2: number;
  private buf = new Uint32Array(0);

  constructor(seed: bigint, column: number, stream: number) {
    const lo = Number(BigInt.asUintN(32, seed));
    const hi = Number(BigInt.asUintN(32, seed >> 32n));
    const base = mix32((lo ^ mix32((hi + 0x9e3779b9) >>> 0)) >>> 0);
    this.k1 = mix32((base + Math.imul(column + 1, 0x85ebca6b)) >>> 0);
    this.k2 = mix32((this.k1 + Math.imul(stream + 1, 0xc2b2ae35)) >>> 0);
  }

  /** The words of rows [from, from + n): a view of a buffer that the next call overwrites. */
  fill(from: number, n: number): Uint32Array {
    if (this.buf.length < n) this.buf = new Uint32Array(Math.max(n, this.buf.length * 2));
    const out = this.buf;
    const k1 = this.k1;
    let lo = from % TWO32;
    let hi = Math.floor(from / TWO32);
    let k2 = mix32((this.k2 + hi) >>> 0);
    for (let k = 0; k < n; k++) {
      // Two lowbias32 rounds, inlined: this loop feeds every random column.
      let x = lo ^ k1;
      x ^= x >>> 16;
      x = Math.imul(x, 0x7feb352d);
      x ^= x >>> 15;
      x = Math.imul(x, 0x846ca68b);
      x ^= x >>> 16;
      x ^= k2;
      x ^= x >>> 16;
      x = Math.imul(x, 0x7feb352d);
      x ^= x >>> 15;
      x = Math.imul(x, 0x846ca68b);
      x ^= x >>> 16;
      out[k] = x;
      if (++lo === TWO32) {
        lo = 0;
        hi++;
        k2 = mix32((this.k2 + hi) >>> 0);
      }
    }
    return out.subarray(0, n);
  }
}
