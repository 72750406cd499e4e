/**
 * Value-level conversions shared by the planner (constant folding) and the executor (casts,
 * results): parsing text into typed values and printing values as PostgreSQL prints them.
 */
import { canonicalJsonb, JsonNumber, parseJson } from './jsonb.js';
import { SluiceError } from './errors.js';
import { elementType, isArrayType, typeDisplayName, type ArrayType, type SqlType, type Value } from './types.js';
import { decodeInterval, formatInterval, microsInterval, parseInterval } from './interval.js';
import { parsed, parsedDays, parsedMicrosBig, parseTimestampString, TS_RANGE, TS_SYNTAX } from './timestamp-text.js';
import { findTimeZone, localToUtc, offsetText, utcToLocal, floorSeconds, UTC, type TimeZone } from './time-zone.js';
import { decFromDouble, decOf, decToInteger, formatDec, numericText, parseDec } from './decimal.js';

/** Parses 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|±hh[:mm]]' into microseconds since 1970 (UTC); see timestamp-text.ts. */
export function parseTimestamp(s: string): bigint {
  const r = parseTimestampString(s);
  if (r === TS_SYNTAX) throw new SluiceError('invalid_input', `invalid input syntax for type timestamp: "${s}"`);
  if (r === TS_RANGE) throw new SluiceError('invalid_input', `date/time field value out of range: "${s}"`);
  return parsedMicrosBig();
}

/**
 * Parses timestamptz text into the UTC instant (µs): a time with an offset (`+05:30`, `Z`) or a
 * zone name after it (`2026-03-08 01:30 America/New_York`) is read as written, one without in
 * `zone` (the session's), by PostgreSQL's rules for times in DST gaps and overlaps.
 */
export function parseTimestamptz(s: string, zone: TimeZone): bigint {
  const r = parseTimestampString(s);
  if (r === 0) {
    const micros = parsedMicrosBig();
    return parsed.zoned ? micros : localToUtc(zone, micros);
  }
  const named = r === TS_SYNTAX ? /^(.*\d)\s+([A-Za-z][\w/+\-]*)\s*$/.exec(s) : null;
  const namedZone = named ? findTimeZone(named[2]!) : null;
  if (named && namedZone && parseTimestampString(named[1]!) === 0 && !parsed.zoned) return localToUtc(namedZone, parsedMicrosBig());
  if (r === TS_RANGE) throw new SluiceError('invalid_input', `date/time field value out of range: "${s}"`);
  throw new SluiceError('invalid_input', `invalid input syntax for type timestamp with time zone: "${s}"`);
}

/** A timestamptz as PostgreSQL prints it: the wall-clock time in `zone`, then its offset (`-05`, `+05:30`). */
export function formatTimestamptz(micros: bigint, zone: TimeZone): string {
  const offset = zone.offsetAt(floorSeconds(micros));
  return formatTimestamp(micros + BigInt(offset) * 1_000_000n) + offsetText(offset);
}

/** Parses timestamp text (a time and zone are allowed) into the days since 1970 of its UTC date. */
export function parseDate(s: string): number {
  const r = parseTimestampString(s);
  if (r === TS_SYNTAX) throw new SluiceError('invalid_input', `invalid input syntax for type timestamp: "${s}"`);
  if (r === TS_RANGE) throw new SluiceError('invalid_input', `date/time field value out of range: "${s}"`);
  return parsedDays();
}

const p2 = (n: number) => String(n).padStart(2, '0');

export function formatTimestamp(micros: bigint): string {
  // Whole seconds rounded down, so a fraction before 1970 counts up from the second below it.
  let secs = micros / 1_000_000n;
  let frac = Number(micros % 1_000_000n);
  if (frac < 0) {
    frac += 1_000_000;
    secs -= 1n;
  }
  const d = new Date(Number(secs) * 1000);
  const base = `${String(d.getUTCFullYear()).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0').replace(/0+$/, '')}`;
}

const DAY_MICROS = 86_400_000_000n;

/** A time of day (microseconds since midnight, 0 to 24:00:00) as PostgreSQL prints it. */
export function formatTime(micros: bigint): string {
  const secs = Number(micros / 1_000_000n);
  const frac = Number(micros % 1_000_000n);
  const base = `${p2(Math.floor(secs / 3600))}:${p2(Math.floor(secs / 60) % 60)}:${p2(secs % 60)}`;
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0').replace(/0+$/, '')}`;
}

/**
 * PostgreSQL's time input: [date] HH:MM[:SS[.fraction]] [AM|PM] [zone offset, ignored]; the
 * fraction rounds to microseconds; 24:00:00 is the end of the day.
 */
