/**
 * JSON scalar functions: `->` (json_get, the value as JSON text) and `->>` (json_get_text, the
 * value as plain text), by object key or array index. The document is parsed per row.
 */
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { cast } from '../../planner/coercion.js';
import { byName, rowWiseFunction, type ScalarDefinition } from './scalar-function.js';
import { fixed, type ScalarBinder } from './signature.js';

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
// (text, text) → text; the json operators accept an integer index too, normalised to text.
const bindJsonGet: ScalarBinder = (args, site) => {
  const typed = fixed(['varchar', 'varchar'], 'varchar');
  return typed(args[1] && args[1].type === 'int' ? [args[0]!, cast(args[1], 'varchar')] : args, site);
};

export const JSON_FUNCTIONS = {
  json_get: byName(['json_get'], bindJsonGet, rowWiseFunction(([d, key]) => jsonGet(d as string, key as string, false))),
  json_get_text: byName(['json_get_text'], bindJsonGet, rowWiseFunction(([d, key]) => jsonGet(d as string, key as string, true))),
} satisfies Record<string, ScalarDefinition>;
