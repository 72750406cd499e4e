/**
 * Sink delivery from the outbox: each sink takes its committed epochs in order. The connector's
 * `open()` tells which epoch its destination already holds, so an epoch delivered before a
 * crash is not written again (exactly-once where the connector records its progress with the
 * data; at-least-once otherwise). A failing destination stalls only its own sink: the epoch
 * stays in the outbox, the error shows in stats, and delivery is retried with backoff.
 */
import { toSluiceError } from '../../common/errors.js';
import type { EngineState, SinkRt } from './state.js';

const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 30_000;

/** Delivers what a sink can take now; on failure schedules a retry. */
export async function deliver(state: EngineState, s: SinkRt): Promise<void> {
  if (s.delivering || s.closed || s.retryTimer || !s.outbox.length) return;
  s.delivering = true;
  try {
    if (s.delivered === undefined) s.delivered = await openSink(state, s);
    while (s.outbox.length && !s.closed) {
      const next = s.outbox[0]!;
      if (s.delivered === null || next.epoch > s.delivered) {
        await s.connector.write(next.epoch, next.batches);
        s.delivered = next.epoch;
        s.rowsWritten += next.batches.reduce((n, b) => n + b.length, 0);
      }
      s.outbox.shift();
      state.checkpointer?.dropOutbox(s.entry.name, next.epoch);
    }
    s.error = null;
    s.retryMs = 0;
  } catch (e) {
    const msg = toSluiceError(e).message;
    if (s.error !== msg) state.log(`sink ${s.entry.name}: epoch ${s.outbox[0]?.epoch ?? '?'} not delivered yet, retrying: ${msg}`);
    s.error = msg;
    s.retryMs = Math.min(MAX_RETRY_MS, s.retryMs ? s.retryMs * 2 : FIRST_RETRY_MS);
    s.retryTimer = setTimeout(() => {
      s.retryTimer = null;
      void deliver(state, s);
    }, s.retryMs);
    s.retryTimer.unref();
  } finally {
    s.delivering = false;
  }
}

/**
 * Opens a sink's destination; returns the epoch it holds. A destination ahead of the engine
 * holds an earlier run's output under the same name (a data dir started over): those epoch
 * numbers will not be written to it again, which is said loudly.
 */
export async function openSink(state: EngineState, s: SinkRt): Promise<number | null> {
  const held = await s.connector.open();
  const next = (s.outbox[0]?.epoch ?? state.epochNo + 1);
  if (held !== null && held >= next) {
    state.log(`sink ${s.entry.name}: the destination already holds epoch ${held} from a sink of this name, and the engine is at epoch ${next}; epochs up to ${held} are not written to it again — give the sink a fresh destination if that is an earlier run's output`);
  }
  return held;
}

/** Stops a sink's delivery (DROP SINK, close). */
export function stopDelivery(s: SinkRt): void {
  s.closed = true;
  if (s.retryTimer) clearTimeout(s.retryTimer);
  s.retryTimer = null;
}
