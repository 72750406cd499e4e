/**
 * The coordinator's side of a pipeline whose keyed instances run in shard worker threads:
 * instance s of every keyed node lives in worker s of the process's pool (pool.ts). It sends
 * the epoch's context, the exchange's batches and "end node" requests; it receives outputs
 * (routed on by the pipeline), and per node the counts, row errors and late rows the worker
 * collected. Operators here are stand-ins whose state tables reach the worker: a checkpoint
 * first fetches what it will read (fetchState), and restores go to the worker as messages,
 * ahead of the next epoch's batches on the same FIFO port.
 */
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { PhysicalPlan } from '../../planner/physical.js';
import type { Operator, OperatorContext } from '../operator.js';
import type { ChangeTracking, StateDelta, StateTable } from '../state/state-table.js';
import type { ErrorShape, FromWorker, TableShape, ToWorker } from './messages.js';
import { shardPool, type ShardClient, type ShardPool } from './pool.js';

/**
 * Whether keyed instances run in worker threads unless a pipeline says otherwise: yes, unless
 * SLUICE_SHARD_THREADS=0 (then a parallel view's instances run on the engine's thread, with the
 * same answers and checkpoints: a way to tell a threading problem from a plan problem).
 */
export function shardThreadsDefault(): boolean {
  return process.env.SLUICE_SHARD_THREADS !== '0';
}

type Ended = Extract<FromWorker, { t: 'ended' }>;

interface Waiter<T> {
  readonly replies: T[];
  readonly expected: number;
  readonly resolve: (replies: T[]) => void;
}

/**
 * Pipelines with a request in flight, held strongly. The pool knows its clients only weakly, and
 * a pipeline awaiting its workers may be reachable from nothing else: the engine's epoch that
 * waits for it hangs off the very promise the reply resolves. Without this, a collection during
 * the wait took the pipeline (and so the wait) away, and the process waited forever.
 */
const waiting = new Map<RemoteShards, number>();

/** Every live RemoteShards, for shardDiagnostics. */
const live = new Set<WeakRef<RemoteShards>>();

/** What each pipeline with worker instances waits for (a hung process's first question). */
export function shardDiagnostics(): string[] {
  const out: string[] = [];
  for (const r of live) {
    const x = r.deref();
    if (!x) live.delete(r);
    else out.push(x.describeWaits());
  }
  out.push(`pool: ${JSON.stringify(shardPool().describe())}`);
  return out;
}

export class RemoteShards implements ShardClient {
  private readonly onOut: (m: Extract<FromWorker, { t: 'out' | 'spread' }>) => void;
  private readonly pool: ShardPool;
  private seq = 0;
  private readonly ending = new Map<number, Waiter<Ended>>();
  private readonly fetching = new Map<number, Waiter<Extract<FromWorker, { t: 'fetched' }>>>();
  private readonly figuring = new Map<number, Waiter<Extract<FromWorker, { t: 'figured' }>>>();
  /** Per (node, shard, table): rows and bytes as the monitor last asked. */
  private readonly figures = new Map<string, { readonly rows: number; readonly bytes: number }>();
  private figuresAt = -Infinity;
  private failure: SluiceError | null = null;
  private dropped = false;
  /** Per (node, shard, table): what the last fetch brought. */
  private readonly fetched = new Map<string, TableShape>();
  private readonly stateRowsOf = new Map<string, number>();

  constructor(
    readonly pid: number,
    view: string,
    plan: PhysicalPlan,
    private readonly parallelism: number,
    terminal: boolean,
    onOut: (m: Extract<FromWorker, { t: 'out' | 'spread' }>) => void,
  ) {
    this.pool = shardPool();
    this.onOut = onOut;
    live.add(new WeakRef(this));
    this.pool.attach(pid, parallelism, this);
    for (let s = 0; s < parallelism; s++) this.pool.post(s, { t: 'build', pid, view, plan, parallelism, shard: s, terminal });
  }

  onMessage(m: FromWorker): void {
    if (m.t === 'out' || m.t === 'spread') {
      try {
        this.onOut(m);
      } catch (e) {
        this.failure ??= e instanceof SluiceError ? e : new SluiceError('internal', `a worker's output failed here: ${String(e)}`);
      }
    } else if (m.t === 'ended') this.settle(this.ending, m);
    else if (m.t === 'fetched') this.settle(this.fetching, m);
    else if (m.t === 'figured') this.settle(this.figuring, m);
    else if (m.t === 'unknown') {
      // A worker started in place of one that stopped: it never built this pipeline, and none
      // of the requests in flight will be answered.
      this.failure ??= new SluiceError('internal', `shard worker ${m.shard} no longer runs this view's instances (it was restarted)`, {
        hint: 'Restart the server: the views recover from their last checkpoint.',
      });
      this.answerWaiting();
    }
  }

