import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { createChunkDecoder } from './chunk-decoder.js';
import { createDecoder } from './index.js';
import { splitLines } from './lines.js';
import type { FormatSpec } from './options.js';
import { schemaOf } from '../../../test/helpers.js';

const schema: Schema = schemaOf('id int, big bigint, x double, name varchar, at timestamp, day date, ok boolean');
const json: FormatSpec = { format: 'json', csvDelimiter: ',', csvHeader: false };

const value = fc.oneof(
  fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"2024-01-02 03:04:05"', '"2024-01-02T03:04:05.123456Z"', '"2024-02-30"', '"2024-01-02+05:30"', '" 2024-01-02 "', '"2024-1-2 3:04"', '1700000000000', '"é"', 'true', 'null', '{"a":1}', '"x\\ty"'),
);
const key = fc.constantFrom('id', 'big', 'x', 'name', 'at', 'day', 'ok', 'AT', 'other');
const line = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.tuple(key, value), { maxLength: 7 }).map((kv) => `{${kv.map(([k, v]) => `"${k}": ${v}`).join(', ')}}`) },
  { weight: 1, arbitrary: fc.constantFrom('', '  ', 'not json', '[1]', '{"id": 1') },
);

describe('chunk decoder', () => {
  it('gives the rows and dead letters of the string decoder, however the lines are cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), (lines, crlf, cuts) => {
        const text = lines.join(crlf ? '\r\n' : '\n');
        const want = createDecoder(json, schema).decode(splitLines(text), (i) => `f:${i + 1}`);
        const b = Buffer.from(text);
        // Cut at line starts only, as the file source does.
        const starts = [0, ...[...b.keys()].filter((i) => b[i - 1] === 10)];
        const at = [...new Set(cuts.map((c) => starts[c % starts.length]!))].filter((c) => c > 0).sort((p, q) => p - q);
        const decoder = createChunkDecoder(json, schema);
        const got: unknown[][] = [];
        const dead: string[] = [];
        let lineNo = 0;
        let from = 0;
        for (const to of [...at, b.length]) {
          const r = decoder.decode(b, from, to, lineNo, (l) => `f:${l + 1}`);
          if (r.batch) got.push(...batchRows(r.batch));
          dead.push(...r.deadLetters.map((d) => `${d.position} ${d.error} ${d.raw}`));
          lineNo += r.lines;
          from = to;
        }
        expect(got).toEqual(batchRows(want.batch));
        expect(dead).toEqual(want.deadLetters.map((d) => `${d.position} ${d.error} ${d.raw}`));
      }),
      { numRuns: 300 },
    );
  });

  it('reads records in the compact schema-order layout as the string decoder does, whatever their values', () => {
    const names = schema.map((f) => f.name);
    const compactValue = fc.oneof(value, fc.constantFrom('"a\\"b"', '"\\u00e9"', '"tab\there"', '"x\u0001y"', '"€uro"', '12345678901234567', '-0', '1.5e3', '"2024-13-01 00:00:00"', '"9999-12-31 23:59:59.999999"', '"2024-01-02T03:04:05"'));
    // Mostly the compact layout; sometimes a space, a missing or extra key, a swapped pair or text after the object.
    // Values that fit their column (id, big, x, name, at, day, ok), or now and then any value.
    const fits = [
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.string({ unit: 'grapheme', maxLength: 6 }).map((t) => JSON.stringify(t)),
      fc.constantFrom('"2024-01-02 03:04:05"', '"2024-01-02 03:04:05.5"', '"2026-12-31T23:59:59.123456"', '"2024-02-29"', 'null'),
      fc.constantFrom('"2024-01-02"', '"1999-12-31"', 'null'),
      fc.constantFrom('true', 'false', 'null'),
    ].map((a) => fc.oneof({ weight: 12, arbitrary: a }, { weight: 1, arbitrary: compactValue }));
    const record = fc.tuple(fc.tuple(...fits), fc.nat({ max: 9 }), fc.nat()).map(([vals, twist, at]) => {
      const kv = names.map((n, j) => [n, vals[j]!]);
      const k = at % kv.length;
      if (twist === 1) kv.splice(k, 1);
      if (twist === 2) kv.splice(k, 0, ['other', '1']);
      if (twist === 3 && k + 1 < kv.length) [kv[k], kv[k + 1]] = [kv[k + 1]!, kv[k]!];
      // A key one byte off at its end, or one byte longer: not the column (the runs are compared as words).
      if (twist === 8) kv[k] = [kv[k]![0]!.slice(0, -1) + '_', kv[k]![1]!];
      if (twist === 9) kv[k] = [kv[k]![0]! + 'x', kv[k]![1]!];
      const sep = twist === 4 ? ', ' : ',';
      return `{${kv.map(([n, v]) => `"${n}":${v}`).join(sep)}}${twist === 5 ? ' ' : twist === 6 ? ' x' : twist === 7 ? '}' : ''}`;
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (lines) => {
        const text = lines.join('\n');
        const want = createDecoder(json, schema).decode(splitLines(text), (i) => `f:${i + 1}`);
        const r = createChunkDecoder(json, schema).decode(Buffer.from(text), 0, Buffer.byteLength(text), 0, (l) => `f:${l + 1}`);
        expect(r.batch === null ? [] : batchRows(r.batch)).toEqual(batchRows(want.batch));
        expect(r.deadLetters.map((d) => `${d.position} ${d.error} ${d.raw}`)).toEqual(want.deadLetters.map((d) => `${d.position} ${d.error} ${d.raw}`));
      }),
      { numRuns: 500 },
    );
  });

  it('copies and scans string values four bytes at a time as the string decoder reads them, wherever quotes, escapes, controls and non-ASCII fall', () => {
    const textSchema: Schema = schemaOf('a varchar, b varchar, n bigint, t timestamp');
    // Long runs of plain bytes with now and then a byte the copy must stop at (or pass).
    const piece = fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '/', '!', '#', '~', '\x7f'), minLength: 1, maxLength: 9 }) },
      { weight: 1, arbitrary: fc.constantFrom('\\"', '\\\\', '\\n', '\\u00e9', '\u0001', '\u001f', '\t', ' ', '"', 'é', '€', '😀', '\u0080', '\u07ff') },
    );
    const str = fc.array(piece, { maxLength: 12 }).map((ps) => ps.join(''));
    // Timestamps (and strings that are not quite) for the scan past plain words to a string's end.
    const stamp = fc.oneof(
      fc.constantFrom('2024-01-02 03:04:05.123', '2026-12-31T23:59:59.999999', '2024-02-29', '2024-01-02 03:04:05+02', ' 2024-01-02'),
      fc.tuple(fc.constantFrom('2024-01-02 03:04:05.123', '2024-01-02T03:04:05'), fc.nat(24), piece).map(([t, k, p]) => t.slice(0, k) + p + t.slice(k)),
    );
    const record = fc.tuple(str, str, fc.integer({ min: -5, max: 5 }), stamp, fc.nat(9)).map(([a, b, n, t, twist]) =>
      twist === 0 ? `{"a":"${a}","b":"${b}"}` : `{"a":"${a}","b":"${b}","n":${twist === 1 ? `"${n}"` : n},"t":"${t}"}`);
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), fc.nat(7), fc.nat(7), (lines, pre, post) => {
        const text = lines.join('\n');
        const want = createDecoder(json, textSchema).decode(splitLines(text), (i) => `f:${i + 1}`);
        // The chunk inside a larger buffer, at any alignment.
        const bytes = Buffer.from(text);
        const b = Buffer.alloc(pre + bytes.length + post, 0x22);
        bytes.copy(b, pre);
        const r = createChunkDecoder(json, textSchema).decode(b, pre, pre + bytes.length, 0, (l) => `f:${l + 1}`);
        expect(r.batch === null ? [] : batchRows(r.batch)).toEqual(batchRows(want.batch));
        expect(r.deadLetters.map((d) => `${d.position} ${d.error} ${d.raw}`)).toEqual(want.deadLetters.map((d) => `${d.position} ${d.error} ${d.raw}`));
      }),
      { numRuns: 1000 },
    );
  });
});
