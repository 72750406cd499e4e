/**
 * `sluice repl`: an interactive SQL shell over an in-process engine or a server (`--url`).
 *
 * Statements end with `;` and may span lines (continuation prompt `sluice-> `); backslash
 * commands end at the newline (`\d`, `\d NAME`, `\dt`, `\dm`, `\timing`, `\x`, `\i`, `\r`,
 * `\q`, `\?`). History persists across runs; Tab completes keywords and object names.
 * SUBSCRIBE shows the view live: on a terminal the table is redrawn in place, elsewhere each
 * change prints as a line. Ctrl-C stops a subscription (or cancels a remote statement, or
 * clears the query buffer at the prompt); `\q` or Ctrl-D quits.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { lex } from '../../parser/lexer.js';
import type { LiveStream, ReplBackend } from './backend.js';
import { completeLine } from './completion.js';
import { formatError } from './error-text.js';
import { addHistoryEntry, loadHistory, saveHistory } from './history.js';
import { openInProcessBackend } from './in-process-backend.js';
import { LiveDisplay } from './live-display.js';
import { runMetaCommand, type MetaContext } from './meta-commands.js';
import { MutableOutput } from './mutable-output.js';
import { connectRemoteBackend, redactUrl } from './remote-backend.js';
import { formatResult } from './result-text.js';
import { StatementBuffer } from './statement-buffer.js';

/** Options of {@link runRepl}. */
export interface ReplOptions {
  /** A server to connect to (`postgres://host:port/db`); without it an engine runs in process. */
  readonly url?: string;
  /** The in-process engine's data dir (objects persist there); null or absent: in memory. */
  readonly dataDir?: string | null;
  /** Where lines are read from (default stdin). */
  readonly input?: Readable;
  /** Where everything is written (default stdout). */
  readonly output?: Writable;
  /**
   * The history file. Default: `~/.sluice_history` on a terminal, none otherwise (a script
   * piped in is not history); null: none.
   */
  readonly historyFile?: string | null;
  /** Line editing, Tab and in-place redraws (default: input and output are both terminals). */
  readonly terminal?: boolean;
  /** Receives the readline interface once it exists (tests emit 'SIGINT' on it, as Ctrl-C does). */
  readonly onInterface?: (rl: Interface) => void;
}

/** Deepest nesting of `\i` files (a file that includes itself stops here). */
const MAX_INCLUDE_DEPTH = 16;

/** Runs the REPL until `\q` or the end of input; resolves with the exit code. */
export async function runRepl(opts: ReplOptions = {}): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const terminal = opts.terminal ?? Boolean((input as Partial<NodeJS.ReadStream>).isTTY && (output as Partial<NodeJS.WriteStream>).isTTY);
  const historyFile = opts.historyFile === undefined ? (terminal ? join(homedir(), '.sluice_history') : null) : opts.historyFile;
  let session: ReplSession | null = null;
  const onMessage = (severity: string, message: string) => {
    const line = severity ? `${severity}:  ${message}\n` : `${message}\n`;
    if (session) session.message(line);
    else output.write(line);
  };
  let backend: ReplBackend;
  try {
    backend = opts.url ? await connectRemoteBackend(opts.url, onMessage) : await openInProcessBackend(opts.dataDir ?? null, onMessage);
  } catch (e) {
    output.write(opts.url ? `sluice: could not connect to ${redactUrl(opts.url)}: ${(e as Error).message}\n` : `sluice: could not start the engine: ${(e as Error).message}\n`);
    return 2;
  }
  session = new ReplSession(backend, input, output, terminal, historyFile, opts);
  try {
    return await session.run();
  } finally {
    await backend.close();
  }
}

/** One run of the shell: the readline interface, the query buffer, settings and what is running. */
class ReplSession {
  private readonly rl: Interface;
  private readonly rlOutput: MutableOutput;
  private readonly history: string[];
  private readonly buffer = new StatementBuffer();
  private readonly settings = { timing: false, expanded: false };
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  private inputClosed = false;
  /** What the session is doing: waiting at the prompt, running a statement, or showing a SUBSCRIBE. */
  private state: 'prompt' | 'busy' | 'live' = 'busy';
  private live: { stream: LiveStream; display: LiveDisplay } | null = null;
  /** Messages held back while a live table is being redrawn. */
  private readonly heldMessages: string[] = [];
  private includeDepth = 0;
  private exitCode = 0;

