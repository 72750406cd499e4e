/**
 * The message decoder of the Kafka source: turns the records of one partition into Batches.
 * Each message value is one record, or with `many_per_message` many newline-separated records;
 * each record is decoded by the source's format (json, csv, text, with the same rules as the
 * line decoders in formats/) straight into the columns (fast-column.ts), and the message's
 * metadata columns (`_key`, `_partition`, …) are filled beside it. JSON records go first through
 * the byte-level scanner (json-scanner.ts), which hands what it cannot decode exactly to the
 * general path: JSON.parse of the record's text.
 *
 * Dead letters carry the position `topic/partition/offset` (with `:line`, 1-based, for a record
 * inside a many-record message): values larger than `max_message_bytes`, records that do not
 * parse or do not fit the schema. Messages without a value (tombstones) and blank JSON or CSV
 * records are skipped, as the line decoders skip blank lines.
 */
import type { Batch } from '../../common/column.js';
import type { Schema, SqlType, Value } from '../../common/types.js';
import { parseText } from '../../common/values.js';
import type { DeadLetter } from '../api.js';
import { CSV_BAD_QUOTE, CSV_OPEN_QUOTE, CsvSplitter } from '../formats/csv.js';
import { deadLetterOf, errorText, isBlank, MAX_RAW_CHARS } from '../formats/decoder.js';
import { splitLines } from '../formats/lines.js';
import type { FormatSpec } from '../formats/options.js';
import type { FetchedMessage } from './cluster.js';
import { recordHeaders, type RecordSink } from './record-batches.js';
import { FastColumn } from '../formats/fast-column.js';
import { JsonRecords } from '../formats/json-records.js';
import { JsonScanner, SCAN_BAIL, SCAN_ROW } from '../formats/json-scanner.js';
import type { ColumnLayout, MetadataColumn } from './metadata-columns.js';

/** What decoding a message needs from the source's configuration. */
export interface DecodeSettings {
  readonly format: FormatSpec;
  readonly manyPerMessage: boolean;
  readonly layout: ColumnLayout;
  readonly maxMessageBytes: number;
}

/** Rows per batch: big enough for the engine's kernels, small enough to be built without regrowing. */
const BATCH_ROWS = 1 << 16;

const ROW = 1;
const SKIP = 0;
const FAILED = -1;

/**
 * Decodes one record's text into the payload columns; ROW, SKIP, or FAILED with `error` set.
 * On FAILED some columns may hold a value of the failed record; the caller truncates them.
 */
interface RecordDecoder {
  error: string;
  decode(text: string, cols: readonly FastColumn[]): number;
}

class CsvRecords implements RecordDecoder {
  error = '';
  private readonly splitter: CsvSplitter;
  private readonly types: readonly SqlType[];
  private readonly names: readonly string[];
  private readonly slots: readonly number[];

  constructor(layout: ColumnLayout, delimiter: string) {
    this.splitter = new CsvSplitter(delimiter);
    this.types = layout.payload.map((f) => f.type);
    this.names = layout.payload.map((f) => f.name);
    this.slots = layout.payloadIndex;
  }

  decode(text: string, cols: readonly FastColumn[]): number {
    if (isBlank(text)) return SKIP;
    const sp = this.splitter;
    const n = sp.split(text);
    if (n === CSV_OPEN_QUOTE) {
      this.error = 'unterminated quoted field: a field opened with " has no closing "';
      return FAILED;
    }
    if (n === CSV_BAD_QUOTE) {
      this.error = `unexpected character after a closing quote at offset ${sp.errorOffset}; a quoted field must end at a delimiter`;
      return FAILED;
    }
    if (n !== this.types.length) {
      this.error = `expected ${this.types.length} fields, got ${n}`;
      return FAILED;
    }
    let f = 0;
    try {
      for (; f < n; f++) {
        const s = sp.fields[f]!;
        const type = this.types[f]!;
        cols[this.slots[f]!]!.append(s === '' && !sp.quoted[f] ? null : type === 'varchar' ? s : parseText(s, type));
      }
    } catch (e) {
      this.error = `column "${this.names[f]}": ${errorText(e)}`;
      return FAILED;
    }
    return ROW;
  }
}

