/**
 * Checkpoints and recovery (issue 10; ARCHITECTURE.md "Epochs and exactly-once").
 *
 * With a data dir, each epoch ends in one commit:
 *
 *   1. offsets log   before the views run, the epoch's T_n, input ranges, source positions and
 *                    consumed table changes are appended to `checkpoints/offsets.log` (fsynced)
 *   2. state files   every view whose state may have changed (input, output or watermark moved)
 *                    writes `views/<view>-<id>.bin`; the others keep their previous file
 *   3. outbox        each sink's delta of the epoch goes to `outbox/<sink>/<epoch>.bin`
 *   4. commit        ONE DuckDB transaction appends the epoch's dead letters and late rows, the
 *                    manifest row (manifest.ts) and prunes old checkpoints and table changes
 *   5. delivery      afterwards sinks take their outbox epochs in order (see outbox.ts)
 *
 * A checkpoint exists exactly when its manifest row does; files of an epoch that never got its
 * row are garbage. Table changes (DML, reloads) are written to `sluice_internal.table_changes`
 * in the same DuckDB transaction as the change itself, so an acknowledged INSERT and its
 * changelog survive together, and recovery hands the views every change after the manifest's
 * `tableSeq`.
 *
 * Recovery takes the newest manifest whose state files all verify; a damaged newest one is
 * skipped loudly for the one before it (whose sources then re-read from older positions).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../../common/column.js';
import { SluiceError } from '../../common/errors.js';
import type { Schema, Value } from '../../common/types.js';
import { decodeSnapshot, encodeSnapshot } from '../state/state-table.js';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import type { Duck } from '../duck.js';
import { CorruptFileError, FramedLog, readBlobFile, writeBlobFile } from './files.js';

/** A blob file as readBlobFile gives it. */
type VerifiedFile = ReturnType<typeof readBlobFile>;
import { chainOf, type Manifest, type Recovery } from './manifest.js';

export const INTERNAL_SCHEMA = 'sluice_internal';
const INSERT_CHANGE = `INSERT INTO ${INTERNAL_SCHEMA}.table_changes VALUES ($1, $2, $3)`;

/** What the offsets log holds per epoch (the plan of the epoch, written before it runs). */
export interface OffsetsRecord {
  readonly epoch: number;
  readonly t: string;
  readonly ranges: Record<string, unknown>;
  readonly positions: Record<string, unknown>;
  readonly tableSeq: number;
}

/** The rows an epoch appends to DuckDB tables at its commit (dead letters, late rows). */
export interface CommitAppend {
  readonly table: string;
  readonly schema: Schema;
  readonly rows?: readonly (readonly Value[])[];
  readonly batches?: readonly Batch[];
}

/** A row of `SHOW CHECKPOINTS`. */
export interface CheckpointInfo {
  readonly id: number;
  readonly epoch: number;
  readonly createdAtMs: number;
  readonly bytesWritten: number;
  readonly viewsWritten: number;
  /** Of those, the views written as a delta of their chain (the changed keys only). */
  readonly viewsAsDelta: number;
  readonly durationMs: number;
}

/** How many views checkpoint `m` wrote as deltas: those whose newest delta file is its own. */
function deltasOf(m: Manifest): number {
  return Object.values(m.views).filter((v) => v.deltas?.[v.deltas.length - 1]?.endsWith(`-${m.id}.bin`)).length;
}

/** How many checkpoints are kept (the newest and the ones a damaged newest falls back to). */
const KEEP = 3;
/**
 * Incremental checkpoints share files (a view's full file and the deltas before the newest), so
 * the last KEEP checkpoints may all lean on one damaged file: up to this many older ones are
 * kept too, back to the newest that shares no changed view's files with the newest checkpoint.
 */
const FALLBACK_WINDOW = 16;

/**
 * Whether checkpoint `x` can stand in for `newest` whatever file of `newest` is damaged: each
 * view's state is either the very same files (a view that did not change: as before deltas) or
 * a chain of other files.
 */
function independent(x: Manifest, newest: Manifest): boolean {
  return Object.entries(newest.views).every(([name, v]) => {
    const o = x.views[name];
    if (!o) return true;
    const a = chainOf(o);
    const b = chainOf(v);
    return o.file !== v.file || (a.length === b.length && a.every((f, i) => f === b[i]));
  });
}

