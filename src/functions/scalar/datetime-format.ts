/**
 * PostgreSQL's date/time template patterns: `to_char` of timestamps and intervals, and
 * `to_timestamp(text, template)` / `to_date` reading them back. A template is cut into nodes
 * the way PostgreSQL's formatting.c does: at each place the longest keyword of its
 * (case-sensitive) table, with the FM/TM prefixes and the TH/th suffix, text in double quotes
 * copied as it is, anything else a literal character. Timestamps are microseconds of wall-clock
 * time; the zone patterns (TZ, tz) print nothing for a timestamp without time zone, and for a
 * timestamptz (a date is formatted as one) the zone's abbreviation and OF/TZH/TZM its offset.
 */
import { SluiceError } from '../../common/errors.js';
import { offsetText } from '../../common/time-zone.js';

/** A keyword of the template language, by PostgreSQL's spelling (the case variants are separate keywords). */
const KEYWORDS = [
  'A.D.', 'A.M.', 'AD', 'AM', 'B.C.', 'BC', 'CC', 'DAY', 'DDD', 'DD', 'DY', 'Day', 'Dy', 'D',
  'FF1', 'FF2', 'FF3', 'FF4', 'FF5', 'FF6', 'FX', 'HH24', 'HH12', 'HH', 'IDDD', 'ID', 'IW', 'IYYY', 'IYY', 'IY', 'I', 'J',
  'MI', 'MM', 'MONTH', 'MON', 'MS', 'Month', 'Mon', 'OF', 'P.M.', 'PM', 'Q', 'RM', 'SSSSS', 'SSSS', 'SS',
  'TZH', 'TZM', 'TZ', 'US', 'WW', 'W', 'Y,YYY', 'YYYY', 'YYY', 'YY', 'Y',
  'a.d.', 'a.m.', 'ad', 'am', 'b.c.', 'bc', 'cc', 'day', 'ddd', 'dd', 'dy', 'd',
  'ff1', 'ff2', 'ff3', 'ff4', 'ff5', 'ff6', 'fx', 'hh24', 'hh12', 'hh', 'iddd', 'id', 'iw', 'iyyy', 'iyy', 'iy', 'i', 'j',
  'mi', 'mm', 'month', 'mon', 'ms', 'of', 'p.m.', 'pm', 'q', 'rm', 'sssss', 'ssss', 'ss',
  'tzh', 'tzm', 'tz', 'us', 'ww', 'w', 'y,yyy', 'yyyy', 'yyy', 'yy', 'y',
].sort((a, b) => b.length - a.length);

/** One piece of a parsed template. */
export type TemplateNode =
  | { readonly kind: 'text'; readonly text: string; readonly quoted: boolean }
  | { readonly kind: 'field'; readonly key: string; readonly fm: boolean; readonly tm: boolean; readonly th: 'TH' | 'th' | null };

const templates = new Map<string, readonly TemplateNode[]>();

/** Cuts a template into nodes (cached: templates are nearly always constants). */
export function parseTemplate(fmt: string): readonly TemplateNode[] {
  const hit = templates.get(fmt);
  if (hit) return hit;
  const out: TemplateNode[] = [];
  let i = 0;
  while (i < fmt.length) {
    let fm = false;
    let tm = false;
    let j = i;
    for (;;) {
      const two = fmt.slice(j, j + 2);
      if (two === 'FM' || two === 'fm') fm = true;
      else if (two === 'TM' || two === 'tm') tm = true;
      else break;
      j += 2;
    }
    const key = KEYWORDS.find((k) => fmt.startsWith(k, j));
    if (key) {
      j += key.length;
      const suffix = fmt.slice(j, j + 2);
      const th = suffix === 'TH' || suffix === 'th' ? suffix : null;
      if (th) j += 2;
      out.push({ kind: 'field', key, fm, tm, th });
      i = j;
      continue;
    }
    const c = fmt[i]!;
    if (c === '"') {
      let text = '';
      i++;
      while (i < fmt.length && fmt[i] !== '"') {
        if (fmt[i] === '\\' && i + 1 < fmt.length) i++;
        text += fmt[i];
        i++;
      }
      i++;
      out.push({ kind: 'text', text, quoted: true });
      continue;
    }
    if (c === '\\' && fmt[i + 1] === '"') {
      out.push({ kind: 'text', text: '"', quoted: true });
      i += 2;
      continue;
    }
    // A prefix without a keyword after it is text, as in PostgreSQL.
    out.push({ kind: 'text', text: c, quoted: false });
    i++;
  }
  if (templates.size > 1000) templates.clear();
  templates.set(fmt, out);
  return out;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const ROMAN = ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X', 'XI', 'XII'];

/** The calendar fields of a timestamp, or of an interval (then `interval` is true and only the numeric ones mean anything). */
export interface TimeFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly micro: number;
  readonly interval: boolean;
  /** Days since 1970-01-01 (timestamps only). */
  readonly epochDay: number;
  /** The time zone TZ prints: a timestamp with time zone's abbreviation in the session's zone, none for a timestamp without. */
  readonly zone?: string;
  /** A timestamp with time zone's offset (seconds east) in the session's zone, which OF, TZH and TZM print. */
  readonly offset?: number;
}

