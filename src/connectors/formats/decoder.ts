/**
 * The decoder contract: a decoder turns the raw records of one stream (a file, a socket
 * connection) into a Batch. Records that do not parse or do not fit the schema are left out of
 * the batch and returned as dead letters; one bad record never stops the rest.
 */
import type { Batch } from '../../common/column.js';
import type { DeadLetter } from '../api.js';

/** Position of record i of one decode call; only called for dead letters, so it may allocate. */
export type PositionOf = (index: number) => string;

/** What one decode call produced: the good records as a batch, the bad ones as dead letters. */
export interface DecodeResult {
  readonly batch: Batch;
  readonly deadLetters: readonly DeadLetter[];
}

/**
 * A decoder for one stream of records. Decoders may keep state across calls (a CSV header read
 * from the first record), so a source makes a fresh decoder for each file or connection.
 */
export interface Decoder {
  decode(records: readonly string[], positionOf: PositionOf): DecodeResult;
}

/** Longest `raw` kept in a dead letter, in characters. */
export const MAX_RAW_CHARS = 1000;

/** A dead letter with `raw` truncated to MAX_RAW_CHARS. */
export function deadLetterOf(position: string, raw: string, error: string): DeadLetter {
  return { position, raw: raw.length > MAX_RAW_CHARS ? raw.slice(0, MAX_RAW_CHARS) : raw, error };
}

/** The message of a thrown value, for a dead letter's `error`. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** True for an empty or whitespace-only record. */
export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}