/** The checkpoints with state to keep of `list` (oldest first): see KEEP and FALLBACK_WINDOW. */
function keptOf(list: readonly Manifest[]): Manifest[] {
  const newest = list[list.length - 1];
  if (!newest) return [];
  const window = list.slice(-(KEEP + FALLBACK_WINDOW));
  for (let i = window.length - 2; i >= 0; i--) if (independent(window[i]!, newest)) return window.slice(Math.min(i, Math.max(0, window.length - KEEP)));
  return list.slice(-KEEP);
}
/** Old checkpoint rows and consumed table changes are deleted every this many commits. */
const PRUNE_ROWS_EVERY = 16;
/** The offsets log is rewritten without old records every this many commits. */
const PRUNE_EVERY = 100;

/** The batches with weights on all of them when any has some (one Arrow schema per IPC stream). */
export function uniformWeights(batches: readonly Batch[]): Batch[] {
  if (!batches.some((b) => b.weights)) return [...batches];
  return batches.map((b) => (b.weights ? b : { ...b, weights: new Int32Array(b.length).fill(1) }));
}

/** Encodes a file name part (object names may hold any character). */
export function fileSafe(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E');
}

export class Checkpointer {
  readonly dir: string;
  private readonly offsets: FramedLog<OffsetsRecord>;
  private nextId = 1;
  private commits = 0;
  /** The manifests kept (newest last), for pruning and SHOW CHECKPOINTS. */
  private kept: Manifest[] = [];
  /** The state files of the recovery checkpoint, read and checked once (takeVerified). */
  private readonly verified = new Map<string, VerifiedFile>();
  private readonly info = new Map<number, CheckpointInfo>();
  /** The manifest INSERT, prepared once on the engine's connection. */
  private insertManifest: DuckDBPreparedStatement | null = null;
  /** The table-change INSERT, prepared once (every DML runs it). */
  private insertChange: DuckDBPreparedStatement | null = null;
  private readonly sessionInserts = new WeakMap<DuckDBConnection, DuckDBPreparedStatement>();

  private constructor(dataDir: string, private readonly duck: Duck, private readonly log: (m: string) => void) {
    this.dir = join(dataDir, 'checkpoints');
    mkdirSync(join(this.dir, 'views'), { recursive: true });
    mkdirSync(join(this.dir, 'outbox'), { recursive: true });
    this.offsets = new FramedLog<OffsetsRecord>(join(this.dir, 'offsets.log'));
    if (this.offsets.truncated) log(`checkpoint: cut a torn tail of ${this.offsets.truncated} bytes off ${this.offsets.path}`);
  }

  /** Opens the checkpoint store of a data dir and finds the checkpoint to recover from (or null). */
  static async open(dataDir: string, duck: Duck, log: (m: string) => void): Promise<{ checkpointer: Checkpointer; recovered: Recovery | null }> {
    await duck.run(`CREATE SCHEMA IF NOT EXISTS ${INTERNAL_SCHEMA}`);
    await duck.run(`CREATE TABLE IF NOT EXISTS ${INTERNAL_SCHEMA}.checkpoints (id BIGINT PRIMARY KEY, epoch BIGINT, manifest VARCHAR, created_at TIMESTAMP, bytes BIGINT, views_written INTEGER, duration_ms DOUBLE)`);
    await duck.run(`CREATE TABLE IF NOT EXISTS ${INTERNAL_SCHEMA}.table_changes (seq BIGINT, tbl VARCHAR, data BLOB)`);
    const c = new Checkpointer(dataDir, duck, log);
    const recovered = await c.findValid();
    return { checkpointer: c, recovered };
  }

  /**
   * The committed epochs after `r`'s checkpoint, as the offsets log recorded them (the last
   * record of each epoch number: an epoch cut short by a crash ran again under its number),
   * oldest first. Throws when the log lacks one of them.
   */
  replayPlan(r: Recovery): OffsetsRecord[] {
    const byEpoch = new Map<number, OffsetsRecord>();
    for (const rec of this.offsets.records) if (rec.epoch > r.manifest.epoch && rec.epoch <= r.committedEpoch) byEpoch.set(rec.epoch, rec);
    const plan: OffsetsRecord[] = [];
    for (let e = r.manifest.epoch + 1; e <= r.committedEpoch; e++) {
      const rec = byEpoch.get(e);
      if (!rec) {
        throw new SluiceError('internal', `the offsets log ${this.offsets.path} lacks committed epoch ${e}, which recovery from checkpoint ${r.manifest.id} must replay`, {
          hint: 'The log was damaged or removed. Move the data dir aside to start over (its tables.duckdb keeps the tables).',
        });
      }
      plan.push(rec);
    }
    return plan;
  }

