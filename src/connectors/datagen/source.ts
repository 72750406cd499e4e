/**
 * The datagen source (`connector = 'datagen'`): synthetic rows at a fixed rate, for demos,
 * tests and benchmarks. Each poll emits the rows due since the previous one —
 * rows_per_second × (T_n − time of start()), less the rows already emitted — at most
 * max_batch_rows per poll. Rows over that cap are not dropped: they stay due and come in later
 * polls, so a stalled engine sees a backlog of bounded batches rather than one huge batch.
 *
 * Row i's values depend only on (seed, column, i) (see hash.ts), so the recorded range
 * `{ from, to }` (row indexes, `to` exclusive) identifies the data exactly; only columns that
 * default to the current time take the poll's T_n instead.
 */
import { shardPool } from '../../exec/parallel/pool.js';
import { allOrRelease, keptParts } from '../../exec/parallel/parked.js';
import type { Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import type { SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { makeGenerator, type ColumnGenerator } from './generators.js';
import { readDatagenOptions, type DatagenConfig } from './options.js';

/** Where a datagen source stands: rows emitted so far, and the clock time its rate counts from. */
export interface DatagenPosition {
  readonly emitted: number;
  /** µs, as a decimal string (JSON has no 64-bit integers). */
  readonly startMicros: string;
}

/** The input range of one datagen poll: row indexes [from, to). */
export interface DatagenRange {
  readonly from: number;
  readonly to: number;
}

/** Wall-clock time in µs; injectable so tests can control elapsed time. */
export type MicrosClock = () => bigint;

const wallClock: MicrosClock = () => BigInt(Date.now()) * 1000n;

/** Rows below which a poll is not split over the shard worker threads (a message costs more than the rows). */
const PART_MIN_ROWS = 16_384;

/** The column generators of a datagen source started at `startMicros` (here, and in a shard worker making a part). */
export function datagenGenerators(schema: Schema, config: DatagenConfig, startMicros: bigint): ColumnGenerator[] {
  const gctx = { seed: config.seed, startMicros, rowsPerSecond: config.rowsPerSecond };
  return schema.map((f, j) => makeGenerator(f, config.fields[j]!, j, gctx));
}

/** A running datagen source. */
export class DatagenSource implements SourceConnector<DatagenPosition> {
  private readonly ctx: SourceContext;
  private readonly config: DatagenConfig;
  private readonly clock: MicrosClock;
  private startMicros = 0n;
  private generators: ColumnGenerator[] = [];
  private emitted = 0;

  constructor(ctx: SourceContext, clock: MicrosClock = wallClock) {
    this.ctx = ctx;
    this.config = readDatagenOptions(ctx.options, ctx.schema);
    this.clock = clock;
  }

  async start(resumeFrom: DatagenPosition | null): Promise<void> {
    this.startMicros = resumeFrom ? BigInt(resumeFrom.startMicros) : this.clock();
    this.emitted = resumeFrom?.emitted ?? 0;
    this.generators = datagenGenerators(this.ctx.schema, this.config, this.startMicros);
  }

  async poll(nowMicros: bigint, limit = Infinity): Promise<SourceRead<DatagenPosition>> {
    const { rowsPerSecond, maxRows, maxBatchRows } = this.config;
    const elapsed = nowMicros > this.startMicros ? Number(nowMicros - this.startMicros) : 0;
    let due = Math.floor((elapsed * rowsPerSecond) / 1e6);
    if (maxRows !== null && due > maxRows) due = maxRows;
    const n = Math.min(due - this.emitted, maxBatchRows, limit);
    const from = this.emitted;
    if (n <= 0) return { batches: [], range: { from, to: from } satisfies DatagenRange, position: this.position() };
    const batches = await this.generateParts(from, n, nowMicros);
    this.emitted += n;
    return { batches, range: { from, to: from + n } satisfies DatagenRange, position: this.position() };
  }

  /** Rows [from, to) of a recorded range again, as the poll that recorded it made them. */
  async reread(range: DatagenRange, nowMicros: bigint): Promise<Batch[]> {
    const n = range.to - range.from;
    return n > 0 ? this.generateParts(range.from, n, nowMicros) : [];
  }

  /**
   * Rows [from, from + n) as one batch, or at parallelism p > 1 (and enough rows) as p batches
   * made at once in the shard worker threads: the same rows, in the same order.
   */
  private async generateParts(from: number, n: number, nowMicros: bigint): Promise<Batch[]> {
    const p = Math.min(this.ctx.parallelism?.() ?? 1, Math.floor(n / PART_MIN_ROWS));
    if (p <= 1) return [this.generate(from, n, nowMicros)];
    const pool = shardPool();
    const size = Math.ceil(n / p);
    const parts: Promise<Batch>[] = [];
    const types = this.ctx.schema.map((f) => f.type);
    for (let s = 0, start = 0; start < n; s++, start += size) {
      const task = { kind: 'datagen' as const, schema: this.ctx.schema, options: this.ctx.options, startMicros: this.startMicros, from: from + start, n: Math.min(size, n - start), nowMicros };
      // Worker s keeps the rows; the engine's thread holds a handle and fetches what it reads (parked.ts).
      parts.push(pool.runTask(s, task).then((r) => keptParts(s, r, types)[0]!));
    }
    return allOrRelease(parts, (b) => [b]);
  }

  private position(): DatagenPosition {
    return { emitted: this.emitted, startMicros: String(this.startMicros) };
  }

  /** Builds rows [from, from + n) as one batch; the same range always gives the same rows. */
  generate(from: number, n: number, nowMicros: bigint): Batch {
    return { columns: this.generators.map((g) => g(from, n, nowMicros)), length: n, weights: null };
  }

  async stop(): Promise<void> {
    this.generators = [];
  }
}

/** The SourceFactory of `connector = 'datagen'`. */
export const createDatagenSource: SourceFactory = (ctx) => new DatagenSource(ctx);
