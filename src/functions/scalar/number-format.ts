/**
 * to_char of a number by PostgreSQL's numeric template: `9` a digit (blank when a leading
 * zero), `0` a digit always printed, `.`/`D` the decimal point, `,`/`G` the group separator,
 * `FM` fill mode (no padding, trailing fraction zeros dropped), and the sign patterns `S`,
 * `MI`, `PL`, `SG` and `PR`. The value is rounded half away from zero to the template's
 * fraction digits from its shortest decimal text (what a NUMERIC holds); a value with more
 * integer digits than the template prints `#` in every digit place. Without a sign pattern one
 * place before the first digit holds `-` (or a blank).
 */
import { SluiceError } from '../../common/errors.js';

type Piece =
  | { readonly kind: 'digit'; readonly zero: boolean; readonly post: boolean }
  | { readonly kind: 'point' }
  | { readonly kind: 'group' }
  | { readonly kind: 'sign'; readonly how: 'S' | 'MI' | 'PL' | 'SG' }
  | { readonly kind: 'pr' }
  | { readonly kind: 'text'; readonly text: string };

interface NumTemplate {
  readonly pieces: readonly Piece[];
  readonly fm: boolean;
  readonly pre: number;
  readonly post: number;
}

function parseNumTemplate(fmt: string): NumTemplate {
  const pieces: Piece[] = [];
  let fm = false;
  let post = false;
  let pre = 0;
  let postN = 0;
  for (let i = 0; i < fmt.length; ) {
    const rest = fmt.slice(i);
    const up2 = rest.slice(0, 2).toUpperCase();
    const c = rest[0]!;
    if (up2 === 'FM') { fm = true; i += 2; continue; }
    if (c === '9' || c === '0') {
      pieces.push({ kind: 'digit', zero: c === '0', post });
      if (post) postN++;
      else pre++;
      i++;
      continue;
    }
    if (c === '.' || c === 'D' || c === 'd') {
      if (post) throw new SluiceError('syntax', 'multiple decimal points');
      post = true;
      pieces.push({ kind: 'point' });
      i++;
      continue;
    }
    if (c === ',' || c === 'G' || c === 'g') { pieces.push({ kind: 'group' }); i++; continue; }
    if (up2 === 'MI' || up2 === 'PL' || up2 === 'SG') { pieces.push({ kind: 'sign', how: up2 }); i += 2; continue; }
    if (up2 === 'PR') { pieces.push({ kind: 'pr' }); i += 2; continue; }
    if (c === 'S' || c === 's') { pieces.push({ kind: 'sign', how: 'S' }); i++; continue; }
    if (up2 === 'TH' || up2 === 'RN' || up2 === 'EE' || c === 'V' || c === 'v' || c === 'L' || c === 'l') {
      throw new SluiceError('not_supported', `the numeric template pattern "${rest.slice(0, c === 'V' || c === 'v' || c === 'L' || c === 'l' ? 1 : up2 === 'EE' ? 4 : 2)}" is not supported by to_char`, { hint: 'Use 9, 0, ., D, ",", G, FM, S, MI, PL, SG or PR.' });
    }
    if (c === '"') {
      const end = fmt.indexOf('"', i + 1);
      pieces.push({ kind: 'text', text: fmt.slice(i + 1, end < 0 ? fmt.length : end) });
      i = end < 0 ? fmt.length : end + 1;
      continue;
    }
    pieces.push({ kind: 'text', text: c });
    i++;
  }
  return { pieces, fm, pre, post: postN };
}

/** |x| rounded half away from zero to `digits` decimals, as integer and fraction digit strings. */
function decimalParts(x: number | bigint | string, digits: number): { neg: boolean; int: string; frac: string } {
  let s = typeof x === 'string' ? x : typeof x === 'bigint' ? x.toString() : exactText(x);
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  let [int = '0', frac = ''] = s.split('.');
  if (frac.length > digits) {
    const up = frac.charCodeAt(digits) >= 53; // '5'
    frac = frac.slice(0, digits);
    if (up) {
      const all = (int + frac).split('').map(Number);
      let k = all.length - 1;
      while (k >= 0) {
        if (all[k]! < 9) { all[k]!++; break; }
        all[k] = 0;
        k--;
      }
      let joined = all.join('');
      if (k < 0) joined = '1' + joined;
      int = joined.slice(0, joined.length - digits) || '0';
      frac = joined.slice(joined.length - digits);
    }
  }
  frac = frac.padEnd(digits, '0');
  int = int.replace(/^0+(?=\d)/, '');
  return { neg: neg && /[1-9]/.test(int + frac), int, frac };
}