  /**
   * For REPLAY EPOCH n: the newest kept full checkpoint before epoch n and the logged epochs
   * from it up to n. Throws when n is not committed or older than every kept checkpoint.
   */
  replayFrom(n: number, lastCommitted: number): { base: Manifest; records: OffsetsRecord[] } {
    if (n > lastCommitted) throw new SluiceError('invalid_parameter', `epoch ${n} has not been committed yet (the last is ${lastCommitted})`);
    const base = [...this.kept].reverse().find((m) => m.epoch < n);
    if (!base) {
      const oldest = this.kept[0]?.epoch;
      throw new SluiceError('invalid_parameter', `epoch ${n} is older than every kept checkpoint${oldest !== undefined ? ` (the oldest holds epoch ${oldest}; epochs ${oldest + 1}–${lastCommitted} can be replayed)` : ''}`);
    }
    return { base, records: this.replayPlan({ manifest: base, committedEpoch: n }) };
  }

  /** The newest full manifest whose files verify; damaged newer ones are reported and skipped. */
  private async findValid(): Promise<Recovery | null> {
    const r = await this.duck.query(`SELECT id, manifest, epoch, created_at, bytes, views_written, duration_ms FROM ${INTERNAL_SCHEMA}.checkpoints ORDER BY id`);
    const all = r.rows.map((row) => JSON.parse(row[1] as string) as Manifest);
    r.rows.forEach((row, i) => this.remember(row, all[i]!));
    if (all.length) this.nextId = all[all.length - 1]!.id + 1;
    const committedEpoch = Math.max(0, ...all.map((m) => m.epoch));
    // Only the kept checkpoints are candidates: rows older than them await pruning, and their
    // state files are gone or describe a catalog of long ago.
    const full = keptOf(all.filter((m) => m.full));
    const damaged: string[] = [];
    for (let i = full.length - 1; i >= 0; i--) {
      const m = full[i]!;
      const bad = this.verify(m);
      if (!bad) {
        if (damaged.length) {
          this.log(`RECOVERY: checkpoint(s) after ${m.id} are damaged (${damaged.join('; ')}); recovering from checkpoint ${m.id} (epoch ${m.epoch}) and replaying the epochs after it from the offsets log`);
        }
        this.kept = keptOf(full.slice(0, i + 1));
        return { manifest: m, committedEpoch };
      }
      damaged.push(bad);
    }
    if (damaged.length) {
      throw new SluiceError('internal', `no usable checkpoint in ${this.dir}: ${damaged.join('; ')}`, {
        hint: 'Every kept checkpoint is damaged. Move the data dir aside (its tables.duckdb keeps the tables) and start again.',
      });
    }
    return null;
  }

  /** Why a manifest cannot be used (a missing or damaged state file), or null when it can. */
  private verify(m: Manifest): string | null {
    this.verified.clear();
    for (const v of Object.values(m.views)) {
      for (const f of chainOf(v)) {
        try {
          this.verified.set(f, readBlobFile(join(this.dir, f)));
        } catch (e) {
          this.verified.clear();
          return e instanceof CorruptFileError ? e.message : String(e);
        }
      }
    }
    return null;
  }

  /**
   * The state file `rel` as read and checked when the recovery checkpoint was chosen (once: a
   * state file is read once at recovery, and its bytes are not held after), else undefined.
   */
  takeVerified(rel: string): VerifiedFile | undefined {
    const f = this.verified.get(rel);
    this.verified.delete(rel);
    return f;
  }

  /** Drops the state files recovery did not take (views recomputed instead). */
  forgetVerified(): void {
    this.verified.clear();
  }

  /** The id the next checkpoint will get. */
  get pendingId(): number {
    return this.nextId;
  }

  /** Appends epoch n's plan to the offsets log (fsynced) before the epoch runs its views. */
  logEpoch(record: OffsetsRecord): void {
    this.offsets.append(record);
    this.offsets.records.push(record);
  }

  /** The path of a view's state file for checkpoint `id`, relative to the checkpoint dir. */
  viewFile(view: string, id: number): string {
    return join('views', `${fileSafe(view)}-${id}.bin`);
  }

  /** Absolute path of a file named in a manifest. */
  path(rel: string): string {
    return join(this.dir, rel);
  }

