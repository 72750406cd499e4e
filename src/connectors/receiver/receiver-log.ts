/**
 * The log a receiver (socket, MQTT) keeps between the network and the epochs: every record it
 * takes in is appended here, and each poll takes the records appended since the last one.
 *
 * With a data dir the log is a write-ahead log (wal.ts) in `<data dir>/receivers/<source>/`:
 * the position is the WAL offset after the last polled record, a poll first fsyncs what was
 * appended and takes only durable records, `reread` reads a logged range back for recovery,
 * and `release` deletes segments below the oldest position recovery may still need. start with
 * a position hands the records logged after it (received before a crash, never committed) to
 * the next poll.
 *
 * Without a data dir the same offsets are counted in memory: nothing is written, the position
 * is null (a restart cannot resume) and a range cannot be re-read.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../common/errors.js';
import type { SourceContext } from '../api.js';
import { ReceiverWal, type WalRecord } from './wal.js';

/** The input range of a receiver's poll: WAL offsets [from, to) and how many records. */
export interface ReceiverRange {
  readonly from: number;
  readonly to: number;
  readonly records: number;
}

/** WAL settings of a receiver (its `wal_sync_interval` option, the segment size). */
export interface ReceiverLogOptions {
  readonly syncIntervalMs: number;
  readonly segmentBytes?: number;
  /** The first record of each new WAL segment (the receiver's state as of the roll). */
  readonly segmentHeader?: () => Buffer | null;
}

const DEFAULT_SEGMENT_BYTES = 16 << 20;

/** Where a source's WAL lives in the data dir. */
export function walDir(dataDir: string, source: string): string {
  return join(dataDir, 'receivers', encodeURIComponent(source).replace(/\./g, '%2E'));
}

/** A receiver's log: a WAL with a data dir, offsets in memory without one. */
export class ReceiverLog {
  private wal: ReceiverWal | null = null;
  /** Records appended and not yet taken by a poll, oldest first. */
  private pending: WalRecord[] = [];
  private pendingBytes = 0;
  /** Offset after the last polled record. */
  private polled = 0;
  /** In-memory offsets (no data dir). */
  private memEnd = 0;

  constructor(private readonly ctx: SourceContext, private readonly opts: ReceiverLogOptions) {}

  /** Whether records are written to a WAL (a data dir is set). */
  get durableMode(): boolean {
    return this.ctx.dataDir !== null;
  }

  /**
   * Opens the log. With a WAL and `resumeFrom`, the records after it become pending (they were
   * received before a stop or crash and no committed epoch holds them); without `resumeFrom`,
   * everything the WAL holds is pending (a source created again after a crash before its first
   * checkpoint). Returns every retained record (from the WAL's start) so the owner can rebuild
   * its state (line numbers, unreleased QoS 2 packet ids).
   */
  open(resumeFrom: number | null): WalRecord[] {
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.ctx.dataDir) {
      this.polled = this.memEnd;
      return [];
    }
    this.wal = new ReceiverWal(walDir(this.ctx.dataDir, this.ctx.name), {
      syncIntervalMs: this.opts.syncIntervalMs,
      segmentBytes: this.opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
      segmentHeader: this.opts.segmentHeader,
      log: this.ctx.log,
    });
    const from = resumeFrom ?? this.wal.start;
    if (from < this.wal.start || from > this.wal.end) {
      throw new SluiceError('internal', `source ${this.ctx.name}: its checkpointed position ${from} is outside its write-ahead log ${this.wal.dir} (offsets ${this.wal.start}–${this.wal.end})`, {
        hint: 'The WAL was removed or damaged. Move the data dir aside to start over.',
      });
    }
    const all = this.wal.read(this.wal.start, this.wal.end);
    for (const r of all) {
      if (r.offset >= from) this.keep(r);
    }
    this.polled = from;
    return all;
  }

  /** Appends a record (not yet durable with a WAL); returns its end offset. */
  append(payload: Buffer): number {
    let rec: WalRecord;
    if (this.wal) {
      const offset = this.wal.end;
      const end = this.wal.append(payload);
      rec = { offset, end, payload };
    } else {
      rec = { offset: this.memEnd, end: this.memEnd + 8 + payload.length, payload };
      this.memEnd = rec.end;
    }
    this.keep(rec);
    return rec.end;
  }

  /** Resolves once the log holds everything before `end` durably (at once without a WAL). */
  durable(end: number): Promise<void> {
    return this.wal ? this.wal.durable(end) : Promise.resolve();
  }

  /** Offset after the last appended record. */
  get end(): number {
    return this.wal ? this.wal.end : this.memEnd;
  }

  /** Offset after the last durable record (everything, without a WAL). */
  get durableEnd(): number {
    return this.wal ? this.wal.durableEnd : Infinity;
  }

  /** Records appended and not polled yet, and their bytes. */
  get backlog(): { records: number; bytes: number } {
    return { records: this.pending.length, bytes: this.pendingBytes };
  }

  /**
   * Takes the pending records for an epoch (with a WAL: fsyncs first and takes only durable
   * ones), up to `limit` rows as `rows` counts them per record (the record that reaches the
   * limit is taken whole), and the range they cover.
   */
  async take(limit = Infinity, rows: (r: WalRecord) => number = () => 1): Promise<{ records: WalRecord[]; range: ReceiverRange }> {
    if (this.wal) await this.wal.flush();
    const durableEnd = this.wal ? this.wal.durableEnd : Infinity;
    let n = 0;
    let taken = 0;
    while (n < this.pending.length && taken < limit && this.pending[n]!.end <= durableEnd) taken += rows(this.pending[n++]!);
    const records = this.pending.splice(0, n);
    for (const r of records) this.pendingBytes -= r.payload.length;
    const from = this.polled;
    if (records.length) this.polled = records[records.length - 1]!.end;
    return { records, range: { from, to: this.polled, records: records.length } };
  }

  /** The position after the last poll (null without a WAL: not resumable). */
  position(): number | null {
    return this.wal ? this.polled : null;
  }

  /** Reads a logged range again (recovery); throws without a WAL. */
  reread(range: ReceiverRange): WalRecord[] {
    if (!this.wal) throw new SluiceError('internal', `source ${this.ctx.name} has no write-ahead log to re-read (no data dir)`);
    const recs = this.wal.read(range.from, range.to);
    return recs;
  }

  /** Deletes WAL segments wholly below `offset` (the oldest position recovery may still read). */
  release(offset: number | null): void {
    if (this.wal && offset !== null) this.wal.release(Math.min(offset, this.polled));
  }

  /** fsyncs and closes the WAL. */
  async close(): Promise<void> {
    const w = this.wal;
    this.wal = null;
    await w?.close();
  }

  /** Removes the WAL (the source was dropped). */
  async discard(): Promise<void> {
    await this.close();
    if (this.ctx.dataDir) rmSync(walDir(this.ctx.dataDir, this.ctx.name), { recursive: true, force: true });
  }

  private keep(r: WalRecord): void {
    this.pending.push(r);
    this.pendingBytes += r.payload.length;
  }
}
