/**
 * A SUBSCRIBE as a client reads it: the snapshot rows, then every change, queued until the
 * session takes them. One feed serves a streamed SUBSCRIBE (simple or extended protocol),
 * COPY (SUBSCRIBE …) TO STDOUT and a cursor's FETCH. Changes wait in a bounded queue: a
 * client that falls further behind is dropped with 53400, so a slow reader never stalls the
 * engine. When the view is dropped, the rows already queued are still handed out, then `take`
 * fails with an error that says so.
 */
import type { Field, Value } from '../common/types.js';
import type { Subscription } from '../exec/runtime/engine.js';
import { PgServerError } from './server-error.js';

export class SubscriptionFeed {
  readonly columns: readonly Field[];
  private queue: Value[][];
  private head = 0;
  /** Snapshot rows still in the queue: they do not count against the limit. */
  private snapshotLeft: number;
  private overflow = false;
  private endReason: string | null = null;
  private wake: (() => void) | null = null;
  private readonly stop: () => void;
  private closed = false;

  /** `limit`: most changes (beyond the snapshot) that may wait for the client. */
  constructor(sub: Subscription, private readonly limit: number) {
    this.columns = sub.columns;
    this.queue = sub.rows.slice();
    this.snapshotLeft = this.queue.length;
    this.stop = sub.listen(
      (rows) => {
        if (this.overflow || this.closed) return;
        for (const row of rows) this.queue.push(row);
        if (this.queue.length - this.head - this.snapshotLeft > this.limit) {
          this.overflow = true;
          this.queue = [];
          this.head = 0;
        }
        this.wake?.();
      },
      (reason) => {
        this.endReason = reason;
        this.wake?.();
      },
    );
  }

  /** Rows ready to be taken now. */
  get ready(): number {
    return this.queue.length - this.head;
  }

  /**
   * Up to `max` rows (all ready ones when null): waits until at least one is ready, unless
   * `timeoutMs` passes first (then returns none; 0 does not wait) or `aborted` rejects.
   * Throws 53400 once the client fell too far behind, and the drop error once the view is
   * gone and every row queued before was taken.
   */
  async take(max: number | null, timeoutMs: number | null, aborted: Promise<never>): Promise<Value[][]> {
    for (;;) {
      if (this.overflow) {
        throw new PgServerError('53400', `subscription dropped: more than ${this.limit} changes were waiting for this client`, {
          hint: 'Read changes faster, or subscribe to a smaller view.',
        });
      }
      if (this.ready > 0) {
        const n = max === null ? this.ready : Math.min(max, this.ready);
        const rows = this.queue.slice(this.head, this.head + n);
        this.head += n;
        this.snapshotLeft = Math.max(0, this.snapshotLeft - n);
        // Drop what was taken once it is most of the queue, so the queue does not grow forever.
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        return rows;
      }
      if (this.endReason !== null) {
        throw new PgServerError('42P01', `subscription ended: ${this.endReason}`, { category: 'undefined_table' });
      }
      if (timeoutMs === 0) return [];
      let timer: NodeJS.Timeout | null = null;
      const woken = new Promise<boolean>((resolve) => {
        this.wake = () => resolve(true);
        if (timeoutMs !== null) timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        if (!(await Promise.race([woken, aborted]))) timeoutMs = 0;
      } finally {
        this.wake = null;
        if (timer) clearTimeout(timer);
      }
    }
  }

  /** Stops listening to the view. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.queue = [];
    this.head = 0;
  }
}
