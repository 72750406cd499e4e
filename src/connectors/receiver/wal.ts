/**
 * The receiver write-ahead log: what a receiver (socket, MQTT) takes off the network is appended
 * here before it is acknowledged, and the log's byte offset is the source's position.
 *
 *   <dir>/<base offset, 20 digits>.wal   segment files; a segment starts at the byte offset of
 *                                          the whole log given by its name
 *   record   [u32 length][u32 crc32(payload)][payload]   (the framing of the offsets log)
 *
 * Appends are buffered and written + fsynced in groups: a sync runs at most `syncIntervalMs`
 * after the first unsynced append, or at once when someone waits for it (`flush`). `durable(end)`
 * resolves once every byte before `end` is on disk — acknowledgements wait for it. A segment is
 * rolled when it passes `segmentBytes`; a new segment may start with a header record the owner
 * supplies (its state as of the roll, e.g. MQTT's unreleased QoS 2 packet ids), so the log can
 * be read from any retained segment. `release(offset)` deletes the segments that lie wholly
 * below `offset` (the oldest position recovery may still re-read).
 *
 * Opening scans the newest segment and cuts a torn tail (a record short or failing its
 * checksum, what a crash mid-write leaves) off; earlier segments were complete when the next
 * one began, so damage there is reported when read, never skipped.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SluiceError } from '../../common/errors.js';

/** One record read back: its bytes and where it sits in the log. */
export interface WalRecord {
  /** Offset of the record's frame. */
  readonly offset: number;
  /** Offset just after it (the next record's offset). */
  readonly end: number;
  readonly payload: Buffer;
}

export interface WalOptions {
  /** Longest an appended record waits before it is fsynced (ms). */
  readonly syncIntervalMs: number;
  /** A segment is rolled once it holds this many bytes. */
  readonly segmentBytes: number;
  /** The first record of each new segment (not of the first one), if any. */
  readonly segmentHeader?: () => Buffer | null;
  readonly log?: (message: string) => void;
}

const FRAME_HEAD = 8;
const NAME = /^(\d{20})\.wal$/;

