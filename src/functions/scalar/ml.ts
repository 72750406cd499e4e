/**
 * predict(model, …) and predict_proba(model, …): bound by the binder from a call whose first
 * argument names a model (it carries the model on the call), compiled by exec/ml/predict.ts.
 * The registry entries name the functions; a call without its model cannot be built.
 */
import { SluiceError } from '../../common/errors.js';
import { syntaxFunctions, type ScalarFunction } from './scalar-function.js';

const needsModel: ScalarFunction = () => {
  throw new SluiceError('internal', 'a predict call was compiled without its model');
};

export const ML_FUNCTIONS = syntaxFunctions({ predict: needsModel, predict_proba: needsModel });
