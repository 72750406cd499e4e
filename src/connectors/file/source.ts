/**
 * The file source (`connector = 'file'`): watches one directory and reads every new file once,
 * in name order, decoding its lines with the configured format; dead letters carry the
 * position `<file name>:<line>`.
 *
 * Files are read in chunks (CHUNK_BYTES, cut at a line end, decoded straight from the bytes:
 * formats/chunk-decoder.ts), so a file of any size is read with bounded memory, and an epoch
 * takes at most `max_bytes_per_epoch` bytes of lines from at most `max_files_per_epoch` files
 * (and about the engine's row limit): a big file or a big backlog is read over many epochs.
 * Each chunk becomes one batch. The poll's range is `{ files, parts? }`: the files read from,
 * in order, and for each file not read whole in this epoch its byte range and first line
 * (`parts[name] = { from, to, line }`).
 *
 * Stability rule (when is a file finished?): a file is read only when two successive listings
 * saw the same size and modification time. The listing made by start() counts, so files that
 * are already there are read by the first poll; a file that appears later is read by the poll
 * after the one that first saw it. A writer that stalls for longer than one epoch interval can
 * still have its file read half-written, so producers should write elsewhere (or under a name
 * starting with '.', which the source ignores) and rename the finished file into the directory.
 * A file is read up to the size it had when it was found stable.
 *
 * Listing: each poll lists the directory's names but stats only a window of the unread ones, in
 * name order, about twice what one epoch takes (see list()): a backlog of thousands of files
 * costs a listing of names, not a stat per file per epoch. So of a backlog, the files past the
 * window are first seen when it reaches them and read a poll later (the window's second half
 * is the next epoch's, already seen once). The listing's time is reported as `listingMs`,
 * which the rate controller leaves out of the epoch's cost: counted in, it throttled a backlog
 * of 2 000 files to one file per epoch.
 *
 * Other rules: only regular files (or links to them) are read, never subdirectories; names
 * starting with '.' are skipped; `pattern` filters names; a UTF-8 byte-order mark at the start
 * of a file is skipped. A relative `path` is resolved against the engine's working directory.
 * A file that cannot be opened or read (permissions, an I/O error) is a dead letter with the
 * reason (position `<file name>`) and counts as read: it is not retried. A line longer than
 * MAX_LINE_BYTES is a dead letter too, and reading goes on after it.
 *
 * The position is the set of files read whole plus the file being read and its byte offset and
 * line (checkpointed by the engine, so a restarted engine resumes inside a file); `reread`
 * reads a recorded range again for recovery.
 *
 * Known limits: a file changed after it was found stable is read only up to its size then; the
 * position grows with every file read; a CSV record quoted across lines must lie within one
 * chunk.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { DeadLetter, SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { createChunkDecoder, type ChunkDecoder } from '../formats/chunk-decoder.js';
import { deadLetterOf } from '../formats/decoder.js';
import { readFileSourceOptions, type FileSourceConfig } from './options.js';
import { shardPool } from '../../exec/parallel/pool.js';
import type { TaskResult } from '../../exec/parallel/messages.js';
import { keptParts } from '../../exec/parallel/parked.js';

/** Bytes read per chunk (less when the epoch's budget is smaller). */
export const CHUNK_BYTES = 8 << 20;
/** Longest line read; a longer one is a dead letter. */
export const MAX_LINE_BYTES = 64 << 20;

/** The file being read and how far: `offset` bytes (at a line start), `line` lines before it. */
export interface FileCursor {
  readonly file: string;
  readonly offset: number;
  readonly line: number;
}

/** Where a file source stands: the names of the files read whole (each is read once), and the file it is inside. */
export interface FilePosition {
  readonly read: readonly string[];
  readonly current?: FileCursor;
}

/** The byte range of one file read in an epoch: [from, to), the first line's 0-based number. */
export interface FilePart {
  readonly from: number;
  readonly to: number;
  readonly line: number;
}

/** The input range of one file-source poll: the files read from, in order; parts for those not read whole. */
export interface FileRange {
  readonly files: readonly string[];
  readonly parts?: Readonly<Record<string, FilePart>>;
}

