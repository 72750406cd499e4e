/**
 * A small pool of parse worker threads with a deadline per statement. A parse cannot be
 * interrupted on the thread that runs it, and node-sql-parser can backtrack for minutes (and
 * grow its memory until V8 aborts), so statements that are not obviously cheap are parsed
 * here: a worker that runs past the deadline is terminated and its statement refused with
 * 54001 while the main thread goes on serving.
 *
 *   parse(stmt) ──► queue ──► idle ready worker ──► parsed ──► resolve
 *                                  │            └─► failed ──► reject (the worker's SluiceError)
 *                                  └─ deadline passed / worker died ──► terminate, reject 54001,
 *                                                                      start a replacement
 *
 * Workers start one at a time; once the pool has been used it keeps `size` of them, so the
 * next statement after a timeout finds a warm worker instead of waiting for one to load the
 * parser (about 0.5 s). Idle workers do not keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import { SluiceError } from '../common/errors.js';
import type { Statement } from './ast.js';
import { TOO_COMPLEX_HINT } from './guard.js';
import type { ParseRequest, WorkerMessage } from './parse-worker.js';

/** Settings of a {@link ParsePool}. */
export interface ParsePoolOptions {
  /** Most workers at once (default 2), so two pathological statements do not queue behind each other. */
  readonly size?: number;
  /** How long one statement may take, in ms (default 1000), from when it was sent; time spent waiting for a worker to start is not counted. */
  readonly deadlineMs?: number;
  /** URL of the module a worker runs (default parse-worker.ts). */
  readonly entry?: string;
}

const BOOT = new URL('./parse-worker-boot.mjs', import.meta.url);
const WORKER = new URL('./parse-worker.ts', import.meta.url).href;

interface Job {
  readonly request: ParseRequest;
  readonly submittedAt: number;
  readonly resolve: (statement: Statement) => void;
  readonly reject: (error: SluiceError) => void;
}

interface Slot {
  readonly worker: Worker;
  /** When the worker had loaded the parser; null while it starts. */
  readyAt: number | null;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  /** The worker's last 'error' event, reported when it exits. */
  error: Error | null;
}

/** A pool of worker threads that parse one statement each at a time, under a deadline. */
export class ParsePool {
  private readonly size: number;
  private readonly deadlineMs: number;
  private readonly entry: string;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  /** Callers of warm() waiting for the pool to be full. */
  private readonly warming: (() => void)[] = [];
  private closed = false;

  constructor(opts: ParsePoolOptions = {}) {
    this.size = opts.size ?? 2;
    this.deadlineMs = opts.deadlineMs ?? 1000;
    this.entry = opts.entry ?? WORKER;
  }

