/** Per-epoch metrics, kept for the last `capacity` epochs (a ring). */
export interface EpochMetrics {
  readonly epoch: number;
  /** Batch time T_n in milliseconds since 1970. */
  readonly batchTimeMs: number;
  /** When the epoch should have started (ms), and how late it started. */
  readonly scheduledAtMs: number;
  readonly schedulingDelayMs: number;
  readonly processingTimeMs: number;
  readonly rowsIn: Readonly<Record<string, number>>;
  /** The input range each source recorded for this epoch. */
  readonly ranges: Readonly<Record<string, unknown>>;
  readonly rowsOut: Readonly<Record<string, number>>;
  readonly deadLetters: number;
  readonly rowErrors: number;
}

/** The last `capacity` epochs' metrics, and listeners told of each new one. */
export class MetricsRing {
  private readonly items: EpochMetrics[] = [];
  private readonly listeners = new Set<(m: EpochMetrics) => void>();
  constructor(private readonly capacity = 1000) {}
  push(m: EpochMetrics): void {
    this.items.push(m);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    for (const l of this.listeners) l(m);
  }
  /** Calls `listener` with every epoch pushed from now on; returns the unsubscribe. */
  listen(listener: (m: EpochMetrics) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  list(): EpochMetrics[] {
    return this.items.slice();
  }
  last(): EpochMetrics | undefined {
    return this.items[this.items.length - 1];
  }
}