  /** Writes a sink's delta of an epoch to its outbox. */
  writeOutbox(sink: string, epoch: number, schema: Schema, batches: readonly Batch[]): void {
    const dir = join(this.dir, 'outbox', fileSafe(sink));
    mkdirSync(dir, { recursive: true });
    writeBlobFile(join(dir, `${epoch}.bin`), [encodeSnapshot({ name: sink, schema, key: [] }, uniformWeights(batches))], (refs) => ({ sink, epoch, ref: refs[0] }));
  }

  /** Removes a delivered outbox epoch. */
  dropOutbox(sink: string, epoch: number): void {
    rmSync(join(this.dir, 'outbox', fileSafe(sink), `${epoch}.bin`), { force: true });
  }

  /** A sink's committed outbox epochs (≤ `committedEpoch`), oldest first; later ones (uncommitted) are deleted. */
  readOutbox(sink: string, schema: Schema, committedEpoch: number): { epoch: number; batches: Batch[] }[] {
    const dir = join(this.dir, 'outbox', fileSafe(sink));
    if (!existsSync(dir)) return [];
    const out: { epoch: number; batches: Batch[] }[] = [];
    for (const f of readdirSync(dir)) {
      const m = /^(\d+)\.bin$/.exec(f);
      if (!m) {
        rmSync(join(dir, f), { force: true });
        continue;
      }
      const epoch = Number(m[1]);
      if (epoch > committedEpoch) {
        rmSync(join(dir, f), { force: true });
        continue;
      }
      const file = readBlobFile<{ ref: { offset: number; length: number } }>(join(dir, f));
      out.push({ epoch, batches: decodeSnapshot({ name: sink, schema, key: [] }, file.blob(file.header.ref)) });
    }
    return out.sort((a, b) => a.epoch - b.epoch);
  }

  /** Moves a renamed sink's outbox to its new name. */
  renameSinkOutbox(from: string, to: string): void {
    const dir = join(this.dir, 'outbox', fileSafe(from));
    if (existsSync(dir)) renameSync(dir, join(this.dir, 'outbox', fileSafe(to)));
  }

  /** Removes a dropped sink's outbox. */
  dropSinkOutbox(sink: string): void {
    rmSync(join(this.dir, 'outbox', fileSafe(sink)), { recursive: true, force: true });
  }

  /**
   * The commit: the epoch's appends and the manifest row in one DuckDB transaction (a lone
   * manifest INSERT commits by itself: an explicit transaction costs about four times as
   * much); then old checkpoints, their unreferenced state files and consumed table changes
   * are pruned, outside the commit (a crash before pruning leaves only garbage).
   */
  async commit(m: Manifest, appends: readonly CommitAppend[], stats: { bytes: number; viewsWritten: number; startedAt: number }): Promise<void> {
    const { duck } = this;
    const conn = duck.conn;
    const batched = appends.some((a) => a.rows?.length || a.batches?.length);
    if (batched) await duck.run('BEGIN TRANSACTION', conn);
    const durationMs = performance.now() - stats.startedAt;
    try {
      for (const a of appends) {
        if (a.rows?.length) await duck.appendRows(a.table, a.schema, a.rows, conn);
        if (a.batches?.length) await duck.appendBatch(a.table, a.schema, a.batches, conn);
      }
      this.insertManifest ??= await conn.prepare(`INSERT INTO ${INTERNAL_SCHEMA}.checkpoints VALUES ($1, $2, $3, make_timestamp($4::BIGINT), $5, $6, $7)`);
      const p = this.insertManifest;
      p.bindBigInt(1, BigInt(m.id));
      p.bindBigInt(2, BigInt(m.epoch));
      p.bindVarchar(3, JSON.stringify(m));
      p.bindBigInt(4, BigInt(m.createdAtMs) * 1000n);
      p.bindBigInt(5, BigInt(stats.bytes));
      p.bindInteger(6, stats.viewsWritten);
      p.bindDouble(7, durationMs);
      await p.run();
      if (batched) await duck.run('COMMIT', conn);
    } catch (e) {
      if (batched) await duck.run('ROLLBACK', conn).catch(() => undefined);
      throw e;
    }
    const kept = m.full ? keptOf([...this.kept, m]) : this.kept;
    const oldest = kept[0] ?? m;
    this.kept = kept;
    this.nextId = m.id + 1;
    if (m.full) this.info.set(m.id, { id: m.id, epoch: m.epoch, createdAtMs: m.createdAtMs, bytesWritten: stats.bytes, viewsWritten: stats.viewsWritten, viewsAsDelta: deltasOf(m), durationMs });
    for (const id of this.info.keys()) if (id < oldest.id) this.info.delete(id);
    if (m.full) this.pruneFiles();
    // Old rows go every few commits: two DELETEs per epoch would cost more than the commit.
    if (++this.commits % PRUNE_ROWS_EVERY === 0) {
      await duck.run(`DELETE FROM ${INTERNAL_SCHEMA}.checkpoints WHERE id < ${oldest.id}`, conn);
      await duck.run(`DELETE FROM ${INTERNAL_SCHEMA}.table_changes WHERE seq <= ${Math.min(...kept.map((k) => k.tableSeq))}`, conn);
    }
    if (this.commits % PRUNE_EVERY === 0 && this.kept.length) {
      const oldestEpoch = this.kept[0]!.epoch;
      this.offsets.rewrite(this.offsets.records.filter((r) => r.epoch > oldestEpoch));
    }
  }