  onError(e: SluiceError): void {
    this.failure ??= e;
    this.answerWaiting();
  }

  /** Resolves every request still waiting, with the replies it has: no more will come. */
  private answerWaiting(): void {
    for (const w of this.ending.values()) w.resolve(w.replies);
    for (const w of this.fetching.values()) w.resolve(w.replies);
    for (const w of this.figuring.values()) w.resolve(w.replies);
    this.ending.clear();
    this.fetching.clear();
    this.figuring.clear();
  }

  private settle<T extends { seq: number; failure: ErrorShape | null }>(map: Map<number, Waiter<T>>, m: T): void {
    if (m.failure) this.failure ??= toError(m.failure);

    const w = map.get(m.seq);
    if (!w) return;
    w.replies.push(m);
    if (w.replies.length === w.expected) {
      map.delete(m.seq);
      w.resolve(w.replies);
    }
  }

  describeWaits(): string {
    const waits = <T extends { shard: number }>(name: string, m: Map<number, Waiter<T>>) =>
      [...m].map(([seq, w]) => `${name} #${seq}: ${w.replies.length}/${w.expected} replies (from ${w.replies.map((r) => r.shard).join(',')})`);
    const all = [...waits('end', this.ending), ...waits('fetch', this.fetching), ...waits('figures', this.figuring)];
    return `pipeline ${this.pid}: ${all.length ? all.join('; ') : 'waits for nothing'}${this.failure ? ` (failed: ${this.failure.message})` : ''}${this.dropped ? ' (dropped)' : ''}`;
  }

  /** Throws the first failure any instance reported. */
  checkFailure(): void {
    if (this.failure) throw this.failure;
  }

  begin(ctx: OperatorContext): void {
    this.checkFailure();
    const shape = { epoch: ctx.epoch, now: ctx.now, zone: ctx.zone?.name ?? null, watermark: ctx.watermark ?? null };
    for (let s = 0; s < this.parallelism; s++) this.pool.post(s, { t: 'begin', pid: this.pid, ctx: shape });
  }

  /**
   * A batch for instance `shard` of node `node`; `own`: nothing else holds it, so its buffers move
   * instead of being copied; `partial`: a partial aggregate to merge (see Pipeline.preAggregate).
   */
  send(shard: number, node: number, input: number, batch: Batch, own: boolean, partial = false): void {
    this.pool.post(shard, { t: 'batch', pid: this.pid, node, input, batch, ...(partial ? { partial } : {}) }, own ? buffersOf(batch) : undefined);
  }

  /**
   * Sends a request to every worker and resolves with their replies once all have answered, or
   * at once (with what came) when an instance has failed or the pipeline was dropped: a worker
   * that stopped, or one started in its place that never built this pipeline, would not answer.
   */
  private ask<T>(map: Map<number, Waiter<T>>, request: (seq: number) => ToWorker): Promise<T[]> {
    const seq = ++this.seq;
    if (this.failure || this.dropped) return Promise.resolve([]);
    const done = new Promise<T[]>((resolve) => map.set(seq, { replies: [], expected: this.parallelism, resolve }));
    for (let s = 0; s < this.parallelism; s++) this.pool.post(s, request(seq));
    this.pool.hold();
    waiting.set(this, (waiting.get(this) ?? 0) + 1);
    return done.finally(() => {
      this.pool.release();
      const n = waiting.get(this)! - 1;
      if (n === 0) waiting.delete(this);
      else waiting.set(this, n);
    });
  }

  /** Part `seq` of a spread scan's input, for instance `shard` of node `node`; `own`: a part made here, whose buffers move. */
  sendSpread(shard: number, node: number, seq: number, batch: Batch, own = true): void {
    this.pool.post(shard, { t: 'spread', pid: this.pid, node, seq, batch }, own ? buffersOf(batch) : undefined);
  }

  /** The same for rows worker `shard` made and keeps under task `id` (parked.ts): only its columns `columns` are named. */
  sendParkedSpread(shard: number, node: number, seq: number, id: number, columns: readonly number[]): void {
    this.pool.post(shard, { t: 'spread', pid: this.pid, node, seq, parked: id, columns });
  }

