/**
 * Kafka messages of one epoch's changes, as the Kafka sink writes them. Values are JSON objects
 * of the row (`{"word":"to","n":2}`, values as the file sink writes them); keys are JSON objects
 * of the key columns (`{"word":"to"}`), or null without key columns.
 *
 * Upsert (an updating input with key columns): the epoch's changes are netted per key, and
 * each key that changed gets one message: the row it now has, or a tombstone (null value) when
 * it has none. Replaying the topic and keeping the last value per key (log compaction does the
 * same) gives the view's contents. Append-only input: one message per row (w messages for a row
 * of weight w).
 */
import { type Batch } from '../../common/column.js';
import type { Schema } from '../../common/types.js';
import { jsonValue } from '../file/json-lines.js';

/** One message to produce: key and value as JSON text; a null value is a tombstone. */
export interface ChangeMessage {
  readonly key: string | null;
  readonly value: string | null;
}

function rowJson(names: readonly string[], b: Batch, i: number, cols: readonly number[]): string {
  let s = '{';
  for (let k = 0; k < cols.length; k++) {
    const j = cols[k]!;
    s += (k === 0 ? '' : ',') + names[j]! + ':' + jsonValue(b.columns[j]!, i);
  }
  return s + '}';
}

/** The messages for `batches` (weights +n/−n, null for append-only) of rows of `schema`. */
export function changeMessages(schema: Schema, batches: readonly Batch[], key: readonly number[] | null, upsert: boolean): ChangeMessage[] {
  const names = schema.map((f) => JSON.stringify(f.name));
  const all = schema.map((_, j) => j);
  const out: ChangeMessage[] = [];
  if (!upsert) {
    for (const b of batches) {
      for (let i = 0; i < b.length; i++) {
        const w = b.weights === null ? 1 : b.weights[i]!;
        if (w <= 0) continue;
        const msg = { key: key === null ? null : rowJson(names, b, i, key), value: rowJson(names, b, i, all) };
        for (let c = 0; c < w; c++) out.push(msg);
      }
    }
    return out;
  }
  // key JSON → (row JSON → net weight), in first-seen order.
  const net = new Map<string, Map<string, number>>();
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const w = b.weights === null ? 1 : b.weights[i]!;
      if (w === 0) continue;
      const k = rowJson(names, b, i, key ?? all);
      let rows = net.get(k);
      if (rows === undefined) net.set(k, (rows = new Map()));
      const v = rowJson(names, b, i, all);
      rows.set(v, (rows.get(v) ?? 0) + w);
    }
  }
  for (const [k, rows] of net) {
    let now: string | null = null;
    let removed = false;
    for (const [v, w] of rows) {
      if (w > 0) now = v;
      else if (w < 0) removed = true;
    }
    if (now !== null) out.push({ key: k, value: now });
    else if (removed) out.push({ key: k, value: null });
  }
  return out;
}
