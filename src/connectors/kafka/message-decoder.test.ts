import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import type { FetchedMessage } from './cluster.js';
import { MessageDecoder } from './message-decoder.js';
import { splitLines } from '../formats/lines.js';
import { seededRandom } from '../../common/random.js';
import { readKafkaSourceOptions } from './options.js';

function message(value: string | Buffer | null, extra: Partial<FetchedMessage> = {}): FetchedMessage {
  return { offset: '0', timestamp: '1700000000123', key: null, value: typeof value === 'string' ? Buffer.from(value) : value, headers: {}, isControlRecord: false, ...extra };
}

function decoder(schema: Schema, options: Record<string, string> = {}): MessageDecoder {
  const config = readKafkaSourceOptions({ connector: 'kafka', topic: 't', brokers: 'h:1', ...options }, schema);
  return new MessageDecoder(schema, config, 't', 2, 4);
}

describe('MessageDecoder', () => {
  it('decodes JSON messages with metadata columns beside the payload', () => {
    const schema: Schema = [{ name: '_offset', type: 'bigint' }, { name: 'word', type: 'varchar' }, { name: '_key', type: 'varchar' }, { name: '_partition', type: 'int' }, { name: '_timestamp', type: 'timestamp' }, { name: '_headers', type: 'varchar' }];
    const d = decoder(schema);
    d.add(message('{"word":"a"}', { key: Buffer.from('k'), headers: { h: Buffer.from('v'), n: null } }), 7);
    d.add(message('not json'), 8);
    d.add(message(null), 9);
    d.add(message('{"Word":"b"}'), 10);
    expect(d.finish().flatMap((b) => batchRows(b))).toEqual([
      [7n, 'a', 'k', 2, 1700000000123000n, '{"h":"v","n":null}'],
      [10n, 'b', null, 2, 1700000000123000n, '{}'],
    ]);
    expect(d.deadLetters.map((x) => [x.position, x.raw])).toEqual([['t/2/8', 'not json']]);
  });

  it('splits many records per message, and keeps their metadata per record', () => {
    const schema: Schema = [{ name: 'line', type: 'varchar' }, { name: '_offset', type: 'bigint' }];
    const d = decoder(schema, { format: 'text', many_per_message: 'true' });
    d.add(message('a\r\n\nb\n'), 3);
    d.add(message('c'), 4);
    expect(d.finish().flatMap((b) => batchRows(b))).toEqual([['a', 3n], ['', 3n], ['b', 3n], ['c', 4n]]);
  });

  it('reads ASCII text as bytes into the rows the string path gives (random messages, both layouts)', () => {
    // Seeded messages from a small alphabet with line breaks.
    const rnd = seededRandom(20261206);
    const alphabet = ['a', 'b', ' ', '\n', '\r\n', '\n\n', 'xyz', '\r'];
    const messages = Array.from({ length: 3000 }, () => Array.from({ length: Math.floor(rnd() * 6) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
    const schema: Schema = [{ name: 'line', type: 'varchar' }, { name: '_offset', type: 'bigint' }];
    for (const many of [true, false]) {
      const d = decoder(schema, { format: 'text', many_per_message: String(many) });
      messages.forEach((m, i) => d.add(message(m), i));
      // The string path's rows: splitLines of each message, or the message without one line break.
      const want = messages.flatMap((m, i) => (many ? splitLines(m) : [m.replace(/\r?\n$/, '')]).map((l) => [l, BigInt(i)]));
      const got = d.finish().flatMap((b) => batchRows(b));
      expect(got.length).toBeGreaterThan(2000);
      expect(got).toEqual(want);
    }
    // Not ASCII: the string path, same rows.
    const d = decoder(schema, { format: 'text', many_per_message: 'true' });
    d.add(message('é\r\nb'), 1);
    expect(d.finish().flatMap((b) => batchRows(b))).toEqual([['é', 1n], ['b', 1n]]);
  });

  it('reads runs of ASCII lines into a text-only column as splitLines cuts them, across batch boundaries', () => {
    // No metadata column: whole messages go through FastColumn.appendLines, which checks ASCII as it copies.
    const rnd = seededRandom(7);
    // Rarely a non-ASCII character, or a byte-order mark at the start: such messages take the string path.
    const alphabet = ['a', 'bc', ' ', '\n', '\r\n', '\n\n', 'w123', '\r', '', ...Array(6).fill('x'), 'é'];
    const messages = Array.from({ length: 50_000 }, () => (rnd() < 0.01 ? '\ufeff' : '') + Array.from({ length: Math.floor(rnd() * 12) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
    const schema: Schema = [{ name: 'line', type: 'varchar' }];
    const d = decoder(schema, { format: 'text', many_per_message: 'true' });
    // Some messages inside a larger buffer, as a record set holds them.
    messages.forEach((m, i) => {
      const b = Buffer.from(`\n${m}\n`);
      d.record(b, i, 0, 0, -1, 1, b.length - 2, b.length);
    });
    const want = messages.flatMap((m) => splitLines(m));
    const batches = d.finish();
    expect(want.length).toBeGreaterThan(65536);
    expect(batches.map((b) => b.length)).toEqual([65536, want.length - 65536]);
    expect(batches.flatMap((b) => batchRows(b).map((r) => r[0]))).toEqual(want);
  });

  it('takes a single-record message without its line break, and refuses values over max_message_bytes', () => {
    const schema: Schema = [{ name: 'a', type: 'int' }, { name: 'b', type: 'varchar' }];
    const d = decoder(schema, { format: 'csv', max_message_bytes: '10' });
    d.add(message('1,"x\ny"\r\n'), 0);
    d.add(message('2,' + 'é'.repeat(700)), 1);
    d.add(message('3,"open'), 2);
    expect(d.finish().flatMap((b) => batchRows(b))).toEqual([[1, 'x\ny']]);
    expect(d.deadLetters.map((x) => [x.position, x.raw.length, x.error.slice(0, 30)])).toEqual([
      ['t/2/1', 702, 'message value of 1402 bytes is'],
      ['t/2/2', 7, 'unterminated quoted field: a f'],
    ]);
  });

  it('cuts a partition into batches of at most 65536 rows, dropping failed records whole at any boundary', () => {
    const schema: Schema = [{ name: 'n', type: 'int' }, { name: 's', type: 'varchar' }, { name: '_offset', type: 'bigint' }];
    const d = decoder(schema, { many_per_message: 'true' });
    let good = 0;
    for (let m = 0; m < 1000; m++) {
      const lines: string[] = [];
      for (let k = 0; k < 100; k++) {
        const i = m * 100 + k;
        // Every 7th record leaves the fast path after two columns (and decodes the general way);
        // every 11th fails in its second column, after the first was written.
        const bad = i % 11 === 0 && i % 7 !== 0;
        lines.push(i % 7 === 0 ? `{"n": ${i}, "s": "x${i}", "other": [1]}` : bad ? `{"s": "x${i}", "n": 2147483648}` : `{"n": ${i}, "s": "x${i}"}`);
        if (!bad) good++;
      }
      d.add(message(lines.join('\n')), m);
    }
    const batches = d.finish();
    expect(batches.map((b) => b.length)).toEqual([65536, good - 65536]);
    const rows = batches.flatMap((b) => batchRows(b));
    expect(rows.length).toBe(good);
    expect(rows.every(([n, s, o]) => s === `x${n}` && o === BigInt(Math.floor((n as number) / 100)))).toBe(true);
    expect(d.deadLetters.length).toBe(100_000 - good);
    expect(d.deadLetters[0]).toMatchObject({ position: 't/2/0:12', error: 'column "n": value 2147483648 is out of range for type integer' });
  });
});
