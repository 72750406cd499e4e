/**
 * Durable files of checkpoints and the offsets log, each guarded by CRC-32 so a torn or damaged
 * file is detected instead of believed.
 *
 *   framed log   [u32 length][u32 crc32(payload)][payload] … appended and fsynced; reading
 *                stops at the first record that is short or fails its checksum (a torn tail
 *                after a crash), which the next append truncates.
 *   blob file    "SLCKPT1\n" [u32 crc32(rest)] [u32 header length] header-json  blob…
 *                written to a temp name, fsynced, renamed into place, directory fsynced.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { SluiceError } from '../../common/errors.js';

const MAGIC = Buffer.from('SLCKPT1\n', 'latin1');

/** Why a checkpoint file cannot be used; names the file. */
export class CorruptFileError extends SluiceError {
  constructor(readonly file: string, what: string) {
    super('internal', `checkpoint file ${file} is damaged: ${what}`, {
      hint: 'The engine falls back to an older checkpoint when it can; otherwise move the data dir aside and start over.',
    });
  }
}

/** fsyncs a directory so a rename inside it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `parts` to `path` atomically: a temp file, fsync, rename, fsync of the directory. */
export function writeAtomic(path: string, parts: readonly Uint8Array[]): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** One blob of a blob file with where it sits. */
export interface BlobRef {
  readonly offset: number;
  readonly length: number;
}

/**
 * Writes a blob file: a JSON header (which may refer to the blobs by index through the returned
 * refs) and the blobs. `header` is called with the refs so it can embed them.
 */
export function writeBlobFile(path: string, blobs: readonly Uint8Array[], header: (refs: readonly BlobRef[]) => unknown): number {
  const refs: BlobRef[] = [];
  let off = 0;
  for (const b of blobs) {
    refs.push({ offset: off, length: b.length });
    off += b.length;
  }
  const headerBytes = Buffer.from(JSON.stringify(header(refs)), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBytes.length);
  let crc = crc32(len);
  crc = crc32(headerBytes, crc);
  for (const b of blobs) crc = crc32(b, crc);
  const crcBuf = Buffer.alloc(4);
  crcBuf.writeUInt32LE(crc >>> 0);
  writeAtomic(path, [MAGIC, crcBuf, len, headerBytes, ...blobs]);
  return MAGIC.length + 8 + headerBytes.length + off;
}

/** Reads and verifies a blob file: its header and a function giving blob bytes by ref. */
export function readBlobFile<H>(path: string): { header: H; blob: (ref: BlobRef) => Uint8Array; bytes: number } {
  if (!existsSync(path)) throw new CorruptFileError(path, 'it is missing');
  const buf = readFileSync(path);
  if (buf.length < MAGIC.length + 8 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new CorruptFileError(path, 'not a sluice checkpoint file (bad magic or too short)');
  const want = buf.readUInt32LE(MAGIC.length);
  const rest = buf.subarray(MAGIC.length + 4);
  if ((crc32(rest) >>> 0) !== want) throw new CorruptFileError(path, 'checksum mismatch');
  const hlen = rest.readUInt32LE(0);
  if (4 + hlen > rest.length) throw new CorruptFileError(path, 'header runs past the end');
  let header: H;
  try {
    header = JSON.parse(rest.subarray(4, 4 + hlen).toString('utf8')) as H;
  } catch {
    throw new CorruptFileError(path, 'header is not JSON');
  }
  const body = rest.subarray(4 + hlen);
  return {
    header,
    bytes: buf.length,
    blob: (ref) => {
      if (ref.offset + ref.length > body.length) throw new CorruptFileError(path, 'a blob runs past the end');
      return body.subarray(ref.offset, ref.offset + ref.length);
    },
  };
}

/**
 * An append-only log of JSON records with per-record length and checksum, fsynced at each
 * append. Opening it reads every intact record and cuts a torn tail off.
 */
export class FramedLog<R> {
  private fd: number;
  private size: number;
  /** The intact records found at open, oldest first. */
  readonly records: R[] = [];
  /** Bytes cut off the end at open (a torn or damaged tail), 0 normally. */
  readonly truncated: number;

  constructor(readonly path: string) {
    const exists = existsSync(path);
    const buf = exists ? readFileSync(path) : Buffer.alloc(0);
    let off = 0;
    while (off + 8 <= buf.length) {
      const len = buf.readUInt32LE(off);
      const crc = buf.readUInt32LE(off + 4);
      if (off + 8 + len > buf.length) break;
      const payload = buf.subarray(off + 8, off + 8 + len);
      if ((crc32(payload) >>> 0) !== crc) break;
      try {
        this.records.push(JSON.parse(payload.toString('utf8')) as R);
      } catch {
        break;
      }
      off += 8 + len;
    }
    this.truncated = buf.length - off;
    this.fd = openSync(path, exists ? 'r+' : 'w+');
    if (this.truncated) ftruncateSync(this.fd, off);
    this.size = off;
  }

  /** Appends one record and fsyncs it. */
  append(record: R): void {
    const frame = frameOf(record);
    let off = 0;
    while (off < frame.length) off += writeSync(this.fd, frame, off, frame.length - off, this.size + off);
    fsyncSync(this.fd);
    this.size += frame.length;
  }

  /** Rewrites the log with only `keep` (pruning old records), atomically. */
  rewrite(keep: readonly R[]): void {
    keep = [...keep];
    closeSync(this.fd);
    writeAtomic(this.path, keep.map(frameOf));
    this.records.splice(0, this.records.length, ...keep);
    this.fd = openSync(this.path, 'r+');
    this.size = statSync(this.path).size;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One record's frame: length, CRC-32 of the JSON payload, the payload. */
function frameOf(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload) >>> 0, 4);
  return Buffer.concat([head, payload]);
}
