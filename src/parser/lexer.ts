/**
 * A small SQL lexer for the statement front (DDL heads, WITH options, column lists) and for
 * splitting a script into statements. Queries themselves go to node-sql-parser.
 */
import { SluiceError } from '../common/errors.js';
import { scanInsertValues } from './insert-values.js';

export type TokenKind = 'ident' | 'quoted' | 'string' | 'number' | 'symbol' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifiers lower-cased; quoted identifiers and strings unescaped. */
  readonly value: string;
  /** 0-based offset into the text that was lexed. */
  readonly start: number;
  readonly end: number;
}

export function lex(text: string, base = 0): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_$]/.test(text[i]!)) i++;
      out.push({ kind: 'ident', value: text.slice(start, i).toLowerCase(), start: base + start, end: base + i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      while (i < n && /[0-9.eE]/.test(text[i]!)) i++;
      out.push({ kind: 'number', value: text.slice(start, i), start: base + start, end: base + i });
      continue;
    }
    if (c === "'" || c === '"') {
      let v = '';
      // E'…': PostgreSQL's escape string, where a backslash escapes the next character.
      const escapes = c === "'" && i > 0 && (text[i - 1] === 'e' || text[i - 1] === 'E') && !/[A-Za-z0-9_$]/.test(text[i - 2] ?? ' ');
      i++;
      for (;;) {
        if (i >= n) throw new SluiceError('syntax', `unterminated ${c === "'" ? 'string literal' : 'quoted identifier'}`, { position: base + start + 1 });
        if (escapes && text[i] === '\\') {
          const [ch, len] = unescape(text, i);
          v += ch;
          i += len;
          continue;
        }
        if (text[i] === c) {
          if (text[i + 1] === c) { v += c; i += 2; continue; }
          i++;
          break;
        }
        v += text[i];
        i++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', value: v, start: base + start, end: base + i });
      continue;
    }
    if (c === '$') {
      const m = /^\$([A-Za-z_]*)\$/.exec(text.slice(i));
      if (m) {
        const tag = m[0];
        const e = text.indexOf(tag, i + tag.length);
        if (e < 0) throw new SluiceError('syntax', 'unterminated dollar-quoted string', { position: base + start + 1 });
        out.push({ kind: 'string', value: text.slice(i + tag.length, e), start: base + start, end: base + e + tag.length });
        i = e + tag.length;
        continue;
      }
    }
    const two = text.slice(i, i + 2);
    if (['<=', '>=', '<>', '!=', '::', '||', '->'].includes(two)) {
      i += 2;
      if (two === '->' && text[i] === '>') i++;
      out.push({ kind: 'symbol', value: text.slice(start, i), start: base + start, end: base + i });
      continue;
    }
    i++;
    out.push({ kind: 'symbol', value: c, start: base + start, end: base + i });
  }
  out.push({ kind: 'eof', value: '', start: base + n, end: base + n });
  return out;
}

/** Splits a script into statements at top-level semicolons; returns each text and its offset. */
export function splitStatements(text: string): { text: string; offset: number }[] {
  // A bulk INSERT of literals is one statement: no need to lex its megabytes.
  const bulk = scanInsertValues(text);
  if (bulk) return [{ text: bulk.statement, offset: text.length - text.trimStart().length }];
  const out: { text: string; offset: number }[] = [];
  let i = 0;
  let start = 0;
  const n = text.length;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    if (lex(raw).length > 1) {
      const lead = raw.length - raw.trimStart().length;
      out.push({ text: raw.trim(), offset: start + lead });
    }
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < n) {
        if (text[i] === c) {
          if (text[i + 1] === c) { i += 2; continue; }
          break;
        }
        i++;
      }
      i++;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(text.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i))![0];
      const e = text.indexOf(tag, i + tag.length);
      i = e < 0 ? n : e + tag.length;
    } else if (c === ';') {
      push(i);
      i++;
      start = i;
    } else i++;
  }
  push(n);
  return out;
}

