/** Drives runRepl through in-memory streams: what it prints, waiting for output, Ctrl-C. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Interface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { runRepl, type ReplOptions } from '../../src/cli/repl/repl.js';

/** A running REPL over PassThrough streams. */
export interface ReplDriver {
  readonly input: PassThrough;
  readonly output: PassThrough;
  readonly done: Promise<number>;
  readonly historyFile: string;
  /** Everything printed so far. */
  text(): string;
  /** Types text (lines end with \n, or \r on a terminal). */
  send(text: string): void;
  /** Waits until the output matches (or the time runs out, with the output in the error). */
  waitFor(match: string | RegExp | ((text: string) => boolean), ms?: number): Promise<void>;
  /** Ctrl-C, as readline reports it. */
  interrupt(): void;
}

/** Temp dirs made by tests, removed by `removeTempDirs` (call it in afterEach). */
const dirs: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-repl-'));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function startRepl(opts: Partial<ReplOptions> = {}): ReplDriver {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d) => (text += String(d)));
  let rl: Interface | null = null;
  const historyFile = typeof opts.historyFile === 'string' ? opts.historyFile : join(tempDir(), 'history');
  const done = runRepl({ terminal: false, ...opts, input, output, historyFile, onInterface: (i) => (rl = i) });
  const matches = (m: string | RegExp | ((t: string) => boolean)) => (typeof m === 'string' ? text.includes(m) : m instanceof RegExp ? m.test(text) : m(text));
  return {
    input,
    output,
    done,
    historyFile,
    text: () => text,
    send: (s) => input.write(s),
    async waitFor(m, ms = 15_000) {
      const end = Date.now() + ms;
      while (!matches(m) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      if (!matches(m)) throw new Error(`timed out waiting for ${String(m)}; output so far:\n${text}`);
    },
    interrupt() {
      if (!rl) throw new Error('the REPL has no readline interface yet');
      rl.emit('SIGINT');
    },
  };
}
