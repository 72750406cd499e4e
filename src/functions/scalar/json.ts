/**
 * JSONB operators and functions (PostgreSQL's): `->`, `->>`, `#>`, `#>>`, `@>`, `<@`, `?`, `?|`,
 * `?&`, `||`, `-`, `#-`, and jsonb_build_object/array, to_jsonb, jsonb_typeof,
 * jsonb_array_length, jsonb_extract_path[_text], jsonb_strip_nulls, jsonb_pretty (json_* names
 * too: json is held as jsonb). Values are canonical text (common/jsonb.ts), parsed per row.
 * The operators' left side may also be text holding JSON (a source's payload column), read as
 * jsonb.
 */
import { SluiceError } from '../../common/errors.js';
import {
  formatJson, jsonConcat, jsonContains, jsonDeleteIndex, jsonDeleteKey, jsonDeletePath, jsonExists, jsonGet, jsonPath, jsonStripNulls, jsonText, jsonTypeOf,
  JsonNumber, JsonObject, makeObject, parseJson, prettyJson, canonicalNumber, type JsonNode,
} from '../../common/jsonb.js';
import { elementType, isArrayType, typeDisplayName, type SqlType, type Value } from '../../common/types.js';
import { formatValue } from '../../common/values.js';
import { cast, isStringLit } from '../../planner/coercion.js';
import type { BoundExpr } from '../../planner/expr.js';
import { byName, rowWise, evalAll, rowWiseFunction, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { noFunction, type ScalarBinder } from './signature.js';

/** A jsonb argument: jsonb itself, or text (a literal or a column holding JSON) read as jsonb. */
function asJsonb(a: BoundExpr, site: { name: string; pos: number | undefined }, all: BoundExpr[]): BoundExpr {
  if (a.type === 'jsonb') return a;
  if (a.type === 'varchar' || a.type === 'null') return cast(a, 'jsonb');
  throw noFunction(site.name, all, site.pos);
}

function asText(a: BoundExpr, site: { name: string; pos: number | undefined }, all: BoundExpr[]): BoundExpr {
  if (a.type === 'varchar') return a;
  if (a.type === 'null' || isStringLit(a)) return cast(a, 'varchar');
  throw noFunction(site.name, all, site.pos);
}

function asTextArray(a: BoundExpr, site: { name: string; pos: number | undefined }, all: BoundExpr[]): BoundExpr {
  if (a.type === 'varchar[]') return a;
  if (a.type === 'null' || a.type === 'varchar') return cast(a, 'varchar[]');
  throw noFunction(site.name, all, site.pos);
}

/** The JSON node of a value of a SQL type (to_jsonb's conversion). */
export function toJsonNode(v: Value, t: SqlType): JsonNode {
  if (v === null) return null;
  if (isArrayType(t)) return (v as readonly Value[]).map((x) => toJsonNode(x, elementType(t)));
  switch (t) {
    case 'jsonb':
      return parseJson(v as string);
    case 'boolean':
      return v as boolean;
    case 'int':
    case 'bigint':
      return new JsonNumber(String(v));
    case 'double':
    case 'numeric': {
      const s = formatValue(v, t)!;
      // NaN and the infinities have no JSON number: PostgreSQL writes them as strings.
      return /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s) ? new JsonNumber(canonicalNumber(s)) : s;
    }
    case 'timestamp':
      // JSON's timestamps are ISO 8601, with a T.
      return formatValue(v, t)!.replace(' ', 'T');
    case 'timestamptz':
      // The instant in UTC with PostgreSQL's ISO offset (to_jsonb has no session zone here).
      return `${formatValue(v, 'timestamp')!.replace(' ', 'T')}+00:00`;
    default:
      return formatValue(v, t);
  }
}

/** `->` / `->>`: (jsonb, text key | integer index). */
const bindGet = (ret: SqlType): ScalarBinder => (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  const key = args[1]!;
  const k = key.type === 'int' || key.type === 'bigint' ? cast(key, 'int') : asText(key, site, args);
  return site.make([asJsonb(args[0]!, site, args), k], ret);
};

