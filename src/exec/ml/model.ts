/**
 * A streaming model at run time (issue 13): its live parameters, trained batch by batch by the
 * ModelTrainExec operator at the root of its pipeline, and the parameters `predict` serves,
 * which are the live ones as of the end of the previous epoch (`beginEpoch` copies them), so a
 * prediction in epoch n uses the model as trained through epoch n − 1 whatever the order of the
 * views, and a replayed epoch predicts the same.
 *
 *   training query pipeline ─► ModelTrainExec ─► (retract old rows, insert new) ─► model store
 *                                   │ state tables: params, counters (checkpointed like a view's)
 *                                   └─ live ──beginEpoch──► serving ◄── predict(model, …) kernels
 *
 * The model's rows are a relation: k-means `(cluster, weight, <feature>…)`, regression
 * `(feature, weight)` with an `intercept` row when fitted.
 */
import { batchFromRows, getValue, isValid, type Batch, type Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Schema, Value } from '../../common/types.js';
import type { ModelRef } from '../../planner/expr.js';
import type { Collector, Operator, OperatorContext } from '../operator.js';
import { rowStateTable, type StateTable } from '../state/state-table.js';
import { kmeansStep, randomCenters, sgdStep, type KMeansParams, type SgdSettings } from './algorithms.js';
import type { KMeansSpec, ModelSpec, RegressionSpec } from './spec.js';

/** The columns of a model's rows. */
export function modelSchema(spec: ModelSpec): Schema {
  if (spec.type === 'kmeans') return [{ name: 'cluster', type: 'int' }, { name: 'weight', type: 'double' }, ...spec.features.map((name) => ({ name, type: 'double' as const }))];
  return [{ name: 'feature', type: 'varchar' }, { name: 'weight', type: 'double' }];
}

/** Feature values of the usable rows of some batches, packed row-major, and the labels. */
export interface Packed {
  readonly x: Float64Array;
  readonly y: Float64Array | null;
  readonly n: number;
  /** Rows left out: a NULL feature or label (or a logistic label other than 0/1). */
  readonly skipped: number;
}

/** A column's values as doubles (a typed copy only for int and bigint storage). */
function asDoubles(c: Column): Float64Array | Int32Array | null {
  if (c.values instanceof Float64Array || c.values instanceof Int32Array) return c.values;
  return null;
}

/**
 * Packs columns `featureIdx` (and `labelIdx`) of `batches` into a row-major matrix, skipping rows
 * with a NULL in them; with `binaryLabel`, rows whose label is not 0 or 1 are skipped too.
 */
export function pack(batches: readonly Batch[], featureIdx: readonly number[], labelIdx: number | null, binaryLabel = false): Packed {
  const d = featureIdx.length;
  let total = 0;
  for (const b of batches) total += b.length;
  const x = new Float64Array(total * d);
  const y = labelIdx === null ? null : new Float64Array(total);
  let n = 0;
  let skipped = 0;
  for (const b of batches) {
    const cols = featureIdx.map((i) => b.columns[i]!);
    const label = labelIdx === null ? null : b.columns[labelIdx]!;
    const vals = cols.map(asDoubles);
    const labelVals = label ? asDoubles(label) : null;
    // Only the columns that have NULLs are checked, row by row against their bitmaps.
    const nullable = [...cols, ...(label ? [label] : [])].filter((c) => c.validity !== null);
    for (let i = 0; i < b.length; i++) {
      let usable = true;
      for (let c = 0; c < nullable.length && usable; c++) usable = isValid(nullable[c]!, i);
      if (!usable) {
        skipped++;
        continue;
      }
      if (label !== null) {
        const v = labelVals ? labelVals[i]! : Number(getValue(label, i));
        if (binaryLabel && v !== 0 && v !== 1) {
          skipped++;
          continue;
        }
        y![n] = v;
      }
      const base = n * d;
      for (let j = 0; j < d; j++) {
        const a = vals[j];
        x[base + j] = a ? a[i]! : Number(getValue(cols[j]!, i));
      }
      n++;
    }
  }
  return { x, y, n, skipped };
}

