/**
 * The cluster's catalog topic (`__sluice_<cluster>_catalog`, one partition): DDL run on any
 * member is appended to it, and every member applies the topic's statements in offset order, so
 * all members hold the same sources, views and sinks. A statement's offset is also its
 * incarnation: a view's topics, consumer group and state are named by the offset of the CREATE
 * that made it, so a view dropped and created again starts over instead of finding the old one's.
 *
 * A member records how far it applied (and the incarnation of each cluster view) in
 * `<data dir>/cluster-catalog.json` after each statement; a member without a data dir applies
 * the whole topic at each start. A statement applied again after a crash between the two fails
 * with "already exists" / "does not exist", which is logged and skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { getValue } from '../common/column.js';
import { SluiceError, toSluiceError } from '../common/errors.js';
import { KafkaCluster, kafkaErrorText } from '../connectors/kafka/cluster.js';
import { readKafkaSourceOptions } from '../connectors/kafka/options.js';
import { readRanges } from '../connectors/kafka/range-reader.js';
import { writeAtomic } from '../exec/checkpoint/files.js';
import type { Schema } from '../common/types.js';

const SCHEMA: Schema = [{ name: 'sql', type: 'varchar' }];
/** Rounds a statement whose failure may pass is tried in before it is skipped. */
const RETRIES = 5;
/** How long a member waits for its own statement to come back from the topic. */
const SUBMIT_TIMEOUT_MS = 60_000;

interface Saved {
  applied: number;
  incarnations: Record<string, number>;
}

/** Applies one statement of the log (as the superuser); `offset` is its incarnation. */
export type ApplyStatement = (sql: string, offset: number) => Promise<unknown>;

export class CatalogLog {
  readonly topic: string;
  private saved: Saved = { applied: 0, incarnations: {} };
  private readonly file: string | null;
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private reader: KafkaCluster;
  private readonly waiting = new Map<number, { done: (r: unknown) => void; fail: (e: unknown) => void }>();
  private results = new Map<number, { ok: true; value: unknown } | { ok: false; error: unknown }>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private apply: ApplyStatement | null = null;
  /** The offset of the statement being applied (null: none). */
  applying: number | null = null;
  /** Failed attempts of a statement whose failure may pass, by offset. */
  private readonly failures = new Map<number, number>();
  private closing = false;

