/**
 * The text decoder: each record, whole and unchanged, becomes the value of the single VARCHAR
 * column (readFormatOptions checks the schema). Empty lines are kept as empty strings, since a
 * line-oriented feed such as a word count may mean them. Nothing can fail, so there are no
 * dead letters.
 */
import { ColumnBuilder } from '../../common/column.js';
import type { DecodeResult, Decoder } from './decoder.js';

/** Decodes lines into a one-column VARCHAR batch. */
export class TextLineDecoder implements Decoder {
  decode(records: readonly string[]): DecodeResult {
    const b = new ColumnBuilder('varchar', records.length);
    for (let i = 0; i < records.length; i++) b.appendString(records[i]!);
    return { batch: { columns: [b.finish()], length: records.length, weights: null }, deadLetters: [] };
  }
}