  constructor(
    private readonly backend: ReplBackend,
    input: Readable,
    private readonly output: Writable,
    private readonly terminal: boolean,
    private readonly historyFile: string | null,
    private readonly opts: ReplOptions,
  ) {
    this.history = historyFile ? loadHistory(historyFile) : [];
    this.rlOutput = new MutableOutput(output);
    this.rl = createInterface({
      input,
      output: this.rlOutput,
      terminal,
      history: this.history,
      // 0 turns off readline's own line-by-line history: entries are whole statements, added here.
      historySize: 0,
      completer: (line: string) => completeLine(line, this.backend.names(), this.buffer.contents),
      tabSize: 4,
    });
    // readline navigates this very array; keep it shared even if readline copied the option.
    (this.rl as unknown as { history: string[] }).history = this.history;
  }

  async run(): Promise<number> {
    const { rl } = this;
    rl.on('line', (line) => {
      // Keys typed under a live table were never shown (the echo is muted): drop their lines.
      if (this.state === 'live' && this.terminal) return;
      this.lines.push(line);
      this.wake?.();
    });
    rl.on('close', () => {
      this.inputClosed = true;
      // Ctrl-D under a live table ends it (and the session); piped input that ends leaves a
      // subscription running until Ctrl-C, so `echo 'SUBSCRIBE v;' | sluice repl` follows v.
      if (this.terminal) void this.live?.stream.stop();
      this.wake?.();
    });
    rl.on('SIGINT', () => this.interrupt());
    const onResize = () => this.live?.display.resized();
    this.output.on('resize', onResize);
    // Without line editing, Ctrl-C reaches the process as a signal instead of as a key. With
    // nothing to stop and nothing typed it ends the session, as a signal ends other filters.
    const onSignal = () => {
      if (this.state === 'prompt' && !this.buffer.pending && !this.terminal) this.endInput(130);
      else this.interrupt();
    };
    const ownsStdin = this.opts.input === undefined;
    if (ownsStdin) process.on('SIGINT', onSignal);
    this.opts.onInterface?.(rl);
    try {
      this.write(`sluice repl — ${this.backend.description}. End statements with ;  \\? for help, \\q to quit.\n`);
      const quit = await this.loop();
      if (!quit && !this.terminal) {
        // As psql at the end of a script: a last statement without its `;` still runs.
        const rest = this.buffer.takeRest();
        if (rest) {
          this.remember(rest);
          await this.runStatement(rest);
        }
      }
      if (this.terminal && !quit) this.write('\n');
      return this.exitCode;
    } finally {
      if (ownsStdin) process.off('SIGINT', onSignal);
      this.output.off('resize', onResize);
      this.rlOutput.detach();
      rl.close();
      if (this.historyFile) {
        const err = saveHistory(this.historyFile, this.history);
        if (err) this.write(`sluice: could not save history to ${this.historyFile}: ${err.message}\n`);
      }
    }
  }

  /** Ends the session as if the input had ended, exiting with `code`. */
  private endInput(code: number): void {
    this.exitCode = code;
    this.inputClosed = true;
    this.wake?.();
  }

  /** Reads and handles lines until `\q` (true) or the end of input (false). */
  private async loop(): Promise<boolean> {
    this.prompt();
    for (;;) {
      while (this.lines.length === 0 && !this.inputClosed) await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
      const line = this.lines.shift();
      if (line === undefined) return false;
      this.state = 'busy';
      if (await this.handleLine(line, true)) return true;
      this.prompt();
    }
  }

  /** One input line: a backslash command, or more of the query buffer. True to quit. */
  private async handleLine(line: string, remember: boolean): Promise<boolean> {
    if (/^\s*\\/.test(line) && this.buffer.state === 'sql') {
      if (remember) this.remember(line.trim());
      return (await runMetaCommand(line, this.metaContext())) === 'quit';
    }
    const { statements, entry } = this.buffer.push(line);
    if (remember && entry) this.remember(entry);
    // As psql does, a failed statement does not stop the ones after it.
    for (const sql of statements) await this.runStatement(sql);
    return false;
  }

  private async runStatement(sql: string): Promise<void> {
    const started = performance.now();
    const verb = firstWord(sql);
    this.state = 'busy';
    try {
      if (verb === 'subscribe') {
        await this.follow(sql);
        return;
      }
      for (const r of await this.backend.run(sql)) this.write(formatResult(r, this.settings.expanded));
      if (verb === 'create' || verb === 'drop') await this.backend.refreshNames().catch(() => undefined);
    } catch (e) {
      this.write(formatError(e, sql));
    }
    if (this.settings.timing) this.write(`Time: ${(performance.now() - started).toFixed(3)} ms\n`);
  }

