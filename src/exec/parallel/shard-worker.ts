/**
 * A shard worker thread (started by pool.ts through shard-worker-boot.mjs): it runs instance s
 * of the keyed nodes of the pipelines the coordinator builds here, one epoch at a time, as the
 * coordinator's messages say. Row errors, late rows and a failure are kept and sent back with
 * the reply to the next "end node" request, where the coordinator reports them in the view's
 * context as if its own instances had.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SluiceError, toSluiceError } from '../../common/errors.js';
import { timeZoneOf } from '../../common/time-zone.js';
import { batchBytes, type StateTable } from '../state/state-table.js';
import type { OperatorContext } from '../operator.js';
import { Pipeline, standIn } from '../pipeline.js';
import type { Batch } from '../../common/column.js';
import type { ColumnGenerator } from '../../connectors/datagen/generators.js';
import { datagenGenerators } from '../../connectors/datagen/source.js';
import { readDatagenOptions } from '../../connectors/datagen/options.js';
import type { ErrorShape, FromWorker, SourceTask, SpreadPiece, TableShape, TaskResult, ToWorker } from './messages.js';
import { createChunkDecoder, type ChunkDecoder } from '../../connectors/formats/chunk-decoder.js';
import { copyBatch } from '../../common/column.js';
import { buffersOf } from './remote.js';
import { MessageDecoder } from '../../connectors/kafka/message-decoder.js';
import { decodeRecordSet } from '../../connectors/kafka/record-batches.js';

const port = parentPort!;
const shard = (workerData as { shard: number }).shard;

interface Hosted {
  readonly pipeline: Pipeline;
  errors: ErrorShape[];
  late: { batch: Batch; reason: string }[];
  lateCount: number;
  failure: ErrorShape | null;
}

const hosted = new Map<number, Hosted>();

function shape(e: unknown): ErrorShape {
  const s = toSluiceError(e);
  return { category: s.category, message: s.message, ...(s.position !== undefined ? { position: s.position } : {}), ...(s.hint !== undefined ? { hint: s.hint } : {}) };
}

const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/** Runs `f` for pipeline `pid`, keeping the first failure for the next reply. */
function guarded(h: Hosted, f: () => void): void {
  if (h.failure) return;
  try {
    f();
  } catch (e) {
    h.failure = shape(e);
  }
}

function tableOf(h: Hosted, node: number, table: number): StateTable {
  const t = h.pipeline.workerTables().find((x) => x.index === node)?.tables[table];
  if (!t) throw new SluiceError('internal', `shard worker ${shard}: no state table ${table} at node ${node}`);
  return t;
}

/** Generators of the datagen sources this worker made rows for, by declaration and start. */
const datagens = new Map<string, ColumnGenerator[]>();

/** Rows of datagen tasks this worker made and keeps until the engine releases them, by task id (parked.ts). */
const parked = new Map<number, Batch>();
/** The next id a Kafka task's batch is kept under (below 0: task ids are above). */
let nextKept = -1;

/** Columns `columns` of the rows kept under task `id`. */
function parkedColumns(id: number, columns: readonly number[]): Batch {
  const rows = parked.get(id);
  if (rows === undefined) throw new SluiceError('internal', `shard worker ${shard}: the rows of source task ${id} are no longer kept`);
  return { columns: columns.map((i) => rows.columns[i]!), length: rows.length, weights: rows.weights };
}

/** Chunk decoders of the file sources this worker decoded pieces for, by format and schema. */
const decoders = new Map<string, ChunkDecoder>();

/** The entry of `m` under `key`, made by `make` if missing (at most 64 are kept: a source's are made again after a clear). */
function cached<T>(m: Map<string, T>, key: string, make: () => T): T {
  let v = m.get(key);
  if (v === undefined) {
    v = make();
    if (m.size > 64) m.clear();
    m.set(key, v);
  }
  return v;
}

function runTask(id: number, task: SourceTask): TaskResult {
  if (task.kind === 'decode') {
    const decoder = cached(decoders, JSON.stringify([task.format, task.schema]), () => createChunkDecoder(task.format, task.schema));
    const b = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
    // The rows stay here, as a datagen part's do (parked.ts).
    const r = decoder.decode(b, 0, b.length, task.firstLine, (line) => `${task.file}:${line + 1}`);
    if (r.batch === null || r.batch.length === 0) return { batch: null, deadLetters: r.deadLetters, lines: r.lines };
    parked.set(id, r.batch);
    return { batch: null, parked: [{ id, rows: r.batch.length, bytes: batchBytes(r.batch) }], deadLetters: r.deadLetters, lines: r.lines };
  }
  if (task.kind === 'parked') {
    const rows = parkedColumns(task.id, task.columns);
    return { batch: copyBatch(rows), deadLetters: [], lines: 0 };
  }
  // This worker keeps the rows; the engine's thread asks for what it reads of them (parked.ts).
  if (task.kind === 'kafka') {
    const d = new MessageDecoder(task.schema, task.settings, task.topic, task.partition, Math.min(task.to - task.from, 1 << 16));
    decodeRecordSet(Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength), 0, task.bytes.byteLength, task.from, task.to, task.aborted, d);
    const kept = d.finish().map((b) => {
      const key = nextKept--;
      parked.set(key, b);
      return { id: key, rows: b.length, bytes: batchBytes(b) };
    });
    return { batch: null, parked: kept, deadLetters: d.deadLetters, lines: 0 };
  }
  const rows = generateRows(task);
  parked.set(id, rows);
  return { batch: null, parked: [{ id, rows: rows.length, bytes: batchBytes(rows) }], deadLetters: [], lines: 0 };
}