const DAY_US = 86_400_000_000n;

/** The fields of a timestamp in UTC microseconds. */
export function timestampFields(micros: bigint): TimeFields {
  let days = micros / DAY_US;
  let rest = micros % DAY_US;
  if (rest < 0n) {
    rest += DAY_US;
    days -= 1n;
  }
  const d = new Date(Number(days) * 86_400_000);
  const us = Number(rest);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: Math.floor(us / 3.6e9), minute: Math.floor(us / 6e7) % 60, second: Math.floor(us / 1e6) % 60, micro: us % 1e6,
    interval: false, epochDay: Number(days),
  };
}

/** The fields of an interval given as months, days and microseconds (each field keeps the sign of its part, as PostgreSQL's). */
export function intervalFields(months: number, days: number, micros: bigint): TimeFields {
  const us = Number(micros);
  return {
    year: Math.trunc(months / 12), month: months % 12, day: days,
    hour: Math.trunc(us / 3.6e9), minute: Math.trunc(us / 6e7) % 60, second: Math.trunc(us / 1e6) % 60, micro: us % 1e6,
    interval: true, epochDay: 0,
  };
}

/** `n` zero-padded to `width` as C's %0*d does (a minus sign counts in the width), unless FM. */
function pad(n: number, width: number, fm: boolean): string {
  if (fm) return String(n);
  const s = String(Math.abs(n)).padStart(n < 0 ? width - 1 : width, '0');
  return n < 0 ? `-${s}` : s;
}

/** A numeric field: PostgreSQL widens it by one for a negative (interval) value, so `-02` keeps two digits. */
function padTime(n: number, width: number, fm: boolean): string {
  return pad(n, n < 0 ? width + 1 : width, fm);
}

/** English ordinal suffix of a number's text ("1" → "st"). */
function ordinal(s: string, upper: boolean): string {
  const n = Number(s.replace(/\D/g, '').slice(-2) || '0');
  const last = n % 10;
  const suf = n >= 11 && n <= 13 ? 'th' : last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th';
  return upper ? suf.toUpperCase() : suf;
}