class TextRecords implements RecordDecoder {
  error = '';
  readonly slot: number;

  constructor(layout: ColumnLayout) {
    this.slot = layout.payloadIndex[0]!;
  }

  decode(text: string, cols: readonly FastColumn[]): number {
    cols[this.slot]!.appendString(text);
    return ROW;
  }
}

function recordDecoder(settings: DecodeSettings): RecordDecoder {
  switch (settings.format.format) {
    case 'json':
      // json-records.ts returns the same ROW/SKIP/FAILED codes.
      return new JsonRecords(settings.layout.payload, settings.layout.payloadIndex);
    case 'csv':
      return new CsvRecords(settings.layout, settings.format.csvDelimiter);
    case 'text':
      return new TextRecords(settings.layout);
  }
}

/** The text of a message value (buf[start, end)) that is one record: without a trailing line break. */
function singleRecord(buf: Buffer, start: number, end: number): string {
  if (end > start && buf[end - 1] === 10) {
    end--;
    if (end > start && buf[end - 1] === 13) end--;
  }
  return buf.toString('utf8', start, end);
}

function headersJson(headers: FetchedMessage['headers']): string {
  const out: Record<string, string | null | (string | null)[]> = {};
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map((b) => (b === null ? null : b.toString('utf8'))) : v === null ? null : v.toString('utf8');
  }
  return JSON.stringify(out);
}

/** Decodes the messages of one partition, in offset order, into append-only Batches. */
export class MessageDecoder implements RecordSink {
  /** The records that did not decode, in offset order. */
  readonly deadLetters: DeadLetter[] = [];
  private readonly schema: Schema;
  private cols: FastColumn[];
  /** Rows in `cols`, the batch under construction. */
  private rows = 0;
  private readonly batches: Batch[] = [];
  private readonly records: RecordDecoder;
  /** The byte-level fast path of format json (json-scanner.ts); null for other formats. */
  private readonly scanner: JsonScanner | null;
  private readonly metadata: readonly MetadataColumn[];
  /** The current message's metadata values: key, partition and headers as Values, offset and timestamp as numbers. */
  private readonly meta: Value[];
  private offset = 0;
  private timestampMicros = 0;
  private readonly manyPerMessage: boolean;
  private readonly maxMessageBytes: number;
  private readonly where: string;
  private readonly partition: number;

  /** `capacity` is a guess of the row count, to size the columns (at most BATCH_ROWS). */
  constructor(schema: Schema, settings: DecodeSettings, topic: string, partition: number, capacity: number) {
    this.schema = schema;
    this.cols = schema.map((f) => new FastColumn(f.type, Math.min(capacity, BATCH_ROWS)));
    this.records = recordDecoder(settings);
    this.scanner = settings.format.format === 'json' ? new JsonScanner(settings.layout.payload, settings.layout.payloadIndex) : null;
    this.metadata = settings.layout.metadata;
    this.meta = new Array<Value>(this.metadata.length).fill(null);
    this.manyPerMessage = settings.manyPerMessage;
    this.maxMessageBytes = settings.maxMessageBytes;
    this.where = `${topic}/${partition}/`;
    this.partition = partition;
  }

  /** Decodes message `m` (as kafkajs decodes it) at `offset`; bad records are added to deadLetters. */
  add(m: FetchedMessage, offset: number): void {
    const value = m.value;
    if (value === null) return;
    if (this.metadata.length > 0) {
      const key = m.key;
      this.readMetadata(key, 0, key === null ? -1 : key.length, Number(m.timestamp), offset, 0, m.headers);
    }
    this.addValue(value, 0, value.length, offset);
  }

