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

/**
 * Reads COPY FROM STDIN data (text or CSV) as it arrives in CopyData pieces, which may cut
 * lines anywhere: `push` returns the complete rows so far, `end` the rest. A field is a string
 * or null (the NULL marker); the table's types are applied by the insert.
 */
export class CopyReader {
  private pending = '';
  private headerLeft: boolean;
  private done = false;
  /** CSV: the field and record being read, and whether inside quotes (which may span lines). */
  private field = '';
  private record: (string | null)[] = [];
  private quoted = false;
  private inQuotes = false;
  private afterQuote = false;

  constructor(private readonly o: CopyOptions) {
    this.headerLeft = o.header;
  }

  push(chunk: string): (string | null)[][] {
    if (this.done) return [];
    this.pending += chunk;
    return this.o.format === 'csv' ? this.csv(false) : this.text(false);
  }

  end(): (string | null)[][] {
    if (this.done) return [];
    const rows = this.o.format === 'csv' ? this.csv(true) : this.text(true);
    if (this.o.format === 'csv' && this.inQuotes) throw new CopyDataError('unterminated CSV quoted field');
    this.done = true;
    return rows;
  }

  private text(atEnd: boolean): (string | null)[][] {
    const rows: (string | null)[][] = [];
    let from = 0;
    for (;;) {
      let nl = this.pending.indexOf('\n', from);
      if (nl < 0) {
        if (!atEnd || from >= this.pending.length) break;
        nl = this.pending.length;
      }
      let line = this.pending.slice(from, nl);
      from = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '\\.') {
        this.done = true;
        break;
      }
      if (this.headerLeft) {
        this.headerLeft = false;
        continue;
      }
      rows.push(this.textFields(line));
    }
    this.pending = this.pending.slice(from);
    return rows;
  }

  private textFields(line: string): (string | null)[] {
    return textLineFields(line, this.o);
  }

  private csv(atEnd: boolean): (string | null)[][] {
    const rows: (string | null)[][] = [];
    const { delimiter: d, quote: q, escape: e } = this.o;
    const s = this.pending;
    let i = 0;
    const endField = () => {
      this.record.push(!this.quoted && this.field === this.o.null ? null : this.field);
      this.field = '';
      this.quoted = false;
      this.afterQuote = false;
    };
    const endRecord = (): boolean => {
      endField();
      const rec = this.record;
      this.record = [];
      if (rec.length === 1 && rec[0] === '\\.') {
        this.done = true;
        return false;
      }
      if (this.headerLeft) this.headerLeft = false;
      else rows.push(rec);
      return true;
    };
    for (; i < s.length; i++) {
      // A whole line without quotes, at the start of a record: split it natively.
      if (this.record.length === 0 && this.field === '' && !this.inQuotes && !this.quoted) {
        const nl = s.indexOf('\n', i);
        if (nl >= 0) {
          const line = s.slice(i, nl);
          if (line.indexOf(q) < 0 && line.indexOf('\r') < 0) {
            const rec: (string | null)[] = line.split(d);
            for (let k = 0; k < rec.length; k++) if (rec[k] === this.o.null) rec[k] = null;
            i = nl;
            if (rec.length === 1 && rec[0] === '\\.') {
              this.done = true;
              i = s.length;
              break;
            }
            if (this.headerLeft) this.headerLeft = false;
            else rows.push(rec);
            continue;
          }
        }
      }
      const c = s[i]!;
      if (this.inQuotes) {
        if (c === e && e !== q && s[i + 1] === q) {
          this.field += q;
          i++;
        } else if (c === e && e !== q && s[i + 1] === e) {
          this.field += e;
          i++;
        } else if (c === q) {
          if (e === q && s[i + 1] === q) {
            this.field += q;
            i++;
          } else if (e === q && i + 1 >= s.length && !atEnd) break;
          else {
            this.inQuotes = false;
            this.afterQuote = true;
          }
        } else this.field += c;
        continue;
      }
      if (c === d) endField();
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && s[i + 1] === '\n') i++;
        if (!endRecord()) {
          i = s.length;
          break;
        }
      } else if (c === q && this.field === '' && !this.afterQuote) {
        this.inQuotes = true;
        this.quoted = true;
      } else this.field += c;
    }
    if (atEnd && !this.done && (this.field !== '' || this.record.length > 0 || this.quoted)) endRecord();
    // Keep nothing already consumed: the field and record in progress hold the partial line.
    this.pending = s.slice(i);
    return rows;
  }
}

/** One text-format line: fields split at unescaped delimiters, backslash escapes undone, the NULL marker as null. */
export function textLineFields(line: string, o: CopyOptions): (string | null)[] {
  const d = o.delimiter;
  // Most lines have no escapes, or only in the NULL marker (\N): split them natively. A
  // backslash before a delimiter (an escaped delimiter) takes the general loop.
  if (line.indexOf('\\' + d) < 0) {
    const parts: (string | null)[] = line.split(d);
    for (let k = 0; k < parts.length; k++) {
      const f = parts[k]!;
      if (f === o.null) parts[k] = null;
      else if (f.indexOf('\\') >= 0) parts[k] = textFieldsSlow(f, o)[0]!;
    }
    return parts;
  }
  return textFieldsSlow(line, o);
}

function textFieldsSlow(line: string, o: CopyOptions): (string | null)[] {
  const out: (string | null)[] = [];
  const d = o.delimiter;
  let raw = '';
  let value = '';
  for (let i = 0; i <= line.length; i++) {
    const c = line[i];
    if (c === undefined || c === d) {
      out.push(raw === o.null ? null : value);
      raw = '';
      value = '';
      continue;
    }
    if (c !== '\\' || i + 1 >= line.length) {
      raw += c;
      value += c;
      continue;
    }
    const n = line[++i]!;
    raw += c + n;
    const esc: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (n in esc) value += esc[n];
    else if (/[0-7]/.test(n)) {
      let digits = n;
      while (digits.length < 3 && /[0-7]/.test(line[i + 1] ?? '')) digits += line[++i];
      raw += digits.slice(1);
      value += String.fromCharCode(parseInt(digits, 8));
    } else if (n === 'x' && /[0-9a-fA-F]/.test(line[i + 1] ?? '')) {
      let digits = line[++i]!;
      if (/[0-9a-fA-F]/.test(line[i + 1] ?? '')) digits += line[++i];
      raw += 'x' + digits;
      value += String.fromCharCode(parseInt(digits, 16));
    } else value += n;
  }
  return out;
}

/** Malformed COPY data (22P04 bad_copy_file_format). */
export class CopyDataError extends Error {}