/** Day of the week, 0 = Sunday. */
function weekday(epochDay: number): number {
  return (((epochDay + 4) % 7) + 7) % 7;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (years 0–99 included, which Date.UTC would move). */
function daysFromCivil(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return Math.floor(t.getTime() / 86_400_000);
}

/** ISO 8601 year, week and day of week (1 = Monday) of a day. */
function isoWeek(epochDay: number, year: number): { isoYear: number; week: number; isoDow: number } {
  const isoDow = weekday(epochDay) === 0 ? 7 : weekday(epochDay);
  const thursday = epochDay + 4 - isoDow;
  const ty = new Date(thursday * 86_400_000).getUTCFullYear();
  const jan1 = daysFromCivil(ty, 1, 1);
  return { isoYear: ty === year ? year : ty, week: Math.floor((thursday - jan1) / 7) + 1, isoDow };
}

function intervalOnly(key: string): SluiceError {
  return new SluiceError('invalid_datetime_format', 'invalid format specification for an interval value', { hint: `Intervals are not tied to specific calendar dates (${key}).` });
}

function names(full: string, key: string, tm: boolean, fm: boolean, short: boolean): string {
  const base = short ? full.slice(0, 3) : full;
  const cased = key === key.toUpperCase() ? base.toUpperCase() : key === key.toLowerCase() ? base.toLowerCase() : base;
  return short || fm || tm ? cased : cased.padEnd(9, ' ');
}

/** One field's text. */
function fieldText(node: Extract<TemplateNode, { kind: 'field' }>, f: TimeFields): string {
  const { key, fm, tm } = node;
  const k = key.toUpperCase();
  const calendarOnly = () => {
    if (f.interval) throw intervalOnly(key);
  };
  const doy = () => f.epochDay - daysFromCivil(f.year, 1, 1) + 1;
  switch (k) {
    case 'AM': case 'PM': case 'A.M.': case 'P.M.': {
      const pm = f.hour % 24 >= 12;
      const t = k.includes('.') ? (pm ? 'P.M.' : 'A.M.') : pm ? 'PM' : 'AM';
      return key === key.toLowerCase() ? t.toLowerCase() : t;
    }
    case 'AD': case 'BC': case 'A.D.': case 'B.C.': {
      const t = k.includes('.') ? 'A.D.' : 'AD';
      return key === key.toLowerCase() ? t.toLowerCase() : t;
    }
    // The width follows the hour's sign (an interval's −24 hours prints 012), as PostgreSQL's.
    case 'HH': case 'HH12': return pad(f.hour % 12 === 0 ? 12 : f.hour % 12, f.hour < 0 ? 3 : 2, fm);
    case 'HH24': return padTime(f.hour, 2, fm);
    case 'MI': return padTime(f.minute, 2, fm);
    case 'SS': return padTime(f.second, 2, fm);
    case 'MS': return pad(Math.trunc(f.micro / 1000), 3, fm);
    case 'US': return pad(f.micro, 6, fm);
    case 'FF1': case 'FF2': case 'FF3': case 'FF4': case 'FF5': case 'FF6': {
      const n = Number(k[2]);
      return pad(Math.trunc(f.micro / 10 ** (6 - n)), n, fm);
    }
    case 'SSSS': case 'SSSSS': return String(f.hour * 3600 + f.minute * 60 + f.second);
    case 'Y,YYY': return `${Math.trunc(f.year / 1000)},${pad(Math.abs(f.year % 1000), 3, false)}`;
    case 'YYYY': return padTime(f.year, 4, fm);
    case 'YYY': return padTime(f.year % 1000, 3, fm);
    case 'YY': return padTime(f.year % 100, 2, fm);
    case 'Y': return String(f.year % 10);
    case 'IYYY': case 'IYY': case 'IY': case 'I': {
      calendarOnly();
      const y = isoWeek(f.epochDay, f.year).isoYear;
      const w = k.length;
      return pad(y % 10 ** w, w, fm);
    }
    case 'CC': {
      const cc = f.interval ? Math.trunc(f.year / 100) : Math.trunc((f.year + 99) / 100);
      return pad(cc, 2, fm);
    }
    case 'Q':
      if (f.interval) throw intervalOnly(key);
      return String(Math.floor((f.month - 1) / 3) + 1);
    case 'MM': return padTime(f.month, 2, fm);
    case 'MONTH': case 'MON':
      calendarOnly();
      return names(MONTHS[f.month - 1]!, key, tm, fm, k === 'MON');
    case 'DAY': case 'DY':
      calendarOnly();
      return names(DAYS[weekday(f.epochDay)]!, key, tm, fm, k === 'DY');
    case 'DDD':
      if (f.interval) return pad(f.day, 3, fm);
      return pad(doy(), 3, fm);
    case 'IDDD': {
      calendarOnly();
      const w = isoWeek(f.epochDay, f.year);
      return pad((w.week - 1) * 7 + w.isoDow, 3, fm);
    }
    case 'DD': return pad(f.day, 2, fm);
    case 'D': calendarOnly(); return String(weekday(f.epochDay) + 1);
    case 'ID': calendarOnly(); return String(isoWeek(f.epochDay, f.year).isoDow);
    case 'J': calendarOnly(); return String(f.epochDay + 2440588);
    case 'WW': calendarOnly(); return pad(Math.floor((doy() - 1) / 7) + 1, 2, fm);
    case 'W': calendarOnly(); return String(Math.floor((f.day - 1) / 7) + 1);
    case 'IW': calendarOnly(); return pad(isoWeek(f.epochDay, f.year).week, 2, fm);
    case 'RM': {
      if (f.interval && f.month === 0) return '';
      const r = ROMAN[(f.month + 11) % 12]!;
      const cased = key === 'rm' ? r.toLowerCase() : r;
      return fm ? cased : cased.padEnd(4, ' ');
    }
    case 'TZ': return key === 'tz' ? (f.zone ?? '').toLowerCase() : (f.zone ?? '');
    case 'OF': return offsetText(f.offset ?? 0);
    case 'TZH': return offsetText(f.offset ?? 0).slice(0, 3);
    case 'TZM': return String(Math.floor(Math.abs(f.offset ?? 0) % 3600 / 60)).padStart(2, '0');
    case 'FX': return '';
    default:
      throw new SluiceError('internal', `template keyword ${key} has no formatter`);
  }
}

const NUMERIC_KEYS = new Set(['HH', 'HH12', 'HH24', 'MI', 'SS', 'MS', 'US', 'SSSS', 'SSSSS', 'YYYY', 'YYY', 'YY', 'Y', 'IYYY', 'IYY', 'IY', 'I', 'CC', 'Q', 'MM', 'DDD', 'IDDD', 'DD', 'D', 'ID', 'J', 'WW', 'W', 'IW', 'Y,YYY', 'FF1', 'FF2', 'FF3', 'FF4', 'FF5', 'FF6']);

/** to_char of a timestamp's or interval's fields by a template. */
export function formatFields(f: TimeFields, fmt: string): string {
  let out = '';
  for (const node of parseTemplate(fmt)) {
    if (node.kind === 'text') {
      out += node.text;
      continue;
    }
    const s = fieldText(node, f);
    out += node.th && NUMERIC_KEYS.has(node.key.toUpperCase()) ? s + ordinal(s, node.th === 'TH') : s;
  }
  return out;
}

/** to_char(timestamp, template). */
export function timestampToChar(micros: bigint, fmt: string): string {
  return formatFields(timestampFields(micros), fmt);
}

const FIELD_WIDTH: Record<string, number> = {
  YYYY: 4, YYY: 3, YY: 2, Y: 1, IYYY: 4, IYY: 3, IY: 2, I: 1, MM: 2, DD: 2, DDD: 3, IDDD: 3, HH: 2, HH12: 2, HH24: 2, MI: 2, SS: 2,
  MS: 3, US: 6, FF1: 1, FF2: 2, FF3: 3, FF4: 4, FF5: 5, FF6: 6, D: 1, ID: 1, Q: 1, CC: 2, WW: 2, W: 1, IW: 2,
};

function outOfRange(what: string): SluiceError {
  return new SluiceError('datetime_field_overflow', `date/time field value out of range: "${what}"`);
}

const isSeparator = (c: string | undefined) => c !== undefined && !/[A-Za-z0-9]/.test(c);

/**
 * Reads `text` by a template (to_timestamp / to_date): each field's digits (a fixed number of
 * them unless a separator or the end follows the field), month and day names in any case,
 * AM/PM; a separator in the template matches one separator in the text or none; spaces before
 * a field are skipped. Fields not given default to 0001-01-01 00:00:00, as in PostgreSQL.
 * Returns UTC microseconds.
 */
export function parseWithTemplate(text: string, fmt: string): bigint {
  const nodes = parseTemplate(fmt);
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let micro = 0;
  let pm: boolean | null = null;
  let hour12 = false;
  let julian: number | null = null;
  let doy: number | null = null;
  let yearDigits = 4;
  let i = 0;
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n]!;
    if (node.kind === 'text') {
      for (const c of node.text) {
        if (node.quoted) {
          i += 1;
          continue;
        }
        if (c === ' ') {
          while (text[i] === ' ') i++;
          continue;
        }
        if (isSeparator(c)) {
          if (isSeparator(text[i])) i++;
        } else i++;
      }
      continue;
    }
    const k = node.key.toUpperCase();
    while (text[i] === ' ') i++;
    const next = nodes[n + 1];
    const greedy = node.fm || !next || (next.kind === 'text' && !next.quoted && isSeparator(next.text[0]));
    const readInt = (width: number): number => {
      const start = i;
      if (text[i] === '-' || text[i] === '+') i++;
      while (i < text.length && /[0-9]/.test(text[i]!) && (greedy || i - start < width)) i++;
      const digits = text.slice(start, i);
      if (!/[0-9]/.test(digits)) {
        throw new SluiceError('invalid_datetime_format', `invalid value "${text.slice(start, start + width)}" for "${node.key}"`, { hint: 'Value must be an integer.' });
      }
      return Number(digits);
    };
    const readName = (list: readonly string[], short: boolean): number => {
      const rest = text.slice(i).toLowerCase();
      for (let x = 0; x < list.length; x++) {
        const nm = (short ? list[x]!.slice(0, 3) : list[x]!).toLowerCase();
        if (rest.startsWith(nm)) {
          i += nm.length;
          return x;
        }
      }
      throw new SluiceError('invalid_datetime_format', `invalid value "${text.slice(i, i + 3)}" for "${node.key}"`, { hint: `The given value did not match any of the allowed values for this field.` });
    };
    switch (k) {
      case 'YYYY': case 'IYYY': year = readInt(4); yearDigits = 4; break;
      case 'Y,YYY': {
        const thousands = readInt(1);
        if (text[i] === ',') i++;
        year = thousands * 1000 + readInt(3);
        break;
      }
      case 'YYY': case 'IYY': year = readInt(3); yearDigits = 3; break;
      case 'YY': case 'IY': year = readInt(2); yearDigits = 2; break;
      case 'Y': case 'I': year = readInt(1); yearDigits = 1; break;
      case 'MM': month = readInt(2); break;
      case 'MONTH': month = readName(MONTHS, false) + 1; break;
      case 'MON': month = readName(MONTHS, true) + 1; break;
      case 'DAY': readName(DAYS, false); break;
      case 'DY': readName(DAYS, true); break;
      case 'DD': day = readInt(2); break;
      case 'DDD': doy = readInt(3); break;
      case 'J': julian = readInt(Infinity); break;
      case 'HH': case 'HH12': hour = readInt(2); hour12 = true; break;
      case 'HH24': hour = readInt(2); break;
      case 'MI': minute = readInt(2); break;
      case 'SS': second = readInt(2); break;
      case 'SSSS': case 'SSSSS': {
        const s = readInt(Infinity);
        hour = Math.floor(s / 3600);
        minute = Math.floor(s / 60) % 60;
        second = s % 60;
        break;
      }
      case 'MS': case 'US': case 'FF1': case 'FF2': case 'FF3': case 'FF4': case 'FF5': case 'FF6': {
        const start = i;
        const v = readInt(FIELD_WIDTH[k]!);
        const digits = text.slice(start, i).replace(/\D/g, '').length;
        // Digits after the decimal point: "12.3" read by SS.MS is 300 ms.
        micro += Math.round(k === 'MS' ? v * 10 ** (3 - digits) * 1000 : v * 10 ** (6 - digits));
        break;
      }
      case 'AM': case 'PM': case 'A.M.': case 'P.M.': {
        const rest = text.slice(i).toLowerCase();
        const dotted = k.includes('.');
        const a = dotted ? 'a.m.' : 'am';
        const p = dotted ? 'p.m.' : 'pm';
        if (rest.startsWith(a)) pm = false;
        else if (rest.startsWith(p)) pm = true;
        else throw new SluiceError('invalid_datetime_format', `invalid value "${text.slice(i, i + a.length)}" for "${node.key}"`, { hint: `The given value did not match any of the allowed values for this field.` });
        i += a.length;
        break;
      }
      case 'AD': case 'BC': case 'A.D.': case 'B.C.': i += k.length; break;
      case 'D': case 'ID': case 'Q': case 'CC': case 'WW': case 'W': case 'IW': case 'IDDD': readInt(FIELD_WIDTH[k]!); break;
      case 'FX': break;
      default:
        throw new SluiceError('not_supported', `template pattern "${node.key}" is not supported by to_timestamp/to_date`);
    }
  }
  if (yearDigits < 4 && year < 100 && yearDigits <= 2) year += year < 70 ? 2000 : 1900;
  else if (yearDigits === 3 && year < 1000) year += year < 100 ? 2000 : year < 520 ? 2000 : 1000;
  if (hour12) {
    if (hour < 1 || hour > 12) throw new SluiceError('datetime_field_overflow', `hour "${hour}" is invalid for the 12-hour clock`, { hint: 'Use the 24-hour clock, or give an hour between 1 and 12.' });
    if (pm === true && hour < 12) hour += 12;
    if (pm === false && hour === 12) hour = 0;
  } else if (pm !== null) {
    if (pm && hour < 12) hour += 12;
  }
  let epochDay: number;
  if (julian !== null) epochDay = julian - 2440588;
  else {
    if (month < 1 || month > 12) throw outOfRange(text);
    if (doy !== null) epochDay = daysFromCivil(year, 1, 1) + doy - 1;
    else {
      const dim = daysFromCivil(year, month + 1, 1) - daysFromCivil(year, month, 1);
      if (day < 1 || day > dim) throw outOfRange(text);
      epochDay = daysFromCivil(year, month, day);
    }
  }
  if (hour > 24 || minute > 59 || second > 60) throw outOfRange(text);
  return BigInt(epochDay) * DAY_US + BigInt(hour * 3600 + minute * 60 + second) * 1_000_000n + BigInt(micro);
}
