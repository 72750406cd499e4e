/**
 * PostgreSQL's regular expressions (ARE, "advanced regular expressions") on JavaScript's engine:
 * a pattern and its flags are translated to a RegExp where the two dialects agree, and refused
 * (2201B, invalid_regular_expression) where they do not. Then the functions over them: `~`,
 * `~*`, `!~`, `!~*` (bound as regexp_like), regexp_match, regexp_replace, regexp_count,
 * regexp_like, and SIMILAR TO (its SQL pattern translated the way PostgreSQL does).
 *
 * What does not carry over: POSIX leftmost-longest matching of alternations (`a|ab` matches
 * "ab" in PostgreSQL and "a" in JavaScript), collating elements `[[.x.]]` and equivalence
 * classes `[[=x=]]`, and the BRE/ERE flags `b` and `e`.
 */
import { SluiceError } from '../../common/errors.js';
import type { SqlType, Value } from '../../common/types.js';
import { byName, rowWiseFunction, syntaxFunctions, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { coerceArg, noFunction, type ScalarBinder } from './signature.js';

function bad(message: string): SluiceError {
  return new SluiceError('invalid_regex', `invalid regular expression: ${message}`);
}

// PostgreSQL's word characters are letters, digits and `_` of all of Unicode (JavaScript's \w and \b are ASCII's).
const WORD = '\\p{L}\\p{N}_';
const W = `[${WORD}]`;
/** Class escapes, inside and outside brackets. */
const CLASS_ESCAPES: Record<string, { inside: string; outside: string }> = {
  w: { inside: WORD, outside: W },
  W: { inside: '', outside: `[^${WORD}]` },
  d: { inside: '\\p{Nd}', outside: '\\p{Nd}' },
  D: { inside: '', outside: '\\P{Nd}' },
  s: { inside: '\\s', outside: '\\s' },
  S: { inside: '', outside: '\\S' },
};
const CONSTRAINT_ESCAPES: Record<string, string> = {
  m: `(?<!${W})(?=${W})`,
  M: `(?<=${W})(?!${W})`,
  y: `(?:(?<!${W})(?=${W})|(?<=${W})(?!${W}))`,
  Y: `(?:(?<=${W})(?=${W})|(?<!${W})(?!${W}))`,
  A: '(?<![\\s\\S])',
  Z: '(?![\\s\\S])',
};

const CLASS_NAMES: Record<string, string> = {
  alpha: '\\p{L}', digit: '\\p{Nd}', alnum: '\\p{L}\\p{Nd}', upper: '\\p{Lu}', lower: '\\p{Ll}', space: '\\s',
  punct: '!-\\/:-@\\[-`{-~', xdigit: '0-9A-Fa-f', word: WORD, blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e\\u00a0-\\u{10ffff}', graph: '\\x21-\\x7e\\u00a1-\\u{10ffff}',
};

/** The options a flags string gives, by PostgreSQL's letters (later letters win). */
interface Options {
  insensitive: boolean;
  /** `.` and `[^…]` do not match a newline. */
  dotStopsAtNewline: boolean;
  /** `^` and `$` match at line breaks. */
  multiline: boolean;
  expanded: boolean;
  literal: boolean;
  global: boolean;
}

function readFlags(flags: string, fn: string, allowGlobal: boolean): Options {
  const o: Options = { insensitive: false, dotStopsAtNewline: false, multiline: false, expanded: false, literal: false, global: false };
  for (const f of flags) {
    switch (f) {
      case 'i': o.insensitive = true; break;
      case 'c': o.insensitive = false; break;
      case 'n': case 'm': o.dotStopsAtNewline = true; o.multiline = true; break;
      case 'p': o.dotStopsAtNewline = true; o.multiline = false; break;
      case 'w': o.dotStopsAtNewline = false; o.multiline = true; break;
      case 's': o.dotStopsAtNewline = false; o.multiline = false; break;
      case 'x': o.expanded = true; break;
      case 't': o.expanded = false; break;
      case 'q': o.literal = true; break;
      case 'g':
        if (!allowGlobal) throw new SluiceError('invalid_parameter', `${fn}() does not support the "global" option`, { hint: fn === 'regexp_match' ? 'Use the regexp_matches function instead.' : undefined });
        o.global = true;
        break;
      case 'b': case 'e':
        throw new SluiceError('not_supported', `regular expression option "${f}" (basic/extended POSIX syntax) is not supported`, { hint: 'Write the pattern in the default advanced syntax.' });
      default:
        throw new SluiceError('invalid_parameter', `invalid regular expression option: "${f}"`);
    }
  }
  return o;
}

const SPECIAL_OUTSIDE = /[.*+?^${}()|[\]\\/]/;


function escapeLiteral(s: string): string {
  let out = '';
  for (const c of s) out += SPECIAL_OUTSIDE.test(c) || c === '-' ? `\\${c}` : c;
  return out;
}

/** Translates a bracket expression starting at `p[i] === '['`; returns its JS text and the index after it. */
function bracket(p: string, i: number, o: Options): [string, number] {
  let j = i + 1;
  let out = '[';
  if (p[j] === '^') {
    out += '^';
    j++;
    if (o.dotStopsAtNewline) out += '\\n';
  }
  let first = true;
  for (;;) {
    if (j >= p.length) throw bad('brackets [] not balanced');
    const c = p[j]!;
    if (c === ']' && !first) return [out + ']', j + 1];
    first = false;
    if (c === '[' && (p[j + 1] === ':' || p[j + 1] === '.' || p[j + 1] === '=')) {
      const kind = p[j + 1]!;
      const end = p.indexOf(`${kind}]`, j + 2);
      if (end < 0) throw bad('brackets [] not balanced');
      const name = p.slice(j + 2, end);
      if (kind !== ':') throw new SluiceError('not_supported', `collating elements and equivalence classes ([[${kind}${name}${kind}]]) are not supported in regular expressions`);
      const cls = CLASS_NAMES[name];
      if (cls === undefined) throw bad('invalid character class');
      out += cls;
      j = end + 2;
      continue;
    }
    if (c === '\\') {
      const n = p[j + 1];
      if (n === undefined) throw bad('invalid escape \\ sequence');
      const cls = CLASS_ESCAPES[n];
      if (cls && cls.inside === '') throw new SluiceError('not_supported', `the regular expression escape \\${n} is not supported inside brackets`);
      if (cls) out += cls.inside;
      else if (n === 'n') out += '\\n';
      else if (n === 't') out += '\\t';
      else if (n === 'r') out += '\\r';
      else if (/[A-Za-z0-9]/.test(n)) throw new SluiceError('not_supported', `the regular expression escape \\${n} is not supported`);
      else out += `\\${n}`;
      j += 2;
      continue;
    }
    out += c === '[' || c === ']' || c === '/' || c === '{' || c === '}' || c === '(' || c === ')' || c === '|' ? `\\${c}` : c;
    j++;
  }
}

/** The JavaScript source of a PostgreSQL ARE `pattern` under options `o`. */
function translate(pattern: string, o: Options): string {
  let p = pattern;
  if (p.startsWith('***=')) return escapeLiteral(p.slice(4));
  if (p.startsWith('***:')) p = p.slice(4);
  const embedded = /^\(\?([a-z]+)\)/.exec(p);
  if (embedded) {
    Object.assign(o, readFlags(embedded[1]!, 'regex', false), { global: o.global });
    p = p.slice(embedded[0].length);
  }
  if (o.literal) return escapeLiteral(p);
  let out = '';
  let groups = 0;
  for (let i = 0; i < p.length; ) {
    const c = p[i]!;
    if (o.expanded && /\s/.test(c)) { i++; continue; }
    if (o.expanded && c === '#') {
      while (i < p.length && p[i] !== '\n') i++;
      continue;
    }
    switch (c) {
      case '[': {
        const [s, next] = bracket(p, i, o);
        out += s;
        i = next;
        continue;
      }
      case '.':
        out += o.dotStopsAtNewline ? '[^\\n]' : '[\\s\\S]';
        i++;
        continue;
      case '(':
        if (p[i + 1] === '?') {
          const kind = p.slice(i + 2, i + 4);
          if (p[i + 2] === ':' || p[i + 2] === '=' || p[i + 2] === '!' || kind === '<=' || kind === '<!') {
            out += '(?';
            i += 2;
            continue;
          }
          throw bad('quantifier operand invalid');
        }
        groups++;
        out += '(';
        i++;
        continue;
      case '{': {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (!m) throw bad('invalid repetition count(s)');
        out += m[0];
        i += m[0].length;
        continue;
      }
      case '}':
        out += '\\}';
        i++;
        continue;
      case '/':
        out += '\\/';
        i++;
        continue;
      case '\\': {
        const n = p[i + 1];
        if (n === undefined) throw bad('invalid escape \\ sequence');
        i += 2;
        if (CLASS_ESCAPES[n]) out += CLASS_ESCAPES[n].outside;
        else if (CONSTRAINT_ESCAPES[n]) out += CONSTRAINT_ESCAPES[n];
        else if (n === 'n') out += '\\n';
        else if (n === 't') out += '\\t';
        else if (n === 'r') out += '\\r';
        else if (/[1-9]/.test(n)) {
          if (Number(n) > groups) throw bad('invalid backreference number');
          out += `\\${n}`;
        } else if (/[A-Za-z0-9]/.test(n)) throw new SluiceError('not_supported', `the regular expression escape \\${n} is not supported`);
        else out += `\\${n}`;
        continue;
      }
      default:
        out += c;
        i++;
    }
  }
  return out;
}

/** A compiled PostgreSQL pattern: the RegExp (global, sticky-free) and whether the flags asked for every match. */
export interface PgRegex {
  readonly re: RegExp;
  readonly global: boolean;
}

/** Translates and compiles `pattern` with PostgreSQL `flags` for function `fn` (for messages). */
export function compilePgRegex(pattern: string, flags: string | null, fn: string, allowGlobal = false): PgRegex {
  const o = readFlags(flags ?? '', fn, allowGlobal);
  const src = translate(pattern, o);
  let js = 'gu';
  if (o.insensitive) js += 'i';
  if (o.multiline) js += 'm';
  try {
    return { re: new RegExp(src, js), global: o.global };
  } catch (e) {
    throw bad((e as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}

/** A cache of one compiled pattern (patterns are nearly always constants). */
function cached(fn: string, allowGlobal: boolean): (pattern: string, flags: string | null) => PgRegex {
  let key: string | null = null;
  let last: PgRegex | null = null;
  return (pattern, flags) => {
    const k = `${flags ?? ''}/${pattern}`;
    if (k !== key || !last) {
      last = compilePgRegex(pattern, flags, fn, allowGlobal);
      key = k;
    }
    return last;
  };
}

/** What regexp_match returns for one match: the capture groups (unmatched ones NULL), or the whole match when there are none. */
export function matchValue(m: RegExpExecArray): Value[] {
  return m.length > 1 ? m.slice(1).map((g) => g ?? null) : [m[0]];
}

/** Every match of `r` in `s` (one unless global), as regexp_matches returns them. */
export function allMatches(s: string, r: PgRegex): Value[][] {
  const out: Value[][] = [];
  r.re.lastIndex = 0;
  for (;;) {
    const m = r.re.exec(s);
    if (!m) break;
    out.push(matchValue(m));
    if (!r.global) break;
    if (m[0] === '') r.re.lastIndex = advance(s, r.re.lastIndex);
  }
  return out;
}

function advance(s: string, i: number): number {
  const cp = s.codePointAt(i);
  return i + (cp !== undefined && cp > 0xffff ? 2 : 1);
}

/** PostgreSQL's replacement text: `\1`…`\9` the groups, `\&` the match, `\\` a backslash. */
function substitute(repl: string, m: RegExpExecArray): string {
  if (!repl.includes('\\')) return repl;
  let out = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i]!;
    if (c !== '\\' || i + 1 >= repl.length) {
      out += c;
      continue;
    }
    const n = repl[i + 1]!;
    if (/[1-9]/.test(n)) {
      out += m[Number(n)] ?? '';
      i++;
    } else if (n === '&') {
      out += m[0];
      i++;
    } else if (n === '\\') {
      out += '\\';
      i++;
    } else out += c;
  }
  return out;
}

/** regexp_replace(s, pattern, replacement [, start [, n]] [, flags]) over a compiled pattern. */
export function regexpReplace(s: string, r: PgRegex, repl: string, start = 1, nth = 0): string {
  const chars = [...s];
  if (start < 1) throw new SluiceError('invalid_parameter', `invalid value for parameter "start": ${start}`);
  if (nth < 0) throw new SluiceError('invalid_parameter', `invalid value for parameter "n": ${nth}`);
  // A search starting past the end finds nothing (not even an empty match at the end).
  if (start - 1 > chars.length) return s;
  const offset = chars.slice(0, start - 1).join('').length;
  const every = nth === 0 && r.global;
  const want = nth === 0 ? 1 : nth;
  let out = s.slice(0, offset);
  let pos = offset;
  let count = 0;
  r.re.lastIndex = offset;
  for (;;) {
    const m = r.re.exec(s);
    if (!m) break;
    count++;
    const end = m.index + m[0].length;
    if (every || count === want) {
      out += s.slice(pos, m.index) + substitute(repl, m);
      pos = end;
      if (!every) break;
    }
    if (m[0] === '') r.re.lastIndex = advance(s, r.re.lastIndex);
  }
  return out + s.slice(pos);
}

/** How many times `r` matches in `s` from character `start` (1-based), matches not overlapping. */
export function regexpCount(s: string, r: PgRegex, start = 1): number {
  if (start < 1) throw new SluiceError('invalid_parameter', `invalid value for parameter "start": ${start}`);
  const offset = [...s].slice(0, start - 1).join('').length;
  let n = 0;
  r.re.lastIndex = offset;
  for (;;) {
    const m = r.re.exec(s);
    if (!m) return n;
    n++;
    if (m[0] === '') r.re.lastIndex = advance(s, r.re.lastIndex);
  }
}

/**
 * The JavaScript pattern of a SQL `SIMILAR TO` pattern (anchored at both ends): `%` any string,
 * `_` any character, `|`, `*`, `+`, `?`, `{m,n}`, `(…)` and `[…]` as in regular expressions,
 * everything else literal; `\` escapes the next character.
 */
export function similarToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) throw new SluiceError('invalid_escape_sequence', 'invalid escape string', { hint: 'Escape string must be empty or one character.' });
      out += escapeLiteral(n);
      i++;
    } else if (c === '%') out += '[\\s\\S]*';
    else if (c === '_') out += '[\\s\\S]';
    else if (c === '[') {
      const [s, next] = bracket(pattern, i, { insensitive: false, dotStopsAtNewline: false, multiline: false, expanded: false, literal: false, global: false });
      out += s;
      i = next - 1;
    } else if (c === '(') out += '(?:';
    else if ('|*+?{}),'.includes(c)) out += c === '}' && !/\{\d+(,\d*)?$/.test(out) ? '\\}' : c;
    else out += escapeLiteral(c);
  }
  try {
    return new RegExp(`^(?:${out})$`, 'u');
  } catch (e) {
    throw bad((e as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}

/** Text arguments, `min`…`max` of them, with the ones at `intAt` integers. */
function textArgs(min: number, max: number, ret: SqlType, intAt: readonly number[] = []): ScalarBinder {
  return (args, site) => {
    if (args.length < min || args.length > max) throw noFunction(site.name, args, site.pos);
    return site.make(args.map((a, i) => coerceArg(site.name, a, intAt.includes(i) ? 'int' : 'varchar', args, site.pos)), ret);
  };
}

/** regexp_replace's two shapes: (s, p, r [, flags]) and (s, p, r, start [, n [, flags]]). */
const bindReplace: ScalarBinder = (args, site) => {
  if (args.length === 4 && (args[3]!.type === 'int' || args[3]!.type === 'bigint')) return textArgs(4, 4, 'varchar', [3])(args, site);
  if (args.length >= 5) return textArgs(5, 6, 'varchar', [3, 4])(args, site);
  return textArgs(3, 4, 'varchar')(args, site);
};

/** regexp_count(s, p [, start [, flags]]). */
const bindCount: ScalarBinder = (args, site) => textArgs(2, 4, 'int', [2])(args, site);

const regexpLike = (fn: string): ScalarFunction => {
  const get = cached(fn, false);
  return rowWiseFunction(([s, p, f]) => {
    const r = get(p as string, (f ?? null) as string | null);
    r.re.lastIndex = 0;
    return r.re.test(s as string);
  });
};

const regexpMatch: ScalarFunction = (() => (args, argExprs, type) => {
  const get = cached('regexp_match', false);
  return rowWiseFunction(([s, p, f]) => {
    const r = get(p as string, (f ?? null) as string | null);
    r.re.lastIndex = 0;
    const m = r.re.exec(s as string);
    return m ? matchValue(m) : null;
  })(args, argExprs, type);
})();

const regexpReplaceFn: ScalarFunction = (args, argExprs, type) => {
  const get = cached('regexp_replace', true);
  const shape = argExprs.length >= 4 && argExprs[3]!.type === 'int' ? 'positional' : 'flags';
  return rowWiseFunction((vals) => {
    const [s, p, repl] = vals as [string, string, string];
    if (shape === 'flags') return regexpReplace(s, get(p, (vals[3] ?? null) as string | null), repl);
    const flags = (vals[5] ?? null) as string | null;
    const r = get(p, flags);
    // With a start or an n, "g" is implied only when n is 0 or absent, as PostgreSQL does.
    const nth = vals[4] === undefined ? 0 : (vals[4] as number);
    return regexpReplace(s, { re: r.re, global: nth === 0 ? true : r.global }, repl, vals[3] as number, nth);
  })(args, argExprs, type);
};

const regexpCountFn: ScalarFunction = (args, argExprs, type) => {
  const get = cached('regexp_count', false);
  return rowWiseFunction(([s, p, start, f]) => regexpCount(s as string, get(p as string, (f ?? null) as string | null), (start ?? 1) as number))(args, argExprs, type);
};

const similar: ScalarFunction = (args, argExprs, type) => {
  let key: string | null = null;
  let re: RegExp | null = null;
  return rowWiseFunction(([s, p]) => {
    if (p !== key || !re) {
      re = similarToRegExp(p as string);
      key = p as string;
    }
    return re.test(s as string);
  })(args, argExprs, type);
};

/** The regular-expression functions: signature beside kernel. */
export const REGEX_FUNCTIONS = {
  regexp_like: byName(['regexp_like'], textArgs(2, 3, 'boolean'), regexpLike('regexp_like')),
  regexp_match: byName(['regexp_match'], textArgs(2, 3, 'varchar[]'), regexpMatch),
  regexp_replace: byName(['regexp_replace'], bindReplace, regexpReplaceFn),
  regexp_count: byName(['regexp_count'], bindCount, regexpCountFn),
  ...syntaxFunctions({ similar_to: similar }),
} satisfies Record<string, ScalarDefinition>;