export function parseTime(s: string): bigint {
  const m = /^\s*(?:\d{4}-\d{1,2}-\d{1,2}[ T]+)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?\s*(am|pm|a\.m\.|p\.m\.)?\s*(?:(?:z|[+-]\d{1,2}(?::?\d{2})?))?\s*$/i.exec(s);
  if (!m) throw new SluiceError('invalid_datetime_format', `invalid input syntax for type time: "${s}"`);
  let h = Number(m[1]);
  const mi = Number(m[2]);
  const sec = Number(m[3] ?? 0);
  const ampm = m[5]?.toLowerCase()[0];
  if (ampm) {
    if (h < 1 || h > 12) throw new SluiceError('datetime_field_overflow', `date/time field value out of range: "${s}"`);
    h = (h % 12) + (ampm === 'p' ? 12 : 0);
  }
  const frac = m[4] ? Math.round(Number(`0.${m[4]}`) * 1e6) : 0;
  const total = (BigInt(h * 3600 + mi * 60 + sec) * 1_000_000n) + BigInt(frac);
  if (h > 24 || mi > 59 || sec > 60 || total > DAY_MICROS) throw new SluiceError('datetime_field_overflow', `date/time field value out of range: "${s}"`);
  return total;
}

export function formatDate(days: number): string {
  const d = new Date(days * 86_400_000);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
}