  constructor(private readonly cluster: string, private readonly brokers: readonly string[], dataDir: string | null, private readonly log: (m: string) => void) {
    this.topic = `__sluice_${cluster}_catalog`;
    this.file = dataDir ? join(dataDir, 'cluster-catalog.json') : null;
    if (this.file && existsSync(this.file)) this.saved = JSON.parse(readFileSync(this.file, 'utf8')) as Saved;
    this.kafka = new Kafka({ brokers: [...brokers], clientId: `sluice-${cluster}-catalog`, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    this.reader = new KafkaCluster(brokers, this.topic, `sluice-${cluster}-catalog-reader`);
  }

  /** The incarnation of a cluster view: the offset of its CREATE. */
  incarnation(view: string): number | undefined {
    return this.applying ?? this.saved.incarnations[view];
  }

  /** Records the incarnation of a view the statement being applied created. */
  created(view: string): void {
    if (this.applying === null) return;
    this.saved.incarnations[view] = this.applying;
    // Saved now, before the view's first checkpoint: a crash in between must not leave a view
    // whose incarnation is unknown when the CREATE is applied again (and refused as existing).
    this.save();
  }

  dropped(view: string): void {
    delete this.saved.incarnations[view];
  }

  /** Creates the topic if needed, applies what this member has not, and keeps following it. */
  async start(apply: ApplyStatement, intervalMs: number): Promise<void> {
    this.apply = apply;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(this.topic)) {
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic: this.topic, numPartitions: 1 }] }).catch((e) => {
          if (!/already exists/i.test(kafkaErrorText(e))) throw e;
        });
      }
    } finally {
      await admin.disconnect();
    }
    await this.reader.connect();
    await this.reader.partitions();
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    this.producer = producer;
    await this.poll();
    const tick = () => {
      this.polling = this.poll().catch((e) => this.log(`cluster ${this.cluster}: reading the catalog topic failed: ${kafkaErrorText(e)}; retrying`)).finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  /** Appends a statement and waits until this member applied it: its result, or its error. */
  async submit(sql: string): Promise<unknown> {
    if (this.producer === null) throw new SluiceError('connection', `cluster ${this.cluster} is not connected to its catalog topic yet; try again`);
    const [meta] = await this.producer.send({ topic: this.topic, acks: -1, messages: [{ value: JSON.stringify({ sql }) }] });
    const offset = Number(meta!.baseOffset);
    const ready = this.results.get(offset);
    if (ready) {
      this.results.delete(offset);
      if (ready.ok) return ready.value;
      throw ready.error;
    }
    return new Promise((done, fail) => {
      const timer = setTimeout(() => {
        this.waiting.delete(offset);
        fail(new SluiceError('connection', `the statement is in cluster ${this.cluster}'s catalog topic (offset ${offset}) but this member has not applied it within ${SUBMIT_TIMEOUT_MS / 1000} s`, {
          hint: 'It applies when this member gets to it; check the server log, then SHOW the object to see whether it exists.',
        }));
      }, SUBMIT_TIMEOUT_MS);
      this.waiting.set(offset, {
        done: (r) => {
          clearTimeout(timer);
          done(r);
        },
        fail: (e) => {
          clearTimeout(timer);
          fail(e);
        },
      });
    });
  }

  private async poll(): Promise<void> {
    const latest = (await this.reader.offsets([0], 'latest')).get(0)!;
    const from = this.saved.applied;
    if (latest <= from) return;
    const config = readKafkaSourceOptions({ topic: this.topic, brokers: this.brokers.join(','), format: 'json' }, SCHEMA);
    const read = await readRanges(this.reader, SCHEMA, config, this.topic, [{ partition: 0, from, to: latest }], { maxBytes: config.fetchMaxBytes, maxPartitionBytes: config.fetchMaxPartitionBytes }, (m) => this.log(m));
    // The producer is idempotent and not transactional, and nothing is compacted: record k of
    // the range is at offset from + k.
    let offset = from;
    for (const b of read.batches) {
      for (let i = 0; i < b.length; i++, offset++) {
        const v = getValue(b.columns[0]!, i);
        const sql = typeof v === 'string' ? v : null;
        // Closing: what is left is applied at the next start.
        if (this.closing) return;
        let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
        this.applying = offset;
        try {
          outcome = { ok: true, value: sql === null ? null : await this.apply!(sql, offset) };
        } catch (e) {
          const err = toSluiceError(e);
          // A failure that may pass (a broker out of reach, the engine closing) is tried again at
          // the next round, a few times, before the statement is given up on this member.
          const tries = (this.failures.get(offset) ?? 0) + 1;
          if ((err.category === 'connection' || err.category === 'query_canceled') && tries < RETRIES) {
            this.failures.set(offset, tries);
            throw e;
          }
          this.failures.delete(offset);
          outcome = { ok: false, error: e };
          if (!this.waiting.has(offset)) this.log(`cluster ${this.cluster}: catalog statement ${offset} (skipped: ${err.message})`);
        } finally {
          this.applying = null;
        }
        this.saved.applied = offset + 1;
        this.save();
        const w = this.waiting.get(offset);
        if (w) {
          this.waiting.delete(offset);
          if (outcome.ok) w.done(outcome.value);
          else w.fail(outcome.error);
        } else {
          this.results.set(offset, outcome);
          // Only a submit racing its own application looks a result up; keep a few.
          if (this.results.size > 64) this.results.delete(this.results.keys().next().value!);
        }
      }
    }
  }

  private save(): void {
    if (this.file) writeAtomic(this.file, [Buffer.from(JSON.stringify(this.saved), 'utf8')]);
  }

  async close(): Promise<void> {
    this.closing = true;
    const t = this.timer;
    this.timer = null;
    if (t) clearTimeout(t);
    await this.polling;
    for (const w of this.waiting.values()) w.fail(new SluiceError('connection', 'the member is shutting down; the statement is in the catalog topic and applies when it starts again'));
    this.waiting.clear();
    await this.producer?.disconnect().catch(() => undefined);
    await this.reader.disconnect().catch(() => undefined);
  }
}
