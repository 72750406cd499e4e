/** History: whole statements as entries, written on exit, read back (newest first) by the next run. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addHistoryEntry, loadHistory, saveHistory } from '../../src/cli/repl/history.js';
import { removeTempDirs, startRepl, tempDir } from './repl-driver.js';

afterEach(removeTempDirs);

describe('REPL history', () => {
  it('is written on exit and read back by the next run, which can recall it', async () => {
    const file = join(tempDir(), 'history');
    const a = startRepl({ historyFile: file });
    a.send('SELECT 1 AS one;\nSELECT 2\n  AS two; -- a comment\n\\timing\n\\q\n');
    await a.done;
    // A statement typed over two lines is one entry; its newline is stored as \x01 (psql's way).
    expect(readFileSync(file, 'utf8')).toBe('SELECT 1 AS one;\nSELECT 2\x01  AS two;\n\\timing\n\\q\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // The next run, on a terminal, recalls the newest entries with the up arrow.
    const b = startRepl({ historyFile: file, terminal: true });
    await b.waitFor('sluice=> ');
    b.send('\x1b[A\x1b[A\x1b[A\r');
    await b.waitFor(/ two\s*\n-----\n\s+2\n/);
    b.send('\\q\r');
    await b.done;
    // The recalled statement ran again, so it is the newest entry again.
    expect(loadHistory(file)).toEqual(['\\q', 'SELECT 2\n  AS two;', '\\q', '\\timing', 'SELECT 2\n  AS two;', 'SELECT 1 AS one;']);
  });

  it('keeps the newest 1000 entries and skips an immediate repeat', () => {
    const file = join(tempDir(), 'h');
    const entries: string[] = [];
    for (let i = 0; i < 1200; i++) addHistoryEntry(entries, `SELECT ${i};`);
    addHistoryEntry(entries, 'SELECT 1199;');
    expect(entries.length).toBe(1000);
    expect(entries[0]).toBe('SELECT 1199;');
    expect(saveHistory(file, entries)).toBeNull();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBe(1000);
    expect(lines[0]).toBe('SELECT 200;');
    writeFileSync(file, Array.from({ length: 1500 }, (_, i) => `x${i}`).join('\n') + '\n');
    expect(loadHistory(file).slice(0, 2)).toEqual(['x1499', 'x1498']);
    expect(loadHistory(file).length).toBe(1000);
    expect(loadHistory(join(tempDir(), 'missing'))).toEqual([]);
    expect(saveHistory('/proc/no/such/dir/history', ['x'])).toBeInstanceOf(Error);
  });
});