export function formatDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // PostgreSQL prints the shortest exact digits, in exponent form below 1e-4 and from 1e15 up.
  const sci = v.toExponential();
  const at = sci.indexOf('e');
  const exp = Number(sci.slice(at + 1));
  if (exp >= -4 && exp < 15) return String(v);
  const e = Math.abs(exp);
  return `${sci.slice(0, at)}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}

/** Text form of a value as PostgreSQL's text protocol prints it (a timestamptz in `zone`, the session's). */
export function formatValue(v: Value, type: SqlType, zone: TimeZone = UTC): string | null {
  if (v === null) return null;
  switch (type) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'timestamp':
      return formatTimestamp(BigInt(v as bigint));
    case 'timestamptz':
      return formatTimestamptz(BigInt(v as bigint), zone);
    case 'date':
      return formatDate(Number(v));
    case 'time':
      return formatTime(BigInt(v as bigint));
    case 'interval':
      return formatInterval(v as string);
    case 'double':
      return formatDouble(Number(v));
    case 'numeric':
      return numericText(v);
    case 'int':
    case 'bigint':
    case 'varchar':
    case 'bytea':
    case 'jsonb':
    case 'null':
      return String(v);
    default:
      return formatArray(v as readonly Value[], type, zone);
  }
}

/** PostgreSQL's text form of an array: `{a,b,"c d",NULL}`, elements quoted where needed. */
export function formatArray(v: readonly Value[], type: ArrayType, zone: TimeZone = UTC): string {
  const elem = elementType(type);
  const parts = v.map((x) => {
    if (x === null) return 'NULL';
    const s = formatValue(x, elem, zone)!;
    return s === '' || /^null$/i.test(s) || /[{},"\\\s]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
  });
  return `{${parts.join(',')}}`;
}

/** Parses PostgreSQL's array text form (`{1,2,NULL}`, `{"a b",c}`) into an array of `type`. */
export function parseArray(s: string, type: ArrayType): Value[] {
  const bad = (why: string) => new SluiceError('invalid_input', `malformed array literal: "${s}"`, { hint: why });
  const t = s.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) throw bad('Array value must start with "{" and end with "}".');
  const elem = elementType(type);
  const out: Value[] = [];
  let i = 1;
  const end = t.length - 1;
  const ws = () => {
    while (i < end && /\s/.test(t[i]!)) i++;
  };
  ws();
  if (i === end) return out;
  for (;;) {
    ws();
    let text = '';
    let quoted = false;
    if (t[i] === '"') {
      quoted = true;
      i++;
      while (i < end && t[i] !== '"') {
        if (t[i] === '\\') i++;
        text += t[i] ?? '';
        i++;
      }
      if (t[i] !== '"') throw bad('Unterminated quoted element.');
      i++;
    } else {
      while (i < end && t[i] !== ',') {
        if (t[i] === '{' || t[i] === '}' || t[i] === '"') throw bad(t[i] === '{' ? 'Multidimensional arrays are not supported.' : 'Unexpected character.');
        if (t[i] === '\\') i++;
        text += t[i] ?? '';
        i++;
      }
      text = text.trim();
      if (text === '') throw bad('Unexpected "," character.');
    }
    ws();
    out.push(!quoted && /^null$/i.test(text) ? null : parseText(text, elem));
    if (i === end) return out;
    if (t[i] !== ',') throw bad('Junk after closing right brace.');
    i++;
  }
}

function parseBool(s: string): boolean {
  const t = s.trim().toLowerCase();
  if (['t', 'true', 'yes', 'y', 'on', '1'].includes(t)) return true;
  if (['f', 'false', 'no', 'n', 'off', '0'].includes(t)) return false;
  throw new SluiceError('invalid_input', `invalid input syntax for type boolean: "${s}"`);
}

function parseInteger(s: string, type: 'int' | 'bigint'): number | bigint {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new SluiceError('invalid_input', `invalid input syntax for type ${typeDisplayName(type)}: "${s}"`);
  const b = BigInt(t);
  if (type === 'int') {
    if (b < -2147483648n || b > 2147483647n) throw new SluiceError('numeric_out_of_range', `value "${s}" is out of range for type integer`);
    return Number(b);
  }
  if (b < -(2n ** 63n) || b >= 2n ** 63n) throw new SluiceError('numeric_out_of_range', `value "${s}" is out of range for type bigint`);
  return b;
}

function parseFloatStrict(s: string, type: SqlType): number {
  const t = s.trim().toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'infinity' || t === 'inf') return Infinity;
  if (t === '-infinity' || t === '-inf') return -Infinity;
  const n = Number(t);
  if (t === '' || Number.isNaN(n)) throw new SluiceError('invalid_input', `invalid input syntax for type ${typeDisplayName(type)}: "${s}"`);
  return n;
}

/** Parses text into a value of `type` (CSV fields, string literals, casts from varchar); a timestamptz without offset is read in `zone`. */
export function parseText(s: string, type: SqlType, zone: TimeZone = UTC): Value {
  switch (type) {
    case 'boolean':
      return parseBool(s);
    case 'int':
    case 'bigint':
      return parseInteger(s, type);
    case 'double':
      return parseFloatStrict(s, type);
    case 'numeric':
      return formatDec(parseDec(s));
    case 'varchar':
      return s;
    case 'bytea':
      return parseBytea(s);
    case 'jsonb':
      return canonicalJsonb(s);
    case 'timestamp':
      return parseTimestamp(s);
    case 'timestamptz':
      return parseTimestamptz(s, zone);
    case 'date':
      return parseDate(s);
    case 'time':
      return parseTime(s);
    case 'interval':
      return parseInterval(s);
    case 'null':
      return null;
    default:
      return parseArray(s, type);
  }
}

/**
 * Parses PostgreSQL's bytea input — hex (`\\x4a0b`, pairs optionally separated by whitespace) or
 * escape format (text whose `\\\\` is a backslash and `\\ooo` an octal byte) — into sluice's
 * bytea value, the lowercase hex form.
 */
export function parseBytea(s: string): string {
  const bad = () => new SluiceError('invalid_input', `invalid input syntax for type bytea`);
  if (s.startsWith('\\x')) {
    if (/^\\x[0-9a-f]*$/.test(s) && s.length % 2 === 0) return s;
    if (!/^(\s*[0-9a-fA-F]{2})*\s*$/.test(s.slice(2))) throw new SluiceError('invalid_parameter', `invalid hexadecimal data in bytea input "${s}"`, { hint: 'Write two hexadecimal digits per byte, e.g. \'\\x0a1b\'.' });
    return '\\x' + s.slice(2).replace(/\s+/g, '').toLowerCase();
  }
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      bytes.push(...utf8.encode(String.fromCodePoint(cp)));
    } else if (s[i + 1] === '\\') {
      bytes.push(0x5c);
      i++;
    } else if (/^[0-3][0-7]{2}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else throw bad();
  }
  return '\\x' + bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

function checkInt(n: number): number {
  if (!Number.isFinite(n) || n < -2147483648 || n > 2147483647) throw new SluiceError('numeric_out_of_range', 'integer out of range');
  return n;
}

/**
 * Converts one value between types with PostgreSQL's cast rules (rounding half away from 0);
 * casts between timestamptz and text, timestamp or date read or print in `zone` (the session's).
 */
export function castValue(v: Value, from: SqlType, to: SqlType, zone: TimeZone = UTC): Value {
  if (v === null || from === to) return v;
  if (from === 'varchar') return parseText(v as string, to, zone);
  if (from === 'jsonb') return castJsonb(v as string, to);
  if (isArrayType(from) && isArrayType(to)) return (v as readonly Value[]).map((x) => castValue(x, elementType(from), elementType(to)));
  if (isArrayType(from) && to === 'varchar') return formatValue(v, from);
  if (isArrayType(from) || isArrayType(to)) throw new SluiceError('datatype_mismatch', `cannot cast type ${typeDisplayName(from)} to ${typeDisplayName(to)}`);
  switch (to) {
    case 'varchar':
      // boolean::text is 'true'/'false' (the wire's text form is t/f).
      if (from === 'boolean') return v ? 'true' : 'false';
      return formatValue(v, from, zone);
    case 'boolean':
      if (from === 'int' || from === 'bigint') return Number(v) !== 0;
      break;
    case 'int':
      if (from === 'bigint') return checkInt(Number(v));
      if (from === 'double') return checkInt(roundHalfAway(v as number));
      if (from === 'numeric') return checkInt(Number(decToInteger(decOf(v as string))));
      if (from === 'boolean') return v ? 1 : 0;
      break;
    case 'bigint':
      if (from === 'int') return BigInt(v as number);
      if (from === 'numeric') {
        const r = decToInteger(decOf(v as string));
        if (r < -(2n ** 63n) || r >= 2n ** 63n) throw new SluiceError('numeric_out_of_range', 'bigint out of range');
        return r;
      }
      if (from === 'double') {
        const r = roundHalfAway(v as number);
        if (!Number.isFinite(r) || Math.abs(r) >= 2 ** 63) throw new SluiceError('numeric_out_of_range', 'bigint out of range');
        return BigInt(r);
      }
      if (from === 'boolean') return v ? 1n : 0n;
      break;
    case 'double':
      if (from === 'int' || from === 'double') return v as number;
      if (from === 'bigint') return Number(v);
      if (from === 'numeric') return Number(v as string);
      break;
    case 'numeric':
      if (from === 'int' || from === 'bigint') return String(v);
      if (from === 'double') return formatDec(decFromDouble(v as number));
      break;
    case 'timestamp':
      if (from === 'date') return BigInt(v as number) * 86_400_000_000n;
      if (from === 'timestamptz') return utcToLocal(zone, v as bigint);
      break;
    case 'timestamptz':
      if (from === 'date') return localToUtc(zone, BigInt(v as number) * 86_400_000_000n);
      if (from === 'timestamp') return localToUtc(zone, v as bigint);
      break;
    case 'date':
      if (from === 'timestamp' || from === 'timestamptz') {
        const b = from === 'timestamptz' ? utcToLocal(zone, v as bigint) : (v as bigint);
        return Number(b / 86_400_000_000n) - (b % 86_400_000_000n < 0n ? 1 : 0);
      }
      break;
    case 'time':
      if (from === 'timestamp' || from === 'timestamptz') {
        const b = from === 'timestamptz' ? utcToLocal(zone, v as bigint) : (v as bigint);
        const r = b % DAY_MICROS;
        return r < 0n ? r + DAY_MICROS : r;
      }
      if (from === 'interval') {
        // The interval's time part, wrapped into one day (PostgreSQL's interval → time).
        const r = decodeInterval(v as string).micros % DAY_MICROS;
        return r < 0n ? r + DAY_MICROS : r;
      }
      break;
    case 'interval':
      if (from === 'time') return microsInterval(v as bigint);
      break;
    case 'null':
      return null;
    default:
      break;
  }
  throw new SluiceError('datatype_mismatch', `cannot cast type ${typeDisplayName(from)} to ${typeDisplayName(to)}`);
}

/** jsonb to text (its canonical text) or, for a JSON number or boolean, to a number or boolean type. */
function castJsonb(doc: string, to: SqlType): Value {
  if (to === 'varchar') return doc;
  const want = typeDisplayName(to);
  const node = parseJson(doc);
  const kind = node === null ? 'null' : typeof node === 'string' ? 'string' : typeof node === 'boolean' ? 'boolean' : node instanceof JsonNumber ? 'numeric' : Array.isArray(node) ? 'array' : 'object';
  if (to === 'boolean' && typeof node === 'boolean') return node;
  if ((to === 'int' || to === 'bigint' || to === 'double' || to === 'numeric') && node instanceof JsonNumber) {
    // The number's exact decimal; to an integer it rounds half away from zero (numeric's cast).
    const dec = formatDec(parseDec(node.text));
    return to === 'numeric' ? dec : castValue(dec, 'numeric', to);
  }
  if (to === 'boolean' || to === 'int' || to === 'bigint' || to === 'double' || to === 'numeric') {
    throw new SluiceError('invalid_parameter', `cannot cast jsonb ${kind} to type ${want}`);
  }
  throw new SluiceError('datatype_mismatch', `cannot cast type jsonb to ${want}`);
}

export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}
