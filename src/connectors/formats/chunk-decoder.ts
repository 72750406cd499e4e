/**
 * Decoding of a byte chunk of a line-oriented stream (a piece of a file) straight into columns:
 * the chunk is split into lines on '\n' bytes (a '\r' before it dropped), never decoded into one
 * big string. JSON lines go through the byte scanner (json-scanner.ts) with JSON.parse only for
 * the records it hands back (json-records.ts); text lines are copied as bytes when the chunk is
 * valid UTF-8; CSV lines are decoded as strings by csv.ts (its header and multi-line records
 * need them). The rules are those of the string decoders (json.ts, csv.ts, text.ts), so a file
 * read in chunks gives the rows and dead letters a file read whole gave.
 *
 * The caller cuts chunks at line ends; the bytes after the last '\n' of a chunk form a line
 * only at the end of the stream. Line numbers run on across the chunks of one stream.
 */
import { isUtf8 } from 'node:buffer';
import type { Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import type { DeadLetter } from '../api.js';
import { CsvDecoder } from './csv.js';
import { deadLetterOf } from './decoder.js';
import { FastColumn } from './fast-column.js';
import { JsonRecords, RECORD_FAILED, RECORD_ROW } from './json-records.js';
import { JsonScanner, SCAN_BAIL, SCAN_ROW } from './json-scanner.js';
import type { FormatSpec } from './options.js';

/** Position of the record on 0-based line `line` of the stream (only called for dead letters). */
export type LinePosition = (line: number) => string;

/** What decoding one chunk produced. */
export interface ChunkResult {
  /** The rows, or null when there were none. */
  readonly batch: Batch | null;
  readonly deadLetters: readonly DeadLetter[];
  /** Lines the chunk held (the next chunk's first line number is firstLine + lines). */
  readonly lines: number;
}

/** Decodes the chunks of one stream, in order (a CSV header is read from the stream's first line). */
export interface ChunkDecoder {
  /** Decodes the complete lines in b[start, end); `firstLine` is the 0-based number of the first. */
  decode(b: Buffer, start: number, end: number, firstLine: number, positionOf: LinePosition): ChunkResult;
}

/** The end of the line starting at s (before its '\r\n' or '\n'), and where the next one starts. */
function lineEnd(b: Buffer, s: number, end: number): number {
  const nl = b.indexOf(10, s);
  return nl < 0 || nl >= end ? end : nl;
}

function contentEnd(b: Buffer, s: number, e: number): number {
  return e > s && b[e - 1] === 13 ? e - 1 : e;
}

class JsonChunks implements ChunkDecoder {
  private readonly schema: Schema;
  private readonly scanner: JsonScanner;
  private readonly records: JsonRecords;
  /**
   * Sizes seen in the previous chunk, so the next one's columns are allocated about right:
   * input bytes per line, and each VARCHAR column's bytes per row. Allocating every string
   * column for the widest one and for 128-byte lines made Nexmark bids allocate six times the
   * bytes they used, and ArrayBuffer bytes drive V8's full collections.
   */
  private bytesPerLine = 128;
  private readonly bytesPerRow: number[];

  constructor(schema: Schema) {
    this.schema = schema;
    const slots = schema.map((_, j) => j);
    this.scanner = new JsonScanner(schema, slots);
    this.records = new JsonRecords(schema, slots);
    this.bytesPerRow = schema.map(() => 16);
  }

  decode(b: Buffer, start: number, end: number, firstLine: number, positionOf: LinePosition): ChunkResult {
    // About the lines expected, with some room (a column grows when it must).
    const capacity = Math.max(64, Math.ceil(((end - start) / this.bytesPerLine) * 1.05));
    const cols = this.schema.map((f, j) => new FastColumn(f.type, capacity, this.bytesPerRow[j]));
    const dead: DeadLetter[] = [];
    let rows = 0;
    let line = 0;
    let s = start;
    this.scanner.useChunk(b, start, end, isUtf8(b.subarray(start, end)));
    while (s < end) {
      const nl = lineEnd(b, s, end);
      const e = contentEnd(b, s, nl);
      let r: number;
      try {
        r = this.scanner.scan(b, s, e, cols);
      } catch {
        // A value that does not fit its column: the general path words the error.
        r = SCAN_BAIL;
      }
      if (r === SCAN_ROW) {
        rows++;
      } else if (r === SCAN_BAIL) {
        for (let j = 0; j < cols.length; j++) cols[j]!.truncate(rows);
        const text = b.toString('utf8', s, e);
        const got = this.records.decode(text, cols);
        if (got === RECORD_ROW) {
          rows++;
        } else {
          for (let j = 0; j < cols.length; j++) cols[j]!.truncate(rows);
          if (got === RECORD_FAILED) dead.push(deadLetterOf(positionOf(firstLine + line), text, this.records.error));
        }
      }
      line++;
      s = nl + 1;
    }
    if (line > 0) this.bytesPerLine = Math.max(2, (end - start) / line);
    if (rows === 0) return { batch: null, deadLetters: dead, lines: line };
    for (let j = 0; j < cols.length; j++) this.bytesPerRow[j] = cols[j]!.bytesPerRow();
    return { batch: { columns: cols.map((c) => c.finish()), length: rows, weights: null }, deadLetters: dead, lines: line };
  }
}

class TextChunks implements ChunkDecoder {
  decode(b: Buffer, start: number, end: number): ChunkResult {
    const capacity = Math.min(1 << 16, Math.max(64, (end - start) >> 5));
    const col = new FastColumn('varchar', capacity, Math.ceil((end - start) / capacity) + 1);
    // Valid UTF-8 as a whole means every line is ('\n' is never inside a character): copy bytes.
    const valid = isUtf8(b.subarray(start, end));
    let line = 0;
    let s = start;
    while (s < end) {
      const nl = lineEnd(b, s, end);
      const e = contentEnd(b, s, nl);
      if (valid) col.appendBytes(b, s, e);
      else col.appendString(b.toString('utf8', s, e));
      line++;
      s = nl + 1;
    }
    if (line === 0) return { batch: null, deadLetters: [], lines: 0 };
    return { batch: { columns: [col.finish()], length: line, weights: null }, deadLetters: [], lines: line };
  }
}

class CsvChunks implements ChunkDecoder {
  private readonly csv: CsvDecoder;

  constructor(schema: Schema, spec: FormatSpec) {
    this.csv = new CsvDecoder(schema, spec.csvDelimiter, spec.csvHeader);
  }

  decode(b: Buffer, start: number, end: number, firstLine: number, positionOf: LinePosition): ChunkResult {
    const lines: string[] = [];
    let s = start;
    while (s < end) {
      const nl = lineEnd(b, s, end);
      lines.push(b.toString('utf8', s, contentEnd(b, s, nl)));
      s = nl + 1;
    }
    const { batch, deadLetters } = this.csv.decode(lines, (i) => positionOf(firstLine + i));
    return { batch: batch.length > 0 ? batch : null, deadLetters, lines: lines.length };
  }
}

/** A fresh chunk decoder for one stream (a file) in the given format. */
export function createChunkDecoder(spec: FormatSpec, schema: Schema): ChunkDecoder {
  switch (spec.format) {
    case 'json':
      return new JsonChunks(schema);
    case 'csv':
      return new CsvChunks(schema, spec);
    case 'text':
      return new TextChunks();
  }
}
