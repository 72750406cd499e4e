/**
 * JSONB values. A jsonb value travels through sluice as its canonical text — the text
 * PostgreSQL prints for it: object keys sorted (shorter keys first, then by their UTF-8 bytes),
 * a duplicate key's last value kept, `", "` and `": "` between items, numbers as PostgreSQL's
 * numeric prints them (`1e2` is `100`, `1.50` stays `1.50`). Equal documents therefore have equal
 * text, so grouping, DISTINCT and joins on jsonb work on the text as they do on varchar.
 *
 * Operators and functions parse the text into a small tree (JsonNode), work on it and print
 * the result; numbers stay decimal strings throughout, so no precision is lost.
 */
import { SluiceError } from './errors.js';

/** A JSON number, kept as PostgreSQL's numeric text of it. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** An object: its keys in canonical order, each once. */
export class JsonObject {
  constructor(readonly entries: readonly (readonly [string, JsonNode])[]) {}
  get(key: string): JsonNode | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }
}

export type JsonNode = null | boolean | string | JsonNumber | readonly JsonNode[] | JsonObject;

function syntaxError(text: string, detail: string): SluiceError {
  return new SluiceError('invalid_input', 'invalid input syntax for type json', { hint: `${detail} (in '${text.length > 60 ? text.slice(0, 60) + '…' : text}')` });
}

const UTF8 = new TextEncoder();

/** PostgreSQL's jsonb key order: shorter keys first, equal lengths by their bytes. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const ab = UTF8.encode(a);
  const bb = UTF8.encode(b);
  if (ab.length !== bb.length) return ab.length - bb.length;
  for (let i = 0; i < ab.length; i++) if (ab[i] !== bb[i]) return ab[i]! - bb[i]!;
  return 0;
}

/** An object from key/value pairs in any order: the last of duplicate keys wins, keys sorted. */
export function makeObject(pairs: readonly (readonly [string, JsonNode])[]): JsonObject {
  const m = new Map<string, JsonNode>();
  for (const [k, v] of pairs) m.set(k, v);
  return new JsonObject([...m.entries()].sort((x, y) => compareKeys(x[0], y[0])));
}

/**
 * The numeric text PostgreSQL prints for a JSON number literal (already checked against JSON's
 * grammar): exponents folded in, leading zeros dropped, the scale kept.
 */
export function canonicalNumber(lit: string): string {
  let s = lit;
  let neg = false;
  if (s[0] === '-') {
    neg = true;
    s = s.slice(1);
  }
  let exp = 0;
  const e = s.search(/[eE]/);
  if (e >= 0) {
    exp = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  let int = dot >= 0 ? s.slice(0, dot) : s;
  let frac = dot >= 0 ? s.slice(dot + 1) : '';
  // Move the point by the exponent.
  if (exp > 0) {
    const take = frac.slice(0, exp);
    int += take.padEnd(exp, '0');
    frac = frac.slice(exp);
  } else if (exp < 0) {
    const k = -exp;
    const pad = int.padStart(k + 1, '0');
    frac = pad.slice(pad.length - k) + frac;
    int = pad.slice(0, pad.length - k);
  }
  int = int.replace(/^0+(?=\d)/, '');
  if (int === '') int = '0';
  const zero = /^0*$/.test(int) && /^0*$/.test(frac);
  return (neg && !zero ? '-' : '') + int + (frac.length > 0 ? '.' + frac : '');
}

/** Parses JSON text (PostgreSQL's json input) into a tree; 22P02 on bad input. */
export function parseJson(text: string): JsonNode {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const fail = (what: string): never => {
    if (i >= n) throw syntaxError(text, 'The input string ended unexpectedly.');
    throw syntaxError(text, `${what} at "${text.slice(i, i + 10)}"`);
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('Character with value 0x' + c.toString(16).padStart(2, '0') + ' must be escaped');
      if (c === 0x5c) {
        out += text.slice(start, i);
        const x = text[i + 1];
        i += 2;
        switch (x) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const h = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('"\\u" must be followed by four hexadecimal digits');
            const code = parseInt(h, 16);
            if (code === 0) throw new SluiceError('untranslatable_character', 'unsupported Unicode escape sequence', { hint: '\\u0000 cannot be converted to text.' });
            out += String.fromCharCode(code);
            i += 4;
            break;
          }
          default:
            i -= 2;
            fail('Escape sequence is invalid');
        }
        start = i;
        continue;
      }
      i++;
    }
    return fail('unterminated string');
  };
  const value = (depth: number): JsonNode => {
    if (depth > 1000) throw new SluiceError('statement_too_complex', 'stack depth limit exceeded', { hint: 'JSON documents nest at most 1000 levels.' });
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const pairs: [string, JsonNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return makeObject(pairs);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Expected string');
        const k = str();
        ws();
        if (text[i] !== ':') fail('Expected ":"');
        i++;
        pairs.push([k, value(depth + 1)]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return makeObject(pairs);
        }
        fail('Expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        fail('Expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0].length > 0 && (c === '-' || (c! >= '0' && c! <= '9'))) {
      i += m[0].length;
      return new JsonNumber(canonicalNumber(m[0]));
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail('Token is invalid');
  };
  const v = value(0);
  ws();
  if (i < n) fail('Expected end of input');
  return v;
}

