/**
 * Record formats: turning the raw lines of a file or connection into Batches. `createDecoder`
 * makes a decoder for one stream from a validated FormatSpec (see options.ts).
 */
import type { Schema } from '../../common/types.js';
import { CsvDecoder } from './csv.js';
import type { Decoder } from './decoder.js';
import { JsonDecoder } from './json.js';
import type { FormatSpec } from './options.js';
import { TextLineDecoder } from './text.js';

export type { DecodeResult, Decoder, PositionOf } from './decoder.js';
export { deadLetterOf, MAX_RAW_CHARS } from './decoder.js';
export { FORMAT_NAMES, FORMAT_OPTIONS, readFormatOptions, type FormatName, type FormatSpec } from './options.js';
export { LineSplitter, splitLines } from './lines.js';

/** A fresh decoder for one stream (file, connection) in the given format. */
export function createDecoder(spec: FormatSpec, schema: Schema): Decoder {
  switch (spec.format) {
    case 'json':
      return new JsonDecoder(schema);
    case 'csv':
      return new CsvDecoder(schema, spec.csvDelimiter, spec.csvHeader);
    case 'text':
      return new TextLineDecoder();
  }
}