  /** Decodes a record as our own fetch decoding (record-batches.ts) hands it over. */
  record(buf: Buffer, offset: number, timestamp: number, keyStart: number, keyLength: number, valueStart: number, valueLength: number, headerStart: number): void {
    if (valueLength < 0) return;
    if (this.metadata.length > 0) this.readMetadata(buf, keyStart, keyLength, timestamp, offset, headerStart, null);
    this.addValue(buf, valueStart, valueStart + valueLength, offset);
  }

  /** A message value, buf[start, end). */
  private addValue(buf: Buffer, start: number, end: number, offset: number): void {
    const size = end - start;
    if (size > this.maxMessageBytes) {
      const head = buf.toString('utf8', start, start + Math.min(size, 4 * MAX_RAW_CHARS));
      this.deadLetters.push(deadLetterOf(this.where + offset, head, `message value of ${size} bytes is larger than max_message_bytes (${this.maxMessageBytes}); raise max_message_bytes to read such messages`));
      return;
    }
    if (this.scanner !== null) {
      this.addJson(buf, start, end, offset);
      return;
    }
    if (this.records instanceof TextRecords && this.addAsciiText(buf, start, end, this.records.slot)) return;
    if (!this.manyPerMessage) {
      this.addRecord(singleRecord(buf, start, end), offset, 0);
      return;
    }
    const lines = splitLines(buf.toString('utf8', start, end));
    for (let i = 0; i < lines.length; i++) this.addRecord(lines[i]!, offset, i + 1);
  }

  /** The decoded rows, in offset order, as batches of at most BATCH_ROWS rows. */
  finish(): Batch[] {
    if (this.rows > 0) this.batches.push(this.batch());
    this.rows = 0;
    return this.batches;
  }

  private completeRow(): void {
    if (++this.rows === BATCH_ROWS) this.completeBatch();
  }

  /** A full batch: start the next one, sized by what this one held. */
  private completeBatch(): void {
    const cols = this.cols;
    this.batches.push(this.batch());
    this.cols = this.schema.map((f, j) => new FastColumn(f.type, BATCH_ROWS, cols[j]!.bytesPerRow()));
    this.rows = 0;
  }

  private batch(): Batch {
    return { columns: this.cols.map((c) => c.finish()), length: this.rows, weights: null };
  }

  /** JSON messages: the records are split and scanned in bytes (the lines as splitLines finds them). */
  private addJson(value: Buffer, start: number, n: number, offset: number): void {
    if (!this.manyPerMessage) {
      this.addJsonRecord(value, start, n, offset, 0);
      return;
    }
    let s = n - start >= 3 && value[start] === 0xef && value[start + 1] === 0xbb && value[start + 2] === 0xbf ? start + 3 : start;
    let line = 0;
    while (s < n) {
      // The value may lie inside a larger buffer: a line break past its end is not its own.
      let nl = value.indexOf(10, s);
      if (nl >= n) nl = -1;
      let e = nl < 0 ? n : nl;
      if (e > s && value[e - 1] === 13) e--;
      this.addJsonRecord(value, s, e, offset, ++line);
      s = nl < 0 ? n : nl + 1;
    }
  }

  private addJsonRecord(value: Buffer, start: number, end: number, offset: number, line: number): void {
    const cols = this.cols;
    let r: number;
    try {
      r = this.scanner!.scan(value, start, end, cols);
    } catch {
      // A value that does not fit its column: the general path words the error.
      r = SCAN_BAIL;
    }
    if (r === SCAN_ROW) {
      this.rowDecoded();
    } else if (r === SCAN_BAIL) {
      for (let j = 0; j < cols.length; j++) cols[j]!.truncate(this.rows);
      this.addRecord(line === 0 ? singleRecord(value, start, end) : value.toString('utf8', start, end), offset, line);
    }
  }

