/**
 * JSON scalar functions: `->` (json_get, the value as JSON text) and `->>` (json_get_text, the
 * value as plain text), by object key or array index. The document is parsed per row.
 */
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import type { ScalarFn } from '../../planner/expr.js';
import { rowWiseFunction, type ScalarFunction } from './scalar-function.js';

function jsonGet(doc: string, key: string, asText: boolean): Value {
  let v: unknown;
  try {
    v = JSON.parse(doc);
  } catch {
    throw new SluiceError('invalid_input', `invalid input syntax for type json: "${doc.slice(0, 40)}"`);
  }
  let r: unknown;
  if (Array.isArray(v)) {
    const idx = Number(key);
    r = Number.isInteger(idx) ? v[idx < 0 ? v.length + idx : idx] : undefined;
  } else if (v !== null && typeof v === 'object') r = (v as Record<string, unknown>)[key];
  if (r === undefined) return null;
  if (asText) return r === null ? null : typeof r === 'string' ? r : JSON.stringify(r);
  return JSON.stringify(r);
}
/** The JSON functions' implementations. */
export const JSON_FUNCTIONS = {
  json_get: rowWiseFunction(([d, key]) => jsonGet(d as string, key as string, false)),
  json_get_text: rowWiseFunction(([d, key]) => jsonGet(d as string, key as string, true)),
} satisfies Partial<Record<ScalarFn, ScalarFunction>>;
