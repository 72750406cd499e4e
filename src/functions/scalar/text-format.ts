/**
 * Text functions that build or convert text the way PostgreSQL does: format (with %s, %I, %L,
 * %%, argument positions `%2$s` and widths `%-10s`, `%*s`), quote_ident, quote_literal and
 * quote_nullable, encode/decode of bytea as hex, base64 or escape text, and width_bucket.
 * A bytea value is its hex text (`\x…`, see common/types.ts).
 */
import { SluiceError } from '../../common/errors.js';
import { type Value } from '../../common/types.js';
import { cast } from '../../planner/coercion.js';
import { byName, rowWiseFunction, type ScalarDefinition } from './scalar-function.js';
import { coerceArg, fixed, noFunction, type ScalarBinder } from './signature.js';

/** Keywords quote_ident quotes (PostgreSQL's reserved, column-name and type/function-name keywords). */
const QUOTED_KEYWORDS = new Set((
  'all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast char character check coalesce ' +
  'collate collation column concurrently constraint create cross current_catalog current_date current_role current_schema current_time ' +
  'current_timestamp current_user dec decimal default deferrable desc distinct do else end except exists extract false fetch float for ' +
  'foreign freeze from full grant greatest group grouping having ilike in initially inner inout int integer intersect interval into is ' +
  'isnull join json_array json_arrayagg json_object json_objectagg lateral leading least left like limit localtime localtimestamp national ' +
  'natural nchar none normalize not notnull null nullif numeric offset on only or order out outer overlaps overlay placing position ' +
  'precision primary real references returning right row select session_user setof similar smallint some substring symmetric table ' +
  'tablesample then time timestamp to trailing treat trim true union unique user using values varchar variadic verbose when where window with xmlattributes ' +
  'xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable'
).split(' '));

/** An identifier quoted for SQL when it needs it. */
export function quoteIdent(s: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(s) && !QUOTED_KEYWORDS.has(s)) return s;
  return `"${s.replace(/"/g, '""')}"`;
}

