import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsedMicros, parsedMicrosBig, parseTimestampBytes, parseTimestampString, plainTimestampMicros, TS_RANGE, TS_SYNTAX } from './timestamp-text.js';
import { parseDate, parseTimestamp } from './values.js';

/** The regex parser this one replaced (years ≥ 100, where Date.UTC is right): the reference. */
const TS_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;
function reference(s: string): bigint | 'syntax' | 'range' {
  const m = TS_RE.exec(s.trim());
  if (!m) return 'syntax';
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  const d = new Date(ms);
  if (Number.isNaN(ms) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3]) || Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59) return 'range';
  let micros = BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  const tz = m[8];
  if (tz && tz !== 'Z') {
    const sign = tz[0] === '-' ? -1n : 1n;
    const digits = tz.slice(1).replace(':', '');
    micros -= sign * BigInt(Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4) || 0) * 60) * 1_000_000n;
  }
  return micros;
}

function mine(s: string): bigint | 'syntax' | 'range' {
  const r = parseTimestampString(s);
  return r === TS_SYNTAX ? 'syntax' : r === TS_RANGE ? 'range' : parsedMicrosBig();
}

describe('parseTimestampBytes / parseTimestampString', () => {
  it('reads the ISO and PostgreSQL layouts', () => {
    expect(parseTimestamp('2026-01-02 03:04:05.123456')).toBe(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1000n + 123456n);
    expect(parseTimestamp('2026-01-02T03:04:05Z')).toBe(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1000n);
    expect(parseTimestamp('2026-01-02T03:04:05.5+01:30')).toBe(BigInt(Date.UTC(2026, 0, 2, 1, 34, 5)) * 1000n + 500000n);
    expect(parseTimestamp('2026-01-02 03:04-0200')).toBe(BigInt(Date.UTC(2026, 0, 2, 5, 4, 0)) * 1000n);
    expect(parseTimestamp('  2026-1-2  ')).toBe(BigInt(Date.UTC(2026, 0, 2)) * 1000n);
    expect(parseTimestamp('2026-01-02 03:04:05.1234567')).toBe(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1000n + 123456n);
    expect(parseTimestamp('9999-12-31 23:59:59.999999')).toBe(BigInt(Date.UTC(9999, 11, 31, 23, 59, 59)) * 1000n + 999999n);
    expect(parseTimestamp('1000-03-01 00:00:00')).toBe(BigInt(Date.UTC(1000, 2, 1)) * 1000n);
    expect(parseDate('2026-01-02T23:30:00-01')).toBe(Date.UTC(2026, 0, 3) / 86_400_000);
    expect(parseDate('1969-12-31')).toBe(-1);
  });

  it('reads bytes in place', () => {
    const b = Buffer.from('x"2024-02-29T12:00:00Z"y');
    expect(parseTimestampBytes(b, 2, 22)).toBe(0);
    expect(parsedMicrosBig()).toBe(BigInt(Date.UTC(2024, 1, 29, 12)) * 1000n);
    expect(parseTimestampBytes(Buffer.from('2023-02-29'), 0, 10)).toBe(TS_RANGE);
  });

  it('rejects what PostgreSQL rejects, with its messages', () => {
    expect(() => parseTimestamp('yesterday')).toThrow('invalid input syntax for type timestamp: "yesterday"');
    expect(() => parseTimestamp('2026-02-30')).toThrow('date/time field value out of range: "2026-02-30"');
    expect(() => parseTimestamp('2026-01-01 24:00')).toThrow(/out of range/);
    for (const bad of ['2026-01-01T', '2026-01-01 10', '2026-01-01 10:0', '2026-01-01 10:00:5', '2026-01-01+0', '2026-01-01+01:', '26-01-01', '2026-01-01 10:00:00.', '2026-001-01']) {
      expect(mine(bad), bad).toBe('syntax');
    }
  });

  it('agrees with the regex parser it replaced on generated text', () => {
    const piece = fc.constantFrom('2026', '1999', '0100', '-', '1', '01', '12', '13', '29', '30', '31', '0', ' ', 'T', ':', '00', '23', '24', '59', '60', '.', '5', '123456789', 'Z', '+', '+01', '-05:30', '0530', '\t', 'x');
    const text = fc.array(piece, { maxLength: 14 }).map((p) => p.join(''));
    const shaped = fc
      .tuple(fc.integer({ min: 100, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.option(fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.option(fc.integer({ min: 0, max: 61 })), fc.option(fc.nat(99999999)))), fc.constantFrom('', 'Z', '+01', '-0930', ' +12:45', ' '), fc.constantFrom(' ', 'T'))
      .map(([y, mo, d, t, z, sep]) => {
        let s = `${String(y).padStart(4, '0')}-${mo}-${String(d).padStart(2, '0')}`;
        if (t !== null) {
          s += `${sep}${t[0]}:${String(t[1]).padStart(2, '0')}`;
          if (t[2] !== null) s += `:${String(t[2]).padStart(2, '0')}${t[3] !== null ? `.${t[3]}` : ''}`;
        }
        return s + z;
      });
    fc.assert(
      fc.property(fc.oneof(text, shaped), (s) => {
        expect(mine(s)).toEqual(reference(s));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('plainTimestampMicros (the fast path)', () => {
  const two = (n: number) => String(n).padStart(2, '0');
  /** Texts in the plain layout with fields in and out of range, and near misses of it. */
  const text = fc.oneof(
    fc
      .record({ y: fc.integer({ min: 0, max: 9999 }), mo: fc.integer({ min: 0, max: 13 }), d: fc.integer({ min: 0, max: 32 }), h: fc.integer({ min: 0, max: 25 }), mi: fc.integer({ min: 0, max: 60 }), s: fc.integer({ min: 0, max: 60 }), sep: fc.constantFrom(' ', 'T'), frac: fc.constantFrom('', '.', '.1', '.123', '.123456', '.1234567', '.12a') , date: fc.boolean() })
      .map((t) => `${String(t.y).padStart(4, '0')}-${two(t.mo)}-${two(t.d)}` + (t.date ? '' : `${t.sep}${two(t.h)}:${two(t.mi)}:${two(t.s)}${t.frac}`)),
    fc.tuple(fc.constantFrom('2026-01-02 03:04:05.123', '2024-02-29', '2023-02-29 00:00:00'), fc.nat(), fc.constantFrom('', ' ', 'x', '1', '-', 'Z', '+01')).map(([t, at, c]) => t.slice(0, at % (t.length + 1)) + c + t.slice(at % (t.length + 1))),
  );

  it('is NaN or the value parseTimestampBytes gives, and takes every plain text in range', () => {
    fc.assert(
      fc.property(text, (t) => {
        const b = Buffer.from(`"${t}"`);
        const fast = plainTimestampMicros(b, 1, b.length - 1);
        const general = parseTimestampBytes(b, 1, b.length - 1);
        if (!Number.isNaN(fast)) {
          expect(general).toBe(0);
          expect(BigInt(fast)).toBe(parsedMicrosBig());
        } else if (/^\d{4}-\d\d-\d\d([ T]\d\d:\d\d:\d\d(\.\d{1,6})?)?$/.test(t)) {
          // Left to the general parser: fields out of range, or microseconds beyond a safe number.
          expect(general === TS_RANGE || (general === 0 && Number.isNaN(parsedMicros()))).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
