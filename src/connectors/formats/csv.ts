/**
 * The CSV decoder (RFC 4180): fields separated by a one-character delimiter; a field that
 * starts with '"' is quoted, '""' inside it is a quote, and it may span lines: the decoder joins
 * the following records of the same call until the quote closes (at most MAX_RECORD_LINES;
 * when it never closes, only the opening line is a dead letter and decoding resumes after it).
 * As in PostgreSQL's COPY CSV, an unquoted empty field is NULL and a quoted empty field ("") is
 * the empty string. A quote inside an unquoted field is kept as a character.
 *
 * Without a header, fields map to columns by position and a record must have exactly one field
 * per column. With `csv.header`, the first record of the stream names the fields: names match
 * columns case-insensitively, unmatched fields are ignored, columns the header lacks are NULL,
 * and every record must have as many fields as the header. Blank records are skipped.
 *
 * Known limit: a quoted field cannot span two decode calls (two socket polls); it becomes a
 * dead letter 'unterminated quoted field'.
 */
import type { Schema, SqlType, Value } from '../../common/types.js';
import { parseText } from '../../common/values.js';
import type { DeadLetter } from '../api.js';
import { deadLetterOf, errorText, isBlank, type DecodeResult, type Decoder, type PositionOf } from './decoder.js';
import { RowAssembler } from './row-assembler.js';

const QUOTE = 34;
/** split() result: the record ends inside a quoted field. */
export const CSV_OPEN_QUOTE = -1;
/** split() result: a closing quote is followed by something other than the delimiter. */
export const CSV_BAD_QUOTE = -2;
/** Most lines one quoted record may span before its opening line is taken as malformed. */
export const MAX_RECORD_LINES = 1000;

/** Splits CSV records into fields, reusing its field arrays across records. */
export class CsvSplitter {
  readonly fields: string[] = [];
  /** quoted[k] is true when field k was written in quotes. */
  readonly quoted: boolean[] = [];
  /** After CSV_BAD_QUOTE: the offset of the offending character. */
  errorOffset = 0;
  private readonly delim: string;
  private readonly delimCode: number;

  constructor(delimiter: string) {
    this.delim = delimiter;
    this.delimCode = delimiter.charCodeAt(0);
  }

  /** Splits `s`; returns the number of fields, or CSV_OPEN_QUOTE / CSV_BAD_QUOTE. */
  split(s: string): number {
    const fields = this.fields;
    const quoted = this.quoted;
    const len = s.length;
    let n = 0;
    let i = 0;
    for (;;) {
      if (i < len && s.charCodeAt(i) === QUOTE) {
        let val = '';
        let seg = i + 1;
        let j = seg;
        for (;;) {
          const q = s.indexOf('"', j);
          if (q < 0) return CSV_OPEN_QUOTE;
          if (s.charCodeAt(q + 1) === QUOTE) {
            val += s.slice(seg, q + 1);
            j = seg = q + 2;
            continue;
          }
          val += s.slice(seg, q);
          i = q + 1;
          break;
        }
        fields[n] = val;
        quoted[n] = true;
        n++;
        if (i === len) return n;
        if (s.charCodeAt(i) !== this.delimCode) {
          this.errorOffset = i;
          return CSV_BAD_QUOTE;
        }
        i++;
      } else {
        const e = s.indexOf(this.delim, i);
        if (e < 0) {
          fields[n] = s.slice(i);
          quoted[n] = false;
          return n + 1;
        }
        fields[n] = s.slice(i, e);
        quoted[n] = false;
        n++;
        i = e + 1;
      }
    }
  }
}

/** Decodes CSV records of one stream into rows of `schema`. */
export class CsvDecoder implements Decoder {
  private readonly schema: Schema;
  private readonly types: readonly SqlType[];
  private readonly splitter: CsvSplitter;
  private headerPending: boolean;
  /** Field index → column index, or -1 for a field no column takes. */
  private mapping: Int32Array;

  constructor(schema: Schema, delimiter: string, header: boolean) {
    this.schema = schema;
    this.types = schema.map((f) => f.type);
    this.splitter = new CsvSplitter(delimiter);
    this.headerPending = header;
    this.mapping = Int32Array.from(schema, (_, j) => j);
  }

  decode(records: readonly string[], positionOf: PositionOf): DecodeResult {
    const out = new RowAssembler(this.schema, records.length);
    const dead: DeadLetter[] = [];
    const sp = this.splitter;
    const row = out.row;
    for (let i = 0; i < records.length; i++) {
      let text = records[i]!;
      if (isBlank(text)) continue;
      const first = i;
      let n = sp.split(text);
      if (n === CSV_OPEN_QUOTE) {
        let joined = text;
        let j = i;
        while (n === CSV_OPEN_QUOTE && j + 1 < records.length && j - i + 1 < MAX_RECORD_LINES) {
          const next = records[++j]!;
          joined += '\n' + next;
          // Only a line with a quote can close the field; skipping the others keeps this linear.
          if (next.includes('"')) n = sp.split(joined);
        }
        if (n < 0) {
          // Not a valid multi-line record: blame only the first line, so a stray quote does not
          // swallow the rest of the stream, and resume at the next line.
          dead.push(deadLetterOf(positionOf(first), text, 'unterminated quoted field: a field opened with " has no closing "'));
          continue;
        }
        text = joined;
        i = j;
      }
      if (n === CSV_BAD_QUOTE) {
        dead.push(deadLetterOf(positionOf(first), text, `unexpected character after a closing quote at offset ${sp.errorOffset}; a quoted field must end at a delimiter`));
        continue;
      }
      if (this.headerPending) {
        this.headerPending = false;
        const err = this.readHeader(n);
        if (err !== null) dead.push(deadLetterOf(positionOf(first), text, err));
        continue;
      }
      const mapping = this.mapping;
      if (n !== mapping.length) {
        dead.push(deadLetterOf(positionOf(first), text, `expected ${mapping.length} fields, got ${n}`));
        continue;
      }
      let col = -1;
      try {
        for (let f = 0; f < n; f++) {
          col = mapping[f]!;
          if (col < 0) continue;
          const s = sp.fields[f]!;
          row[col] = s === '' && !sp.quoted[f] ? null : convert(s, this.types[col]!);
        }
      } catch (e) {
        out.discard();
        dead.push(deadLetterOf(positionOf(first), text, `column "${this.schema[col]!.name}": ${errorText(e)}`));
        continue;
      }
      out.commit();
    }
    return { batch: out.finish(), deadLetters: dead };
  }

  /** Maps header fields to columns; returns an error when no field names a column. */
  private readHeader(n: number): string | null {
    const lower = this.schema.map((f) => f.name.toLowerCase());
    const mapping = new Int32Array(n);
    const taken = new Set<number>();
    for (let f = 0; f < n; f++) {
      const j = lower.indexOf(this.splitter.fields[f]!.trim().toLowerCase());
      mapping[f] = j >= 0 && !taken.has(j) ? j : -1;
      if (j >= 0) taken.add(j);
    }
    if (taken.size === 0) {
      // Keep positional mapping: the "header" may well be data with a wrong csv.header setting.
      return `the CSV header names none of the columns (${this.schema.map((f) => f.name).join(', ')}); check csv.header and csv.delimiter`;
    }
    this.mapping = mapping;
    return null;
  }
}

function convert(s: string, type: SqlType): Value {
  return type === 'varchar' ? s : parseText(s, type);
}
