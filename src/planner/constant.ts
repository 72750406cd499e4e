/** Constant folding of casts over literals, with the executor's own conversion rules. */
import { castValue } from '../common/values.js';
import type { SqlType, Value } from '../common/types.js';
import { UTC, type TimeZone } from '../common/time-zone.js';

/**
 * The TimeZone the query being bound folds zone-dependent constants in (a timestamptz literal
 * without offset, a timestamp literal compared with a timestamptz). Binding is synchronous, so
 * one module-level zone, set around it by withPlanningZone, is the binder's own.
 */
let planningZone: TimeZone = UTC;

/** Runs `bind` with `zone` as the zone constants are folded in. */
export function withPlanningZone<T>(zone: TimeZone, bind: () => T): T {
  const outer = planningZone;
  planningZone = zone;
  try {
    return bind();
  } finally {
    planningZone = outer;
  }
}

export function castConstant(v: Value, from: SqlType, to: SqlType): Value {
  return castValue(v, from, to, planningZone);
}
