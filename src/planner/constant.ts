/** Constant folding of casts over literals, with the executor's own conversion rules. */
import { castValue } from '../common/values.js';
import type { SqlType, Value } from '../common/types.js';

export function castConstant(v: Value, from: SqlType, to: SqlType): Value {
  return castValue(v, from, to);
}