/** A string literal for SQL (E'…' when it holds a backslash). */
export function quoteLiteral(s: string): string {
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

function formatError(message: string): SluiceError {
  return new SluiceError('invalid_parameter', message);
}

/** format(fmt, args…) over the arguments' text (NULL as null). */
export function formatText(fmt: string, args: readonly (string | null)[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (++i >= fmt.length) throw formatError('unterminated format() type specifier');
    if (fmt[i] === '%') {
      out += '%';
      continue;
    }
    const m = /^(?:(\d+)\$)?(-)?(?:(\*)(?:(\d+)\$)?|(\d+))?([a-zA-Z]?)/.exec(fmt.slice(i))!;
    const [whole, pos, minus, star, starPos, digits, conv] = m;
    if (!conv) throw formatError('unterminated format() type specifier');
    i += whole.length - 1;
    let width: number | null = digits ? Number(digits) : null;
    let left = !!minus;
    if (star) {
      const idx = starPos ? Number(starPos) - 1 : next++;
      if (idx >= args.length) throw formatError('too few arguments for format()');
      const w = args[idx];
      width = w === null ? null : Number(w);
      if (width !== null && width < 0) {
        left = true;
        width = -width;
      }
    }
    const idx = pos ? Number(pos) - 1 : next;
    if (pos && Number(pos) === 0) throw formatError('format specifies argument 0, but arguments are numbered from 1');
    next = idx + 1;
    if (idx >= args.length) throw formatError('too few arguments for format()');
    const v = args[idx]!;
    let text: string;
    switch (conv) {
      case 's': text = v ?? ''; break;
      case 'I':
        if (v === null) throw new SluiceError('null_value_not_allowed', 'null values cannot be formatted as an SQL identifier');
        text = quoteIdent(v);
        break;
      case 'L': text = v === null ? 'NULL' : quoteLiteral(v); break;
      default: throw formatError(`unrecognized format() type specifier "${conv}"`);
    }
    if (width !== null) text = left ? text.padEnd(width, ' ') : text.padStart(width, ' ');
    out += text;
  }
  return out;
}

const bindFormat: ScalarBinder = (args, site) => {
  if (args.length < 1) throw noFunction(site.name, args, site.pos);
  return site.make(args.map((a) => cast(a, 'varchar')), 'varchar');
};

function hexBytes(b: string): Uint8Array {
  return Uint8Array.from(Buffer.from(b.slice(2), 'hex'));
}

const toBytea = (bytes: Uint8Array) => '\\x' + Buffer.from(bytes).toString('hex');

/** encode(bytea, 'hex' | 'base64' | 'escape'). */
export function encodeBytes(b: string, format: string): string {
  const bytes = hexBytes(b);
  switch (format.toLowerCase()) {
    case 'hex': return Buffer.from(bytes).toString('hex');
    case 'base64': return (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join('\n');
    case 'escape': {
      let out = '';
      for (const x of bytes) out += x === 0x5c ? '\\\\' : x === 0 || x >= 0x80 ? `\\${x.toString(8).padStart(3, '0')}` : String.fromCharCode(x);
      return out;
    }
    default: throw new SluiceError('invalid_parameter', `unrecognized encoding: "${format}"`, { hint: 'Valid encodings are "base64", "escape" and "hex".' });
  }
}

/** decode(text, 'hex' | 'base64' | 'escape') as bytea. */
export function decodeText(s: string, format: string): string {
  switch (format.toLowerCase()) {
    case 'hex': {
      const t = s.replace(/\s+/g, '');
      if (t.length % 2 !== 0) throw new SluiceError('invalid_parameter', 'invalid hexadecimal data: odd number of digits');
      if (!/^[0-9a-fA-F]*$/.test(t)) throw new SluiceError('invalid_parameter', `invalid hexadecimal digit: "${/[^0-9a-fA-F]/.exec(t)![0]}"`);
      return '\\x' + t.toLowerCase();
    }
    case 'base64': {
      const t = s.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || (t.length % 4 !== 0 && t.includes('='))) throw new SluiceError('invalid_parameter', 'invalid base64 end sequence', { hint: 'Input data is missing padding, is truncated, or is otherwise corrupted.' });
      if (t.length % 4 === 1) throw new SluiceError('invalid_parameter', 'invalid base64 end sequence', { hint: 'Input data is missing padding, is truncated, or is otherwise corrupted.' });
      return toBytea(Uint8Array.from(Buffer.from(t, 'base64')));
    }
    case 'escape': {
      const bytes: number[] = [];
      const enc = Buffer.from(s, 'utf8');
      for (let i = 0; i < enc.length; i++) {
        if (enc[i] !== 0x5c) bytes.push(enc[i]!);
        else if (enc[i + 1] === 0x5c) { bytes.push(0x5c); i++; }
        else {
          const oct = enc.subarray(i + 1, i + 4).toString();
          if (!/^[0-3][0-7]{2}$/.test(oct)) throw new SluiceError('invalid_input', 'invalid input syntax for type bytea');
          bytes.push(parseInt(oct, 8));
          i += 3;
        }
      }
      return toBytea(Uint8Array.from(bytes));
    }
    default: throw new SluiceError('invalid_parameter', `unrecognized encoding: "${format}"`, { hint: 'Valid encodings are "base64", "escape" and "hex".' });
  }
}

/** width_bucket(x, low, high, count): the bucket of x among `count` equal buckets over [low, high) (0 below, count + 1 above). */
export function widthBucket(x: number, low: number, high: number, count: number): number {
  if (count <= 0) throw new SluiceError('invalid_width_bucket', 'count must be greater than zero');
  if (low === high) throw new SluiceError('invalid_width_bucket', 'lower bound cannot equal upper bound');
  if (!Number.isFinite(low) || !Number.isFinite(high)) throw new SluiceError('invalid_width_bucket', 'lower and upper bounds must be finite');
  if (Number.isNaN(x)) throw new SluiceError('invalid_width_bucket', 'operand, lower bound, and upper bound cannot be NaN');
  if (low < high) {
    if (x < low) return 0;
    if (x >= high) return count + 1;
    return Math.floor((count * (x - low)) / (high - low)) + 1;
  }
  if (x > low) return 0;
  if (x <= high) return count + 1;
  return Math.floor((count * (low - x)) / (low - high)) + 1;
}

const bindEncode: ScalarBinder = (args, site) => {
  if (args.length !== 2) throw noFunction(site.name, args, site.pos);
  return site.make([coerceArg(site.name, args[0]!, 'bytea', args, site.pos), coerceArg(site.name, args[1]!, 'varchar', args, site.pos)], 'varchar');
};

/** The text-building functions: signature beside kernel. */
export const TEXT_FORMAT_FUNCTIONS = {
  format: byName(['format'], bindFormat, rowWiseFunction(([f, ...rest]) => (f === null ? null : formatText(f as string, rest as (string | null)[])), false)),
  quote_ident: byName(['quote_ident'], fixed(['varchar'], 'varchar'), rowWiseFunction(([s]) => quoteIdent(s as string))),
  quote_literal: byName(['quote_literal'], (args, site) => site.make(args.length === 1 ? [cast(args[0]!, 'varchar')] : (() => { throw noFunction(site.name, args, site.pos); })(), 'varchar'), rowWiseFunction(([s]) => quoteLiteral(s as string))),
  quote_nullable: byName(['quote_nullable'], (args, site) => site.make(args.length === 1 ? [cast(args[0]!, 'varchar')] : (() => { throw noFunction(site.name, args, site.pos); })(), 'varchar'), rowWiseFunction(([s]) => (s === null ? 'NULL' : quoteLiteral(s as string)), false)),
  encode: byName(['encode'], bindEncode, rowWiseFunction(([b, f]) => encodeBytes(b as string, f as string))),
  decode: byName(['decode'], fixed(['varchar', 'varchar'], 'bytea'), rowWiseFunction(([s, f]) => decodeText(s as string, f as string))),
  width_bucket: byName(['width_bucket'], fixed(['double', 'double', 'double', 'int'], 'int'), rowWiseFunction((vals: Value[]) => widthBucket(vals[0] as number, vals[1] as number, vals[2] as number, vals[3] as number))),
} satisfies Record<string, ScalarDefinition>;
