/**
 * Set-returning functions (table functions that expand one row into many): what the binder
 * knows of each (names, how a call is typed) and its expansion, a pure function from the
 * argument values of one input row to the values it returns. The ProjectSet operator
 * (src/exec/project-set.ts) calls `expand` per row; an input row's weight carries over to every
 * row it expands into, which is what makes the expansion incremental.
 *
 * Adding one: a `SetFn` name here, an entry in SET_FUNCTIONS (the record is exhaustive).
 */
import { addIntervalToTimestamp, decodeInterval, intervalSpan } from '../../common/interval.js';
import { SluiceError } from '../../common/errors.js';
import { elementType, isArrayType, isNumeric, typeDisplayName, type SqlType, type Value } from '../../common/types.js';
import { pgRegExp, regexpSplit, stringToArray } from '../scalar/array.js';
import { formatJson, JsonObject, jsonText, parseJson, type JsonNode } from '../../common/jsonb.js';
import { allMatches, compilePgRegex, type PgRegex } from '../scalar/regex.js';

/** The set-returning functions. */
export type SetFn = 'unnest' | 'generate_series' | 'regexp_split_to_table' | 'string_to_table' | 'regexp_matches' | 'jsonb_array_elements' | 'jsonb_array_elements_text' | 'jsonb_object_keys';

/** A typed call: the argument types it wants (the binder casts to them) and the type of the values it returns. */
export interface SetSignature {
  readonly params: readonly SqlType[];
  readonly type: SqlType;
}

/** One set-returning function: how a call of given argument types is typed (null: no such signature), and its expansion. */
export interface SetFunction {
  readonly signature: (argTypes: readonly SqlType[]) => SetSignature | null;
  /**
   * A fresh expansion (one per operator, so it may cache, e.g. a compiled pattern): the values
   * one input row expands into, from its (already cast) argument values.
   */
  readonly expander: () => (args: readonly Value[]) => readonly Value[];
}

const MAX_SERIES = 10_000_000;

function tooLong(): SluiceError {
  return new SluiceError('invalid_parameter', `generate_series() would return more than ${MAX_SERIES} rows for one input row`, { hint: 'Narrow the bounds or widen the step.' });
}

/** generate_series over integers (numbers or bigints) or timestamps stepped by an interval (µs). */
function series(args: readonly Value[]): Value[] {
  const [start, stop, step] = args;
  if (start === null || stop === null || step === null) return [];
  if (typeof step === 'string') {
    // Timestamps stepped by an interval: the step added to the previous value, as PostgreSQL's.
    const p = decodeInterval(step);
    const sign = intervalSpan(p);
    if (sign === 0n) throw new SluiceError('invalid_parameter', 'step size cannot equal zero');
    const out: Value[] = [];
    for (let v = start as bigint; sign > 0n ? v <= (stop as bigint) : v >= (stop as bigint); v = addIntervalToTimestamp(v, p)) {
      if (out.length >= MAX_SERIES) throw tooLong();
      out.push(v);
    }
    return out;
  }
  if (typeof start === 'bigint') {
    const s = (step ?? 1n) as bigint;
    if (s === 0n) throw new SluiceError('invalid_parameter', 'step size cannot equal zero');
    const out: Value[] = [];
    for (let v = start; s > 0n ? v <= (stop as bigint) : v >= (stop as bigint); v += s) {
      if (out.length >= MAX_SERIES) throw tooLong();
      out.push(v);
    }
    return out;
  }
  const s = (step ?? 1) as number;
  if (s === 0) throw new SluiceError('invalid_parameter', 'step size cannot equal zero');
  const out: Value[] = [];
  for (let v = start as number; s > 0 ? v <= (stop as number) : v >= (stop as number); v += s) {
    if (out.length >= MAX_SERIES) throw tooLong();
    out.push(v);
  }
  return out;
}

function seriesSignature(t: readonly SqlType[]): SetSignature | null {
  if (t.length < 2 || t.length > 3) return null;
  if (t.slice(0, 2).some((x) => x === 'timestamp' || x === 'date')) {
    if (t.length !== 3 || !t.slice(0, 2).every((x) => x === 'timestamp' || x === 'date' || x === 'varchar' || x === 'null') || !['interval', 'varchar', 'null'].includes(t[2]!)) return null;
    return { params: ['timestamp', 'timestamp', 'interval'], type: 'timestamp' };
  }
  if (!t.every((x) => isNumeric(x) || x === 'null' || x === 'varchar')) return null;
  if (t.some((x) => x === 'double' || x === 'numeric')) return null;
  const type: SqlType = t.some((x) => x === 'bigint') ? 'bigint' : 'int';
  return { params: t.map(() => type), type };
}

