/**
 * Progress of long work: a view's backfill, a connector table's load, a `sluice run` script.
 * Each is a task with a count done of a total (rows, statements) that the work advances as it
 * goes; whoever wants to show it listens:
 *
 *   backfill / table load / script ─► ProgressTracker ─┬─► server log and `sluice run` (stderr)
 *                                                      ├─► REPL (stderr) and pg-wire NOTICEs
 *                                                      └─► /api/progress, the UI, sluice.progress
 *
 * The tracker is read without the engine lock (the work it reports holds it), so the UI can show
 * a backfill while it runs.
 */

export type ProgressKind = 'backfill' | 'table_load' | 'script';

/** One running (or just finished) piece of long work. */
export interface ProgressTask {
  readonly id: number;
  readonly kind: ProgressKind;
  /** What it works on: the view, the table, the script file. */
  readonly name: string;
  /** What `done` and `total` count. */
  readonly unit: 'rows' | 'statements';
  done: number;
  /** null while unknown. */
  total: number | null;
  readonly startedAtMs: number;
  updatedAtMs: number;
  finishedAtMs: number | null;
  /** Set when the work failed. */
  error: string | null;
}

/** A task as a listener or the API sees it, with its rate and percentage worked out. */
export interface ProgressInfo {
  readonly id: number;
  readonly kind: ProgressKind;
  readonly name: string;
  readonly unit: 'rows' | 'statements';
  readonly done: number;
  readonly total: number | null;
  /** 0–100, null while the total is unknown. */
  readonly percent: number | null;
  /** Units per second since the start. */
  readonly rate: number;
  readonly startedAtMs: number;
  readonly elapsedMs: number;
  readonly running: boolean;
  readonly error: string | null;
}

export type ProgressEvent = 'start' | 'advance' | 'finish';
export type ProgressListener = (event: ProgressEvent, task: ProgressInfo) => void;

/** The handle the work holds: advance it, set its total, finish it. */
export interface ProgressHandle {
  readonly id: number;
  setTotal(total: number | null): void;
  /** Sets the count done (not an increment). */
  update(done: number): void;
  finish(error?: string): void;
}

/** How long a finished task stays visible to the API and the UI. */
const KEEP_FINISHED_MS = 60_000;

export class ProgressTracker {
  private readonly tasks = new Map<number, ProgressTask>();
  private readonly listeners = new Set<ProgressListener>();
  private nextId = 1;

  constructor(private readonly now: () => number = Date.now) {}

  start(kind: ProgressKind, name: string, unit: 'rows' | 'statements', total: number | null = null): ProgressHandle {
    const at = this.now();
    const task: ProgressTask = { id: this.nextId++, kind, name, unit, done: 0, total, startedAtMs: at, updatedAtMs: at, finishedAtMs: null, error: null };
    this.prune(at);
    this.tasks.set(task.id, task);
    this.emit('start', task);
    return {
      id: task.id,
      setTotal: (t) => {
        task.total = t;
      },
      update: (done) => {
        if (task.finishedAtMs !== null) return;
        task.done = done;
        task.updatedAtMs = this.now();
        this.emit('advance', task);
      },
      finish: (error) => {
        if (task.finishedAtMs !== null) return;
        task.finishedAtMs = this.now();
        task.updatedAtMs = task.finishedAtMs;
        task.error = error ?? null;
        if (!error && task.total !== null) task.done = task.total;
        this.emit('finish', task);
      },
    };
  }

  /** Running tasks and those finished in the last minute, oldest first. */
  list(): ProgressInfo[] {
    const at = this.now();
    this.prune(at);
    return [...this.tasks.values()].map((t) => info(t, at));
  }

  /** Calls `listener` on every start, advance and finish; returns the unsubscribe. */
  listen(listener: ProgressListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ProgressEvent, task: ProgressTask): void {
    if (this.listeners.size === 0) return;
    const i = info(task, this.now());
    for (const l of this.listeners) {
      try {
        l(event, i);
      } catch {
        // A display that fails must not fail the work it shows.
      }
    }
  }

  private prune(at: number): void {
    for (const [id, t] of this.tasks) if (t.finishedAtMs !== null && at - t.finishedAtMs > KEEP_FINISHED_MS) this.tasks.delete(id);
  }
}

function info(t: ProgressTask, at: number): ProgressInfo {
  const end = t.finishedAtMs ?? at;
  const elapsedMs = Math.max(0, end - t.startedAtMs);
  return {
    id: t.id, kind: t.kind, name: t.name, unit: t.unit, done: t.done, total: t.total,
    percent: t.total === null ? null : t.total === 0 ? 100 : Math.min(100, (100 * t.done) / t.total),
    rate: elapsedMs > 0 ? (t.done * 1000) / elapsedMs : 0,
    startedAtMs: t.startedAtMs, elapsedMs, running: t.finishedAtMs === null, error: t.error,
  };
}

const KIND_TEXT: Record<ProgressKind, string> = { backfill: 'backfill of view', table_load: 'load of table', script: 'script' };

/** One line for a terminal or a NOTICE: "backfill of view v: 1.2 M / 5.0 M rows (24 %), 410 K rows/s". */
export function progressText(p: ProgressInfo): string {
  const of = p.total === null ? '' : ` / ${count(p.total)}`;
  const pct = p.percent === null ? '' : ` (${p.percent.toFixed(0)} %)`;
  const head = `${KIND_TEXT[p.kind]} ${p.name}: ${count(p.done)}${of} ${p.unit}${pct}`;
  if (!p.running) return `${head}${p.error ? `, failed: ${p.error}` : ''} in ${(p.elapsedMs / 1000).toFixed(1)} s`;
  return `${head}, ${count(p.rate)} ${p.unit}/s`;
}

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} K`;
  return String(Math.round(n));
}

/**
 * A listener that hands `write` a line per task at most every `everyMs` while it runs (the first
 * after `afterMs`, so quick work prints nothing) and one when a task that printed finishes.
 */
export function throttledPrinter(write: (line: string) => void, everyMs = 1000, afterMs = 1000, now: () => number = Date.now): ProgressListener {
  const last = new Map<number, number>();
  return (event, p) => {
    const at = now();
    if (event === 'start') return;
    if (event === 'finish') {
      if (last.has(p.id)) write(progressText(p));
      last.delete(p.id);
      return;
    }
    if (p.elapsedMs < afterMs) return;
    const prev = last.get(p.id);
    if (prev !== undefined && at - prev < everyMs) return;
    last.set(p.id, at);
    write(progressText(p));
  };
}
