import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { JsonDecoder } from '../formats/json.js';
import { splitLines } from '../formats/lines.js';
import type { FetchedMessage } from './cluster.js';
import { MessageDecoder } from './message-decoder.js';
import { readKafkaSourceOptions } from './options.js';
import { schemaOf } from '../../../test/helpers.js';

const schema: Schema = schemaOf('id int, big bigint, x double, name varchar, at timestamp, ok boolean, prix€ varchar, constructor varchar');

const keys = ['id', 'big', 'x', 'name', 'at', 'ok', 'prix€', 'constructor', 'ID', 'Name', 'PRIX€', 'other', 'ïd', '__proto__', 'n\\u0061me'];

/** JSON value texts, including forms JSON.stringify never writes. */
const valueText = fc.oneof(
  fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.constantFrom('-0', '0.0', '1e2', '1E+2', '-1.5e-3', '12345678901234567890', '1e400', '1e-400', '0.1', '123.456e1', '9007199254740993', '1700000000000', '1.7e12', '01', '1.', '.5', '-', '1e', '2e+', '--1', '1x'),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"a\\"b"', '"tab\\tin"', '"\\u00e9"', '"2024-01-02 03:04:05"', '"42"', '"true"', '"x\ty"', '"ab', '"\u00ff\u{1F600}"', '"é"'),
  fc.constantFrom('true', 'false', 'null', 'nul', 'tru', '{}', '{"a":1}', '[1,2]', '[]', 'True'),
);

const space = fc.constantFrom('', '', '', ' ', '\t', '  ', '\r', '\n');

const objectText = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom(...keys), valueText, space, space), { maxLength: 9 }), space, space)
  .map(([entries, a, b]) => `${a}{${entries.map(([k, v, s1, s2]) => `${s1}"${k}"${s2}:${s1}${v}${s2}`).join(',')}}${b}`);

/** Records: objects, objects broken by a cut or an inserted character, and other JSON. */
const recordText = fc.oneof(
  { weight: 6, arbitrary: objectText },
  { weight: 2, arbitrary: fc.tuple(objectText, fc.nat(), fc.constantFrom('', ',', '}', '"', ':', 'x', '{', ' ')).map(([t, at, c]) => t.slice(0, at % (t.length + 1)) + c + t.slice(at % (t.length + 1))) },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '[1]', '5', 'null', '"s"', '\uFEFF{"id":1}', '{"id":1}{"id":2}', '{"id":1},{"id":2}') },
);

function message(text: string): FetchedMessage {
  return { offset: '0', timestamp: '0', key: null, value: Buffer.from(text, 'utf8'), headers: {}, isControlRecord: false };
}

function viaScanner(texts: readonly string[], manyPerMessage: boolean) {
  const config = readKafkaSourceOptions({ connector: 'kafka', topic: 't', brokers: 'h:1', many_per_message: String(manyPerMessage) }, schema);
  const d = new MessageDecoder(schema, config, 't', 0, 4);
  texts.forEach((t, i) => d.add(message(t), i));
  return { rows: d.finish().flatMap((b) => batchRows(b)), dead: d.deadLetters.map((x) => [x.position, x.raw, x.error]) };
}

/** The reference: formats/json.ts's line decoder, record by record. */
function viaJsonDecoder(texts: readonly string[], manyPerMessage: boolean) {
  const records: string[] = [];
  const positions: string[] = [];
  // A message holds UTF-8: lone surrogates of the generated text become U+FFFD on the way.
  texts.map((t) => Buffer.from(t, 'utf8').toString('utf8')).forEach((t, i) => {
    if (!manyPerMessage) {
      records.push(t.replace(/\r?\n$/, ''));
      positions.push(`t/0/${i}`);
    } else {
      splitLines(t).forEach((l, k) => {
        records.push(l);
        positions.push(`t/0/${i}:${k + 1}`);
      });
    }
  });
  const { batch, deadLetters } = new JsonDecoder(schema).decode(records, (k) => positions[k]!);
  return { rows: batchRows(batch), dead: deadLetters.map((x) => [x.position, x.raw, x.error]) };
}

describe('JsonScanner (through MessageDecoder)', () => {
  it('decodes every record exactly as the JSON line decoder does', () => {
    fc.assert(
      fc.property(fc.array(recordText, { maxLength: 12 }), (texts) => {
        expect(viaScanner(texts, false)).toEqual(viaJsonDecoder(texts, false));
      }),
      { numRuns: 2000 },
    );
  });

  it('splits many records per message exactly as splitLines does', () => {
    const messageText = fc
      .tuple(fc.array(fc.tuple(recordText, fc.constantFrom('\n', '\r\n', '\n\n')), { maxLength: 6 }), fc.boolean(), fc.boolean())
      .map(([rs, bom, last]) => (bom ? '\uFEFF' : '') + rs.map(([r, nl]) => r.replace(/[\r\n]/g, ' ') + nl).join('').replace(last ? /$/ : /\r?\n$/, ''));
    fc.assert(
      fc.property(fc.array(messageText, { maxLength: 5 }), (texts) => {
        expect(viaScanner(texts, true)).toEqual(viaJsonDecoder(texts, true));
      }),
      { numRuns: 1000 },
    );
  });

  it('takes the fast path for plain records and gets numbers exactly right', () => {
    const texts = ['{"id": 7, "big": -9007199254740991, "x": 0.1, "name": "ann", "at": 1700000000123, "ok": true, "prix€": "12€"}', '{"x": 123.456e1, "big": 12, "at": 1.5}', '{}'];
    const got = viaScanner(texts, false);
    expect(got.rows).toEqual([
      [7, -9007199254740991n, 0.1, 'ann', 1700000000123000n, true, '12€', null],
      [null, 12n, 1234.56, null, 1500n, null, null, null],
      [null, null, null, null, null, null, null, null],
    ]);
    expect(got).toEqual(viaJsonDecoder(texts, false));
  });
});