/** A model's parameters and counters. */
export class ModelState implements ModelRef {
  readonly type: ModelSpec['type'];
  readonly features: number;
  /** k-means: centers (k × d) and weights; regression: weights (d, then the intercept). */
  readonly centers: Float64Array;
  readonly weights: Float64Array;
  /** What predict reads: the live parameters as of the end of the last epoch. */
  servingCenters: Float64Array;
  servingWeights: Float64Array;
  batches = 0;
  points = 0;
  skipped = 0;
  lastLoss: number | null = null;

  constructor(
    readonly name: string,
    readonly spec: ModelSpec,
  ) {
    this.type = spec.type;
    const d = spec.features.length;
    this.features = d;
    if (spec.type === 'kmeans') {
      this.centers = spec.initialCenters ? spec.initialCenters.slice() : randomCenters(spec.k, d, spec.seed ?? 0);
      this.weights = new Float64Array(spec.k);
    } else {
      this.centers = new Float64Array(0);
      this.weights = new Float64Array(d + (spec.intercept ? 1 : 0));
      if (spec.initialWeights) this.weights.set(spec.initialWeights);
    }
    this.servingCenters = this.centers.slice();
    this.servingWeights = this.weights.slice();
  }

  get intercept(): boolean {
    return this.spec.type !== 'kmeans' && this.spec.intercept;
  }

  get k(): number {
    return this.spec.type === 'kmeans' ? this.spec.k : 0;
  }

  /** Predictions of the next epoch use the parameters as they are now. */
  beginEpoch(): void {
    this.servingCenters.set(this.centers);
    this.servingWeights.set(this.weights);
  }

  /** The model's rows, all with weight `w` (+1 insert, −1 retract). */
  rows(w: 1 | -1): Batch {
    const rows: Value[][] = [];
    if (this.spec.type === 'kmeans') {
      const d = this.features;
      for (let c = 0; c < this.spec.k; c++) rows.push([c, this.weights[c]!, ...Array.from(this.centers.subarray(c * d, (c + 1) * d))]);
    } else {
      this.spec.features.forEach((f, j) => rows.push([f, this.weights[j]!]));
      if (this.spec.intercept) rows.push(['intercept', this.weights[this.features]!]);
    }
    const schema = modelSchema(this.spec);
    return batchFromRows(schema.map((f) => f.type), rows, rows.map(() => w));
  }

  /**
   * Trains on one batch (the epoch's new rows of the training query). Parameters change only
   * when every one of them stays finite; otherwise 22003 and the model keeps its last ones.
   * Returns false when the batch had no usable row (the model is unchanged).
   */
  train(batches: readonly Batch[]): boolean {
    const spec = this.spec;
    const p = pack(batches, spec.featureIdx, spec.type === 'kmeans' ? null : spec.labelIdx, spec.type === 'logistic_regression');
    this.skipped += p.skipped;
    if (p.n === 0) return false;
    const centers = this.centers.slice();
    const weights = this.weights.slice();
    let loss: number;
    if (spec.type === 'kmeans') {
      const params: KMeansParams = { k: spec.k, d: this.features, centers, weights };
      loss = kmeansStep(params, p.x, p.n, spec.decayFactor, spec.timeUnit);
    } else {
      loss = sgdStep(weights, p.x, p.y!, p.n, this.features, sgdSettings(spec));
    }
    const bad = [centers, weights].some((a) => a.some((v) => !Number.isFinite(v)));
    if (bad) {
      throw new SluiceError('numeric_out_of_range', `model "${this.name}" stopped: training on batch ${this.batches + 1} produced a non-finite parameter (NaN or infinity)`, {
        hint: spec.type === 'kmeans' ? 'Check the input for huge or non-finite values.' : 'Lower step_size, scale the features, or add reg_param; then drop and recreate the model.',
      });
    }
    this.centers.set(centers);
    this.weights.set(weights);
    this.batches++;
    this.points += p.n;
    this.lastLoss = loss;
    return true;
  }