  /** Deletes state files no kept manifest refers to (and temp files of interrupted writes). */
  private pruneFiles(): void {
    const used = new Set<string>();
    for (const k of this.kept) for (const v of Object.values(k.views)) for (const f of chainOf(v)) used.add(f);
    const dir = join(this.dir, 'views');
    for (const f of readdirSync(dir)) {
      const rel = join('views', f);
      if (!used.has(rel)) rmSync(join(dir, f), { force: true });
    }
  }

  /**
   * The position of `source` in the oldest kept checkpoint: recovery (or REPLAY EPOCH) never
   * re-reads before it. Null when that checkpoint does not know the source (keep everything).
   */
  retainFrom(source: string): unknown {
    const p = this.kept[0]?.sources[source]?.position;
    return p === undefined ? null : p;
  }

  /** The last committed manifest (what the next incremental checkpoint builds on). */
  get last(): Manifest | null {
    return this.kept[this.kept.length - 1] ?? null;
  }

  /** The kept checkpoints, newest first (SHOW CHECKPOINTS). */
  list(): CheckpointInfo[] {
    return [...this.info.values()].sort((a, b) => b.id - a.id);
  }

  private remember(row: Value[], m: Manifest): void {
    if (!m.full) return;
    const [id, , epoch, at, bytes, views, ms] = row;
    this.info.set(Number(id), { id: Number(id), epoch: Number(epoch), createdAtMs: Number((at as bigint) / 1000n), bytesWritten: Number(bytes), viewsWritten: Number(views), viewsAsDelta: deltasOf(m), durationMs: Number(ms) });
  }

  /** Appends a table change to the change log on `conn` (inside the caller's transaction). */
  async logTableChange(seq: number, table: string, schema: Schema, change: Batch, conn: DuckDBConnection = this.duck.conn): Promise<void> {
    let p: DuckDBPreparedStatement;
    if (conn === this.duck.conn) p = this.insertChange ??= await conn.prepare(INSERT_CHANGE);
    else {
      // A session's connection (a transaction block's commit): its own prepared INSERT.
      let own = this.sessionInserts.get(conn);
      if (!own) this.sessionInserts.set(conn, (own = await conn.prepare(INSERT_CHANGE)));
      p = own;
    }
    p.bindBigInt(1, BigInt(seq));
    p.bindVarchar(2, table);
    p.bindBlob(3, encodeSnapshot({ name: table, schema, key: [] }, [change]));
    await p.run();
  }

  /** The number of the last logged table change (0 when none is kept). */
  async lastTableSeq(): Promise<number> {
    const r = await this.duck.query(`SELECT coalesce(max(seq), 0) FROM ${INTERNAL_SCHEMA}.table_changes`);
    return Number(r.rows[0]![0]);
  }

  /** Table changes after `seq`, oldest first. */
  async tableChangesAfter(seq: number, schemaOf: (table: string) => Schema | undefined): Promise<{ seq: number; table: string; batch: Batch[] }[]> {
    const r = await this.duck.run(`SELECT seq, tbl, data FROM ${INTERNAL_SCHEMA}.table_changes WHERE seq > ${seq} ORDER BY seq`);
    const out: { seq: number; table: string; batch: Batch[] }[] = [];
    for (const row of r.getRows()) {
      const table = String(row[1]);
      const schema = schemaOf(table);
      if (!schema) continue;
      const bytes = (row[2] as { bytes: Uint8Array }).bytes;
      out.push({ seq: Number(row[0]), table, batch: decodeSnapshot({ name: table, schema, key: [] }, bytes) });
    }
    return out;
  }

  close(): void {
    this.offsets.close();
  }
}

