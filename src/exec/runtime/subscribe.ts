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

/** Answers SUBSCRIBE: changes are queued from now until the client calls `listen`. */
export function subscription(state: EngineState, stmt: Extract<Statement, { kind: 'subscribe' }>): Subscription {
  const v = subscribableView(state, stmt.name, stmt.pos);
  const epoch = BigInt(state.epochNo);
  const columns: Field[] = [{ name: 'epoch', type: 'bigint' }, { name: 'weight', type: 'int' }, ...v.entry.schema];
  const rows = stmt.snapshot ? v.store.rows().map((r) => [epoch, 1, ...r]) : [];
  const queue: Value[][][] = [];
  let sink: ((rows: Value[][]) => void) | null = null;
  let ended: string | null = null;
  let endSink: ((reason: string) => void) | null = null;
  const onChange = (changes: Change[]) => {
    const batch = changes.map((c) => [BigInt(c.epoch), c.weight, ...c.row] as Value[]);
    if (sink) sink(batch);
    else queue.push(batch);
  };
  v.subscribers.add(onChange);
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
      };
    },
  };
}
