/**
 * An independent implementation of issue 13's update rules, written from the issue's text
 * (arrays of points, no typed arrays, no code shared with src/exec/ml), for the ML tests to
 * compare the engine's models with after every batch.
 */

export class RefKMeans {
  centers: number[][];
  weights: number[];

  constructor(
    centers: number[][],
    private readonly decay: number,
    private readonly timeUnit: 'batches' | 'points',
  ) {
    this.centers = centers.map((c) => [...c]);
    this.weights = centers.map(() => 0);
  }

  closest(p: readonly number[]): number {
    let best = -1;
    let bestDist = 0;
    this.centers.forEach((c, j) => {
      const dist = c.reduce((s, v, i) => s + (p[i]! - v) ** 2, 0);
      if (best < 0 || dist < bestDist) {
        best = j;
        bestDist = dist;
      }
    });
    return best;
  }

  /** One batch of points (rows with a null are the caller's to leave out). */
  update(points: readonly (readonly number[])[]): void {
    const k = this.centers.length;
    const m = new Array<number>(k).fill(0);
    const s = this.centers.map((c) => c.map(() => 0));
    for (const p of points) {
      const j = this.closest(p);
      m[j]!++;
      p.forEach((v, i) => (s[j]![i]! += v));
    }
    const d = this.timeUnit === 'batches' ? this.decay : this.decay ** points.length;
    for (let j = 0; j < k; j++) {
      this.weights[j] = this.weights[j]! * d;
      if (m[j]! > 0) {
        const lambda = m[j]! / Math.max(this.weights[j]! + m[j]!, 1e-16);
        this.weights[j] = this.weights[j]! + m[j]!;
        this.centers[j] = this.centers[j]!.map((c, i) => (1 - lambda) * c + lambda * (s[j]![i]! / m[j]!));
      }
    }
    const max = Math.max(...this.weights);
    const min = Math.min(...this.weights);
    if (min < 1e-8 * max) {
      const big = this.weights.indexOf(max);
      const small = this.weights.indexOf(min);
      const w = (max + min) / 2;
      this.weights[big] = w;
      this.weights[small] = w;
      const c = this.centers[big]!;
      this.centers[big] = c.map((v) => v + 1e-14 * Math.max(Math.abs(v), 1));
      this.centers[small] = c.map((v) => v - 1e-14 * Math.max(Math.abs(v), 1));
    }
  }
}

export interface RefSgdOptions {
  readonly logistic: boolean;
  readonly intercept: boolean;
  readonly stepSize: number;
  readonly numIterations: number;
  readonly convergenceTol: number;
  readonly regParam: number;
}

export class RefRegression {
  /** The features' weights, then the intercept when fitted. */
  w: number[];

  constructor(
    features: number,
    private readonly o: RefSgdOptions,
    initial?: readonly number[],
  ) {
    this.w = initial ? [...initial] : new Array<number>(features).fill(0);
    if (o.intercept) this.w.push(0);
  }

  private features(x: readonly number[]): number[] {
    return this.o.intercept ? [...x, 1] : [...x];
  }

  margin(x: readonly number[]): number {
    return this.features(x).reduce((s, v, i) => s + v * this.w[i]!, 0);
  }

  update(rows: readonly { x: readonly number[]; y: number }[]): void {
    const n = rows.length;
    for (let i = 1; i <= this.o.numIterations; i++) {
      const g = this.w.map(() => 0);
      for (const r of rows) {
        const f = this.features(r.x);
        const dot = f.reduce((s, v, j) => s + v * this.w[j]!, 0);
        const err = this.o.logistic ? 1 / (1 + Math.exp(-dot)) - r.y : dot - r.y;
        f.forEach((v, j) => (g[j]! += err * v));
      }
      const step = this.o.stepSize / Math.sqrt(i);
      const next = this.w.map((w, j) => w - step * (g[j]! / n + this.o.regParam * w));
      const diff = Math.sqrt(next.reduce((s, v, j) => s + (v - this.w[j]!) ** 2, 0));
      const norm = Math.sqrt(next.reduce((s, v) => s + v * v, 0));
      this.w = next;
      if (i >= 2 && diff < this.o.convergenceTol * Math.max(norm, 1)) break;
    }
  }
}

/** Whether a and b agree within 1e-9 relative (1e-12 absolute next to zero). */
export function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(1e-9 * Math.max(Math.abs(a), Math.abs(b)), 1e-12);
}

/** A small deterministic generator (an LCG) and a normal sample from it. */
export function rng(seed: number): { next(): number; normal(): number } {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  return { next, normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()) };
}