/** A cursor over tokens with the helpers a recursive-descent front needs. */
export class TokenStream {
  private i = 0;
  constructor(readonly tokens: Token[], readonly text: string, readonly base: number) {}

  peek(k = 0): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)]!;
  }
  next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  get index(): number {
    return this.i;
  }
  isKeyword(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) {
      const t = this.peek(k);
      if (t.kind !== 'ident' || t.value !== words[k]) return false;
    }
    return true;
  }
  acceptKeyword(...words: string[]): boolean {
    if (!this.isKeyword(...words)) return false;
    for (let k = 0; k < words.length; k++) this.next();
    return true;
  }
  expectKeyword(...words: string[]): void {
    if (!this.acceptKeyword(...words)) this.fail(`expected ${words.join(' ').toUpperCase()}`);
  }
  isSymbol(s: string): boolean {
    const t = this.peek();
    return t.kind === 'symbol' && t.value === s;
  }
  acceptSymbol(s: string): boolean {
    if (!this.isSymbol(s)) return false;
    this.next();
    return true;
  }
  expectSymbol(s: string): void {
    if (!this.acceptSymbol(s)) this.fail(`expected "${s}"`);
  }
  identifier(what = 'an identifier'): string {
    const t = this.peek();
    if (t.kind === 'ident' || t.kind === 'quoted') {
      this.next();
      return t.value;
    }
    return this.fail(`expected ${what}`);
  }
  /** Qualified names keep only the last part (schema `public.` is accepted and ignored). */
  objectName(): string {
    let name = this.identifier('a name');
    while (this.acceptSymbol('.')) name = this.identifier('a name');
    return name;
  }
  atEnd(): boolean {
    return this.peek().kind === 'eof';
  }
  /** 1-based position of the current token in the whole script. */
  position(): number {
    return this.peek().start + 1;
  }
  fail(message: string): never {
    const t = this.peek();
    const found = t.kind === 'eof' ? null : `"${this.text.slice(t.start - this.base, t.end - this.base)}"`;
    throw new SluiceError('syntax', `${found === null ? 'syntax error at end of input' : 'syntax error at or near ' + found}: ${message}`, { position: t.start + 1 });
  }
}

/** The index of the ')' closing the '(' at toks[open], or −1. */
export function closingParen(toks: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.kind !== 'symbol') continue;
    if (t.value === '(') depth++;
    else if (t.value === ')' && --depth === 0) return k;
  }
  return -1;
}

/** Words that cannot be a FROM item's alias (what may follow a relation in FROM). */
export const NOT_AN_ALIAS: ReadonlySet<string> = new Set([
  'on', 'using', 'where', 'join', 'left', 'right', 'full', 'inner', 'cross', 'natural', 'group', 'having', 'order',
  'limit', 'offset', 'union', 'except', 'intersect', 'window', 'for', 'tablesample',
]);

/** A replacement of text[start, end) made by a token rewrite. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Runs `visit` over the tokens of `text` (left to right; it returns an edit, or null, and how
 * many further tokens the edit took) and applies the edits. Text the lexer cannot read comes
 * back as it is, for the parser to report.
 */
export function rewriteTokens(text: string, visit: (toks: readonly Token[], i: number) => { edit: Edit; skip?: number } | null): string {
  let toks: Token[];
  try {
    toks = lex(text);
  } catch {
    return text;
  }
  let out = '';
  let at = 0;
  for (let i = 0; i < toks.length; i++) {
    const r = visit(toks, i);
    if (!r) continue;
    out += text.slice(at, r.edit.start) + r.edit.text;
    at = r.edit.end;
    i += r.skip ?? 0;
  }
  return at === 0 ? text : out + text.slice(at);
}

/**
 * PostgreSQL folds an unquoted identifier to lower case (`FROM A` reads table `a`; `"A"` stays
 * `A`). node-sql-parser keeps the case of table names and drops the quotes, so query text is
 * folded before it gets there: every unquoted word to lower case, lengths (and so positions)
 * unchanged. A word right before a string literal is its prefix (E'…', B'…', X'…', U&'…') and
 * is kept.
 */
