/**
 * The file source (`connector = 'file'`): watches one directory and reads every new file once,
 * whole, in name order, decoding its lines with the configured format; dead letters carry the
 * position `<file name>:<line>`. Each file becomes one batch; the poll's range is
 * `{ files: [names read] }`.
 *
 * Stability rule (when is a file finished?): a file is read only when two successive listings
 * saw the same size and modification time. The listing made by start() counts, so files that
 * are already there are read by the first poll; a file that appears later is read by the poll
 * after the one that first saw it. A writer that stalls for longer than one epoch interval can
 * still have its file read half-written, so producers should write elsewhere (or under a name
 * starting with '.', which the source ignores) and rename the finished file into the directory.
 *
 * Other rules: only regular files (or links to them) are read, never subdirectories; names
 * starting with '.' are skipped; `pattern` filters names. A relative `path` is resolved against
 * the engine's working directory.
 *
 * The position is the set of files read (checkpointed by the engine, so a restarted engine
 * reads only new files); `reread` reads a recorded range's files again for recovery.
 *
 * Known limits: a file is read into memory whole; a file changed after it was read is not read
 * again; the position grows with every file read.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { createDecoder } from '../formats/index.js';
import { splitLines } from '../formats/lines.js';
import { readFileSourceOptions, type FileSourceConfig } from './options.js';

/** Where a file source stands: the names of the files it has read (each is read once). */
export interface FilePosition {
  readonly read: readonly string[];
}

/** The input range of one file-source poll: the names of the files read, in order. */
export interface FileRange {
  readonly files: readonly string[];
}

interface Observation {
  readonly size: number;
  readonly mtimeMs: number;
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** A running file source. */
export class FileSource implements SourceConnector<FilePosition> {
  private readonly ctx: SourceContext;
  private readonly config: FileSourceConfig;
  private readonly dir: string;
  /** Names already read; never read again. */
  private readonly seen = new Set<string>();
  /** Unread files as the previous listing saw them. */
  private observed = new Map<string, Observation>();
  /** Files whose read failed, so the failure is logged once rather than every poll. */
  private readonly failing = new Set<string>();
  private dirMissing = false;

  constructor(ctx: SourceContext) {
    this.ctx = ctx;
    this.config = readFileSourceOptions(ctx.options, ctx.schema);
    this.dir = resolve(this.config.path);
  }

  async start(resumeFrom: FilePosition | null): Promise<void> {
    for (const name of resumeFrom?.read ?? []) this.seen.add(name);
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
    this.observed = (await this.list()) ?? new Map();
  }

  async poll(_nowMicros: bigint, maxRows = Infinity): Promise<SourceRead<FilePosition>> {
    const listing = await this.list();
    if (listing === null) return { batches: [], range: { files: [] } satisfies FileRange, position: { read: [...this.seen] } };
    const ready: string[] = [];
    for (const [name, now] of listing) {
      const before = this.observed.get(name);
      if (before !== undefined && before.size === now.size && before.mtimeMs === now.mtimeMs) ready.push(name);
    }
    this.observed = listing;
    // Plain code-unit order, so the order does not depend on the locale.
    ready.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    const batches: Batch[] = [];
    const files: string[] = [];
    let rows = 0;
    for (const name of ready) {
      // The engine's limit: whole files, stopping once it is reached (the rest wait, in order).
      if (rows >= maxRows) break;
      let text: string;
      try {
        text = await readFile(join(this.dir, name), 'utf8');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') {
          this.observed.delete(name);
        } else if (!this.failing.has(name)) {
          this.failing.add(name);
          this.ctx.log(`cannot read ${name}: ${(e as Error).message}; retrying each poll`);
        }
        continue;
      }
      this.failing.delete(name);
      this.seen.add(name);
      this.observed.delete(name);
      files.push(name);
      const { batch, deadLetters } = createDecoder(this.config.format, this.ctx.schema).decode(splitLines(text), (i) => `${name}:${i + 1}`);
      for (const d of deadLetters) this.ctx.deadLetter(d);
      if (batch.length > 0) batches.push(batch);
      rows += batch.length;
    }
    return { batches, range: { files } satisfies FileRange, position: { read: [...this.seen] } };
  }

  async stop(): Promise<void> {
    this.observed.clear();
  }

  /** The files of a recorded range again (recovery); a file gone since is an error naming it. */
  async reread(range: FileRange): Promise<Batch[]> {
    const batches: Batch[] = [];
    for (const name of range.files) {
      let text: string;
      try {
        text = await readFile(join(this.dir, name), 'utf8');
      } catch (e) {
        throw new SluiceError('invalid_parameter', `file ${join(this.dir, name)} of source "${this.ctx.name}" cannot be read again: ${(e as Error).message}`, { cause: e });
      }
      const { batch } = createDecoder(this.config.format, this.ctx.schema).decode(splitLines(text), (i) => `${name}:${i + 1}`);
      if (batch.length > 0) batches.push(batch);
    }
    return batches;
  }

  /** Unread candidate files with their size and mtime; null when the directory is gone. */
  private async list(): Promise<Map<string, Observation> | null> {
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
    const out = new Map<string, Observation>();
    const pattern = this.config.pattern;
    for (const name of names) {
      if (name.startsWith('.') || this.seen.has(name)) continue;
      if (pattern !== null && !pattern.test(name)) continue;
      try {
        // stat follows links, so a link to a regular file counts as one.
        const st = await stat(join(this.dir, name));
        if (st.isFile()) out.set(name, { size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // Deleted between readdir and stat: it is simply not there.
      }
    }
    return out;
  }
}

/** The SourceFactory of `connector = 'file'`. */
export const createFileSource: SourceFactory = (ctx) => new FileSource(ctx);