/** One jsonb (or text holding JSON) argument. */
function jsonbSignature(type: SqlType): (t: readonly SqlType[]) => SetSignature | null {
  return (t) => (t.length === 1 && (t[0] === 'jsonb' || t[0] === 'varchar' || t[0] === 'null') ? { params: ['jsonb'], type } : null);
}

/** The elements of a jsonb array (jsonb_array_elements[_text]); anything else is PostgreSQL's 22023. */
function jsonbElements(asText: boolean): (args: readonly Value[]) => readonly Value[] {
  return ([d]) => {
    if (d === null) return [];
    const v = parseJson(d as string);
    if (!Array.isArray(v)) throw new SluiceError('invalid_parameter', v instanceof JsonObject ? 'cannot extract elements from an object' : 'cannot extract elements from a scalar');
    return (v as readonly JsonNode[]).map((x) => (asText ? jsonText(x) : formatJson(x)));
  };
}

/** Every set-returning function, by name. */
export const SET_FUNCTIONS: Readonly<Record<SetFn, SetFunction>> = {
  unnest: {
    signature: (t) => (t.length === 1 && isArrayType(t[0]!) ? { params: t, type: elementType(t[0]!) } : null),
    expander: () => ([a]) => (a === null ? [] : (a as readonly Value[])),
  },
  generate_series: {
    signature: seriesSignature,
    expander: () => series,
  },
  // PostgreSQL 14's string_to_table; the binder also plans unnest(string_to_array(…)) as it,
  // which splits each line straight into rows instead of building an array column first.
  string_to_table: {
    signature: (t) => (t.length >= 2 && t.length <= 3 && t.every((x) => x === 'varchar' || x === 'null') ? { params: t.map(() => 'varchar' as const), type: 'varchar' } : null),
    expander: () => ([s, d, n]) => (s === null ? [] : stringToArray(s as string, (d ?? null) as string | null, (n ?? null) as string | null)),
  },
  jsonb_array_elements: { signature: jsonbSignature('jsonb'), expander: () => jsonbElements(false) },
  jsonb_array_elements_text: { signature: jsonbSignature('varchar'), expander: () => jsonbElements(true) },
  jsonb_object_keys: {
    signature: jsonbSignature('varchar'),
    expander: () => ([d]) => {
      if (d === null) return [];
      const v = parseJson(d as string);
      if (v instanceof JsonObject) return v.entries.map(([k]) => k);
      throw new SluiceError('invalid_parameter', `cannot call jsonb_object_keys on ${Array.isArray(v) ? 'an array' : 'a scalar'}`);
    },
  },
  regexp_split_to_table: {
    signature: (t) => (t.length >= 2 && t.length <= 3 && t.every((x) => x === 'varchar' || x === 'null') ? { params: t.map(() => 'varchar' as const), type: 'varchar' } : null),
    expander: () => {
      let key: string | null = null;
      let re: RegExp | null = null;
      return ([s, p, f]) => {
        if (s === null || p === null || f === null) return [];
        const k = `${String(f ?? '')}/${String(p)}`;
        if (k !== key) {
          re = pgRegExp(p as string, (f ?? null) as string | null);
          key = k;
        }
        return regexpSplit(s as string, re!);
      };
    },
  },
  // One text[] per match: the first only, or every one with the "g" flag.
  regexp_matches: {
    signature: (t) => (t.length >= 2 && t.length <= 3 && t.every((x) => x === 'varchar' || x === 'null') ? { params: t.map(() => 'varchar' as const), type: 'varchar[]' } : null),
    expander: () => {
      let key: string | null = null;
      let re: PgRegex | null = null;
      return ([s, p, f]) => {
        if (s === null || p === null || f === null) return [];
        const k = `${String(f ?? '')}/${String(p)}`;
        if (k !== key) {
          re = compilePgRegex(p as string, (f ?? null) as string | null, 'regexp_matches', true);
          key = k;
        }
        return allMatches(s as string, re!);
      };
    },
  },
};

/** The set-returning function called `name`, if there is one. */
export function setFunctionOf(name: string): SetFn | null {
  if (name === 'json_array_elements' || name === 'json_array_elements_text' || name === 'json_object_keys') return name.replace('json', 'jsonb') as SetFn;
  return Object.hasOwn(SET_FUNCTIONS, name) ? (name as SetFn) : null;
}

/** The error for a call with no matching signature. */
export function noSetFunction(name: string, argTypes: readonly SqlType[], pos: number | undefined): SluiceError {
  return new SluiceError('undefined_function', `function ${name}(${argTypes.map(typeDisplayName).join(', ')}) does not exist`, {
    position: pos,
    hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
  });
}
