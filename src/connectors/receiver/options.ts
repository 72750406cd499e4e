/**
 * Options every receiver (socket, MQTT) shares:
 *
 *   wal_sync_interval   longest a received record waits for its WAL fsync (default '10 milliseconds')
 */
import type { OptionReader } from '../option-reader.js';

/** The option names this module reads. */
export const RECEIVER_OPTIONS: readonly string[] = ['wal_sync_interval'];

/** Reads `wal_sync_interval` (a duration; default 10 ms), in milliseconds. */
export function readWalSyncInterval(r: OptionReader): number {
  const us = r.duration('wal_sync_interval') ?? 10_000n;
  return Number(us) / 1000;
}