/** A double's shortest decimal text without exponent. */
function exactText(x: number): string {
  if (!Number.isFinite(x)) throw new SluiceError('not_supported', 'to_char of NaN or infinity is not supported');
  const s = String(x);
  if (!/e/i.test(s)) return s;
  const neg = x < 0;
  const [m, e] = String(Math.abs(x)).split(/e/i) as [string, string];
  const exp = Number(e);
  const [a, b = ''] = m.split('.');
  const digits = a! + b;
  const point = a!.length + exp;
  const out = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}

/** to_char(number, template). */
export function numberToChar(x: number | bigint | string, fmt: string): string {
  const t = parseNumTemplate(fmt);
  const { neg, int: rawInt, frac } = decimalParts(x, t.post);
  const int = rawInt === '0' && t.post > 0 && t.pre > 0 ? '' : rawInt;
  const overflow = int.length > t.pre;
  const lastZeroPost = t.pieces.reduce((acc, p, i) => (p.kind === 'digit' && p.post && p.zero ? i : acc), -1);
  const firstZeroPre = t.pieces.findIndex((p) => p.kind === 'digit' && !p.post && p.zero);
  // In fill mode, fraction digits after the last nonzero one (and after the last `0`) are dropped.
  let keepFrac = frac.replace(/0+$/, '').length;
  let postIdx = 0;
  const hasSign = t.pieces.some((p) => p.kind === 'sign' && p.how !== 'PL');
  const hasPr = t.pieces.some((p) => p.kind === 'pr');
  const leadingS = t.pieces.findIndex((p) => p.kind === 'sign' && p.how === 'S') < t.pieces.findIndex((p) => p.kind === 'digit' || p.kind === 'point');
  const floatSign = !hasSign || (leadingS && t.pieces.some((p) => p.kind === 'sign' && p.how === 'S'));
  const floatChar = hasPr ? (neg ? '<' : t.fm ? '' : ' ') : leadingS && hasSign && t.pieces.some((p) => p.kind === 'sign' && p.how === 'S') ? (neg ? '-' : '+') : neg ? '-' : t.fm ? '' : ' ';
  for (let i = 0, k = 0; i < t.pieces.length; i++) {
    const p = t.pieces[i]!;
    if (p.kind === 'digit' && p.post && p.zero) keepFrac = Math.max(keepFrac, k + 1);
    if (p.kind === 'digit' && p.post) k++;
  }
  let out = '';
  let preIdx = 0;
  let started = false;
  let signDone = !floatSign;
  const emitSign = () => {
    if (!signDone) {
      out += floatChar;
      signDone = true;
    }
  };
  const blanks = t.pre - int.length;
  for (let i = 0; i < t.pieces.length; i++) {
    const p = t.pieces[i]!;
    switch (p.kind) {
      case 'digit':
        if (!p.post) {
          const slot = preIdx++;
          if (overflow) {
            emitSign();
            out += '#';
            started = true;
          } else if (slot < blanks) {
            if (firstZeroPre >= 0 && i >= firstZeroPre) {
              emitSign();
              out += '0';
              started = true;
            } else if (t.fm && slot === t.pre - 1 && int === '' && keepFrac === 0 && t.post > 0) {
              emitSign();
              out += '0';
              started = true;
            } else if (!t.fm) out += ' ';
          } else {
            emitSign();
            out += int[slot - blanks];
            started = true;
          }
        } else {
          const j = postIdx++;
          if (overflow) out += '#';
          else if (!t.fm || j < keepFrac || p.zero || i <= lastZeroPost) out += frac[j];
        }
        break;
      case 'point':
        // A point with no digit place after it prints nothing, as in PostgreSQL.
        if (t.post === 0) break;
        emitSign();
        out += '.';
        started = true;
        break;
      case 'group':
        if (started) out += ',';
        else if (!t.fm) out += ' ';
        break;
      case 'sign':
        if (p.how === 'S') {
          if (!leadingS) out += neg ? '-' : '+';
        } else if (p.how === 'MI') out += neg ? '-' : t.fm ? '' : ' ';
        else if (p.how === 'PL') out += neg ? ' ' : '+';
        else out += neg ? '-' : '+';
        break;
      case 'pr':
        emitSign();
        out += neg ? '>' : t.fm ? '' : ' ';
        break;
      case 'text':
        out += p.text;
        break;
    }
  }
  emitSign();
  return out;
}
