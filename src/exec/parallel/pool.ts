/**
 * The process's shard worker threads: worker s runs instance s of the keyed nodes of every
 * pipeline with several instances, of every engine in the process (so tests that open many
 * engines start the threads once). Workers start on first use, up to the largest parallelism
 * asked for; messages carry their pipeline's id, and replies go back to that pipeline.
 *
 *   pipeline ─post(s, msg)─► worker s ─► FromWorker{pid} ─► the pipeline's handler
 *
 * An idle worker does not keep the process alive: only while a pipeline waits for replies
 * (hold/release) are the workers referenced.
 */
import { Worker } from 'node:worker_threads';
import { SluiceError } from '../../common/errors.js';
import type { FromWorker, SourceTask, TaskResult, ToWorker } from './messages.js';

const BOOT = new URL('./shard-worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./shard-worker.ts', import.meta.url).href;

/** What a pipeline's worker messages go to (its RemoteShards). */
export interface ShardClient {
  onMessage(m: FromWorker): void;
  onError(e: SluiceError): void;
}

interface Attached {
  /** Weak: a pipeline dropped without dispose() can be collected, and its registry entry drops its instances. */
  readonly client: WeakRef<ShardClient>;
  readonly shards: number;
}

export class ShardPool {
  /** Worker s, or undefined once it stopped (the next attach starts another). */
  private readonly workers: (Worker | undefined)[] = [];
  private readonly pipelines = new Map<number, Attached>();
  private holds = 0;
  /** Workers that have loaded the engine's modules, and callers of warm() waiting for more. */
  private readonly ready = new Set<Worker>();
  private readonly warming: { readonly n: number; readonly resolve: () => void }[] = [];
  /** Source tasks sent and not answered yet, by id: the worker, and where the answer goes. */
  private readonly tasks = new Map<number, { readonly shard: number; readonly resolve: (r: TaskResult) => void; readonly reject: (e: SluiceError) => void }>();
  private nextTask = 1;

  /**
   * Runs a source task in worker `shard` (started if need be); resolves with what it made.
   * `transfer`: buffers of the task that move to the worker instead of being copied.
   */
  runTask(shard: number, task: SourceTask, transfer?: readonly ArrayBuffer[]): Promise<TaskResult> {
    if (!this.workers[shard]) this.start(shard);
    const id = this.nextTask++;
    this.hold();
    return new Promise<TaskResult>((resolve, reject) => {
      this.tasks.set(id, { shard, resolve, reject });
      this.workers[shard]!.postMessage({ t: 'task', pid: 0, id, task } satisfies ToWorker, transfer as ArrayBuffer[] | undefined);
    }).finally(() => this.release());
  }

  /** Starts `n` workers (if not yet running) and resolves once they have loaded: a bench's warm-up, a server's start. */
  warm(n: number): Promise<void> {
    for (let s = 0; s < n; s++) if (!this.workers[s]) this.start(s);
    if (this.readyCount(n)) return Promise.resolve();
    this.hold();
    return new Promise<void>((resolve) => this.warming.push({ n, resolve })).finally(() => this.release());
  }

  private readyCount(n: number): boolean {
    for (let s = 0; s < n; s++) if (!this.workers[s] || !this.ready.has(this.workers[s]!)) return false;
    return true;
  }

  attach(pid: number, shards: number, client: ShardClient): void {
    for (let s = 0; s < shards; s++) if (!this.workers[s]) this.start(s);
    this.pipelines.set(pid, { client: new WeakRef(client), shards });
  }

  detach(pid: number): void {
    this.pipelines.delete(pid);
  }

  /** Sends `m` to worker `shard`; `transfer`: buffers it may take instead of a copy (the sender's no more). */
  post(shard: number, m: ToWorker, transfer?: readonly ArrayBuffer[]): void {
    // A stopped worker's pipelines have been told (onError); what they still send goes nowhere.
    this.workers[shard]?.postMessage(m, transfer as ArrayBuffer[] | undefined);
  }