interface Observation {
  readonly size: number;
  readonly mtimeMs: number;
}

/** A file being read: its size when found stable, and the decoder of its lines. */
interface Reading {
  readonly file: string;
  readonly size: number;
  offset: number;
  line: number;
  decoder: ChunkDecoder | null;
}

/**
 * A piece of lines sent to a shard worker to decode (see FileSource.readPiece): its bytes (a view
 * of a pooled shared buffer), where its rows go in the poll's batches, the lines it holds as
 * counted here, and where its dead letters go (null: recovery).
 */
interface Pending {
  readonly task: Promise<TaskResult>;
  readonly bytes: Uint8Array;
  /** The worker decoding it. */
  readonly shard: number;
  readonly slot: number;
  readonly file: string;
  readonly firstLine: number;
  readonly lines: number;
  readonly ctx: SourceContext | null;
}

/** Holds a batch's place in a poll's list while its piece is decoded elsewhere. */
const PLACEHOLDER: Batch = { columns: [], length: 0, weights: null };

/** The lines in b[0, end): its '\n's, and a last line without one at the end of the file. */
function countLines(b: Buffer, end: number): number {
  let n = 0;
  for (let at = b.indexOf(10, 0); at >= 0 && at < end; at = b.indexOf(10, at + 1)) n++;
  return end > 0 && b[end - 1] !== 10 ? n + 1 : n;
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** Limits of one read pass. */
interface Budget {
  bytes: number;
  rows: number;
}

/** The result of reading one piece of a file. */
interface Piece {
  /** Bytes taken (complete lines, and oversized lines skipped). */
  readonly taken: number;
  readonly rows: number;
}

/** A running file source. */
export class FileSource implements SourceConnector<FilePosition> {
  private readonly ctx: SourceContext;
  private readonly config: FileSourceConfig;
  private readonly dir: string;
  /** Names read whole; never read again. */
  private readonly seen = new Set<string>();
  /** Unread files as the previous listing saw them. */
  private observed = new Map<string, Observation>();
  /** The file being read across polls. */
  private current: Reading | null = null;
  private dirMissing = false;
  /** The read buffer, reused; grows to hold the longest line. */
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes per row so far, to read about as much as the engine's row limit asks. */
  private bytesPerRow = 100;
  /** Whether the last poll left input that was ready (a file not finished, files not started). */
  private more = false;
  /** Whether the last listing's window left unread names out. */
  private lastCut = false;
  /** Pieces being decoded in shard workers, in read order (see readPiece), and the shared buffers free for the next ones. */
  private pending: Pending[] = [];
  private freeBuffers: SharedArrayBuffer[] = [];
  /** The workers the pieces of this poll go to (the engine's parallelism; 1: decoded here), and the next one's turn. */
  private decodeParts = 1;
  private turn = 0;

  constructor(ctx: SourceContext) {
    this.ctx = ctx;
    this.config = readFileSourceOptions(ctx.options, ctx.schema);
    this.dir = resolve(this.config.path);
  }

  async start(resumeFrom: FilePosition | null): Promise<void> {
    for (const name of resumeFrom?.read ?? []) this.seen.add(name);
    const cur = resumeFrom?.current;
    if (cur !== undefined) {
      let size = cur.offset;
      try {
        size = (await stat(join(this.dir, cur.file))).size;
      } catch {
        // Gone: the next poll reports it.
      }
      this.current = { file: cur.file, size, offset: cur.offset, line: cur.line, decoder: null };
    }
    let st;
    try {
      st = await stat(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        throw new SluiceError('invalid_parameter', `directory "${this.dir}" of source "${this.ctx.name}" does not exist; create it (mkdir -p ${this.dir}) or set path to an existing directory`);
      }
      throw new SluiceError('invalid_parameter', `cannot read directory "${this.dir}" of source "${this.ctx.name}": ${(e as Error).message}; check the path and its permissions`, { cause: e });
    }
    if (!st.isDirectory()) {
      throw new SluiceError('invalid_parameter', `path "${this.dir}" of source "${this.ctx.name}" is a file, not a directory; set path to the directory that holds the files`);
    }
    const listing = await this.list(Infinity);
    this.observed = listing?.files ?? new Map();
    this.lastCut = listing?.cut ?? false;
  }

  currentPosition(): FilePosition {
    return this.position();
  }

  async poll(_nowMicros: bigint, maxRows = Infinity): Promise<SourceRead<FilePosition>> {
    const listedAt = performance.now();
    const listing = await this.list(maxRows);
    const listingMs = performance.now() - listedAt;
    const ready: string[] = [];
    // Whether a file of the window was seen for the first time (it is ready at the next poll).
    let fresh = false;
    if (listing !== null) {
      // In name order (the listing's).
      for (const [name, now] of listing.files) {
        const before = this.observed.get(name);
        if (before === undefined) fresh = true;
        else if (before.size === now.size && before.mtimeMs === now.mtimeMs) ready.push(name);
      }
      this.observed = listing.files;
    }

    const batches: Batch[] = [];
    const files: string[] = [];
    const parts: Record<string, FilePart> = {};
    const budget: Budget = { bytes: this.config.maxBytesPerEpoch, rows: maxRows };
    this.decodeParts = this.decodesInWorkers() ? (this.ctx.parallelism?.() ?? 1) : 1;
    let next = 0;
    while (budget.bytes > 0 && budget.rows > 0 && files.length < this.config.maxFilesPerEpoch) {
      if (this.current === null) {
        if (next >= ready.length) break;
        const name = ready[next++]!;
        this.current = { file: name, size: this.observed.get(name)!.size, offset: 0, line: 0, decoder: null };
        this.observed.delete(name);
      }
      const r = this.current;
      const from = r.offset;
      const line = r.line;
      const done = await this.readFrom(r, budget, batches);
      if (done === 'gone') {
        this.current = null;
        continue;
      }
      // A file that failed is in the range only for what was read of it before (recovery re-reads that).
      if (done !== 'failed' || r.offset > from) {
        files.push(r.file);
        if (!(from === 0 && done === true)) parts[r.file] = { from, to: r.offset, line };
      }
      if (done !== false) {
        this.seen.add(r.file);
        this.current = null;
      }
    }
    // Left over by this source's own bounds (not by the engine's row limit, which paces on
    // purpose): a file not finished, ready files not started, or files past the listing's window
    // while this one moved (read a file, or saw new ones that are ready next time; a window of
    // files that keep changing is not "more", or FLUSH would wait on them).
    // A file first seen now may have been there before, past the previous listing's window.
    const cut = listing !== null && ((listing.cut && (files.length > 0 || fresh)) || (fresh && this.lastCut));
    if (listing !== null) this.lastCut = listing.cut;
    this.more = budget.rows > 0 && (this.current !== null || next < ready.length || cut);
    await this.drain(batches);
    const range: FileRange = Object.keys(parts).length > 0 ? { files, parts } : { files };
    return { batches, range, position: this.position(), more: this.more, listingMs };
  }

  async stop(): Promise<void> {
    this.observed.clear();
  }

  /** The files of a recorded range again (recovery); a file gone since is an error naming it. */
  async reread(range: FileRange): Promise<Batch[]> {
    const batches: Batch[] = [];
    for (const name of range.files) {
      const part = range.parts?.[name];
      const path = join(this.dir, name);
      let fh: FileHandle | null = null;
      try {
        fh = await open(path, 'r');
        const to = part?.to ?? (await fh.stat()).size;
        const r: Reading = { file: name, size: to, offset: part?.from ?? 0, line: part?.line ?? 0, decoder: null };
        const budget: Budget = { bytes: Infinity, rows: Infinity };
        this.decodeParts = this.decodesInWorkers() ? (this.ctx.parallelism?.() ?? 1) : 1;
        while (r.offset < to) await this.readPiece(fh, r, budget, batches, null);
        await this.drain(batches);
      } catch (e) {
        throw new SluiceError('invalid_parameter', `file ${path} of source "${this.ctx.name}" cannot be read again: ${(e as Error).message}`, { cause: e });
      } finally {
        await fh?.close();
      }
    }
    return batches;
  }

  private position(): FilePosition {
    const read = [...this.seen];
    const r = this.current;
    return r === null ? { read } : { read, current: { file: r.file, offset: r.offset, line: r.line } };
  }

  /**
   * Reads `r` on from its offset within `budget`, appending batches: true when the file is
   * finished, false when the budget ran out first, 'gone' when the file vanished before it was
   * opened, 'failed' when it cannot be read (a dead letter; its offset stays after what was read).
   */
  private async readFrom(r: Reading, budget: Budget, batches: Batch[]): Promise<boolean | 'gone' | 'failed'> {
    let fh: FileHandle | null = null;
    try {
      try {
        fh = await open(join(this.dir, r.file), 'r');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT' && r.offset === 0) return 'gone';
        throw e;
      }
      while (r.offset < r.size && budget.bytes > 0 && budget.rows > 0) await this.readPiece(fh, r, budget, batches, this.ctx);
      return r.offset >= r.size;
    } catch (e) {
      const reason = `cannot read file ${join(this.dir, r.file)}${r.offset > 0 ? ` at byte ${r.offset}` : ''}: ${(e as Error).message}`;
      this.ctx.log(`${reason}; it goes to the dead-letter table and is not read again`);
      this.ctx.deadLetter({ position: r.file, raw: '', error: reason });
      return 'failed';
    } finally {
      await fh?.close();
    }
  }

  /**
   * Reads one chunk of complete lines of `r` at its offset (at least one line, however long,
   * up to MAX_LINE_BYTES), decodes it into `batches` and moves the offset past it. `ctx` takes
   * the dead letters (null in recovery, which does not report them again).
   */
  private async readPiece(fh: FileHandle, r: Reading, budget: Budget, batches: Batch[], ctx: SourceContext | null): Promise<void> {
    if (r.decoder === null) r.decoder = await this.decoderAt(fh, r.offset);
    if (r.offset === 0) {
      // A byte-order mark is not part of the first line.
      const head = Buffer.alloc(3);
      const { bytesRead } = await fh.read(head, 0, 3, 0);
      if (bytesRead === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) r.offset = 3;
      if (r.offset >= r.size) return;
    }
    const left = r.size - r.offset;
    const byRows = budget.rows === Infinity ? Infinity : Math.ceil(budget.rows * this.bytesPerRow);
    let want = Math.min(left, CHUNK_BYTES, Math.max(budget.bytes, 1), Math.max(byRows, 4096));
    for (;;) {
      if (this.buf.length < want) this.buf = Buffer.allocUnsafe(Math.max(want, Math.min(2 * this.buf.length, CHUNK_BYTES)));
      const got = await readFully(fh, this.buf, want, r.offset);
      if (got < want) throw new Error(`the file is shorter than the ${r.size} bytes it had (truncated while being read?)`);
      const atEnd = r.offset + got >= r.size;
      const lastNl = this.buf.lastIndexOf(10, got - 1);
      const end = atEnd ? got : lastNl + 1;
      if (end > 0) {
        if (this.decodeParts > 1) {
          this.decodeElsewhere(r, end, batches, ctx);
          r.offset += end;
          budget.bytes -= end;
          budget.rows -= Math.ceil(end / this.bytesPerRow);
          return;
        }
        const result = r.decoder.decode(this.buf, 0, end, r.line, (line) => `${r.file}:${line + 1}`);
        if (ctx !== null) for (const d of result.deadLetters) ctx.deadLetter(d);
        const rows = result.batch?.length ?? 0;
        if (result.batch !== null) batches.push(result.batch);
        if (rows > 0) this.bytesPerRow = end / rows;
        r.offset += end;
        r.line += result.lines;
        budget.bytes -= end;
        budget.rows -= rows;
        return;
      }
      if (want >= MAX_LINE_BYTES) {
        await this.skipLongLine(fh, r, ctx);
        budget.bytes -= MAX_LINE_BYTES;
        return;
      }
      // No line end yet: the line is longer than what was read.
      want = Math.min(left, want * 2, MAX_LINE_BYTES);
    }
  }

  /**
   * Whether pieces of lines are decoded apart from each other, each by a decoder of its own in a
   * shard worker: JSON and text lines, and CSV without a header (which a file's first piece
   * carries for the others).
   */
  private decodesInWorkers(): boolean {
    // Off unless SLUICE_PARALLEL_DECODE=1: measured here it gave no wall-time gain at
    // parallelism 2 and took more CPU and memory (docs/decisions.md, "Decoding in the workers").
    if (process.env.SLUICE_PARALLEL_DECODE !== '1') return false;
    const f = this.config.format;
    return f.format !== 'csv' || !f.csvHeader;
  }

  /**
   * Sends the complete lines in buf[0, end) of `r` to the next shard worker to decode (a copy in
   * a pooled shared buffer), keeping the place of their rows in `batches`; `r.line` moves on by
   * the lines counted here. The rows and dead letters are taken in read order by drain().
   */
  private decodeElsewhere(r: Reading, end: number, batches: Batch[], ctx: SourceContext | null): void {
    let sab = this.freeBuffers.pop();
    if (sab === undefined || sab.byteLength < end) sab = new SharedArrayBuffer(Math.max(end, CHUNK_BYTES));
    const bytes = new Uint8Array(sab, 0, end);
    bytes.set(this.buf.subarray(0, end));
    const lines = countLines(this.buf, end);
    const shard = this.turn++ % this.decodeParts;
    const task = shardPool().runTask(shard, { kind: 'decode', schema: this.ctx.schema, format: this.config.format, bytes, firstLine: r.line, file: r.file });
    // Awaited in drain(); this only keeps an early failure from being "unhandled".
    task.catch(() => undefined);
    this.pending.push({ task, bytes, shard, slot: batches.length, file: r.file, firstLine: r.line, lines, ctx });
    batches.push(PLACEHOLDER);
    r.line += lines;
  }

  /**
   * Takes the pieces sent to shard workers, in read order: their rows into their places in
   * `batches` (places of pieces without rows removed), their dead letters to the context. A
   * piece whose worker failed is decoded here instead, from the same bytes.
   */
  private async drain(batches: Batch[]): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      let got: TaskResult;
      try {
        got = await p.task;
      } catch (e) {
        this.ctx.log(`a shard worker could not decode lines ${p.firstLine + 1}… of ${p.file} (${(e as Error).message}); decoding them here`);
        const d = createChunkDecoder(this.config.format, this.ctx.schema).decode(Buffer.from(p.bytes.buffer, 0, p.bytes.length), 0, p.bytes.length, p.firstLine, (line) => `${p.file}:${line + 1}`);
        got = { batch: d.batch, deadLetters: d.deadLetters as DeadLetter[], lines: d.lines };
      }
      if (got.lines !== p.lines) throw new SluiceError('internal', `file ${p.file}: a piece from line ${p.firstLine + 1} held ${got.lines} lines, ${p.lines} were counted`);
      if (p.ctx !== null) for (const d of got.deadLetters) p.ctx.deadLetter(d);
      // The worker keeps the rows; this thread holds a handle (parked.ts).
      const rows = got.parked ? keptParts(p.shard, got, this.ctx.schema.map((f) => f.type))[0]! : got.batch;
      if (rows !== null && rows.length > 0) {
        batches[p.slot] = rows;
        this.bytesPerRow = p.bytes.length / rows.length;
      }
      if (p.bytes.buffer.byteLength === CHUNK_BYTES && this.freeBuffers.length < 2 * this.decodeParts + 2) this.freeBuffers.push(p.bytes.buffer as SharedArrayBuffer);
    }
    if (pending.length > 0) {
      let w = 0;
      for (const b of batches) if (b !== PLACEHOLDER) batches[w++] = b;
      batches.length = w;
    }
  }

  /** Skips a line longer than MAX_LINE_BYTES (its head is in the buffer) as a dead letter. */
  private async skipLongLine(fh: FileHandle, r: Reading, ctx: SourceContext | null): Promise<void> {
    ctx?.deadLetter(deadLetterOf(`${r.file}:${r.line + 1}`, this.buf.toString('utf8', 0, 1000), `line longer than ${MAX_LINE_BYTES} bytes; split such records`));
    let at = r.offset + MAX_LINE_BYTES;
    const step = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = await readFully(fh, step, Math.min(step.length, r.size - at), at);
      const nl = step.subarray(0, n).indexOf(10);
      if (nl >= 0 || at + n >= r.size) {
        r.offset = nl >= 0 ? at + nl + 1 : r.size;
        r.line++;
        return;
      }
      at += n;
    }
  }

  /** The decoder for a file read from `offset`: past the start, a CSV header is read first. */
  private async decoderAt(fh: FileHandle, offset: number): Promise<ChunkDecoder> {
    const decoder = createChunkDecoder(this.config.format, this.ctx.schema);
    if (offset > 0 && this.config.format.format === 'csv' && this.config.format.csvHeader) {
      const head = Buffer.allocUnsafe(Math.min(offset, 1 << 20));
      const n = await readFully(fh, head, head.length, 0);
      let s = n >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
      // The header is the first non-blank line (blank records are skipped).
      for (;;) {
        const nl = head.indexOf(10, s);
        const e = nl < 0 || nl >= n ? n : nl;
        if (head.toString('utf8', s, e).trim() !== '' || nl < 0) {
          decoder.decode(head, s, e, 0, () => '');
          break;
        }
        s = nl + 1;
      }
    }
    return decoder;
  }

  /**
   * The unread files of the listing's window with their size and mtime, in name order, and
   * whether the window left names out; null when the directory is gone. The window is the unread
   * names in order, stat'ed until the regular files among them reach twice what one epoch takes
   * (max_files_per_epoch, max_bytes_per_epoch, `maxRows` at the recent bytes per row), at least
   * two: this epoch's files and the next one's, which are then ready when it comes (a file is
   * read once two listings saw it the same). Stat'ing every unread file made each poll of a
   * backlog of thousands cost more than reading its epoch's share.
   */
  private async list(maxRows: number): Promise<{ files: Map<string, Observation>; cut: boolean } | null> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (!this.dirMissing) {
        this.dirMissing = true;
        this.ctx.log(`cannot list directory ${this.dir}: ${(e as Error).message}; no files are read until it is back`);
      }
      return null;
    }
    if (this.dirMissing) {
      this.dirMissing = false;
      this.ctx.log(`directory ${this.dir} is readable again`);
    }
    const pattern = this.config.pattern;
    const unread = names.filter((name) => !(name.startsWith('.') || this.seen.has(name) || name === this.current?.file || (pattern !== null && !pattern.test(name))));
    // Plain code-unit order, so the order does not depend on the locale.
    unread.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const maxFiles = 2 * this.config.maxFilesPerEpoch;
    const maxBytes = 2 * Math.min(this.config.maxBytesPerEpoch, maxRows * this.bytesPerRow);
    const out = new Map<string, Observation>();
    let bytes = 0;
    let k = 0;
    for (; k < unread.length; k++) {
      if (out.size >= 2 && (out.size >= maxFiles || bytes >= maxBytes)) break;
      const name = unread[k]!;
      try {
        // stat follows links, so a link to a regular file counts as one.
        const st = await stat(join(this.dir, name));
        if (st.isFile()) {
          out.set(name, { size: st.size, mtimeMs: st.mtimeMs });
          bytes += st.size;
        }
      } catch {
        // Deleted between readdir and stat: it is simply not there.
      }
    }
    return { files: out, cut: k < unread.length };
  }
}

/** Reads `length` bytes at `position` into buf (short only at the end of the file); returns how many. */
async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** The SourceFactory of `connector = 'file'`. */
export const createFileSource: SourceFactory = (ctx) => new FileSource(ctx);
