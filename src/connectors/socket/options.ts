/**
 * The WITH options of `connector = 'socket'`:
 *
 *   host                   server to connect to (default 'localhost')
 *   port                   its TCP port (required)
 *   format                 'text' (default) | 'json' | 'csv', with csv.delimiter / csv.header
 *   max_buffered_lines     lines held between polls before reading pauses (default 1 000 000)
 *   reconnect.max_backoff  longest wait between reconnect attempts (default '5 seconds')
 *   wal_sync_interval      longest a received line waits for its WAL fsync (default '10 milliseconds')
 */
import type { Schema } from '../../common/types.js';
import type { Options } from '../../parser/ast.js';
import { FORMAT_OPTIONS, readFormatOptions, type FormatSpec } from '../formats/options.js';
import { OptionReader } from '../option-reader.js';
import { readWalSyncInterval } from '../receiver/options.js';

/** Validated socket source settings. */
export interface SocketSourceConfig {
  readonly host: string;
  readonly port: number;
  readonly format: FormatSpec;
  readonly maxBufferedLines: number;
  /** Longest reconnect wait, in milliseconds. */
  readonly maxBackoffMs: number;
  /** Group-commit interval of the receiver WAL, in milliseconds. */
  readonly walSyncIntervalMs: number;
}

/** Reads and checks the options of a socket source with `schema`. */
export function readSocketOptions(options: Options, schema: Schema): SocketSourceConfig {
  const r = new OptionReader('socket', options);
  r.checkNames(['host', 'port', 'max_buffered_lines', 'reconnect.max_backoff', 'wal_sync_interval', ...FORMAT_OPTIONS]);
  const host = r.string('host')?.trim() || 'localhost';
  r.required('port', 'the TCP port of the server sending lines');
  const port = r.integer('port', 1, 65535)!;
  const format = readFormatOptions(r, schema, 'text');
  const maxBufferedLines = r.integer('max_buffered_lines', 1) ?? 1_000_000;
  const backoff = r.duration('reconnect.max_backoff') ?? 5_000_000n;
  const walSyncIntervalMs = readWalSyncInterval(r);
  return { host, port, format, maxBufferedLines, maxBackoffMs: Math.max(1, Number(backoff / 1000n)), walSyncIntervalMs };
}
