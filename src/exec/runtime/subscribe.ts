/**
 * SUBSCRIBE: a view's snapshot and then every change of it, in epoch order, registered under
 * the engine mutex so that the snapshot and the changes never overlap.
 */
import { SluiceError } from '../../common/errors.js';
import type { Field, Value } from '../../common/types.js';
import { KIND_LABEL } from '../../catalog/index.js';
import type { Statement } from '../../parser/index.js';
import type { Change, EngineState, Subscription, ViewRt } from './state.js';

/** The view SUBSCRIBE names, or why it cannot be subscribed to. */
function subscribableView(state: EngineState, name: string, pos: number): ViewRt {
  const v = state.views.get(name);
  if (v) return v;
  const e = state.catalog.get(name);
  throw new SluiceError(e ? 'not_supported' : 'undefined_table', e ? `cannot SUBSCRIBE to ${KIND_LABEL[e.kind]} "${name}"` : `materialized view "${name}" does not exist`, {
    position: pos,
    hint: e ? 'SUBSCRIBE takes a materialized view; create one over it first.' : undefined,
  });
}

/**
 * Answers SUBSCRIBE: changes are queued from now until the client calls `listen`. With
 * `progress`, a boolean `progressed` column follows `epoch`, and after the snapshot and after
 * every epoch a progress row (progressed true, the rest NULL) says that every change of that
 * epoch and the ones before has been sent, whether or not the epoch changed the view.
 */
export function subscription(state: EngineState, stmt: Extract<Statement, { kind: 'subscribe' }>): Subscription {
  const v = subscribableView(state, stmt.name, stmt.pos);
  const epoch = BigInt(state.epochNo);
  const progress = stmt.progress;
  const width = v.entry.schema.length;
  const columns: Field[] = [
    { name: 'epoch', type: 'bigint' }, ...(progress ? [{ name: 'progressed', type: 'boolean' } as const] : []), { name: 'weight', type: 'int' }, ...v.entry.schema,
  ];
  const change = (e: bigint, weight: number, row: readonly Value[]): Value[] => (progress ? [e, false, weight, ...row] : [e, weight, ...row]);
  const progressRow = (e: bigint): Value[] => [e, true, null, ...new Array<Value>(width).fill(null)];
  const rows = stmt.snapshot ? v.store.rows().map((r) => change(epoch, 1, r)) : [];
  if (progress) rows.push(progressRow(epoch));
  const queue: Value[][][] = [];
  let sink: ((rows: Value[][]) => void) | null = null;
  let ended: string | null = null;
  let endSink: ((reason: string) => void) | null = null;
  const deliver = (batch: Value[][]) => {
    if (sink) sink(batch);
    else queue.push(batch);
  };
  const onChange = (changes: Change[]) => deliver(changes.map((c) => change(BigInt(c.epoch), c.weight, c.row)));
  v.subscribers.add(onChange);
  // Metrics are pushed when an epoch has ended, after its changes were handed out.
  const stopProgress = progress ? state.metrics.listen((m) => deliver([progressRow(BigInt(m.epoch))])) : () => undefined;
  const onDrop = (reason: string) => {
    ended = reason;
    endSink?.(reason);
  };
  v.onDrop.add(onDrop);
  return {
    kind: 'subscription',
    tag: 'SUBSCRIBE',
    columns,
    rows,
    listen: (onRows, onEnd) => {
      for (const b of queue.splice(0)) onRows(b);
      sink = onRows;
      endSink = onEnd;
      if (ended !== null) onEnd(ended);
      return () => {
        v.subscribers.delete(onChange);
        v.onDrop.delete(onDrop);
        stopProgress();
      };
    },
  };
}