/** A string as a JSON string literal, escaped as PostgreSQL escapes it. */
export function quoteJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22: out += '\\"'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x08: out += '\\b'; break;
      case 0x0c: out += '\\f'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      default: out += '\\u' + c.toString(16).padStart(4, '0');
    }
  }
  return out + s.slice(start) + '"';
}

/** The canonical text of a tree. */
export function formatJson(v: JsonNode): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return quoteJsonString(v);
  if (v instanceof JsonNumber) return v.text;
  if (v instanceof JsonObject) return '{' + v.entries.map(([k, x]) => quoteJsonString(k) + ': ' + formatJson(x)).join(', ') + '}';
  return '[' + v.map(formatJson).join(', ') + ']';
}

/** jsonb_pretty's layout: one item a line, four spaces an indent level. */
export function prettyJson(v: JsonNode, indent = ''): string {
  const inner = indent + '    ';
  if (v instanceof JsonObject) {
    if (v.entries.length === 0) return '{\n' + indent + '}';
    return '{\n' + v.entries.map(([k, x]) => inner + quoteJsonString(k) + ': ' + prettyJson(x, inner)).join(',\n') + '\n' + indent + '}';
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[\n' + indent + ']';
    return '[\n' + v.map((x: JsonNode) => inner + prettyJson(x, inner)).join(',\n') + '\n' + indent + ']';
  }
  return formatJson(v);
}

/** The canonical jsonb text of JSON text (22P02 when it is not JSON). */
export function canonicalJsonb(text: string): string {
  return formatJson(parseJson(text));
}

/** jsonb_typeof's name of a node's kind. */
export function jsonTypeOf(v: JsonNode): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v instanceof JsonNumber) return 'number';
  if (v instanceof JsonObject) return 'object';
  return 'array';
}

function isContainer(v: JsonNode): boolean {
  return v instanceof JsonObject || Array.isArray(v);
}

function scalarEquals(a: JsonNode, b: JsonNode): boolean {
  if (a instanceof JsonNumber && b instanceof JsonNumber) return numericEquals(a.text, b.text);
  return a === b;
}

/** Whether two canonical numeric texts are the same number (`1.0` equals `1`). */
function numericEquals(a: string, b: string): boolean {
  if (a === b) return true;
  const norm = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  return norm(a) === norm(b);
}

/** The member `key` of an object, or element `key` (negative: from the end) of an array. */
export function jsonGet(v: JsonNode, key: string | number, top = false): JsonNode | undefined {
  if (typeof key === 'number') {
    // PostgreSQL keeps a top-level scalar as a one-element array: `'5' -> 0` is 5.
    if (top && !Array.isArray(v) && !(v instanceof JsonObject)) return key === 0 || key === -1 ? v : undefined;
    if (!Array.isArray(v)) return undefined;
    const arr = v as readonly JsonNode[];
    const idx = key < 0 ? arr.length + key : key;
    return idx >= 0 && idx < arr.length ? arr[idx] : undefined;
  }
  return v instanceof JsonObject ? v.get(key) : undefined;
}

/** `#>`: the node at a path of keys (array steps are integers written as text). */
export function jsonPath(v: JsonNode, path: readonly (string | null)[]): JsonNode | undefined {
  let cur: JsonNode | undefined = v;
  for (const step of path) {
    if (cur === undefined || step === null) return undefined;
    if (Array.isArray(cur)) {
      if (!/^\s*[+-]?\d+\s*$/.test(step)) return undefined;
      cur = jsonGet(cur, Number(step));
    } else cur = jsonGet(cur, step);
  }
  return cur;
}

