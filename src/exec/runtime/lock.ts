/** Locks of the engine: its statement/epoch mutex, and the gate ad-hoc reads queue at. */

/** A FIFO async mutex: statements and epochs run one at a time, in arrival order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(f: () => Promise<T>): Promise<T> {
    const next = this.tail.then(f, f);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * A FIFO counting semaphore: at most `permits` holders at once; a waiter whose signal aborts
 * leaves the queue with the signal's reason.
 */
export class Semaphore {
  private readonly waiting: (() => void)[] = [];

  constructor(private permits: number) {}

  async run<T>(f: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.permits++;
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (this.permits > 0) {
      this.permits--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const take = () => {
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(take);
    });
  }
}

/**
 * Where ad-hoc reads wait so that writers are served fairly. Reads run on their own DuckDB
 * connections and never take the engine mutex for long, but each costs the event loop parsing
 * and result encoding: a crowd of readers would fill it ahead of a writer's statement. So:
 *
 * - at most `concurrentReads` reads are worked on at once;
 * - while writes are active (one is in progress, or one ended less than `lingerMs` ago — the
 *   writer's next statement is on its way), a new read is held back, and held reads are let
 *   through one per `writesPerRead` writes that end: writes go first, reads still get turns;
 * - the first held read never waits longer than `maxHoldMs`, so reads go on however busy the
 *   writers are, and once writes are no longer active every held read goes.
 */
export class ReadWriteGate {
  private readonly reads: Semaphore;
  private writesInProgress = 0;
  private lastWriteEnd = Number.NEGATIVE_INFINITY;
  private readonly held: (() => void)[] = [];
  private headTimer: NodeJS.Timeout | null = null;
  private writesSinceRead = 0;

  constructor(
    concurrentReads: number,
    private readonly writesPerRead: number,
    private readonly lingerMs: number,
    private readonly maxHoldMs: number,
  ) {
    this.reads = new Semaphore(concurrentReads);
  }

  async read<T>(f: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.held.length || this.writesActive()) {
      await new Promise<void>((resolve) => {
        this.held.push(resolve);
        this.armHead();
      });
    }
    return this.reads.run(f, signal);
  }

  async write<T>(f: () => Promise<T>): Promise<T> {
    this.writesInProgress++;
    try {
      return await f();
    } finally {
      this.writesInProgress--;
      this.lastWriteEnd = performance.now();
      // Writes are counted while reads wait: the turns are owed to waiting reads only.
      if (!this.held.length) this.writesSinceRead = 0;
      else if (++this.writesSinceRead >= this.writesPerRead) this.releaseOne();
    }
  }

  private releaseOne(): void {
    const next = this.held.shift();
    if (!next) return;
    this.writesSinceRead = 0;
    next();
  }

  private writesActive(): boolean {
    return this.writesInProgress > 0 || performance.now() - this.lastWriteEnd < this.lingerMs;
  }

  /** Lets the first held read through after at most maxHoldMs (all of them once writes are idle). */
  private armHead(): void {
    if (this.headTimer || !this.held.length) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = null;
      if (this.writesActive()) this.releaseOne();
      else for (const r of this.held.splice(0)) r();
      this.armHead();
    }, this.maxHoldMs);
  }
}