  /** Parses one statement that starts at 0-based `offset` in its script, as parseStatement does. */
  parse(text: string, offset = 0): Promise<Statement> {
    if (this.closed) return Promise.reject(new SluiceError('internal', 'the parse pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { text, offset }, submittedAt: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /**
   * Starts the workers now, so that the first statements do not wait for one to load the
   * parser. Resolves when all are ready, or when one failed to start (the next parse says why).
   */
  warm(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.warming.push(resolve);
      this.pump();
    });
  }

  /** Each worker (starting, idle or parsing, for how long) and the statements queued: a stuck process's first question. */
  describe(): string {
    const now = performance.now();
    const slots = [...this.slots].map((s) => (s.readyAt === null ? 'starting' : s.job ? `parsing for ${Math.round(now - s.job.submittedAt)} ms` : 'idle'));
    return `parse pool: workers [${slots.join(', ')}], ${this.queue.length} queued, ${this.warming.length} warming`;
  }

  /** Terminates the workers; statements not answered yet are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const closed = () => new SluiceError('internal', 'the parse pool is closed');
    for (const job of this.queue.splice(0)) job.reject(closed());
    for (const resolve of this.warming.splice(0)) resolve();
    const slots = [...this.slots];
    this.slots.clear();
    for (const slot of slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.job?.reject(closed());
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pump(): void {
    for (;;) {
      const idle = [...this.slots].find((s) => s.readyAt !== null && s.job === null);
      const job = idle && this.queue.shift();
      if (!idle || !job) break;
      this.dispatch(idle, job);
    }
    this.fill();
    if ([...this.slots].filter((s) => s.readyAt !== null).length >= this.size) for (const resolve of this.warming.splice(0)) resolve();
    this.updateRefs();
  }

  private dispatch(slot: Slot, job: Job): void {
    // Waiting behind a busy worker counts against the deadline; waiting for one to start does not.
    const left = Math.max(job.submittedAt, slot.readyAt!) + this.deadlineMs - performance.now();
    if (left <= 0) {
      job.reject(new SluiceError('statement_too_complex', `statement is too complex: no parser was free within ${this.seconds()}`, {
        hint: 'Other complex statements were being parsed; try again, or simplify the statement.',
      }));
      return;
    }
    slot.job = job;
    slot.timer = setTimeout(() => this.expire(slot), left);
    slot.worker.postMessage(job.request);
  }

  private expire(slot: Slot): void {
    const job = slot.job!;
    this.drop(slot);
    job.reject(new SluiceError('statement_too_complex', `statement is too complex: parsing took longer than ${this.seconds()}`, { position: job.request.offset + 1, hint: TOO_COMPLEX_HINT }));
    this.pump();
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (!this.slots.has(slot)) return;
    if (message.kind === 'ready') {
      slot.readyAt = performance.now();
      this.pump();
      return;
    }
    const job = slot.job!;
    clearTimeout(slot.timer!);
    slot.job = null;
    slot.timer = null;
    if (message.kind === 'parsed') job.resolve(message.statement);
    else {
      const e = message.error;
      job.reject(new SluiceError(e.category, e.message, { position: e.position, hint: e.hint }));
    }
    this.pump();
  }

  private onExit(slot: Slot, code: number): void {
    // A worker dropped on purpose has already been accounted for.
    if (!this.slots.delete(slot)) return;
    if (slot.timer) clearTimeout(slot.timer);
    const reason = slot.error?.message ?? `exit code ${code}`;
    if (slot.job) {
      slot.job.reject(new SluiceError('statement_too_complex', `statement is too complex: the parser crashed on it (${reason})`, { position: slot.job.request.offset + 1, hint: TOO_COMPLEX_HINT }));
    } else if (slot.readyAt === null) {
      // A worker that cannot start will not start on a retry either: refuse what waits for it
      // (when no other worker can take it) rather than restart in a loop. The next parse tries again.
      if (this.slots.size === 0) {
        for (const job of this.queue.splice(0)) job.reject(new SluiceError('internal', `the parse worker failed to start: ${reason}`, { hint: 'Check that the installation is complete (npm install).' }));
      }
      for (const resolve of this.warming.splice(0)) resolve();
      this.updateRefs();
      return;
    }
    this.pump();
  }

  /** Keeps `size` workers once the pool is in use, starting one at a time so starts do not compete for the CPU. */
  private fill(): void {
    if (this.closed || this.slots.size >= this.size || [...this.slots].some((s) => s.readyAt === null)) return;
    const worker = new Worker(BOOT, { workerData: { entry: this.entry }, execArgv: [] });
    const slot: Slot = { worker, readyAt: null, job: null, timer: null, error: null };
    this.slots.add(slot);
    worker.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    worker.on('error', (e) => {
      slot.error = e;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
  }

  private drop(slot: Slot): void {
    this.slots.delete(slot);
    if (slot.timer) clearTimeout(slot.timer);
    void slot.worker.terminate();
  }

  // An idle worker must not keep the process alive; one a statement (or warm()) waits for must.
  private updateRefs(): void {
    const waiting = this.queue.length > 0 || this.warming.length > 0;
    for (const s of this.slots) {
      if (s.job || (waiting && s.readyAt === null)) s.worker.ref();
      else s.worker.unref();
    }
  }

  private seconds(): string {
    return `${this.deadlineMs / 1000} s`;
  }
}