/** `@>`: whether `a` contains `b`, with PostgreSQL's rules (an array contains a scalar only at the top). */
export function jsonContains(a: JsonNode, b: JsonNode, top = true): boolean {
  if (b instanceof JsonObject) {
    if (!(a instanceof JsonObject)) return false;
    for (const [k, bv] of b.entries) {
      const av = a.get(k);
      if (av === undefined) return false;
      if (isContainer(bv) || isContainer(av)) {
        if (jsonTypeOf(av) !== jsonTypeOf(bv) || !jsonContains(av, bv, false)) return false;
      } else if (!scalarEquals(av, bv)) return false;
    }
    return true;
  }
  if (Array.isArray(b)) {
    if (!Array.isArray(a)) return false;
    const arr = a as readonly JsonNode[];
    return (b as readonly JsonNode[]).every((bv) =>
      isContainer(bv) ? arr.some((av) => isContainer(av) && jsonTypeOf(av) === jsonTypeOf(bv) && jsonContains(av, bv, false)) : arr.some((av) => !isContainer(av) && scalarEquals(av, bv)),
    );
  }
  // b is a scalar.
  if (Array.isArray(a)) return top && (a as readonly JsonNode[]).some((av) => !isContainer(av) && scalarEquals(av, b));
  if (a instanceof JsonObject) return false;
  return scalarEquals(a, b);
}

/** `?`: a top-level key of an object, a string element of an array, or the string itself. */
export function jsonExists(v: JsonNode, key: string): boolean {
  if (v instanceof JsonObject) return v.get(key) !== undefined;
  if (Array.isArray(v)) return (v as readonly JsonNode[]).some((x) => x === key);
  return v === key;
}

/** `||`: objects merge (the right one's keys win); anything else concatenates as arrays. */
export function jsonConcat(a: JsonNode, b: JsonNode): JsonNode {
  if (a instanceof JsonObject && b instanceof JsonObject) return makeObject([...a.entries, ...b.entries]);
  const arr = (x: JsonNode): readonly JsonNode[] => (Array.isArray(x) ? (x as readonly JsonNode[]) : [x]);
  return [...arr(a), ...arr(b)];
}

function cannotDelete(what: string): SluiceError {
  return new SluiceError('invalid_parameter', what);
}

/** `-` text: drops a key of an object, or the string elements equal to it from an array. */
export function jsonDeleteKey(v: JsonNode, key: string): JsonNode {
  if (v instanceof JsonObject) return new JsonObject(v.entries.filter(([k]) => k !== key));
  if (Array.isArray(v)) return (v as readonly JsonNode[]).filter((x) => x !== key);
  throw cannotDelete('cannot delete from scalar');
}

/** `-` integer: drops one element of an array (negative indexes count from the end). */
export function jsonDeleteIndex(v: JsonNode, idx: number): JsonNode {
  if (v instanceof JsonObject) throw cannotDelete('cannot delete from object using integer index');
  if (!Array.isArray(v)) throw cannotDelete('cannot delete from scalar');
  const arr = v as readonly JsonNode[];
  const k = idx < 0 ? arr.length + idx : idx;
  return arr.filter((_, i) => i !== k);
}

/** `#-`: drops the node at a path. */
export function jsonDeletePath(v: JsonNode, path: readonly (string | null)[]): JsonNode {
  if (!isContainer(v)) throw cannotDelete('cannot delete path in scalar');
  if (path.length === 0) return v;
  const step = path[0];
  const rest = path.slice(1);
  if (step === null || step === undefined) throw new SluiceError('invalid_parameter', 'path element at position 1 is null');
  if (v instanceof JsonObject) {
    const child = v.get(step);
    if (child === undefined) return v;
    if (rest.length === 0) return jsonDeleteKey(v, step);
    if (!isContainer(child)) return v;
    return new JsonObject(v.entries.map(([k, x]) => [k, k === step ? jsonDeletePath(x, rest) : x] as const));
  }
  const arr = v as readonly JsonNode[];
  if (!/^\s*[+-]?\d+\s*$/.test(step)) throw new SluiceError('invalid_input', `path element at position 1 is not an integer: "${step}"`);
  const k = Number(step) < 0 ? arr.length + Number(step) : Number(step);
  if (k < 0 || k >= arr.length) return v;
  if (rest.length === 0) return arr.filter((_, i) => i !== k);
  if (!isContainer(arr[k]!)) return v;
  return arr.map((x, i) => (i === k ? jsonDeletePath(x, rest) : x));
}

/** jsonb_strip_nulls: object members whose value is null dropped, at every depth. */
export function jsonStripNulls(v: JsonNode): JsonNode {
  if (v instanceof JsonObject) return new JsonObject(v.entries.filter(([, x]) => x !== null).map(([k, x]) => [k, jsonStripNulls(x)] as const));
  if (Array.isArray(v)) return (v as readonly JsonNode[]).map(jsonStripNulls);
  return v;
}

/** The text `->>` and friends give for a node: a string's own text, anything else's JSON text. */
export function jsonText(v: JsonNode): string | null {
  if (v === null) return null;
  return typeof v === 'string' ? v : formatJson(v);
}
