/**
 * Bind parameters: the engine has no prepared statements, so each `$n` in the statement text is
 * replaced by a SQL literal of the parameter's value and type before the text is executed.
 */
import { checkedInterval, formatIntervalParts } from '../common/interval.js';
import { SluiceError } from '../common/errors.js';
import { formatDate, formatDouble, formatTime, formatTimestamp, parseDate, parseText, parseTime, parseTimestamp } from '../common/values.js';
import { decodeUtf8 } from './message-reader.js';
import type { FormatCode } from './message-writer.js';
import { Oid } from './pg-types.js';
import { PgServerError } from './server-error.js';
import { PG_EPOCH_DAYS, PG_EPOCH_MICROS } from './result-encoding.js';

/** One `$n` placeholder in statement text: its 1-based number and its span. */
export interface Placeholder {
  readonly n: number;
  readonly start: number;
  readonly end: number;
}

const isIdentChar = (c: string | undefined) => c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80);
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** The `$n` placeholders of `sql`, skipping string literals, quoted identifiers and comments. */
export function findPlaceholders(sql: string): Placeholder[] {
  const out: Placeholder[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
    } else if (c === "'") {
      const escapes = (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentChar(sql[i - 2]);
      i = skipQuoted(sql, i, "'", escapes);
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '$' && !isIdentChar(sql[i - 1])) {
      const digits = /^\$(\d+)/.exec(sql.slice(i, i + 12));
      if (digits) {
        out.push({ n: Number(digits[1]), start: i, end: i + digits[0].length });
        i += digits[0].length;
        continue;
      }
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? n : close + tag[0].length;
      } else i++;
    } else if (isIdentChar(c)) {
      // Skip the whole word, so a '$' inside an identifier (a$1) is not a placeholder.
      while (i < n && isIdentChar(sql[i])) i++;
    } else i++;
  }
  return out;
}