function generateRows(task: Extract<SourceTask, { kind: 'datagen' }>): Batch {
  const gens = cached(datagens, JSON.stringify([task.schema, task.options, String(task.startMicros)]), () =>
    datagenGenerators(task.schema, readDatagenOptions(task.options, task.schema), task.startMicros),
  );
  return { columns: gens.map((g) => g(task.from, task.n, task.nowMicros)), length: task.n, weights: null };
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'task') {
    try {
      const result = runTask(m.id, m.task);
      post({ t: 'taskDone', id: m.id, result, failure: null }, result.batch ? buffersOf(result.batch) : undefined);
    } catch (e) {
      post({ t: 'taskDone', id: m.id, result: null, failure: shape(e) });
    }
    return;
  }
  if (m.t === 'unpark') {
    for (const id of m.ids) parked.delete(id);
    return;
  }
  if (m.t === 'build') {
    const h: Hosted = { pipeline: null as unknown as Pipeline, errors: [], late: [], lateCount: 0, failure: null };
    try {
      (h as { pipeline: Pipeline }).pipeline = new Pipeline(m.view, m.plan, () => undefined, m.terminal ? standIn : undefined, {
        parallelism: m.parallelism,
        worker: { shard, post, pid: m.pid },
      });
    } catch (e) {
      h.failure = shape(e);
    }
    hosted.set(m.pid, h);
    return;
  }
  const h = hosted.get(m.pid);
  if (!h) {
    // Dropped here, or built in a worker that stopped before this one took its place. Requests
    // are answered, so that nothing waits for a reply that cannot come.
    if (m.t === 'end' || m.t === 'fetch' || m.t === 'figures') post({ t: 'unknown', pid: m.pid, shard });
    else if (m.t === 'spread') post({ t: 'spread', pid: m.pid, seq: m.seq, pieces: [] });
    return;
  }
  switch (m.t) {
    case 'drop':
      hosted.delete(m.pid);
      return;
    case 'begin': {
      const ctx: OperatorContext = {
        epoch: m.ctx.epoch,
        now: m.ctx.now,
        ...(m.ctx.zone !== null ? { zone: timeZoneOf(m.ctx.zone) } : {}),
        ...(m.ctx.watermark ? { watermark: m.ctx.watermark } : {}),
        onRowError: (e) => {
          h.errors.push(shape(e));
        },
        onLate: (batch, reason) => {
          h.late.push({ batch, reason });
        },
        countLate: (n) => {
          h.lateCount += n;
        },
      };
      guarded(h, () => h.pipeline.workerBegin(ctx));
      return;
    }
    case 'batch':
      guarded(h, () => h.pipeline.workerBatch(m.node, m.input, m.batch, m.partial === true));
      return;
    case 'spread': {
      // Answered even after a failure: the coordinator forwards parts in order, and waits for each.
      const pieces: SpreadPiece[] = [];
      guarded(h, () => h.pipeline.workerSpread(m.node, m.batch ?? parkedColumns(m.parked, m.columns), pieces));
      const transfer = new Set<ArrayBuffer>();
      for (const p of pieces) if (p.own) for (const b of buffersOf(p.batch)) transfer.add(b);
      post({ t: 'spread', pid: m.pid, seq: m.seq, pieces }, [...transfer]);
      return;
    }
    case 'end': {
      const reply = (counts: [number, number, number][], stateRows: [number, number][]) => {
        post({ t: 'ended', pid: m.pid, seq: m.seq, shard, counts, errors: h.errors, late: h.late, lateCount: h.lateCount, stateRows, failure: h.failure });
        h.errors = [];
        h.late = [];
        h.lateCount = 0;
      };
      if (h.failure) {
        reply([], []);
        return;
      }
      h.pipeline.workerEnd(m.nodes).then(
        (r) => reply(r.counts, r.stateRows),
        (e: unknown) => {
          h.failure ??= shape(e);
          reply([], []);
        },
      );
      return;
    }
    case 'fetch': {
      const tables: [number, number, TableShape][] = [];
      guarded(h, () => {
        for (const { index, tables: ts } of h.pipeline.workerTables()) {
          ts.forEach((t, i) => {
            const rows = t.rows();
            const pending = t.changes?.pending() ?? Number.POSITIVE_INFINITY;
            // The rule writeViewState applies (deltaWorthIt), on the same figures, which the stand-in reports.
            const delta = m.incremental !== false && t.changes !== undefined && Number.isFinite(pending) && (m.incremental === 'always' || pending * 2 <= rows);
            if (delta) {
              const d = t.changes!.delta();
              tables.push([index, i, { rows, bytes: d.rows.reduce((n, b) => n + batchBytes(b), 0), pending, snapshot: null, delta: d }]);
            } else {
              const snap = t.snapshot();
              tables.push([index, i, { rows, bytes: snap.reduce((n, b) => n + batchBytes(b), 0), pending, snapshot: snap, delta: null }]);
            }
          });
        }
      });
      post({ t: 'fetched', pid: m.pid, seq: m.seq, shard, tables, failure: h.failure });
      return;
    }
    case 'figures': {
      const figures: [number, number, number, number][] = [];
      guarded(h, () => {
        for (const { index, tables: ts } of h.pipeline.workerTables()) ts.forEach((t, i) => figures.push([index, i, t.rows(), t.bytes()]));
      });
      post({ t: 'figured', pid: m.pid, seq: m.seq, shard, figures, failure: h.failure });
      return;
    }
    case 'restore':
      guarded(h, () => tableOf(h, m.node, m.table).restore(m.batches));
      return;
    case 'apply':
      guarded(h, () => tableOf(h, m.node, m.table).changes!.apply(m.delta));
      return;
    case 'clear':
      guarded(h, () => tableOf(h, m.node, m.table).changes?.clear());
      return;
  }
});

post({ t: 'ready' });
