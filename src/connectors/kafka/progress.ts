/**
 * The progress topic of exactly-once Kafka sinks: each epoch's transaction also writes one
 * record to partition 0 of a compacted topic, keyed by the sink's transactional id, whose value
 * names the epoch (`{"sink":"out","epoch":42}`). Committed together with the epoch's messages,
 * it is visible to a read_committed reader exactly when they are; compaction keeps at least
 * the newest record per key.
 *
 * The last committed epoch is found reading backwards from the partition's last stable offset
 * in growing windows, so a sink sharing the topic with others reads only its recent tail.
 */
import { SluiceError } from '../../common/errors.js';
import { fetchedMessages, type FetchedMessage, type KafkaCluster } from './cluster.js';

/** The partition every progress record goes to. */
export const PROGRESS_PARTITION = 0;

/** Offsets read backwards from the end first; each further window is four times larger. */
const FIRST_WINDOW = 64;
const FETCH_BYTES = 1 << 20;

/** The progress record of `epoch` for the sink with transactional id `key`. */
export function progressRecord(key: string, sink: string, epoch: number): { key: string; value: string; partition: number } {
  return { key, value: JSON.stringify({ sink, epoch }), partition: PROGRESS_PARTITION };
}

/** The epoch a progress record names, or undefined when it is another sink's or not one. */
export function progressEpoch(m: Pick<FetchedMessage, 'key' | 'value'>, key: string): number | undefined {
  if (m.key === null || m.value === null || m.key.toString('utf8') !== key) return undefined;
  try {
    const epoch = (JSON.parse(m.value.toString('utf8')) as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' && Number.isSafeInteger(epoch) ? epoch : undefined;
  } catch {
    return undefined;
  }
}

/** The last epoch committed under `key` in the cluster's (progress) topic, or null when none. */
export async function lastCommittedEpoch(cluster: KafkaCluster, key: string): Promise<number | null> {
  await cluster.partitions();
  const low = (await cluster.offsets([PROGRESS_PARTITION], 'earliest')).get(PROGRESS_PARTITION)!;
  let to = (await cluster.offsets([PROGRESS_PARTITION], 'latest')).get(PROGRESS_PARTITION)!;
  for (let window = FIRST_WINDOW; to > low; window *= 4) {
    const from = Math.max(low, to - window);
    const found = await lastIn(cluster, key, from, to);
    if (found !== undefined) return found;
    to = from;
  }
  return null;
}

/** The last epoch recorded under `key` at offsets [from, to), or undefined. */
async function lastIn(cluster: KafkaCluster, key: string, from: number, to: number): Promise<number | undefined> {
  let found: number | undefined;
  for (let at = from; at < to;) {
    const p = (await cluster.fetch([{ partition: PROGRESS_PARTITION, offset: at }], FETCH_BYTES, FETCH_BYTES)).find((x) => x.partition === PROGRESS_PARTITION);
    if (p === undefined || p.end <= at) {
      throw new SluiceError('connection', `reading the sink progress topic stopped at offset ${at} of partition ${PROGRESS_PARTITION} before its end ${to}; retrying`);
    }
    for (const m of fetchedMessages(p)) {
      if (Number(m.offset) >= to) break;
      found = progressEpoch(m, key) ?? found;
    }
    at = p.end;
  }
  return found;
}