function skipQuoted(sql: string, i: number, q: string, backslashEscapes: boolean): number {
  i++;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === q) {
      if (sql[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return i;
}

/** The number of parameters `sql` takes: its highest `$n`. */
export function placeholderCount(sql: string): number {
  return findPlaceholders(sql).reduce((m, p) => Math.max(m, p.n), 0);
}

/** Statement text with its parameters substituted, and the way back to positions in the original. */
export interface BoundText {
  readonly text: string;
  /** Maps a 1-based position in `text` to the 1-based position in the original statement. */
  originalPosition(position: number): number;
}

/** `sql` with each `$n` replaced by literals[n-1]. */
export function substituteParameters(sql: string, literals: readonly string[]): BoundText {
  const ps = findPlaceholders(sql);
  if (ps.length === 0) return { text: sql, originalPosition: (p) => p };
  let out = '';
  let at = 0;
  // Spans of the literals in the new text, with the placeholder each replaced.
  const spans: { start: number; end: number; from: Placeholder }[] = [];
  for (const p of ps) {
    const lit = literals[p.n - 1];
    if (lit === undefined) throw new PgServerError('42P02', `there is no parameter $${p.n}`, { category: 'invalid_parameter' });
    out += sql.slice(at, p.start);
    spans.push({ start: out.length, end: out.length + lit.length, from: p });
    out += lit;
    at = p.end;
  }
  out += sql.slice(at);
  return {
    text: out,
    originalPosition(position) {
      const i = position - 1;
      let shift = 0;
      for (const s of spans) {
        if (i < s.start) break;
        // Inside a literal: the error is about the parameter, so point at its placeholder.
        if (i < s.end) return s.from.start + 1;
        shift += s.end - s.start - (s.from.end - s.from.start);
      }
      return position - shift;
    },
  };
}

/** A quoted SQL string literal (standard_conforming_strings: only quotes are doubled). */
export function quoteLiteral(s: string): string {
  if (s.includes('\0')) throw new PgServerError('22021', 'invalid byte sequence for encoding "UTF8": 0x00', { category: 'invalid_input' });
  return `'${s.replaceAll("'", "''")}'`;
}

/** The SQL type name a parameter of this OID is cast to, or null when it stays an untyped literal. */
function castTypeName(oid: number): string | null {
  switch (oid) {
    case Oid.bool:
      return 'BOOLEAN';
    case Oid.int2:
    case Oid.int4:
      return 'INT';
    case Oid.int8:
      return 'BIGINT';
    case Oid.float4:
    case Oid.float8:
      return 'DOUBLE';
    case Oid.numeric:
      return 'NUMERIC';
    case Oid.varchar:
    case Oid.text:
    case Oid.bpchar:
    case Oid.name:
      return 'VARCHAR';
    case Oid.timestamp:
    case Oid.timestamptz:
      return 'TIMESTAMP';
    case Oid.date:
      return 'DATE';
    case Oid.time:
      return 'TIME';
    case Oid.interval:
      return 'INTERVAL';
    default:
      return null;
  }
}

/** A NULL of the parameter's type: typed, so the statement plans as it would with a value. */
export function nullLiteral(oid: number): string {
  const t = castTypeName(oid);
  return t ? `CAST(NULL AS ${t})` : 'NULL';
}

const signed = (digits: string) => (digits.startsWith('-') ? `(${digits})` : digits);

/**
 * The SQL literal of one bound parameter. `index` is 0-based; `oid` is the type from Parse
 * (0 when the client left it unspecified: the value then stays an untyped string literal, which
 * the engine coerces from context much as PostgreSQL resolves an unknown-typed parameter).
 */
export function parameterLiteral(raw: Buffer | null, format: FormatCode, oid: number, index: number): string {
  if (raw === null) return nullLiteral(oid);
  if (format === 1) return binaryLiteral(raw, oid, index);
  return textLiteral(decodeUtf8(raw), oid);
}

function textLiteral(s: string, oid: number): string {
  switch (oid) {
    case Oid.int2: {
      const v = parseText(s, 'int') as number;
      if (v < -32768 || v > 32767) throw new SluiceError('numeric_out_of_range', `value "${s}" is out of range for type smallint`);
      return signed(String(v));
    }
    case Oid.int4:
      return signed(String(parseText(s, 'int')));
    case Oid.int8:
      return `CAST(${signed(String(parseText(s, 'bigint')))} AS BIGINT)`;
    case Oid.float4:
    case Oid.float8:
      return `CAST('${formatDouble(parseText(s, 'double') as number)}' AS DOUBLE)`;
    case Oid.numeric: {
      const t = s.trim();
      if (/^nan$/i.test(t)) return "CAST('NaN' AS DOUBLE)";
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw new SluiceError('invalid_input', `invalid input syntax for type numeric: "${s}"`);
      // A bare literal keeps every digit; CAST(… AS NUMERIC) would round to DuckDB's default scale.
      return signed(t.replace(/^\+/, ''));
    }
    case Oid.bool:
      return parseText(s, 'boolean') ? 'TRUE' : 'FALSE';
    case Oid.timestamp:
      // Validated here; the offset of '…+02:00' is ignored for TIMESTAMP as PostgreSQL does.
      parseTimestamp(s);
      return `CAST(${quoteLiteral(s.trim())} AS TIMESTAMP)`;
    case Oid.timestamptz:
      // The session time zone is UTC: a timestamptz is converted to UTC.
      return `CAST('${formatTimestamp(parseTimestamp(s))}' AS TIMESTAMP)`;
    case Oid.date:
      parseDate(s);
      return `CAST(${quoteLiteral(s.trim())} AS DATE)`;
    case Oid.time:
      return `CAST('${formatTime(parseTime(s))}' AS TIME)`;
    case Oid.interval:
      return `CAST(${quoteLiteral(s)} AS INTERVAL)`;
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
      return `CAST(${quoteLiteral(s)} AS VARCHAR)`;
    default:
      return quoteLiteral(s);
  }
}

function binaryLiteral(raw: Buffer, oid: number, index: number): string {
  const want = (n: number) => {
    if (raw.length !== n) throw new PgServerError('22P03', `incorrect binary data format in bind parameter ${index + 1}`, { category: 'invalid_input' });
  };
  switch (oid) {
    case Oid.bool:
      want(1);
      return raw[0] ? 'TRUE' : 'FALSE';
    case Oid.int2:
      want(2);
      return signed(String(raw.readInt16BE(0)));
    case Oid.int4:
      want(4);
      return signed(String(raw.readInt32BE(0)));
    case Oid.int8:
      want(8);
      return `CAST(${signed(raw.readBigInt64BE(0).toString())} AS BIGINT)`;
    case Oid.float4:
      want(4);
      return `CAST('${formatDouble(raw.readFloatBE(0))}' AS DOUBLE)`;
    case Oid.float8:
      want(8);
      return `CAST('${formatDouble(raw.readDoubleBE(0))}' AS DOUBLE)`;
    case Oid.timestamp:
    case Oid.timestamptz:
      want(8);
      return `CAST('${formatTimestamp(raw.readBigInt64BE(0) + PG_EPOCH_MICROS)}' AS TIMESTAMP)`;
    case Oid.time:
      want(8);
      return `CAST('${formatTime(raw.readBigInt64BE(0))}' AS TIME)`;
    case Oid.date: {
      want(4);
      return `CAST('${formatDate(raw.readInt32BE(0) + PG_EPOCH_DAYS)}' AS DATE)`;
    }
    case Oid.interval: {
      want(16);
      const text = formatIntervalParts(checkedInterval(raw.readInt32BE(12), raw.readInt32BE(8), raw.readBigInt64BE(0)));
      return `CAST('${text}' AS INTERVAL)`;
    }
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
      return `CAST(${quoteLiteral(decodeUtf8(raw))} AS VARCHAR)`;
    case Oid.unspecified:
    case Oid.unknown:
      // Without a declared type the bytes can only be taken as text.
      return quoteLiteral(decodeUtf8(raw));
    default:
      throw new PgServerError('0A000', `binary format for parameters of type OID ${oid} is not supported`, {
        category: 'not_supported',
        hint: 'Send this parameter in text format.',
      });
  }
}