  /**
   * Each worker slot started so far: whether it runs, and the share of its time it was busy
   * since it started (its event loop's utilization).
   */
  describe(): { readonly worker: number; readonly status: 'starting' | 'running' | 'stopped'; readonly busy: number; readonly pipelines: number }[] {
    return Array.from({ length: this.workers.length }, (_, s) => {
      const w = this.workers[s];
      const pipelines = [...this.pipelines.values()].filter((p) => p.shards > s).length;
      if (!w) return { worker: s, status: 'stopped' as const, busy: 0, pipelines };
      return { worker: s, status: this.ready.has(w) ? ('running' as const) : ('starting' as const), busy: w.performance.eventLoopUtilization().utilization, pipelines };
    });
  }

  /** Keeps the workers referenced while a reply is awaited. */
  hold(): void {
    if (this.holds++ === 0) for (const w of this.workers) w?.ref();
  }

  release(): void {
    if (--this.holds === 0) for (const w of this.workers) w?.unref();
  }

  private start(shard: number): void {
    // SLUICE_WORKER_EXEC_ARGV=inherit: the workers take the process's node flags (`--cpu-prof`
    // then writes a profile per worker thread too).
    const inherit = process.env.SLUICE_WORKER_EXEC_ARGV === 'inherit';
    const w = new Worker(BOOT, { workerData: { entry: ENTRY, shard }, ...(inherit ? {} : { execArgv: [] }) });
    w.on('message', (m: FromWorker) => {
      if (m.t === 'ready') {
        this.ready.add(w);
        for (const x of this.warming.filter((x) => this.readyCount(x.n))) {
          this.warming.splice(this.warming.indexOf(x), 1);
          x.resolve();
        }
        return;
      }
      if (m.t === 'taskDone') {
        const task = this.tasks.get(m.id);
        this.tasks.delete(m.id);
        if (m.result) task?.resolve(m.result);
        else task?.reject(new SluiceError(m.failure?.category ?? 'internal', m.failure?.message ?? 'a source task failed in a shard worker', { hint: m.failure?.hint }));
        return;
      }
      this.pipelines.get(m.pid)?.client.deref()?.onMessage(m);
    });
    const fail = (why: string) => {
      if (this.workers[shard] !== w) return;
      const e = new SluiceError('internal', `shard worker ${shard} stopped (${why}); the views running in it stopped with it`, {
        hint: 'Restart the server: the views recover from their last checkpoint.',
      });
      // The next pipeline starts a fresh worker in its place.
      this.workers[shard] = undefined;
      this.ready.delete(w);
      // A worker that stopped before it was ready will not become ready: let warm() callers go on.
      for (const x of this.warming.splice(0)) x.resolve();
      for (const p of this.pipelines.values()) if (p.shards > shard) p.client.deref()?.onError(e);
      for (const [id, task] of this.tasks) {
        if (task.shard !== shard) continue;
        this.tasks.delete(id);
        task.reject(e);
      }
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`exit code ${code}`));
    if (this.holds === 0) w.unref();
    this.workers[shard] = w;
  }
}

/** Drops the instances of a pipeline collected without dispose(). */
const collected = new FinalizationRegistry<{ readonly pid: number; readonly shards: number }>(({ pid, shards }) => {
  const p = shardPool();
  for (let s = 0; s < shards; s++) p.post(s, { t: 'drop', pid });
  p.detach(pid);
});

/** Drops `owner`'s instances (pipeline `pid`) when it is collected without being disposed. */
export function dropWhenCollected(owner: object, pid: number, shards: number, token: object): void {
  collected.register(owner, { pid, shards }, token);
}

/** The registration of `token` is done with (the pipeline was disposed). */
export function forgetCollected(token: object): void {
  collected.unregister(token);
}

let pool: ShardPool | null = null;

/** The process's pool, started on first use. */
export function shardPool(): ShardPool {
  return (pool ??= new ShardPool());
}
