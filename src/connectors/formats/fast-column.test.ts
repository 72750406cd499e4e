/**
 * FastColumn.appendLines, the one-pass line copy of text messages, against splitLines: any text,
 * cut into calls of any row limit, gives splitLines' lines; with asciiOnly, text that is not
 * ASCII appends nothing and leaves the column as it was.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchRows } from '../../common/column.js';
import { FastColumn } from './fast-column.js';
import { splitLines } from './lines.js';

const piece = fc.constantFrom('a', 'bc', ' ', '\n', '\r', '\r\n', '\n\n', 'w123', 'é', '☃', 'x'.repeat(150));
const text = fc.array(piece, { maxLength: 40 }).map((p) => p.join(''));

function values(col: FastColumn): unknown[] {
  return batchRows({ columns: [col.finish()], length: col.length, weights: null }).map((r) => r[0]);
}

describe('FastColumn.appendLines', () => {
  it('cuts lines as splitLines does, whatever the row limit of each call', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 5 }), (texts, limit) => {
        // Start small, so the rows and bytes grow during the calls.
        const col = new FastColumn('varchar', 1, 1);
        col.appendString('before');
        for (const t of texts) {
          // The text inside a larger buffer, as a record set holds a message value.
          const b = Buffer.from(`\n${t}\n`);
          let s = 1;
          while (s < b.length - 1) s = col.appendLines(b, s, b.length - 1, limit, false);
        }
        expect(values(col)).toEqual(['before', ...texts.flatMap((t) => splitLines(t))]);
      }),
    );
  });

  it('with asciiOnly appends ASCII text whole and leaves the column untouched by anything else', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), (texts) => {
        const col = new FastColumn('varchar', 2, 1);
        const want: string[] = [];
        for (const t of texts) {
          const b = Buffer.from(t);
          const ascii = /^[\x00-\x7f]*$/.test(t);
          const before = col.length;
          const r = col.appendLines(b, 0, b.length, 1 << 20, true);
          if (ascii) {
            expect(r).toBe(b.length);
            want.push(...splitLines(t));
          } else {
            expect(r).toBe(-1);
            expect(col.length).toBe(before);
          }
          col.appendString('|');
          want.push('|');
        }
        expect(values(col)).toEqual(want);
      }),
    );
  });
});
