/**
 * The REPL's history file: one entry a line, oldest first, at most HISTORY_SIZE entries. A
 * multi-line statement is one entry; its newlines are stored as \x01, as psql stores them
 * (so `--` comments keep ending where they ended when the entry is recalled).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Most entries kept, in memory and in the file. */
export const HISTORY_SIZE = 1000;

const NEWLINE_IN_ENTRY = '\x01';

/** Reads a history file, newest entry first (readline's order); a missing file is empty. */
export function loadHistory(file: string, max = HISTORY_SIZE): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-max)
    .map((l) => l.split(NEWLINE_IN_ENTRY).join('\n'))
    .reverse();
}

/**
 * Writes the history (newest first, as readline keeps it) oldest first, replacing the file
 * atomically and readable by its owner only: statements may carry connector passwords.
 * Returns the error instead of throwing: a history that cannot be saved must not fail the exit.
 */
export function saveHistory(file: string, entries: readonly string[], max = HISTORY_SIZE): Error | null {
  const lines = entries
    .slice(0, max)
    .reverse()
    .map((e) => e.split('\n').join(NEWLINE_IN_ENTRY));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, lines.length ? lines.join('\n') + '\n' : '', { mode: 0o600 });
    renameSync(tmp, file);
    return null;
  } catch (e) {
    return e as Error;
  }
}

/** Adds an entry in front (newest first), skipping an immediate repeat, keeping at most `max`. */
export function addHistoryEntry(history: string[], entry: string, max = HISTORY_SIZE): void {
  if (entry === '' || history[0] === entry) return;
  history.unshift(entry);
  if (history.length > max) history.length = max;
}
