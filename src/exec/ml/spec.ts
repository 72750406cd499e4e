/**
 * A model's definition from CREATE MODEL's WITH options and its training query's columns:
 * checked once, with the position of the option at fault (22023) or of the column (42804).
 */
import { SluiceError } from '../../common/errors.js';
import { typeDisplayName, type Schema, type SqlType } from '../../common/types.js';
import type { Options } from '../../parser/ast.js';

export type ModelType = 'kmeans' | 'linear_regression' | 'logistic_regression';

export const MODEL_TYPES: readonly ModelType[] = ['kmeans', 'linear_regression', 'logistic_regression'];

interface SpecBase {
  readonly type: ModelType;
  /** The feature columns' names, in the query's order (the label excluded). */
  readonly features: readonly string[];
  /** Their indexes in the query's output. */
  readonly featureIdx: readonly number[];
}

export interface KMeansSpec extends SpecBase {
  readonly type: 'kmeans';
  readonly k: number;
  readonly decayFactor: number;
  readonly timeUnit: 'batches' | 'points';
  /** k × d, row-major; null with a seed. */
  readonly initialCenters: Float64Array | null;
  readonly seed: number | null;
}

export interface RegressionSpec extends SpecBase {
  readonly type: 'linear_regression' | 'logistic_regression';
  readonly label: string;
  readonly labelIdx: number;
  readonly stepSize: number;
  readonly numIterations: number;
  readonly convergenceTol: number;
  readonly regParam: number;
  readonly intercept: boolean;
  readonly initialWeights: Float64Array | null;
}

export type ModelSpec = KMeansSpec | RegressionSpec;

const KMEANS_OPTIONS = ['type', 'k', 'decay_factor', 'half_life', 'time_unit', 'initial_centers', 'seed'];
const REGRESSION_OPTIONS = ['type', 'label', 'step_size', 'num_iterations', 'convergence_tol', 'reg_param', 'intercept', 'initial_weights'];

const NUMERIC: readonly SqlType[] = ['int', 'bigint', 'double', 'numeric'];

/** Whether a column of type `t` can be a feature or a label (a number). */
export function isFeatureType(t: SqlType): boolean {
  return NUMERIC.includes(t) || t === 'null';
}

