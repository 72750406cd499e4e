/**
 * The training and prediction arithmetic of streaming models (issue 13), over packed row-major
 * Float64Arrays: `x[i * d + j]` is feature j of point i. No engine types here, so the
 * benchmark and the model operator share exactly this code.
 *
 * - k-means (Spark's StreamingKMeans rules): assign each point to its closest center (squared
 *   Euclidean, ties to the lowest index), discount every weight, move each center that got
 *   points towards their mean by λ = m / (w + m), then split the largest cluster if the
 *   smallest one died (weight < 1e-8 × the largest).
 * - linear and logistic regression (mini-batch SGD with fraction 1): `num_iterations` full
 *   gradient steps over the batch with step size step/√i, optional L2, early stop on a small
 *   relative change of the weights from the second iteration on.
 */
import { seededRandom } from '../../common/random.js';


/** k-means parameters: `centers` is k × d row-major, `weights` has k entries. */
export interface KMeansParams {
  readonly k: number;
  readonly d: number;
  readonly centers: Float64Array;
  readonly weights: Float64Array;
}

/** One k-means batch. Returns the batch's mean squared distance to the assigned (old) centers. */
export function kmeansStep(p: KMeansParams, x: Float64Array, n: number, decayFactor: number, timeUnit: 'batches' | 'points'): number {
  const { k, d, centers, weights } = p;
  const counts = new Float64Array(k);
  const sums = new Float64Array(k * d);
  let cost = 0;
  for (let i = 0; i < n; i++) {
    const base = i * d;
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const cb = c * d;
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const diff = x[base + j]! - centers[cb + j]!;
        dist += diff * diff;
      }
      if (dist < bestD) {
        bestD = dist;
        best = c;
      }
    }
    counts[best]!++;
    const sb = best * d;
    for (let j = 0; j < d; j++) sums[sb + j]! += x[base + j]!;
    cost += bestD;
  }
  const discount = timeUnit === 'points' ? Math.pow(decayFactor, n) : decayFactor;
  for (let c = 0; c < k; c++) {
    weights[c]! *= discount;
    const m = counts[c]!;
    if (m === 0) continue;
    const lambda = m / Math.max(weights[c]! + m, 1e-16);
    weights[c]! += m;
    const cb = c * d;
    for (let j = 0; j < d; j++) centers[cb + j] = (1 - lambda) * centers[cb + j]! + lambda * (sums[cb + j]! / m);
  }
  splitDying(p);
  return n > 0 ? cost / n : 0;
}

/** The dying-cluster rule: the smallest cluster (weight < 1e-8 × the largest) takes half the largest. */
function splitDying(p: KMeansParams): void {
  const { k, d, centers, weights } = p;
  let largest = 0;
  let smallest = 0;
  for (let c = 1; c < k; c++) {
    if (weights[c]! > weights[largest]!) largest = c;
    if (weights[c]! < weights[smallest]!) smallest = c;
  }
  const wMax = weights[largest]!;
  const wMin = weights[smallest]!;
  if (!(wMin < 1e-8 * wMax)) return;
  const w = (wMax + wMin) / 2;
  weights[largest] = w;
  weights[smallest] = w;
  for (let j = 0; j < d; j++) {
    const v = centers[largest * d + j]!;
    const eps = 1e-14 * Math.max(Math.abs(v), 1);
    centers[largest * d + j] = v + eps;
    centers[smallest * d + j] = v - eps;
  }
}

/** The closest center of each point (ties to the lowest index); a NaN row (a NULL feature) gets -1. */
export function kmeansPredict(p: { readonly k: number; readonly d: number; readonly centers: Float64Array }, x: Float64Array, n: number, out: Int32Array): void {
  const { k, d, centers } = p;
  for (let i = 0; i < n; i++) {
    const base = i * d;
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let dist = 0;
      for (let j = 0; j < d; j++) {
        const diff = x[base + j]! - centers[c * d + j]!;
        dist += diff * diff;
      }
      if (dist < bestD) {
        bestD = dist;
        best = c;
      }
    }
    out[i] = bestD === Infinity ? -1 : best;
  }
}

/** Settings of the SGD of a regression model. */
export interface SgdSettings {
  readonly logistic: boolean;
  readonly intercept: boolean;
  readonly stepSize: number;
  readonly numIterations: number;
  readonly convergenceTol: number;
  readonly regParam: number;
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** log(1 + e^t) without overflow. */
function log1pExp(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

/**
 * One regression batch: `w` (d features, then the intercept when fitted) is updated in place.
 * `x` holds d features per point, `y` the labels. Returns the batch's loss at the trained
 * weights (mean squared error / 2, or mean log loss, plus reg/2 · ‖w‖²): one more pass.
 */
export function sgdStep(w: Float64Array, x: Float64Array, y: Float64Array, n: number, d: number, s: SgdSettings): number {
  const dim = w.length;
  const g = new Float64Array(dim);
  const next = new Float64Array(dim);
  const logistic = s.logistic;
  for (let it = 1; it <= s.numIterations; it++) {
    g.fill(0);
    const b = s.intercept ? w[d]! : 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const base = i * d;
      let dot = b;
      for (let j = 0; j < d; j++) dot += w[j]! * x[base + j]!;
      const err = (logistic ? 1 / (1 + Math.exp(-dot)) : dot) - y[i]!;
      for (let j = 0; j < d; j++) g[j]! += err * x[base + j]!;
      gb += err;
    }
    if (s.intercept) g[d] = gb;
    const step = s.stepSize / Math.sqrt(it);
    let diff2 = 0;
    let new2 = 0;
    for (let j = 0; j < dim; j++) {
      const v = w[j]! - step * (g[j]! / n + s.regParam * w[j]!);
      next[j] = v;
      diff2 += (v - w[j]!) * (v - w[j]!);
      new2 += v * v;
    }
    w.set(next);
    if (it >= 2 && Math.sqrt(diff2) < s.convergenceTol * Math.max(Math.sqrt(new2), 1)) break;
  }
  return regressionLoss(w, x, y, n, d, s);
}

/** The mean loss of a batch at weights `w`, plus reg/2 · ‖w‖². */
export function regressionLoss(w: Float64Array, x: Float64Array, y: Float64Array, n: number, d: number, s: SgdSettings): number {
  const b = s.intercept ? w[d]! : 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let dot = b;
    for (let j = 0; j < d; j++) dot += w[j]! * x[i * d + j]!;
    if (s.logistic) sum += y[i]! > 0 ? log1pExp(-dot) : log1pExp(dot);
    else sum += ((dot - y[i]!) * (dot - y[i]!)) / 2;
  }
  let norm2 = 0;
  for (let j = 0; j < w.length; j++) norm2 += w[j]! * w[j]!;
  return sum / n + (s.regParam / 2) * norm2;
}

/** w·x (+ intercept) of each point: the prediction of linear regression, the margin of logistic. */
export function margins(w: Float64Array, intercept: boolean, x: Float64Array, n: number, d: number, out: Float64Array): void {
  const b = intercept ? w[d]! : 0;
  for (let i = 0; i < n; i++) {
    let dot = b;
    for (let j = 0; j < d; j++) dot += w[j]! * x[i * d + j]!;
    out[i] = dot;
  }
}


/** k × d standard normal centers from `seed` (Box–Muller over seededRandom). */
export function randomCenters(k: number, d: number, seed: number): Float64Array {
  const rnd = seededRandom(seed);
  const out = new Float64Array(k * d);
  for (let i = 0; i < out.length; i++) {
    const u = 1 - rnd();
    const v = rnd();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}
