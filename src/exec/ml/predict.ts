/**
 * The kernel of predict(model, f1, …, fd) and predict_proba(model, …): the features (bound as
 * doubles) are packed row-major and scored against the parameters the model serves for this
 * epoch (those as of the end of the previous one). A row with a NULL feature predicts NULL.
 *
 *   kmeans               predict → int: the closest center (ties to the lowest index)
 *   linear_regression    predict → double: w·x (+ intercept)
 *   logistic_regression  predict → int: 1 when sigmoid(w·x) > 0.5, else 0; predict_proba → double
 */
import { newBitmap, setBit, isValid, type Column } from '../../common/column.js';
import type { SqlType } from '../../common/types.js';
import type { ModelRef } from '../../planner/expr.js';
import type { Kernel } from '../eval.js';
import { kmeansPredict, margins, sigmoid } from './algorithms.js';

export function compilePredict(model: ModelRef, proba: boolean, args: readonly Kernel[], type: SqlType): Kernel {
  const d = args.length;
  return (b, ctx) => {
    const n = b.length;
    const cols = args.map((k) => k(b, ctx));
    const x = new Float64Array(n * d);
    let validity: Uint8Array | null = null;
    for (let j = 0; j < d; j++) {
      const c = cols[j]!;
      const v = c.values as Float64Array;
      for (let i = 0; i < n; i++) x[i * d + j] = v[i]!;
      if (c.validity) {
        validity ??= newBitmap(n, true);
        for (let i = 0; i < n; i++) if (!isValid(c, i)) setBit(validity, i, false);
      }
    }
    if (model.type === 'kmeans') {
      const out = new Int32Array(n);
      kmeansPredict({ k: model.k, d, centers: model.servingCenters }, x, n, out);
      return { type, length: n, values: out, validity } satisfies Column;
    }
    const m = new Float64Array(n);
    margins(model.servingWeights, model.intercept, x, n, d, m);
    if (model.type === 'linear_regression') return { type, length: n, values: m, validity };
    if (proba) {
      for (let i = 0; i < n; i++) m[i] = sigmoid(m[i]!);
      return { type, length: n, values: m, validity };
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = sigmoid(m[i]!) > 0.5 ? 1 : 0;
    return { type, length: n, values: out, validity };
  };
}