  /** Runs a SUBSCRIBE until Ctrl-C or until the server ends it. */
  private async follow(sql: string): Promise<void> {
    const display = new LiveDisplay({
      write: (t) => this.output.write(t),
      terminal: this.terminal,
      // A terminal that does not know its size says 0: treat that as unknown, not as no room.
      size: () => ({ columns: this.rlOutput.columns || undefined, rows: this.rlOutput.rows || undefined }),
    });
    const stream = this.backend.subscribe(sql, display);
    this.live = { stream, display };
    this.state = 'live';
    this.rlOutput.muted = this.terminal;
    let reason: string | null;
    try {
      reason = await stream.done;
    } finally {
      display.finish();
      this.live = null;
      // Keys typed under the table were never shown: forget them rather than run them blind.
      if (this.terminal && !this.inputClosed) this.clearLine();
      this.rlOutput.muted = false;
      this.state = 'busy';
      for (const m of this.heldMessages.splice(0)) this.write(m);
    }
    const n = display.changes;
    const changes = `${n} change${n === 1 ? '' : 's'}`;
    this.write(reason === null ? `subscription stopped after ${changes}\n` : `subscription ended after ${changes}: ${reason}\n`);
  }

  /** Ctrl-C: stops a live SUBSCRIBE, cancels a remote statement, or clears the query buffer. */
  private interrupt(): void {
    if (this.live) {
      void this.live.stream.stop();
      return;
    }
    if (this.state === 'busy') {
      void this.backend.cancel();
      return;
    }
    this.buffer.clear();
    if (this.terminal && !this.inputClosed) {
      // Leave what was typed on screen, marked ^C, and start an empty line below it.
      this.rl.write(null, { ctrl: true, name: 'e' });
      this.output.write('^C\n');
      this.rlOutput.muted = true;
      this.clearLine();
      this.rlOutput.muted = false;
    } else this.write('\n');
    this.prompt();
  }

  /** Empties readline's line being edited (Ctrl-E, Ctrl-U: to its end, then delete to its start). */
  private clearLine(): void {
    this.rl.write(null, { ctrl: true, name: 'e' });
    this.rl.write(null, { ctrl: true, name: 'u' });
  }

  /** A message from the backend (engine log, server notice), shown without tearing the prompt line. */
  message(line: string): void {
    if (this.state === 'live' && this.terminal) this.heldMessages.push(line);
    else if (this.state === 'prompt' && this.terminal && !this.inputClosed) {
      this.output.write(`\r\x1b[K${line}`);
      this.rl.prompt(true);
    } else this.write(line);
  }

  private prompt(): void {
    this.state = 'prompt';
    if (this.inputClosed) return;
    const waiting = this.buffer.pending;
    const mark = !waiting ? '=' : { sql: '-', quote: "'", identifier: '"', dollar: '$', comment: '*' }[this.buffer.state];
    this.rl.setPrompt(`sluice${mark}> `);
    this.rl.prompt();
  }

  private write(text: string): void {
    this.output.write(text);
  }

  private remember(entry: string): void {
    if (this.includeDepth === 0) addHistoryEntry(this.history, entry);
  }

  private metaContext(): MetaContext {
    return {
      backend: this.backend,
      settings: this.settings,
      write: (t) => this.write(t),
      resetBuffer: () => this.buffer.clear(),
      runFile: (path) => this.runFile(path),
    };
  }

  /** `\i FILE`: the file's lines, as if typed (no history); a `\q` in it ends only the file. */
  private async runFile(path: string): Promise<void> {
    if (this.includeDepth >= MAX_INCLUDE_DEPTH) {
      this.write(`\\i: files nested more than ${MAX_INCLUDE_DEPTH} deep\n`);
      return;
    }
    let text: string;
    try {
      text = readFileSync(resolve(path), 'utf8');
    } catch (e) {
      this.write(`\\i: ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`);
      return;
    }
    this.includeDepth++;
    try {
      for (const line of text.replace(/\r?\n$/, '').split(/\r?\n/)) {
        if (await this.handleLine(line, false)) break;
      }
    } finally {
      this.includeDepth--;
    }
  }
}

/** The statement's first word, lower-cased ('' when there is none). */
function firstWord(sql: string): string {
  try {
    const t = lex(sql)[0];
    return t?.kind === 'ident' ? t.value : '';
  } catch {
    return '';
  }
}
