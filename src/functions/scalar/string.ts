/**
 * String scalar functions: LIKE/ILIKE, concatenation, case, trimming, searching, slicing and
 * padding. Lengths and positions count code points, as PostgreSQL does for UTF-8.
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { ColumnBuilder, decodeUtf8, getString, isValid, newBitmap, setBit, type Column } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Value } from '../../common/types.js';
import { call, cast } from '../../planner/coercion.js';
import type { BoundExpr } from '../../planner/expr.js';
import { boolColumn, byName, bySyntax, evalAll, mapStrings, rowWise, rowWiseFunction, type ScalarDefinition, type ScalarFunction } from './scalar-function.js';
import { coerceArg, fixed, noFunction, type ScalarBinder } from './signature.js';

/** The regular expression a LIKE pattern (with `\` escapes) matches, anchored at both ends. */
export function likeToRegExp(pattern: string, insensitive: boolean): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', insensitive ? 'is' : 's');
}
function like(insensitive: boolean): ScalarFunction {
  return (args, argExprs) => {
    const pat = argExprs[1]!;
    if (pat.kind === 'lit' && typeof pat.value === 'string') {
      const p = pat.value;
      const simple = !insensitive && !/[_\\]/.test(p);
      const inner = p.replace(/^%/, '').replace(/%$/, '');
      let test: (s: string) => boolean;
      if (simple && !inner.includes('%')) {
        if (p.startsWith('%') && p.endsWith('%') && p.length >= 2) test = (s) => s.includes(inner);
        else if (p.endsWith('%')) test = (s) => s.startsWith(inner);
        else if (p.startsWith('%')) test = (s) => s.endsWith(inner);
        else test = (s) => s === p;
      } else {
        const re = likeToRegExp(p, insensitive);
        test = (s) => re.test(s);
      }
      return (b, ctx) => {
        const a = args[0]!(b, ctx);
        const out = newBitmap(b.length, false);
        for (let i = 0; i < b.length; i++) if (isValid(a, i) && test(getString(a, i))) setBit(out, i, true);
        return boolColumn(out, a.validity ? a.validity.slice() : null, b.length);
      };
    }
    const k = rowWise('boolean', ([s, p]) => likeToRegExp(p as string, insensitive).test(s as string));
    return (b, ctx) => k(evalAll(args, b, ctx), b.length, ctx);
  };
}

const concat: ScalarFunction = (args) => (b, ctx) => {
  const [x, y] = evalAll(args, b, ctx) as [Column, Column];
  const n = b.length;
  const out = new ColumnBuilder('varchar', n);
  const xo = x.offsets!;
  const yo = y.offsets!;
  for (let i = 0; i < n; i++) {
    if (!isValid(x, i) || !isValid(y, i)) out.appendNull();
    else out.appendString(decodeUtf8(x.values as Uint8Array, xo[i]!, xo[i + 1]!) + decodeUtf8(y.values as Uint8Array, yo[i]!, yo[i + 1]!));
  }
  return out.finish();
};

/** A scalar function of one string argument, NULL when it is. */
function mapString(f: (s: string) => Value): ScalarFunction {
  return (args, _argExprs, type) => {
    const k = mapStrings(type, f);
    return (b, ctx) => k(evalAll(args, b, ctx), b.length);
  };
}

/**
 * length() over the UTF-8 bytes: the characters are the bytes that do not continue one
 * (0x80–0xBF), so no string is decoded per row.
 */
const lengthOfBytes: ScalarFunction = (args) => (b, ctx) => {
  const a = args[0]!(b, ctx);
  const n = b.length;
  const out = new Int32Array(n);
  const bytes = a.values as Uint8Array;
  const o = a.offsets!;
  for (let i = 0; i < n; i++) {
    let chars = 0;
    for (let k = o[i]!, e = o[i + 1]!; k < e; k++) if ((bytes[k]! & 0xc0) !== 0x80) chars++;
    out[i] = chars;
  }
  return { type: 'int', length: n, values: out, validity: a.validity };
};

/**
 * The first byte of the ASCII bytes b[s, e) in [lo, lo + 26) (a letter of the case that changes),
 * or e. Four bytes at a time where the bytes are 4-aligned: for a byte c < 0x80, c + (0x80 − lo)
 * has its top bit set when c ≥ lo and c + (0x80 − lo − 26) has it clear when c < lo + 26, and
 * neither sum carries into the next byte.
 */