  /** The model's state tables: its parameters and its counters. */
  stateTables(): StateTable[] {
    const d = this.features;
    const kmeans = this.spec.type === 'kmeans';
    const paramSchema: Schema = kmeans
      ? [{ name: 'cluster', type: 'int' }, { name: 'weight', type: 'double' }, ...Array.from({ length: d }, (_, j) => ({ name: `c${j}`, type: 'double' as const }))]
      : [{ name: 'index', type: 'int' }, { name: 'weight', type: 'double' }];
    const params = rowStateTable({ name: 'params', schema: paramSchema, key: [0] }, {
      readRows: () => {
        const out: Value[][] = [];
        for (let i = 0; i < this.weights.length; i++) out.push(kmeans ? [i, this.weights[i]!, ...Array.from(this.centers.subarray(i * d, (i + 1) * d))] : [i, this.weights[i]!]);
        return out;
      },
      loadRows: (rows) => {
        if (rows.length !== this.weights.length) throw new SluiceError('internal', `model "${this.name}": checkpoint holds ${rows.length} parameter rows, ${this.weights.length} expected`);
        for (const r of rows) {
          const i = r[0] as number;
          this.weights[i] = r[1] as number;
          if (kmeans) for (let j = 0; j < d; j++) this.centers[i * d + j] = r[2 + j] as number;
        }
        this.beginEpoch();
      },
      count: () => this.weights.length,
    });
    const counters = rowStateTable({ name: 'counters', schema: [{ name: 'batches', type: 'bigint' }, { name: 'points', type: 'bigint' }, { name: 'skipped', type: 'bigint' }, { name: 'last_loss', type: 'double' }], key: [] }, {
      readRows: () => [[BigInt(this.batches), BigInt(this.points), BigInt(this.skipped), this.lastLoss]],
      loadRows: (rows) => {
        const r = rows[0];
        if (!r) return;
        this.batches = Number(r[0]);
        this.points = Number(r[1]);
        this.skipped = Number(r[2]);
        this.lastLoss = r[3] === null ? null : Number(r[3]);
      },
      count: () => 1,
    });
    return [params, counters];
  }
}

export function sgdSettings(spec: RegressionSpec): SgdSettings {
  return {
    logistic: spec.type === 'logistic_regression', intercept: spec.intercept, stepSize: spec.stepSize,
    numIterations: spec.numIterations, convergenceTol: spec.convergenceTol, regParam: spec.regParam,
  };
}

/** A k-means spec's rule in words, for EXPLAIN. */
function kmeansNote(s: KMeansSpec): string {
  return `k=${s.k} decay_factor=${s.decayFactor} time_unit=${s.timeUnit}`;
}

/** The model's settings in one line, for EXPLAIN. */
export function modelNote(spec: ModelSpec): string {
  if (spec.type === 'kmeans') return `kmeans ${kmeansNote(spec)} features=[${spec.features.join(', ')}]`;
  return `${spec.type} label=${spec.label} features=[${spec.features.join(', ')}] step_size=${spec.stepSize} num_iterations=${spec.numIterations} convergence_tol=${spec.convergenceTol} reg_param=${spec.regParam} intercept=${spec.intercept}`;
}

/**
 * The root of a model's pipeline: gathers the epoch's new rows of the training query, trains
 * on them at the end of the epoch, and emits the change of the model's rows.
 */
export class ModelTrainOp implements Operator {
  readonly name = 'ModelTrainExec';
  readonly state: readonly StateTable[];
  private pending: Batch[] = [];

  constructor(
    readonly id: string,
    private readonly model: ModelState,
  ) {
    this.state = model.stateTables();
  }

  processBatch(_input: number, batch: Batch, _ctx: OperatorContext, _out: Collector): void {
    if (batch.length === 0) return;
    if (batch.weights && batch.weights.some((w) => w !== 1)) {
      // The planner admits only append-only queries; a retraction here is a bug, not user error.
      throw new SluiceError('internal', `model "${this.model.name}" received a retraction from its training query`);
    }
    this.pending.push(batch);
  }

  endEpoch(_ctx: OperatorContext, out: Collector): void {
    const batches = this.pending;
    this.pending = [];
    if (!batches.length) return;
    const before = this.model.rows(-1);
    if (!this.model.train(batches)) return;
    out(before);
    out(this.model.rows(1));
  }
}