const get = (asText: boolean): ScalarFunction => (args, argExprs, type) => {
  const byIndex = argExprs[1]!.type === 'int';
  const k = rowWise(type, ([d, key]) => {
    const r = jsonGet(parseJson(d as string), byIndex ? (key as number) : (key as string), true);
    if (r === undefined) return null;
    return asText ? jsonText(r) : formatJson(r);
  });
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

/** `#>` / `#>>`: (jsonb, text[] path). */
const bindPath = (ret: SqlType): ScalarBinder => (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  return site.make([asJsonb(args[0]!, site, args), asTextArray(args[1]!, site, args)], ret);
};

function pathOf(v: Value): (string | null)[] {
  return (v as readonly Value[]).map((x) => (x === null ? null : String(x)));
}

/** jsonb_extract_path[_text](jsonb, VARIADIC text). */
const bindVariadicPath = (ret: SqlType): ScalarBinder => (args, site) => {
  if (args.length < 1) throw noFunction(site.name, args, site.pos);
  return site.make([asJsonb(args[0]!, site, args), ...args.slice(1).map((a) => asText(a, site, args))], ret);
};

/** (jsonb, jsonb) → boolean; `@>`/`<@` over arrays are array containment. */
const bindContains = (flip: boolean): ScalarBinder => (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  const [a, b] = args as [BoundExpr, BoundExpr];
  if (isArrayType(a.type) || isArrayType(b.type)) {
    const t = isArrayType(a.type) ? a.type : b.type;
    if ((a.type !== t && a.type !== 'null' && !isStringLit(a)) || (b.type !== t && b.type !== 'null' && !isStringLit(b))) {
      throw new SluiceError('undefined_function', `operator does not exist: ${typeDisplayName(a.type)} ${flip ? '<@' : '@>'} ${typeDisplayName(b.type)}`, { position: site.pos, hint: 'You might need to add an explicit type cast.' });
    }
    return site.make([cast(a, t), cast(b, t), { kind: 'lit', value: flip, type: 'boolean' }], 'boolean');
  }
  return site.make([asJsonb(a, site, args), asJsonb(b, site, args), { kind: 'lit', value: flip, type: 'boolean' }], 'boolean');
};

const contains: ScalarFunction = (args, argExprs, type) => {
  const arrays = isArrayType(argExprs[0]!.type);
  const k = rowWise(type, ([x, y, flip]) => {
    const [a, b] = flip ? [y, x] : [x, y];
    // Array containment: every element of b equals some element of a (NULLs equal nothing).
    if (arrays) return (b as readonly Value[]).every((e) => e !== null && (a as readonly Value[]).some((f) => f !== null && f === e));
    return jsonContains(parseJson(a as string), parseJson(b as string));
  });
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

/** `?` (jsonb, text); `?|` / `?&` (jsonb, text[]). */
const bindExists = (many: boolean): ScalarBinder => (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  return site.make([asJsonb(args[0]!, site, args), many ? asTextArray(args[1]!, site, args) : asText(args[1]!, site, args)], 'boolean');
};

/** `||` over jsonb (the binder sends it here when either side is jsonb). */
const bindConcat: ScalarBinder = (args, site) => site.make(args.map((a) => asJsonb(a, site, args)), 'jsonb');

/** `-` (jsonb, text | integer | text[]). */
const bindDelete: ScalarBinder = (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  const k = args[1]!;
  const key = k.type === 'int' || k.type === 'bigint' ? cast(k, 'int') : k.type === 'varchar[]' ? k : asText(k, site, args);
  return site.make([asJsonb(args[0]!, site, args), key], 'jsonb');
};

const remove: ScalarFunction = (args, argExprs, type) => {
  const kt = argExprs[1]!.type;
  const k = rowWise(type, ([d, key]) => {
    let v = parseJson(d as string);
    if (kt === 'int') v = jsonDeleteIndex(v, key as number);
    else if (kt === 'varchar[]') for (const x of key as readonly Value[]) v = x === null ? v : jsonDeleteKey(v, String(x));
    else v = jsonDeleteKey(v, key as string);
    return formatJson(v);
  });
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

/** Any number of arguments of any type, converted to JSON by their types. */
const bindAnyArgs = (ret: SqlType, even: boolean): ScalarBinder => (args, site) => {
  if (even && args.length % 2 !== 0) throw new SluiceError('invalid_parameter', 'argument list must have even number of elements', { position: site.pos, hint: `The arguments of ${site.name}() must consist of alternating keys and values.` });
  return site.make(args.map((a) => (a.type === 'null' ? cast(a, 'varchar') : a)), ret);
};

const buildObject: ScalarFunction = (args, argExprs, type) => {
  const types = argExprs.map((a) => a.type);
  const k = rowWise(type, (vals) => {
    const pairs: [string, JsonNode][] = [];
    for (let i = 0; i < vals.length; i += 2) {
      const key = vals[i]!;
      if (key === null) throw new SluiceError('null_value_not_allowed', `argument ${i + 1}: key must not be null`);
      const kn = toJsonNode(key, types[i]!);
      pairs.push([typeof kn === 'string' ? kn : formatJson(kn), toJsonNode(vals[i + 1]!, types[i + 1]!)]);
    }
    return formatJson(makeObject(pairs));
  }, false);
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

const buildArray: ScalarFunction = (args, argExprs, type) => {
  const types = argExprs.map((a) => a.type);
  const k = rowWise(type, (vals) => formatJson(vals.map((v, i) => toJsonNode(v, types[i]!))), false);
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

const toJsonb: ScalarFunction = (args, argExprs, type) => {
  const t = argExprs[0]!.type;
  const k = rowWise(type, ([v]) => formatJson(toJsonNode(v!, t)));
  return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
};

const oneJsonb = (ret: SqlType): ScalarBinder => (args, site) => {
  if (args.length !== 1) throw noFunction(site.name, args, site.pos);
  return site.make([asJsonb(args[0]!, site, args)], ret);
};

const onJson = (f: (v: JsonNode) => Value) => rowWiseFunction(([d]) => f(parseJson(d as string)));

export const JSON_FUNCTIONS = {
  json_get: byName(['json_get', '__jsonb_get'], bindGet('jsonb'), get(false)),
  json_get_text: byName(['json_get_text', '__jsonb_get_text'], bindGet('varchar'), get(true)),
  jsonb_path: byName(['__jsonb_path'], bindPath('jsonb'), rowWiseFunction(([d, p]) => {
    const r = jsonPath(parseJson(d as string), pathOf(p!));
    return r === undefined ? null : formatJson(r);
  })),
  jsonb_path_text: byName(['__jsonb_path_text'], bindPath('varchar'), rowWiseFunction(([d, p]) => {
    const r = jsonPath(parseJson(d as string), pathOf(p!));
    return r === undefined ? null : jsonText(r);
  })),
  jsonb_extract_path: byName(['jsonb_extract_path', 'json_extract_path'], bindVariadicPath('jsonb'), rowWiseFunction(([d, ...p]) => {
    if (d === null || p.some((x) => x === null)) return null;
    const r = jsonPath(parseJson(d as string), p as string[]);
    return r === undefined ? null : formatJson(r);
  }, false)),
  jsonb_extract_path_text: byName(['jsonb_extract_path_text', 'json_extract_path_text'], bindVariadicPath('varchar'), rowWiseFunction(([d, ...p]) => {
    if (d === null || p.some((x) => x === null)) return null;
    const r = jsonPath(parseJson(d as string), p as string[]);
    return r === undefined ? null : jsonText(r);
  }, false)),
  jsonb_contains: byName(['jsonb_contains', '__contains'], bindContains(false), contains),
  jsonb_contained: byName(['jsonb_contained', '__contained'], bindContains(true), contains),
  jsonb_exists: byName(['jsonb_exists', '__jsonb_exists'], bindExists(false), rowWiseFunction(([d, k]) => jsonExists(parseJson(d as string), k as string))),
  jsonb_exists_any: byName(['jsonb_exists_any', '__jsonb_exists_any'], bindExists(true), rowWiseFunction(([d, ks]) => {
    const v = parseJson(d as string);
    return (ks as readonly Value[]).some((k) => k !== null && jsonExists(v, String(k)));
  })),
  jsonb_exists_all: byName(['jsonb_exists_all', '__jsonb_exists_all'], bindExists(true), rowWiseFunction(([d, ks]) => {
    const v = parseJson(d as string);
    return (ks as readonly Value[]).every((k) => k === null || jsonExists(v, String(k)));
  })),
  jsonb_concat: byName(['__jsonb_concat'], bindConcat, rowWiseFunction(([a, b]) => formatJson(jsonConcat(parseJson(a as string), parseJson(b as string))))),
  jsonb_delete: byName(['__jsonb_delete'], bindDelete, remove),
  jsonb_delete_path: byName(['jsonb_delete_path', '__jsonb_delete_path'], bindPath('jsonb'), rowWiseFunction(([d, p]) => formatJson(jsonDeletePath(parseJson(d as string), pathOf(p!))))),
  jsonb_build_object: byName(['jsonb_build_object', 'json_build_object'], bindAnyArgs('jsonb', true), buildObject),
  jsonb_build_array: byName(['jsonb_build_array', 'json_build_array'], bindAnyArgs('jsonb', false), buildArray),
  to_jsonb: byName(['to_jsonb', 'to_json'], (args, site) => {
    if (args.length !== 1) throw noFunction(site.name, args, site.pos);
    return bindAnyArgs('jsonb', false)(args, site);
  }, toJsonb),
  jsonb_typeof: byName(['jsonb_typeof', 'json_typeof'], oneJsonb('varchar'), onJson(jsonTypeOf)),
  jsonb_array_length: byName(['jsonb_array_length', 'json_array_length'], oneJsonb('int'), onJson((v) => {
    if (Array.isArray(v)) return (v as readonly JsonNode[]).length;
    throw new SluiceError('invalid_parameter', v instanceof JsonObject ? 'cannot get array length of a non-array' : 'cannot get array length of a scalar');
  })),
  jsonb_strip_nulls: byName(['jsonb_strip_nulls', 'json_strip_nulls'], oneJsonb('jsonb'), onJson((v) => formatJson(jsonStripNulls(v)))),
  jsonb_pretty: byName(['jsonb_pretty'], oneJsonb('varchar'), onJson((v) => prettyJson(v))),
} satisfies Record<string, ScalarDefinition>;