  /** Ends nodes `nodes`, in order, in every worker; resolves with their replies once all have answered. */
  async end(nodes: readonly number[]): Promise<Ended[]> {
    const replies = await this.ask(this.ending, (seq) => ({ t: 'end', pid: this.pid, nodes, seq }));
    this.checkFailure();
    replies.sort((a, b) => a.shard - b.shard);
    for (const r of replies) for (const [node, rows] of r.stateRows) this.stateRowsOf.set(`${node}/${r.shard}`, rows);
    return replies;
  }

  async fetch(incremental: boolean | 'always'): Promise<void> {
    this.checkFailure();
    const replies = await this.ask(this.fetching, (seq) => ({ t: 'fetch', pid: this.pid, seq, incremental }));
    this.checkFailure();
    this.fetched.clear();
    for (const r of replies) for (const [node, table, shape] of r.tables) this.fetched.set(`${node}/${r.shard}/${table}`, shape);
  }

  /**
   * Refreshes each table's rows and bytes for the monitor, at most every `everyMs` (measuring
   * can cost what a snapshot does).
   */
  async refreshFigures(everyMs: number): Promise<void> {
    if (this.failure || this.dropped || performance.now() - this.figuresAt < everyMs) return;
    this.figuresAt = performance.now();
    const replies = await this.ask(this.figuring, (seq) => ({ t: 'figures', pid: this.pid, seq }));
    for (const r of replies) for (const [node, table, rows, bytes] of r.figures) this.figures.set(`${node}/${r.shard}/${table}`, { rows, bytes });
    // Newer than what the last checkpoint fetched.
    this.fetched.clear();
  }

  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.failure ??= new SluiceError('internal', 'the pipeline was dropped while a request to its worker threads was in flight');
    this.answerWaiting();
    for (let s = 0; s < this.parallelism; s++) this.pool.post(s, { t: 'drop', pid: this.pid });
    this.pool.detach(this.pid);
  }

  /** The stand-in for instance `shard` of node `node` (built here only for its id, name and table specs). */
  proxy(node: number, shard: number, shadow: Operator): Operator {
    const tables = shadow.state.map((t, i): StateTable => {
      const key = `${node}/${shard}/${i}`;
      const got = (): TableShape => {
        const f = this.fetched.get(key);
        if (!f) throw new SluiceError('internal', `state table ${shadow.id}.${t.spec.name} was read before it was fetched from its worker thread`);
        return f;
      };
      const changes: ChangeTracking | undefined = t.changes && {
        deltaKey: t.changes.deltaKey,
        pending: () => this.fetched.get(key)?.pending ?? Number.POSITIVE_INFINITY,
        delta: (): StateDelta => {
          const d = got().delta;
          if (!d) throw new SluiceError('internal', `state table ${shadow.id}.${t.spec.name}: its worker sent no delta`);
          return d;
        },
        apply: (d) => this.pool.post(shard, { t: 'apply', pid: this.pid, node, table: i, delta: d }),
        clear: () => this.pool.post(shard, { t: 'clear', pid: this.pid, node, table: i }),
      };
      return {
        spec: t.spec,
        snapshot: () => {
          const snap = got().snapshot;
          if (!snap) throw new SluiceError('internal', `state table ${shadow.id}.${t.spec.name}: its worker sent a delta, not a snapshot`);
          return snap;
        },
        restore: (batches) => this.pool.post(shard, { t: 'restore', pid: this.pid, node, table: i, batches }),
        // As of the last fetch (a checkpoint reads rows right after one) or the monitor's last refresh.
        rows: () => this.fetched.get(key)?.rows ?? this.figures.get(key)?.rows ?? 0,
        bytes: () => this.fetched.get(key)?.bytes ?? this.figures.get(key)?.bytes ?? 0,
        ...(changes ? { changes } : {}),
      };
    });
    return {
      id: shadow.id,
      name: shadow.name,
      state: tables,
      processBatch: () => {
        throw new SluiceError('internal', `${shadow.id} runs in a worker thread`);
      },
      endEpoch: () => undefined,
      stateRows: () => this.stateRowsOf.get(`${node}/${shard}`) ?? 0,
    };
  }
}

function toError(e: ErrorShape): SluiceError {
  return new SluiceError(e.category, e.message, { position: e.position, hint: e.hint });
}

/** The distinct ArrayBuffers under a batch's columns (each typed array's own, whole). */
export function buffersOf(b: Batch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView | null | undefined) => {
    // Only buffers a typed array spans whole: a view into a larger (shared) buffer is copied.
    if (a && a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) out.add(a.buffer);
  };
  const column = (c: Batch['columns'][number]) => {
    add(c.values);
    add(c.offsets);
    add(c.validity);
    if (c.child) column(c.child);
  };
  for (const c of b.columns) column(c);
  add(b.weights);
  return [...out];
}
