/**
 * Kept parts: rows a shard worker made for a source and keeps, which the engine's thread holds
 * as a {@link KeptPart} — their length and where they are — and fetches only when it reads them.
 *
 * At parallelism p a datagen poll is made in p parts at once, part s in worker s (pool.ts
 * runTask). The worker keeps its part; the engine gets a KeptPart. A spread scan that deals
 * part s whole to instance s — which runs in worker s — sends only the task id and the scan's
 * columns, so the rows never cross a thread. Whatever reads the rows on the engine's thread (a
 * scan run there, a part dealt to another worker, NUMERIC(p, s) rounding, an ad-hoc SELECT over
 * the source's retained epochs) first awaits {@link fetchKept}, which asks the worker for a copy
 * (of some columns: a watermark reads one or two). Reading a column not fetched throws an
 * internal error that names this file: a reader that forgot to fetch fails loudly, never reads
 * other rows. The worker drops a part when the engine releases it: when the source's retained
 * epochs no longer hold it, when the source is dropped or the engine closes, and at once for
 * parts nothing keeps (recovery's replay, REPLAY, rows the typmods rewrote).
 *
 * History. Session 27 put parts in SharedArrayBuffers. In Node 20 (V8 11.3) a SharedArrayBuffer
 * whose handle lived through two collections of a thread's heap was not freed by later ordinary
 * collections (measured: a thread keeping each part for three rounds grew by every part's size;
 * ordinary transferred buffers did not), so at parallelism 2 every part stayed allocated
 * (1.4-2.1 GB RSS). Session 32 replaced them with a copy of each part, made in the worker and
 * transferred: that copy (fresh memory, filled and collected each epoch) was most of what
 * parallelism 2 spent beyond parallelism 1 (count_sum_1k_keys_p2: 1.2 s of wall time with the
 * copy, 0.84 s without). Session 33 keeps the rows in the worker alone.
 */
import { SluiceError } from '../../common/errors.js';
import type { Batch, Column } from '../../common/column.js';
import type { SqlType } from '../../common/types.js';
import { batchBytes } from '../state/state-table.js';
import type { TaskResult } from './messages.js';
import { shardPool } from './pool.js';

let live = 0;
let handedBack = 0;
let fetched = 0;

/**
 * The engine's handle on rows worker `shard` keeps under task `id`: `length` rows of the
 * source's columns, of which those fetched so far are here. Its `columns` is an own, enumerable
 * property (a batch spread into another copies it); an entry not fetched is a column whose
 * buffers throw when read.
 */
export class KeptPart implements Batch {
  declare readonly columns: readonly Column[];
  readonly weights = null;
  private readonly cols: Column[];
  released = false;

  constructor(
    readonly shard: number,
    readonly id: number,
    readonly length: number,
    /** The rows' size in the worker (what the source's retained epochs count). */
    readonly bytes: number,
    types: readonly SqlType[],
  ) {
    this.cols = types.map((t) => unfetched(t, length, shard, id));
    Object.defineProperty(this, 'columns', { enumerable: true, get: () => this.cols });
    live++;
  }

  /** Whether column j (every column: undefined) is here. */
  has(j?: number): boolean {
    return j === undefined ? this.cols.every((c) => !UNFETCHED.has(c)) : !UNFETCHED.has(this.cols[j]!);
  }

  /** Sets the columns the worker sent (by position; null: not sent). */
  fill(cols: readonly (Column | null)[]): void {
    cols.forEach((c, j) => {
      if (c !== null && UNFETCHED.has(this.cols[j]!)) this.cols[j] = c;
    });
  }
}

const UNFETCHED = new WeakSet<Column>();

/** A column of a kept part not fetched: its type and length, and buffers that throw when read. */
function unfetched(type: SqlType, length: number, shard: number, id: number): Column {
  const fail = (): never => {
    throw new SluiceError('internal', `rows of source part ${id}, kept by shard worker ${shard}, were read on the engine's thread before they were fetched (parked.ts)`);
  };
  const c = Object.defineProperties({ type, length } as Column, {
    values: { enumerable: true, get: fail },
    validity: { enumerable: true, get: fail },
    offsets: { enumerable: true, get: fail },
    child: { enumerable: true, get: fail },
  });
  UNFETCHED.add(c);
  return c;
}

/** The handles on the parts a source task's answer says worker `shard` keeps, of a source of column types `types`. */
export function keptParts(shard: number, r: TaskResult, types: readonly SqlType[]): KeptPart[] {
  return (r.parked ?? []).map((k) => new KeptPart(shard, k.id, k.rows, k.bytes, types));
}

/**
 * Awaits every one of `parts` (a poll's tasks in the workers). When one failed, the kept parts
 * of the others (`rowsOf`) are released, since nothing will read them, and its failure is thrown.
 */
export async function allOrRelease<T>(parts: readonly Promise<T>[], rowsOf: (t: T) => readonly Batch[]): Promise<T[]> {
  const settled = await Promise.allSettled(parts);
  const made = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    release(made.map(rowsOf));
    throw failed.reason;
  }
  return made;
}

/** Where the rows of `b` are kept, if a worker keeps them. */
export function parkedOf(b: Batch): KeptPart | undefined {
  return b instanceof KeptPart && !b.released ? b : undefined;
}

/** The bytes `b` holds, or (a kept part) holds in its worker. */
export function keptBytes(b: Batch): number {
  return b instanceof KeptPart ? b.bytes : batchBytes(b);
}

/**
 * Fetches the columns `columns` (every column: undefined) of each kept part among `batches`
 * that does not have them yet, from the workers at once.
 */
export async function fetchKept(batches: Iterable<Batch>, columns?: readonly number[]): Promise<void> {
  const asks: Promise<void>[] = [];
  for (const b of batches) {
    if (!(b instanceof KeptPart)) continue;
    const want = (columns ?? b.columns.map((_, j) => j)).filter((j) => !b.has(j));
    if (want.length === 0) continue;
    if (b.released) throw new SluiceError('internal', `source part ${b.id} was read after its worker dropped it (parked.ts)`);
    fetched++;
    asks.push(
      shardPool()
        .runTask(b.shard, { kind: 'parked', id: b.id, columns: want })
        .then((r) => {
          const cols: (Column | null)[] = b.columns.map(() => null);
          want.forEach((j, k) => (cols[j] = r.batch!.columns[k]!));
          b.fill(cols);
        }),
    );
  }
  await Promise.all(asks);
}

/** The workers drop the rows of the kept parts among `batches` (nothing reads them any more). */
export function release(batches: Iterable<readonly Batch[]>): void {
  if (live === 0) return;
  const byShard = new Map<number, number[]>();
  for (const bs of batches) {
    for (const b of bs) {
      if (!(b instanceof KeptPart) || b.released) continue;
      b.released = true;
      live--;
      let ids = byShard.get(b.shard);
      if (ids === undefined) byShard.set(b.shard, (ids = []));
      ids.push(b.id);
    }
  }
  for (const [shard, ids] of byShard) shardPool().post(shard, { t: 'unpark', pid: 0, ids });
}

/** Counts a spread part handed back to the worker that keeps it. */
export function noteHandedBack(): void {
  handedBack++;
}

/** Parts kept and not released, parts handed back, and fetches of rows so far (for tests). */
export function parkedFigures(): { readonly kept: number; readonly handedBack: number; readonly fetched: number } {
  return { kept: live, handedBack, fetched };
}
