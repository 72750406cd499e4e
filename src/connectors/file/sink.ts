/**
 * The file sink (`connector = 'file'` on CREATE SINK): writes epoch n's changes as JSON lines
 * (see json-lines.ts) to `<path>/part-<n, 10 digits>.jsonl`. The file is written under a
 * temporary name starting with '.', flushed to disk and renamed into place, so readers never see
 * a partial part file. Exactly once: `open()` creates the directory if missing, removes
 * leftover temporary files of an interrupted write, and returns the highest epoch with a part
 * file; writing an epoch at or below the last one written, or one whose part file exists, does
 * nothing. Epochs without changes write no file.
 */
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { SinkConnector, SinkContext, SinkFactory } from '../api.js';
import { encodeJsonLines } from './json-lines.js';
import { readFileSinkOptions } from './options.js';

const TEMP_RE = /^\.part-\d{10,}\.jsonl\.tmp$/;
const PART_RE = /^part-(\d{10,})\.jsonl$/;
/** Characters per write() call: one string for a whole big epoch could pass V8's string limit. */
const CHUNK_CHARS = 1 << 20;

/** The name of epoch n's part file. */
export function partFileName(epoch: number): string {
  return `part-${String(epoch).padStart(10, '0')}.jsonl`;
}

/** A file sink writing one part file per epoch. */
export class FileSink implements SinkConnector {
  private readonly ctx: SinkContext;
  private readonly dir: string;
  /** The highest epoch this sink holds (null: none), once opened. */
  private last: number | null | undefined = undefined;

  constructor(ctx: SinkContext) {
    this.ctx = ctx;
    this.dir = resolve(readFileSinkOptions(ctx.options).path);
  }

  async open(): Promise<number | null> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw new SluiceError('invalid_parameter', `sink "${this.ctx.name}" cannot create directory "${this.dir}": ${(e as Error).message}; set path to a writable directory`, { cause: e });
    }
    let last: number | null = null;
    for (const name of await readdir(this.dir)) {
      if (TEMP_RE.test(name)) await unlink(join(this.dir, name)).catch(() => undefined);
      const part = PART_RE.exec(name);
      if (part !== null) last = Math.max(last ?? 0, Number(part[1]));
    }
    this.last = last;
    return last;
  }

  async write(epoch: number, batches: readonly Batch[]): Promise<void> {
    const last = this.last === undefined ? await this.open() : this.last;
    if (last !== null && epoch <= last) return;
    if (!batches.some((b) => b.length > 0)) return;
    const final = join(this.dir, partFileName(epoch));
    const temp = join(this.dir, `.${partFileName(epoch)}.tmp`);
    const fh = await open(temp, 'w');
    try {
      const lines: string[] = [];
      encodeJsonLines(this.ctx.schema, batches, lines);
      let chunk = '';
      for (const l of lines) {
        chunk += l;
        if (chunk.length >= CHUNK_CHARS) {
          await fh.write(chunk);
          chunk = '';
        }
      }
      if (chunk !== '') await fh.write(chunk);
      // Flushed before the rename, so a crash never leaves a renamed but empty part file.
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, final);
    await syncDir(this.dir);
    this.last = epoch;
  }

  async close(): Promise<void> {}
}

/** Makes a rename durable; platforms that cannot open a directory skip it. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Not supported here (e.g. Windows); the rename itself is still atomic.
  } finally {
    await fh?.close();
  }
}

/** The SinkFactory of `connector = 'file'`. */
export const createFileSink: SinkFactory = (ctx) => new FileSink(ctx);
