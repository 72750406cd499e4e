/**
 * A VALUES list used as a query — the whole query (`VALUES (1, 'a'), (2, 'b')`, a view's body) or
 * a WITH query's body (`WITH d(a, b) AS (VALUES …)`) — which node-sql-parser reads only in FROM.
 * It is rewritten to `SELECT * FROM (VALUES …) AS _values(column1, column2, …)`: PostgreSQL's
 * column names, and the FROM form the parser and binder already take. ORDER BY / LIMIT after the
 * list stay after it and apply to the SELECT. In FROM, `(VALUES …) AS v` without a column list
 * gets PostgreSQL's names too (the one-shot SELECT's DuckDB would say col0, col1, …).
 */
import { closingParen, lex, NOT_AN_ALIAS, type Token } from './lexer.js';

export function rewriteValuesQueries(text: string): string {
  if (!/\bvalues\b/i.test(text)) return text;
  const toks = lex(text);
  const edits: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (!(t.kind === 'ident' && t.value === 'values')) continue;
    const prev = toks[i - 1];
    const prev2 = toks[i - 2];
    const atStart = i === 0 || (prev?.kind === 'symbol' && prev.value === '(' && i === 1);
    const cteBody = prev?.kind === 'symbol' && prev.value === '(' && prev2?.kind === 'ident' && prev2.value === 'as';
    const inFrom = !atStart && !cteBody && prev?.kind === 'symbol' && prev.value === '(';
    if (!atStart && !cteBody && !inFrom) continue;
    // The rows: ( … ) [, ( … )]*.
    let k = i + 1;
    let width = -1;
    let end = -1;
    for (;;) {
      const open = toks[k];
      if (!(open?.kind === 'symbol' && open.value === '(')) break;
      const close = closingParen(toks, k);
      if (close < 0) break;
      if (width < 0) width = topLevelCommas(toks, k + 1, close) + 1;
      end = close;
      k = close + 1;
      const comma = toks[k];
      if (!(comma?.kind === 'symbol' && comma.value === ',')) break;
      k++;
    }
    if (end < 0) continue;
    const names = Array.from({ length: width }, (_, c) => `column${c + 1}`).join(', ');
    if (inFrom) {
      // (VALUES …) [AS] alias without a column list: PostgreSQL's column names added.
      const close = toks[end + 1];
      let a = end + 2;
      if (toks[a]?.kind === 'ident' && toks[a]!.value === 'as') a++;
      const alias = toks[a];
      const after = toks[a + 1];
      if (close?.kind === 'symbol' && close.value === ')' && (alias?.kind === 'ident' || alias?.kind === 'quoted') && !NOT_AN_ALIAS.has(alias.value) && !(after?.kind === 'symbol' && after.value === '(')) {
        edits.push({ start: alias.end, end: alias.end, text: `(${names})` });
      }
      i = end;
      continue;
    }
    edits.push({ start: t.start, end: toks[end]!.end, text: `SELECT * FROM (${text.slice(t.start, toks[end]!.end)}) AS _values(${names})` });
    i = end;
  }
  let out = text;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function topLevelCommas(toks: readonly Token[], from: number, to: number): number {
  let depth = 0;
  let n = 0;
  for (let k = from; k < to; k++) {
    const t = toks[k]!;
    if (t.kind !== 'symbol') continue;
    if (t.value === '(') depth++;
    else if (t.value === ')') depth--;
    else if (t.value === ',' && depth === 0) n++;
  }
  return n;
}