  /** `line` is 0 for a single-record message, else the record's 1-based line in the message. */
  /**
   * Text messages in ASCII (the common case: no decoding can change them) go into the column as
   * bytes, a line per row as splitLines cuts them, without a string per record; false (nothing
   * added) when a byte is not ASCII, for the string path.
   */
  private addAsciiText(buf: Buffer, start: number, end: number, slot: number): boolean {
    // The text column is the only column and the message's lines fit in this batch (a line
    // takes at least a byte): one pass copies them and checks that they are ASCII.
    if (this.manyPerMessage && this.cols.length === 1 && end - start <= BATCH_ROWS - this.rows) {
      const col = this.cols[slot]!;
      const before = col.length;
      if (col.appendLines(buf, start, end, BATCH_ROWS, true) < 0) return false;
      this.rows += col.length - before;
      if (this.rows === BATCH_ROWS) this.completeBatch();
      return true;
    }
    let high = 0;
    for (let p = start; p < end; p++) high |= buf[p]!;
    if (high >= 128) return false;
    const col = this.cols[slot]!;
    if (!this.manyPerMessage) {
      let e = end;
      if (e > start && buf[e - 1] === 10) {
        e--;
        if (e > start && buf[e - 1] === 13) e--;
      }
      col.appendBytes(buf, start, e);
      this.rowDecoded();
      return true;
    }
    if (this.cols.length === 1) {
      // The text column is the only column: whole runs of lines go in at once, up to a batch's end.
      let s = start;
      while (s < end) {
        const before = this.cols[slot]!.length;
        s = this.cols[slot]!.appendLines(buf, s, end, BATCH_ROWS - this.rows, false);
        this.rows += this.cols[slot]!.length - before;
        if (this.rows === BATCH_ROWS) this.completeBatch();
      }
      return true;
    }
    let s = start;
    while (s < end) {
      let nl = buf.indexOf(10, s);
      if (nl < 0 || nl >= end) nl = end;
      const e = nl > s && buf[nl - 1] === 13 ? nl - 1 : nl;
      // A row completes and may start a new batch: the column is this.cols[slot] again.
      this.cols[slot]!.appendBytes(buf, s, e);
      this.rowDecoded();
      s = nl + 1;
    }
    return true;
  }

  /**
   * The metadata columns of a row whose payload columns are in, and the row counted. Offsets
   * and timestamps go in as numbers (appendInt64), without a BigInt per row.
   */
  private rowDecoded(): void {
    const cols = this.cols;
    const md = this.metadata;
    for (let k = 0; k < md.length; k++) {
      const col = cols[md[k]!.index]!;
      switch (md[k]!.kind) {
        case '_offset':
          col.appendInt64(this.offset);
          break;
        case '_timestamp':
          col.appendInt64(this.timestampMicros);
          break;
        default:
          col.append(this.meta[k]!);
      }
    }
    this.completeRow();
  }

  private addRecord(text: string, offset: number, line: number): void {
    const cols = this.cols;
    const r = this.records.decode(text, cols);
    if (r === ROW) {
      this.rowDecoded();
      return;
    }
    for (let j = 0; j < cols.length; j++) cols[j]!.truncate(this.rows);
    if (r === FAILED) {
      this.deadLetters.push(deadLetterOf(line === 0 ? this.where + offset : `${this.where}${offset}:${line}`, text, this.records.error));
    }
  }

  /**
   * The metadata values of a record: its key is buf[keyStart, keyStart + keyLength) (length -1:
   * null), its headers are `headers` as kafkajs decoded them, or when null the header section
   * at buf[headerStart].
   */
  private readMetadata(buf: Buffer | null, keyStart: number, keyLength: number, timestampMs: number, offset: number, headerStart: number, headers: FetchedMessage['headers'] | null): void {
    const md = this.metadata;
    for (let k = 0; k < md.length; k++) {
      switch (md[k]!.kind) {
        case '_key':
          this.meta[k] = keyLength < 0 ? null : buf!.toString('utf8', keyStart, keyStart + keyLength);
          break;
        case '_partition':
          this.meta[k] = this.partition;
          break;
        case '_offset':
          this.offset = offset;
          break;
        case '_timestamp':
          this.timestampMicros = timestampMs * 1000;
          break;
        case '_headers':
          this.meta[k] = headersJson(headers ?? recordHeaders(buf!, headerStart));
          break;
      }
    }
  }
}
