/**
 * GROUP BY with GROUPING SETS, ROLLUP and CUBE, which node-sql-parser does not read. Before the
 * query goes to it, each such GROUP BY clause is rewritten to a plain list of the distinct key
 * expressions it names, followed by a marker call `__sluice_grouping_sets('0,1', '1', '')`
 * whose string arguments are the grouping sets as positions in that list. convert.ts takes the
 * marker off the GROUP BY and keeps the sets on the Select; the binder computes one aggregate
 * per set and unions them (binder.ts, bindGroupingSets).
 *
 * The sets follow PostgreSQL: a plain key is a set of one; `()` the empty set; `ROLLUP (a, b)`
 * the sets (a, b), (a), (); `CUBE (a, b)` every subset; `GROUPING SETS (…)` its elements (each a
 * key, a parenthesized list, `()`, or a nested ROLLUP/CUBE/GROUPING SETS); several elements in
 * one GROUP BY multiply (each set of the first joined with each of the next).
 */
import { SluiceError } from '../common/errors.js';
import { lex, type Token } from './lexer.js';

export const GROUPING_SETS_MARKER = '__sluice_grouping_sets';

/** Words that end a GROUP BY clause at its own depth. */
const CLAUSE_END = new Set(['having', 'order', 'limit', 'offset', 'window', 'union', 'intersect', 'except', 'emit', 'fetch', 'for']);

export function rewriteGroupingSets(text: string, offset: number): string {
  if (!/\b(grouping|rollup|cube)\b|\(\s*\)/i.test(text)) return text;
  const toks = lex(text);
  const edits: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i + 1 < toks.length; i++) {
    if (!(isWord(toks[i]!, 'group') && isWord(toks[i + 1]!, 'by'))) continue;
    const first = i + 2;
    // The clause: to a word that ends it, a ')' closing its parent, ';' or the end.
    let depth = 0;
    let end = first;
    for (; end < toks.length; end++) {
      const t = toks[end]!;
      if (t.kind === 'eof' || (t.kind === 'symbol' && t.value === ';' && depth === 0)) break;
      if (t.kind === 'symbol' && t.value === '(') depth++;
      else if (t.kind === 'symbol' && t.value === ')') {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && t.kind === 'ident' && CLAUSE_END.has(t.value)) break;
    }
    const elements = splitTopLevel(toks, first, end);
    if (!elements.some(([a, b]) => isConstruct(toks, a, b))) continue;
    const keys: string[] = [];
    const keyOf = (a: number, b: number): number => {
      const src = text.slice(toks[a]!.start, toks[b - 1]!.end).trim();
      let k = keys.indexOf(src);
      if (k < 0) k = keys.push(src) - 1;
      return k;
    };
    let sets: number[][] = [[]];
    for (const [a, b] of elements) {
      const mine = setsOf(toks, a, b, keyOf, offset);
      const product: number[][] = [];
      for (const s of sets) for (const m of mine) product.push([...new Set([...s, ...m])]);
      sets = product;
    }
    const marker = `${GROUPING_SETS_MARKER}(${sets.map((s) => `'${s.join(',')}'`).join(', ')})`;
    edits.push({ start: toks[first]!.start, end: toks[end - 1]!.end, text: [...keys, marker].join(', ') });
    i = end - 1;
  }
  let out = text;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function isWord(t: Token, w: string): boolean {
  return t.kind === 'ident' && t.value === w;
}

/** Token ranges [a, b) of the comma-separated elements of toks[from, to). */
function splitTopLevel(toks: readonly Token[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let start = from;
  for (let k = from; k < to; k++) {
    const t = toks[k]!;
    if (t.kind === 'symbol' && t.value === '(') depth++;
    else if (t.kind === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'symbol' && t.value === ',') {
      out.push([start, k]);
      start = k + 1;
    }
  }
  if (start < to) out.push([start, to]);
  return out;
}

/** Whether toks[a, b) is `()`, ROLLUP (…), CUBE (…) or GROUPING SETS (…). */
function isConstruct(toks: readonly Token[], a: number, b: number): boolean {
  const t = toks[a]!;
  const next = toks[a + 1];
  if (t.kind === 'symbol' && t.value === '(' && next?.kind === 'symbol' && next.value === ')' && b === a + 2) return true;
  if ((isWord(t, 'rollup') || isWord(t, 'cube')) && next?.kind === 'symbol' && next.value === '(') return true;
  return isWord(t, 'grouping') && next !== undefined && isWord(next, 'sets');
}

/** Whether toks[a, b) is one parenthesized group `( … )`. */
function parenthesized(toks: readonly Token[], a: number, b: number): boolean {
  if (!(toks[a]!.kind === 'symbol' && toks[a]!.value === '(' && toks[b - 1]!.kind === 'symbol' && toks[b - 1]!.value === ')')) return false;
  let depth = 0;
  for (let k = a; k < b; k++) {
    const t = toks[k]!;
    if (t.kind === 'symbol' && t.value === '(') depth++;
    else if (t.kind === 'symbol' && t.value === ')' && --depth === 0 && k !== b - 1) return false;
  }
  return true;
}

/** The keys of a `(a, b)` list or of a single key expression. */
function keyList(toks: readonly Token[], a: number, b: number, keyOf: (a: number, b: number) => number): number[] {
  if (b === a + 2 && parenthesized(toks, a, b)) return [];
  if (parenthesized(toks, a, b)) return splitTopLevel(toks, a + 1, b - 1).map(([x, y]) => keyOf(x, y));
  return [keyOf(a, b)];
}

/** The grouping sets of one GROUP BY element toks[a, b). */
function setsOf(toks: readonly Token[], a: number, b: number, keyOf: (a: number, b: number) => number, offset: number): number[][] {
  const t = toks[a]!;
  const inner = (from: number): [number, number][] => {
    const open = toks[from]!;
    if (!(open.kind === 'symbol' && open.value === '(') || !parenthesized(toks, from, b)) {
      throw new SluiceError('syntax', `syntax error at or near "${open.value}"`, { position: offset + open.start + 1 });
    }
    return splitTopLevel(toks, from + 1, b - 1);
  };
  if (isWord(t, 'rollup')) {
    const lists = inner(a + 1).map(([x, y]) => keyList(toks, x, y, keyOf));
    const out: number[][] = [];
    for (let n = lists.length; n >= 0; n--) out.push([...new Set(lists.slice(0, n).flat())]);
    return out;
  }
  if (isWord(t, 'cube')) {
    const lists = inner(a + 1).map(([x, y]) => keyList(toks, x, y, keyOf));
    if (lists.length > 12) throw new SluiceError('not_supported', 'CUBE is limited to 12 elements', { position: offset + t.start + 1 });
    const out: number[][] = [];
    for (let mask = (1 << lists.length) - 1; mask >= 0; mask--) out.push([...new Set(lists.filter((_, k) => (mask >> (lists.length - 1 - k)) & 1).flat())]);
    return out;
  }
  if (isWord(t, 'grouping') && toks[a + 1] && isWord(toks[a + 1]!, 'sets')) {
    return inner(a + 2).flatMap(([x, y]) => (isConstruct(toks, x, y) && !(y === x + 2) ? setsOf(toks, x, y, keyOf, offset) : [keyList(toks, x, y, keyOf)]));
  }
  return [keyList(toks, a, b, keyOf)];
}