function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.wal`;
}

function frame(payload: Buffer): Buffer {
  const f = Buffer.allocUnsafe(FRAME_HEAD + payload.length);
  f.writeUInt32LE(payload.length, 0);
  f.writeUInt32LE(crc32(payload) >>> 0, 4);
  payload.copy(f, FRAME_HEAD);
  return f;
}

/**
 * The intact records of a segment's bytes, and the length of the intact prefix. `base` is the
 * segment's offset in the log.
 */
export function scanSegment(buf: Buffer, base: number): { records: WalRecord[]; intact: number } {
  const records: WalRecord[] = [];
  let off = 0;
  while (off + FRAME_HEAD <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (off + FRAME_HEAD + len > buf.length) break;
    const payload = buf.subarray(off + FRAME_HEAD, off + FRAME_HEAD + len);
    if ((crc32(payload) >>> 0) !== buf.readUInt32LE(off + 4)) break;
    records.push({ offset: base + off, end: base + off + FRAME_HEAD + len, payload });
    off += FRAME_HEAD + len;
  }
  return { records, intact: off };
}

/** A segment: its base offset and (for the active one) how many bytes it holds. */
interface Segment {
  readonly base: number;
  readonly path: string;
}

/** A receiver's write-ahead log in one directory. */
export class ReceiverWal {
  private readonly segments: Segment[] = [];
  /** The active segment's file, opened for appends. */
  private fh: FileHandle | null = null;
  private fhBase = -1;
  /** Frames appended but not yet written, each with the segment it goes to. */
  private buffered: { base: number; frame: Buffer }[] = [];
  /** End offset of everything appended (written or not). */
  private appendedEnd: number;
  /** End offset of everything fsynced. */
  private syncedEnd: number;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private waiters: { end: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: Error | null = null;
  private closed = false;
  /** Bytes cut off the newest segment at open (a torn tail), 0 normally. */
  readonly truncated: number;

  constructor(readonly dir: string, private readonly opts: WalOptions) {
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir).sort()) {
      const m = NAME.exec(f);
      if (m) this.segments.push({ base: Number(m[1]), path: join(dir, f) });
      else if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
    }
    let end = 0;
    let truncated = 0;
    const last = this.segments[this.segments.length - 1];
    if (last) {
      const buf = readFileSync(last.path);
      const { intact } = scanSegment(buf, last.base);
      truncated = buf.length - intact;
      if (truncated) {
        const fd = openSync(last.path, 'r+');
        try {
          ftruncateSync(fd, intact);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        opts.log?.(`write-ahead log: cut a torn tail of ${truncated} bytes off ${last.path}`);
      }
      end = last.base + intact;
    }
    this.truncated = truncated;
    this.appendedEnd = this.syncedEnd = end;
    if (!last) this.segments.push({ base: 0, path: join(dir, segmentName(0)) });
  }

  /** Offset of the first retained record. */
  get start(): number {
    return this.segments[0]!.base;
  }

  /** Offset after the last appended record. */
  get end(): number {
    return this.appendedEnd;
  }

  /** Offset after the last fsynced record. */
  get durableEnd(): number {
    return this.syncedEnd;
  }

  /** Appends a record (buffered; fsynced within the sync interval); returns its end offset. */
  append(payload: Buffer): number {
    if (this.failure) throw this.failure;
    if (this.closed) throw new SluiceError('internal', `write-ahead log ${this.dir} is closed`);
    const active = this.segments[this.segments.length - 1]!;
    if (this.appendedEnd - active.base >= this.opts.segmentBytes) this.roll();
    this.push(payload);
    this.schedule();
    return this.appendedEnd;
  }

  /** Resolves once every record before `end` is fsynced (asks for a sync if none is due). */
  durable(end: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (end <= this.syncedEnd) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ end, resolve, reject });
      this.schedule();
    });
  }

  /** Writes and fsyncs everything appended so far, now. */
  async flush(): Promise<void> {
    const end = this.appendedEnd;
    while (this.syncedEnd < end) {
      if (this.failure) throw this.failure;
      await this.syncOnce();
    }
  }

  /**
   * The records in [from, to) (to: the durable end), oldest first. Throws when `from` is below
   * the retained log, or a record in the range is damaged.
   */
  read(from: number, to: number = this.syncedEnd): WalRecord[] {
    if (from < this.start) {
      throw new SluiceError('internal', `write-ahead log ${this.dir} no longer holds offset ${from} (it starts at ${this.start})`);
    }
    const out: WalRecord[] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const next = this.segments[i + 1]?.base ?? Infinity;
      if (next <= from || seg.base >= to) continue;
      if (!existsSync(seg.path)) continue;
      const buf = readFileSync(seg.path);
      const { records, intact } = scanSegment(buf, seg.base);
      for (const r of records) if (r.offset >= from && r.end <= to) out.push(r);
      const readEnd = seg.base + intact;
      if (readEnd < Math.min(to, next === Infinity ? this.syncedEnd : next)) {
        throw new SluiceError('internal', `write-ahead log segment ${seg.path} is damaged at offset ${readEnd}`, {
          hint: 'A record inside the log fails its checksum; the data after it cannot be read back.',
        });
      }
    }
    if (out.length && out[0]!.offset !== from && from < to) {
      throw new SluiceError('internal', `write-ahead log ${this.dir}: offset ${from} is not the start of a record`);
    }
    return out;
  }

  /** Deletes the segments that end at or below `offset` (never the active one). */
  release(offset: number): void {
    while (this.segments.length > 1 && this.segments[1]!.base <= offset) {
      const seg = this.segments.shift()!;
      rmSync(seg.path, { force: true });
    }
  }

  /** The base offsets of the retained segments (for tests and stats). */
  segmentBases(): number[] {
    return this.segments.map((s) => s.base);
  }

  /** Syncs what is appended and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.flush();
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.fh?.close().catch(() => undefined);
      this.fh = null;
    }
  }

  private push(payload: Buffer): void {
    const f = frame(payload);
    this.buffered.push({ base: this.segments[this.segments.length - 1]!.base, frame: f });
    this.appendedEnd += f.length;
  }

  private roll(): void {
    const base = this.appendedEnd;
    this.segments.push({ base, path: join(this.dir, segmentName(base)) });
    const header = this.opts.segmentHeader?.();
    if (header) this.push(header);
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const urgent = this.waiters.length > 0 && this.opts.syncIntervalMs <= 0;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.syncOnce().catch(() => undefined);
    }, urgent ? 0 : this.opts.syncIntervalMs);
  }

  /** One group: writes the buffered frames, fsyncs, wakes the waiters it covers. Serialised. */
  private syncOnce(): Promise<void> {
    if (this.syncing) return this.syncing.then(() => undefined);
    this.syncing = this.writeGroup()
      .catch((e: unknown) => {
        this.failure = e instanceof Error ? e : new Error(String(e));
        for (const w of this.waiters.splice(0)) w.reject(this.failure);
        throw this.failure;
      })
      .finally(() => {
        this.syncing = null;
        if (this.buffered.length || this.waiters.length) this.schedule();
      });
    return this.syncing;
  }

  private async writeGroup(): Promise<void> {
    const group = this.buffered;
    this.buffered = [];
    let end = this.syncedEnd;
    let i = 0;
    while (i < group.length) {
      const base = group[i]!.base;
      const parts: Buffer[] = [];
      while (i < group.length && group[i]!.base === base) parts.push(group[i++]!.frame);
      const fh = await this.handleFor(base);
      const data = Buffer.concat(parts);
      let off = 0;
      while (off < data.length) off += (await fh.write(data, off, data.length - off, end - base + off)).bytesWritten;
      await fh.datasync();
      end += data.length;
    }
    this.syncedEnd = end;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.end <= end ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /** The open file of segment `base`, closing the previous one (a new segment's directory entry is fsynced). */
  private async handleFor(base: number): Promise<FileHandle> {
    if (this.fh && this.fhBase === base) return this.fh;
    if (this.fh) {
      await this.fh.datasync();
      await this.fh.close();
    }
    const seg = this.segments.find((s) => s.base === base)!;
    const fresh = !existsSync(seg.path);
    this.fh = await open(seg.path, fresh ? 'w+' : 'r+');
    this.fhBase = base;
    if (fresh) {
      const d = openSync(this.dir, 'r');
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    }
    return this.fh;
  }
}