export function foldIdentifiers(text: string): string {
  if (!/[A-Z]/.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const t = toks[i]!;
    if (t.kind !== 'ident') return null;
    const word = text.slice(t.start, t.end);
    if (!/[A-Z]/.test(word)) return null;
    const next = toks[i + 1];
    if (next && next.start === t.end && (next.kind === 'string' || (next.kind === 'symbol' && next.value === '&'))) return null;
    return { edit: { start: t.start, end: t.end, text: word.toLowerCase() } };
  });
}

/** Type names whose `type 'text'` literal node-sql-parser does not read (DATE, TIMESTAMP, INTERVAL … it does). */
const TYPED_LITERAL_TYPES = new Set(['int', 'integer', 'int2', 'int4', 'int8', 'smallint', 'bigint', 'real', 'float', 'float4', 'float8', 'numeric', 'decimal', 'boolean', 'bool', 'text', 'varchar', 'jsonb', 'json', 'bytea']);

/**
 * PostgreSQL's typed literal `type 'text'` (`INT '850'`, `DOUBLE PRECISION '1.5'`) as the cast
 * `'text'::type`, which it means and node-sql-parser reads. Text after such a literal moves by
 * one character per literal.
 */
export function rewriteTypedLiterals(text: string): string {
  if (!/'/.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const t = toks[i]!;
    if (t.kind !== 'ident') return null;
    let j = i + 1;
    if (t.value === 'double' && toks[j]?.kind === 'ident' && toks[j]!.value === 'precision') j++;
    else if (!TYPED_LITERAL_TYPES.has(t.value)) return null;
    const lit = toks[j];
    if (!lit || lit.kind !== 'string' || text[lit.start] !== "'") return null;
    // Not the type of a cast (`x::int '…'` is no literal) nor a name qualified by a dot.
    const prev = toks[i - 1];
    if (prev && prev.kind === 'symbol' && (prev.value === '::' || prev.value === '.')) return null;
    return { edit: { start: t.start, end: lit.end, text: text.slice(lit.start, lit.end) + '::' + text.slice(t.start, toks[j - 1]!.end) }, skip: j - i };
  });
}

/** The character a backslash escape at text[i] of an E'…' string stands for, and its length. */
function unescape(text: string, i: number): [string, number] {
  const c = text[i + 1] ?? '';
  const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  if (c in simple) return [simple[c]!, 2];
  const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
  if (oct) return [String.fromCodePoint(parseInt(oct[0], 8)), 1 + oct[0].length];
  const hex = c === 'x' ? /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 2, i + 4)) : null;
  if (hex) return [String.fromCodePoint(parseInt(hex[0], 16)), 2 + hex[0].length];
  const uni = c === 'u' ? /^[0-9A-Fa-f]{4}/.exec(text.slice(i + 2, i + 6)) : c === 'U' ? /^[0-9A-Fa-f]{8}/.exec(text.slice(i + 2, i + 10)) : null;
  if (uni) return [String.fromCodePoint(parseInt(uni[0], 16)), 2 + uni[0].length];
  return [c, 2];
}

/**
 * E'…' escape strings, which node-sql-parser does not read, as plain strings holding the
 * characters they stand for, padded with spaces to their length (an escape is never shorter
 * than what it stands for), so positions after them stay.
 */
export function rewriteEscapeStrings(text: string): string {
  if (!/[eE]'/.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const t = toks[i]!;
    const s = toks[i + 1];
    if (!s || t.kind !== 'ident' || t.value !== 'e' || s.kind !== 'string' || s.start !== t.end || text[s.start] !== "'") return null;
    const plain = `'${s.value.replace(/'/g, "''")}'`;
    const width = s.end - t.start;
    if (plain.length > width) return null;
    return { edit: { start: t.start, end: s.end, text: plain + ' '.repeat(width - plain.length) }, skip: 1 };
  });
}