export function firstCased(b: Uint8Array, s: number, e: number, lo: number): number {
  let k = s;
  while (k < e && ((b.byteOffset + k) & 3) !== 0) {
    if (((b[k]! - lo) >>> 0) < 26) return k;
    k++;
  }
  const words = (e - k) >> 2;
  if (words > 0) {
    const w = new Int32Array(b.buffer, b.byteOffset + k, words);
    const over = (0x80 - lo) * 0x01010101;
    const under = (0x80 - lo - 26) * 0x01010101;
    let j = 0;
    for (; j < words; j++) {
      const x = w[j]!;
      if ((((x + over) & ~(x + under)) & 0x80808080) !== 0) break;
    }
    k += 4 * j;
  }
  for (; k < e; k++) if (((b[k]! - lo) >>> 0) < 26) return k;
  return e;
}

/**
 * upper() or lower(): a column whose bytes are all ASCII is mapped as a whole (returned as it
 * is when no letter changes: lower() of lower-case text); otherwise a row of ASCII bytes is
 * mapped byte by byte (the same as toUpperCase / toLowerCase do for ASCII) and any other row
 * goes through the string.
 */
function asciiCase(upper: boolean): ScalarFunction {
  const from = upper ? 0x61 : 0x41;
  const slow = upper ? (s: string) => s.toUpperCase() : (s: string) => s.toLowerCase();
  return (args) => (b, ctx) => {
    const a = args[0]!(b, ctx);
    const n = b.length;
    const bytes = a.values as Uint8Array;
    const o = a.offsets!;
    const s0 = o[0]!;
    const e0 = o[n]!;
    if (isAscii(bytes.subarray(s0, e0))) {
      const first = firstCased(bytes, s0, e0, from);
      if (first === e0) return a;
      // ASCII keeps every value's length: the offsets are the input's, moved to start at 0.
      const out = new Uint8Array(e0 - s0);
      out.set(bytes.subarray(s0, first));
      for (let k = first; k < e0; k++) {
        const c = bytes[k]!;
        out[k - s0] = ((c - from) >>> 0) < 26 ? c ^ 0x20 : c;
      }
      let offsets = o.subarray(0, n + 1);
      if (s0 !== 0) {
        offsets = new Int32Array(n + 1);
        for (let i = 0; i <= n; i++) offsets[i] = o[i]! - s0;
      }
      return { type: 'varchar', length: n, values: out, offsets, validity: a.validity };
    }
    let out: Uint8Array = new Uint8Array(o[n]! - o[0]! + 16);
    const offsets = new Int32Array(n + 1);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const s = o[i]!;
      const e = o[i + 1]!;
      if (at + (e - s) > out.length) out = grown(out, at + (e - s));
      let k = s;
      for (; k < e; k++) {
        const c = bytes[k]!;
        if (c >= 0x80) break;
        out[at + k - s] = c - from < 26 && c >= from ? c ^ 0x20 : c;
      }
      if (k === e) {
        at += e - s;
      } else {
        // Not ASCII: through the string, as the row-wise functions do.
        const text = Buffer.from(slow(decodeUtf8(bytes, s, e)), 'utf8');
        if (at + text.length > out.length) out = grown(out, at + text.length);
        out.set(text, at);
        at += text.length;
      }
      offsets[i + 1] = at;
    }
    return { type: 'varchar', length: n, values: 2 * at >= out.length ? out.subarray(0, at) : out.slice(0, at), offsets, validity: a.validity };
  };
}