/** Reads the options of CREATE MODEL `name` over a query with output `schema`. */
export function modelSpec(name: string, options: Options, positions: Readonly<Record<string, number>>, schema: Schema, columnPos: (column: string) => number | undefined): ModelSpec {
  const at = (key: string) => positions[key];
  const bad = (key: string, msg: string, hint?: string) => new SluiceError('invalid_parameter', msg, { position: at(key), hint });
  const type = options.type;
  if (type === undefined) throw new SluiceError('invalid_parameter', `model "${name}" needs a type`, { hint: `Add WITH (type = '${MODEL_TYPES.join("' | '")}', …).` });
  if (!(MODEL_TYPES as readonly string[]).includes(type)) throw bad('type', `unknown model type '${type}'`, `Model types are '${MODEL_TYPES.join("', '")}'.`);
  const known = type === 'kmeans' ? KMEANS_OPTIONS : REGRESSION_OPTIONS;
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw bad(key, `unknown option "${key}" for a ${type} model`, `Valid options are: ${known.join(', ')}.`);
  }
  const num = (key: string, def: number, check: (v: number) => boolean, expected: string): number => {
    const raw = options[key];
    if (raw === undefined) return def;
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || !check(v)) throw bad(key, `option ${key} must be ${expected}, not '${raw}'`);
    return v;
  };
  const checkColumn = (col: string, idx: number) => {
    const t = schema[idx]!.type;
    if (!isFeatureType(t)) {
      throw new SluiceError('datatype_mismatch', `column "${col}" of model "${name}" is of type ${typeDisplayName(t)}; features and labels must be numbers`, {
        position: columnPos(col),
        hint: 'Cast it in the training query (x::double), or leave it out.',
      });
    }
  };
  if (type === 'kmeans') {
    const features = schema.map((f) => f.name);
    const featureIdx = schema.map((_, i) => i);
    featureIdx.forEach((i) => checkColumn(features[i]!, i));
    if (features.length === 0) throw new SluiceError('invalid_parameter', `model "${name}" needs at least one feature column`);
    if (options.k === undefined) throw new SluiceError('invalid_parameter', `kmeans model "${name}" needs option k (the number of clusters)`);
    const k = num('k', 0, (v) => Number.isInteger(v) && v > 0 && v <= 100_000, 'a positive integer');
    if (options.decay_factor !== undefined && options.half_life !== undefined) throw bad('half_life', 'options decay_factor and half_life exclude each other');
    let decayFactor = num('decay_factor', 1, (v) => v >= 0 && v <= 1, 'a number between 0 and 1');
    if (options.half_life !== undefined) decayFactor = Math.exp(Math.log(0.5) / num('half_life', 1, (v) => v > 0, 'a positive number'));
    const timeUnit = (options.time_unit ?? 'batches').toLowerCase();
    if (timeUnit !== 'batches' && timeUnit !== 'points') throw bad('time_unit', `option time_unit must be 'batches' or 'points', not '${options.time_unit}'`);
    const d = features.length;
    let initialCenters: Float64Array | null = null;
    let seed: number | null = null;
    if (options.initial_centers !== undefined) {
      if (options.seed !== undefined) throw bad('seed', 'options initial_centers and seed exclude each other');
      const rows = jsonNumbers(options.initial_centers, 2, () => bad('initial_centers', `option initial_centers must be a JSON array of ${k} arrays of ${d} numbers, not '${options.initial_centers}'`));
      if (rows.length !== k || rows.some((r) => (r as number[]).length !== d)) {
        throw bad('initial_centers', `option initial_centers must hold ${k} centers of ${d} coordinates (the query's ${d} columns), not ${rows.length} of ${(rows as number[][]).map((r) => r.length).join('/') || 0}`);
      }
      initialCenters = Float64Array.from((rows as number[][]).flat());
    } else if (options.seed !== undefined) {
      seed = num('seed', 0, (v) => Number.isInteger(v), 'an integer');
    } else {
      throw new SluiceError('invalid_parameter', `kmeans model "${name}" needs initial_centers or seed`, { hint: "Add initial_centers = '[[…], …]' (k centers) or seed = 42 for random centers." });
    }
    return { type: 'kmeans', features, featureIdx, k, decayFactor, timeUnit, initialCenters, seed };
  }
  const label = options.label;
  if (label === undefined) throw new SluiceError('invalid_parameter', `${type} model "${name}" needs option label (the label column)`);
  const labelIdx = schema.findIndex((f) => f.name === label);
  if (labelIdx < 0) throw new SluiceError('undefined_column', `label column "${label}" is not a column of the training query`, { position: at('label'), hint: `Its columns are: ${schema.map((f) => f.name).join(', ')}.` });
  const featureIdx = schema.map((_, i) => i).filter((i) => i !== labelIdx);
  const features = featureIdx.map((i) => schema[i]!.name);
  checkColumn(label, labelIdx);
  featureIdx.forEach((i) => checkColumn(schema[i]!.name, i));
  if (features.length === 0) throw new SluiceError('invalid_parameter', `model "${name}" needs at least one feature column besides the label`);
  const stepSize = num('step_size', 0.1, (v) => v > 0, 'a positive number');
  const numIterations = num('num_iterations', 50, (v) => Number.isInteger(v) && v > 0 && v <= 1_000_000, 'a positive integer');
  const convergenceTol = num('convergence_tol', 0.001, (v) => v >= 0, 'a number ≥ 0');
  const regParam = num('reg_param', 0, (v) => v >= 0, 'a number ≥ 0');
  const rawIntercept = (options.intercept ?? 'false').toLowerCase();
  if (!['true', 'false', 'on', 'off', '1', '0', 't', 'f'].includes(rawIntercept)) throw bad('intercept', `option intercept must be true or false, not '${options.intercept}'`);
  const intercept = ['true', 'on', '1', 't'].includes(rawIntercept);
  let initialWeights: Float64Array | null = null;
  if (options.initial_weights !== undefined) {
    const w = jsonNumbers(options.initial_weights, 1, () => bad('initial_weights', `option initial_weights must be a JSON array of ${features.length} numbers, not '${options.initial_weights}'`));
    if (w.length !== features.length) throw bad('initial_weights', `option initial_weights must hold ${features.length} weights (one per feature: ${features.join(', ')}), not ${w.length}`);
    initialWeights = Float64Array.from(w as number[]);
  }
  return { type: type as RegressionSpec['type'], features, featureIdx, label, labelIdx, stepSize, numIterations, convergenceTol, regParam, intercept, initialWeights };
}

/** A JSON array of numbers (depth 1) or of arrays of numbers (depth 2), or the error `fail` makes. */
function jsonNumbers(text: string, depth: 1 | 2, fail: () => SluiceError): (number | number[])[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw fail();
  }
  const isNums = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (depth === 1 ? !isNums(v) : !(Array.isArray(v) && v.every(isNums))) throw fail();
  return v as (number | number[])[];
}