/**
 * node-sql-parser reads a backslash in a plain string as an escape ('a\\b' holds a backspace)
 * and keeps a doubled quote doubled ('it''s' stays it''s); PostgreSQL reads neither so. A plain
 * string holding either is handed to the parser as a placeholder of the same length (private-use
 * characters naming an entry here) and {@link unprotectString} gives back what the string holds
 * as PostgreSQL reads it. Entries are written and read within one synchronous parse.
 */
const PROTECT_MARK = '\uf8ff';
const PROTECT_FILL = '\uf8fe';
/** Keyed by the placeholder's first two characters; keys repeat every 6400 strings, which bounds it. */
const protectedStrings = new Map<string, string>();
let protectNext = 0;

export function protectStrings(text: string): string {
  if (!/''|\\/.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const t = toks[i]!;
    if (t.kind !== 'string' || text[t.start] !== "'") return null;
    const raw = text.slice(t.start + 1, t.end - 1);
    if (!raw.includes("''") && !raw.includes('\\')) return null;
    const key = PROTECT_MARK + String.fromCharCode(0xe000 + (protectNext++ % 6400));
    protectedStrings.set(key, t.value);
    return { edit: { start: t.start + 1, end: t.end - 1, text: key + PROTECT_FILL.repeat(raw.length - 2) } };
  });
}

/** What a string the parser read holds: itself, or the string a placeholder stands for. */
export function unprotectString(s: string): string {
  if (s.charCodeAt(0) !== 0xf8ff) return s;
  return protectedStrings.get(s.slice(0, 2)) ?? s;
}

/** EXTRACT fields node-sql-parser reads; others are handed to it as `__extract('field', x)`. */
const PARSER_EXTRACT_FIELDS = new Set(['year', 'years', 'month', 'months', 'day', 'days', 'hour', 'hours', 'minute', 'minutes', 'second', 'seconds', 'milliseconds', 'microseconds', 'epoch', 'dow', 'isodow', 'isoyear', 'doy', 'week', 'quarter', 'century', 'decade', 'millennium', 'timezone']);

/** `EXTRACT(field FROM x)` for a field node-sql-parser does not know (millisecond, julian, timezone_hour, …). */
export function rewriteExtractFields(text: string): string {
  if (!/\bextract\b/i.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const [e, open, field, from] = [toks[i]!, toks[i + 1], toks[i + 2], toks[i + 3]];
    if (!open || !field || !from) return null;
    if (e.kind !== 'ident' || e.value !== 'extract' || open.kind !== 'symbol' || open.value !== '(' || (field.kind !== 'ident' && field.kind !== 'string') || from.kind !== 'ident' || from.value !== 'from') return null;
    if (field.kind === 'ident' && PARSER_EXTRACT_FIELDS.has(field.value)) return null;
    return { edit: { start: e.start, end: from.end, text: `__extract('${field.value.replace(/'/g, "''")}', ` }, skip: 3 };
  });
}

/**
 * `OFFSET m LIMIT n`, PostgreSQL's other order, as `LIMIT n OFFSET m` (node-sql-parser drops a
 * LIMIT written after OFFSET). The words trade places: the length stays.
 */
export function rewriteOffsetLimit(text: string): string {
  if (!/\boffset\b[\s\S]*\blimit\b/i.test(text)) return text;
  return rewriteTokens(text, (toks, i) => {
    const [o, m, l, n] = [toks[i]!, toks[i + 1], toks[i + 2], toks[i + 3]];
    if (!m || !l || !n || o.kind !== 'ident' || o.value !== 'offset' || m.kind !== 'number' || l.kind !== 'ident' || l.value !== 'limit') return null;
    if (n.kind !== 'number' && !(n.kind === 'ident' && n.value === 'all')) return null;
    const word = (t: Token) => text.slice(t.start, t.end);
    // Each gap between the four words was at least one character: the swapped text fits.
    return { edit: { start: o.start, end: n.end, text: `${word(l)} ${word(n)} ${word(o)} ${word(m)}`.padEnd(n.end - o.start) }, skip: 3 };
  });
}