function grown(b: Uint8Array, need: number): Uint8Array {
  const next = new Uint8Array(Math.max(need, b.length * 2));
  next.set(b);
  return next;
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

function pad(s: string, len: number, fill: string, left: boolean): string {
  const chars = [...s];
  if (chars.length >= len) return chars.slice(0, Math.max(0, len)).join('');
  if (fill === '') return s;
  let p = '';
  while ([...p].length < len - chars.length) p += fill;
  p = [...p].slice(0, len - chars.length).join('');
  return left ? p + s : s + p;
}

/** The string functions' implementations. */
// concat(a, b, …) skips NULLs; the binary `concat` it expands to is `||`, which does not.
/** An argument as text the way concat and concat_ws write it: the type's output form (a boolean as t/f, where ::text says true/false). */
function outputText(a: BoundExpr): BoundExpr {
  if (a.type !== 'boolean') return cast(a, 'varchar');
  const text = (v: string): BoundExpr => ({ kind: 'lit', value: v, type: 'varchar' });
  return { kind: 'case', whens: [{ when: a, then: text('t') }, { when: call('not', [a], 'boolean'), then: text('f') }], otherwise: { kind: 'lit', value: null, type: 'varchar' }, type: 'varchar' };
}

const bindConcat: ScalarBinder = (args): BoundExpr => {
  const parts = args.map((a) => call('coalesce', [outputText(a), EMPTY], 'varchar'));
  return parts.reduce((a, b) => call('concat', [a, b], 'varchar'), EMPTY);
};
const EMPTY: BoundExpr = { kind: 'lit', value: '', type: 'varchar' };

const bindConcatWs: ScalarBinder = (args, site) => {
  if (args.length < 2) throw noFunction(site.name, args, site.pos);
  return site.make(args.map((a) => outputText(a)), 'varchar');
};

const bindSubstr: ScalarBinder = (args, site) =>
  (args.length === 2 ? fixed(['varchar', 'int'], 'varchar') : fixed(['varchar', 'int', 'int'], 'varchar'))(args, site);

const textToText = fixed(['varchar'], 'varchar');

/** lpad/rpad(s, length [, fill]): the fill is a space when not given. */
const padArgs: ScalarBinder = (args, site) =>
  (args.length === 2 ? fixed(['varchar', 'int'], 'varchar') : fixed(['varchar', 'int', 'varchar'], 'varchar'))(args, site);

/** s without the leading and/or trailing characters of `chars` (a space when not given). */
function trimChars(s: string, chars: string | undefined, start: boolean, end: boolean): string {
  const set = new Set(chars === undefined ? [' '] : [...chars]);
  const cs = [...s];
  let a = 0;
  let b = cs.length;
  if (start) while (a < b && set.has(cs[a]!)) a++;
  if (end) while (b > a && set.has(cs[b - 1]!)) b--;
  return a === 0 && b === cs.length ? s : cs.slice(a, b).join('');
}

const trimArgs: ScalarBinder = (args, site) => {
  if (args.length !== 1 && args.length !== 2) throw noFunction(site.name, args, site.pos);
  return site.make(args.map((a) => coerceArg(site.name, a, 'varchar', args, site.pos)), 'varchar');
};

/** PostgreSQL's initcap: the first letter of each run of letters and digits upper case, the rest lower. */
function initcap(str: string): string {
  let out = '';
  let inWord = false;
  for (const ch of str) {
    const alnum = /[\p{L}\p{N}]/u.test(ch);
    out += alnum ? (inWord ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    inWord = alnum;
  }
  return out;
}

/** translate(s, from, to): each character of `from` becomes the one at its place in `to`, or goes when `to` is shorter. */
function translate(str: string, from: string, to: string): string {
  const f = [...from];
  const t = [...to];
  let out = '';
  for (const ch of str) {
    const i = f.indexOf(ch);
    if (i < 0) out += ch;
    else if (i < t.length) out += t[i];
  }
  return out;
}

/** to_hex(integer | bigint): two's complement of a negative value, at the argument's width. */
function toHex(n: number | bigint): string {
  if (typeof n === 'bigint') return (n < 0n ? n + (1n << 64n) : n).toString(16);
  return (n < 0 ? n + 2 ** 32 : n).toString(16);
}

const toHexArgs: ScalarBinder = (args, site) => {
  if (args.length !== 1) throw noFunction(site.name, args, site.pos);
  const t = args[0]!.type === 'bigint' ? 'bigint' : 'int';
  return site.make([coerceArg(site.name, args[0]!, t, args, site.pos)], 'varchar');
};

export const STRING_FUNCTIONS = {
  like: bySyntax(like(false)),
  ilike: bySyntax(like(true)),
  concat: byName(['concat'], bindConcat, concat),
  // NULL separator → NULL; NULL elements are skipped (PostgreSQL's concat_ws).
  concat_ws: byName(['concat_ws'], bindConcatWs, rowWiseFunction(([sep, ...parts]) => (sep === null ? null : parts.filter((p) => p !== null).join(sep as string)), false)),
  upper: byName(['upper'], textToText, asciiCase(true)),
  lower: byName(['lower'], textToText, asciiCase(false)),
  // PostgreSQL trims spaces only, or the characters given.
  trim: byName(['trim', 'btrim'], trimArgs, rowWiseFunction(([s, chars]: Value[]) => trimChars(s as string, chars as string | undefined, true, true))),
  ltrim: byName(['ltrim'], trimArgs, rowWiseFunction(([s, chars]: Value[]) => trimChars(s as string, chars as string | undefined, true, false))),
  rtrim: byName(['rtrim'], trimArgs, rowWiseFunction(([s, chars]: Value[]) => trimChars(s as string, chars as string | undefined, false, true))),
  reverse: byName(['reverse'], textToText, mapString((s: string) => [...s].reverse().join(''))),
  md5: byName(['md5'], textToText, mapString((s: string) => md5(s))),
  length: byName(['length', 'char_length', 'character_length'], fixed(['varchar'], 'int'), lengthOfBytes),
  substr: byName(['substr', 'substring'], bindSubstr, rowWiseFunction(([s, from, len]: Value[]) => {
    const chars = [...(s as string)];
    const start = (from as number) - 1;
    if (len === undefined) return chars.slice(Math.max(0, start)).join('');
    if ((len as number) < 0) throw new SluiceError('invalid_parameter', 'negative substring length not allowed');
    const end = start + (len as number);
    return chars.slice(Math.max(0, start), Math.max(0, end)).join('');
  })),
  replace: byName(['replace'], fixed(['varchar', 'varchar', 'varchar'], 'varchar'), rowWiseFunction(([s, a, r]: Value[]) => (a === '' ? (s as string) : (s as string).split(a as string).join(r as string)))),
  strpos: byName(['strpos'], fixed(['varchar', 'varchar'], 'int'), rowWiseFunction(([s, sub]: Value[]) => {
    const i = (s as string).indexOf(sub as string);
    return i < 0 ? 0 : [...(s as string).slice(0, i)].length + 1;
  })),
  left: byName(['left'], fixed(['varchar', 'int'], 'varchar'), rowWiseFunction(([s, k]: Value[]) => { const c = [...(s as string)]; const n = k as number; return (n >= 0 ? c.slice(0, n) : c.slice(0, Math.max(0, c.length + n))).join(''); })),
  right: byName(['right'], fixed(['varchar', 'int'], 'varchar'), rowWiseFunction(([s, k]: Value[]) => { const c = [...(s as string)]; const n = k as number; return (n >= 0 ? c.slice(Math.max(0, c.length - n)) : c.slice(-n)).join(''); })),
  split_part: byName(['split_part'], fixed(['varchar', 'varchar', 'int'], 'varchar'), rowWiseFunction(([s, d, k]: Value[]) => {
    if ((k as number) === 0) throw new SluiceError('invalid_parameter', 'field position must not be zero');
    const parts = (d as string) === '' ? [s as string] : (s as string).split(d as string);
    const idx = (k as number) > 0 ? (k as number) - 1 : parts.length + (k as number);
    return parts[idx] ?? '';
  })),
  starts_with: byName(['starts_with'], fixed(['varchar', 'varchar'], 'boolean'), rowWiseFunction(([s, p]: Value[]) => (s as string).startsWith(p as string))),
  repeat: byName(['repeat'], fixed(['varchar', 'int'], 'varchar'), rowWiseFunction(([str, n]: Value[]) => ((n as number) > 0 ? (str as string).repeat(n as number) : ''))),
  initcap: byName(['initcap'], textToText, mapString(initcap)),
  translate: byName(['translate'], fixed(['varchar', 'varchar', 'varchar'], 'varchar'), rowWiseFunction(([str, from, to]: Value[]) => translate(str as string, from as string, to as string))),
  ascii: byName(['ascii'], fixed(['varchar'], 'int'), rowWiseFunction(([str]: Value[]) => ((str as string).length === 0 ? 0 : (str as string).codePointAt(0)!))),
  chr: byName(['chr'], fixed(['int'], 'varchar'), rowWiseFunction(([n]: Value[]) => {
    const c = n as number;
    if (c === 0) throw new SluiceError('program_limit_exceeded', 'null character not permitted');
    if (c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) throw new SluiceError('program_limit_exceeded', 'requested character too large for encoding: ' + c);
    return String.fromCodePoint(c);
  })),
  octet_length: byName(['octet_length'], fixed(['varchar'], 'int'), rowWiseFunction(([str]: Value[]) => Buffer.byteLength(str as string))),
  bit_length: byName(['bit_length'], fixed(['varchar'], 'int'), rowWiseFunction(([str]: Value[]) => 8 * Buffer.byteLength(str as string))),
  to_hex: byName(['to_hex'], toHexArgs, rowWiseFunction(([n]: Value[]) => toHex(n as number | bigint))),
  lpad: byName(['lpad'], padArgs, rowWiseFunction(([s, len, fill]: Value[]) => pad(s as string, len as number, (fill ?? ' ') as string, true))),
  rpad: byName(['rpad'], padArgs, rowWiseFunction(([s, len, fill]: Value[]) => pad(s as string, len as number, (fill ?? ' ') as string, false))),
} satisfies Record<string, ScalarDefinition>;
