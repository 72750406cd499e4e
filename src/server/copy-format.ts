/**
 * COPY's data formats as PostgreSQL writes them: text (delimiter-separated, backslash escapes,
 * `\N` for NULL) and CSV (quoted where needed, an unquoted empty field for NULL). One line per
 * row, each ending in a newline.
 */
import type { CopyOptions } from '../parser/index.js';
import type { Field, Value } from '../common/types.js';
import { formatValue } from '../common/values.js';

/** Escapes a value for the text format: backslash, line ends, tab and the delimiter get a backslash. */
function textField(s: string, delimiter: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    let esc: string | null = null;
    if (c === '\\') esc = '\\\\';
    else if (c === '\n') esc = '\\n';
    else if (c === '\r') esc = '\\r';
    else if (c === '\t') esc = '\\t';
    else if (c === '\b') esc = '\\b';
    else if (c === '\f') esc = '\\f';
    else if (c === '\v') esc = '\\v';
    else if (c === delimiter) esc = '\\' + c;
    if (esc === null) continue;
    out += s.slice(from, i) + esc;
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Quotes a CSV field when it must be: it holds the delimiter, quote, a line end, or reads as NULL or as `\.`. */
function csvField(s: string, o: CopyOptions): string {
  const needs = s === o.null || s === '\\.' || s.includes(o.delimiter) || s.includes(o.quote) || s.includes('\n') || s.includes('\r');
  if (!needs) return s;
  let out = o.quote;
  for (const c of s) {
    if (c === o.quote || c === o.escape) out += o.escape;
    out += c;
  }
  return out + o.quote;
}

/** One row as a COPY line in the given format, newline included. */
export function copyLine(row: readonly Value[], columns: readonly Field[], o: CopyOptions): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) line += o.delimiter;
    const text = formatValue(row[i] ?? null, columns[i]!.type);
    if (text === null) line += o.null;
    else line += o.format === 'csv' ? csvField(text, o) : textField(text, o.delimiter);
  }
  return line + '\n';
}

/** The header line (column names) of a COPY with HEADER. */
export function copyHeader(columns: readonly Field[], o: CopyOptions): string {
  return columns.map((c) => (o.format === 'csv' ? csvField(c.name, o) : textField(c.name, o.delimiter))).join(o.delimiter) + '\n';
}
