import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { MAX_RAW_CHARS } from './decoder.js';
import { JsonDecoder } from './json.js';
import { schemaOf } from '../../../test/helpers.js';

const schema: Schema = schemaOf('id int, user_Name varchar, amount double, big bigint, ts timestamp, ok boolean');

const pos = (i: number) => `f.json:${i + 1}`;

describe('JsonDecoder', () => {
  it('decodes good records, matching names case-insensitively and filling missing fields with NULL', () => {
    const lines = [
      '{"id": 1, "user_name": "ann", "amount": 2.5, "big": 10, "ts": "2024-01-02T03:04:05Z", "ok": true}',
      '{"ID": "2", "USER_NAME": "bob", "ts": 1704164645000, "extra": [1,2]}',
      '   ',
      '{"id": 3, "user_Name": {"nested": true}, "big": "9223372036854775807", "ts": "2024-01-02 03:04:05.25"}',
    ];
    const { batch, deadLetters } = new JsonDecoder(schema).decode(lines, pos);
    expect(deadLetters).toEqual([]);
    expect(batch.length).toBe(3);
    expect(batch.weights).toBeNull();
    expect(batchRows(batch)).toEqual([
      [1, 'ann', 2.5, 10n, 1704164645000000n, true],
      [2, 'bob', null, null, 1704164645000000n, null],
      [3, '{"nested":true}', null, 9223372036854775807n, 1704164645250000n, null],
    ]);
  });

  it('turns malformed and ill-fitting records into dead letters and keeps going', () => {
    const lines = [
      '{"id": 1}',
      '{"id": 2',
      '[1, 2]',
      '{"id": 3000000000}',
      '{"id": 1.5}',
      '{"ts": "yesterday"}',
      '{"ok": "perhaps"}',
      '{"id": 4, "user_name": "dan"}',
    ];
    const { batch, deadLetters } = new JsonDecoder(schema).decode(lines, pos);
    expect(batchRows(batch).map((r) => r[0])).toEqual([1, 4]);
    expect(deadLetters.map((d) => d.position)).toEqual(['f.json:2', 'f.json:3', 'f.json:4', 'f.json:5', 'f.json:6', 'f.json:7']);
    expect(deadLetters[0]!.raw).toBe('{"id": 2');
    expect(deadLetters[0]!.error).toMatch(/^invalid JSON/);
    expect(deadLetters[1]!.error).toBe('expected a JSON object, got an array');
    expect(deadLetters[2]!.error).toBe('column "id": value 3000000000 is out of range for type integer');
    expect(deadLetters[3]!.error).toMatch(/^column "id": expected integer/);
    expect(deadLetters[4]!.error).toMatch(/^column "ts": invalid input syntax for type timestamp/);
    expect(deadLetters[5]!.error).toMatch(/^column "ok": invalid input syntax for type boolean/);
  });

  it('leaves no partial row behind when a later column fails', () => {
    const { batch, deadLetters } = new JsonDecoder(schema).decode(['{"id": 7, "user_name": "x", "amount": "lots"}', '{"id": 8}'], pos);
    expect(deadLetters).toHaveLength(1);
    expect(batchRows(batch)).toEqual([[8, null, null, null, null, null]]);
  });

  it('truncates the raw text of a dead letter', () => {
    const long = '{"id": "' + 'x'.repeat(5000) + '"}';
    const { deadLetters } = new JsonDecoder(schema).decode([long], pos);
    expect(deadLetters[0]!.raw).toHaveLength(MAX_RAW_CHARS);
  });

  it('does not read inherited members as fields', () => {
    const s: Schema = [{ name: 'constructor', type: 'varchar' }, { name: 'toString', type: 'int' }];
    const { batch, deadLetters } = new JsonDecoder(s).decode(['{}', '{"constructor": "c", "tostring": 5}'], pos);
    expect(deadLetters).toEqual([]);
    expect(batchRows(batch)).toEqual([[null, null], ['c', 5]]);
  });
});
