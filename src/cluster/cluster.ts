/**
 * Cluster mode (`sluice serve --cluster NAME --kafka BROKERS`): several sluice processes split
 * the work of a view over a Kafka source the way Kafka Streams does, with Kafka as the only
 * coordinator — no membership, RPC or leader election of our own.
 *
 * For each such view (a grouped aggregate; plan-split.ts), every member:
 *
 *   - joins the consumer group `sluice.<cluster>.<view>`, subscribed to the source topic and the
 *     view's exchange topic. Kafka's group protocol assigns each partition of both to one member;
 *     the member only uses the group for that (and for committed offsets): it reads with its own
 *     fetches (range-reader.ts).
 *   - stage 1, per source partition p it is assigned: reads the next records from the group's
 *     committed offset, runs the stateless part of the plan, and writes each row to the exchange
 *     topic's partition that owns its key (key group → partition, as the in-process exchange
 *     does). The rows and the source offset (sendOffsets) commit in one Kafka transaction, whose
 *     transactional id is the partition's: a member that takes p over fences the old owner.
 *   - stage 2, per exchange partition r it is assigned: reads committed rows from the committed
 *     offset, runs the aggregate and everything above it, and writes the view's changes of those
 *     keys to the changes topic (retract/insert rows with a weight) and to the Kafka sinks over
 *     the view, with the exchange offset, in one transaction. The aggregate's state is
 *     checkpointed per partition to the cluster's shared state directory after the commit, named
 *     by the offset it holds; a member that takes r over restores the newest checkpoint at or
 *     below the committed offset and reads the rows between again without writing anything.
 *   - a replica: reads the changes topic (all partitions, read_committed) into the view's local
 *     store, so a query on any member answers for the whole cluster.
 *
 * Exactly-once: every output and every offset move is in a transaction; state is rebuilt from
 * committed input only; a zombie's transactions are fenced by the next owner's producer id.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { constantColumn, type Batch } from '../common/column.js';
import { SluiceError, toSluiceError } from '../common/errors.js';
import type { ClusterPosition } from '../exec/checkpoint/manifest.js';
import type { TimeZone } from '../common/time-zone.js';
import type { Schema } from '../common/types.js';
import type { Options } from '../parser/ast.js';
import type { DeadLetter } from '../connectors/api.js';
import { changeMessages } from '../connectors/kafka/change-messages.js';
import { KafkaCluster, kafkaErrorText } from '../connectors/kafka/cluster.js';
import { readKafkaSinkOptions, readKafkaSourceOptions, type KafkaSourceConfig } from '../connectors/kafka/options.js';
import { readRanges } from '../connectors/kafka/range-reader.js';
import { compile, type Kernel } from '../exec/eval.js';
import { ownerOf, keyGroupsOf } from '../exec/exchange.js';
import type { OperatorContext } from '../exec/operator.js';
import { Pipeline } from '../exec/pipeline.js';
import { HashAggOp } from '../exec/hash-agg.js';
import { createDiscardStore } from '../exec/view-store.js';
import { readViewState, writeViewState } from '../exec/checkpoint/view-state.js';
import { fileSafe } from '../exec/checkpoint/checkpointer.js';
import type { PhysicalPlan } from '../planner/physical.js';
import { EXCHANGE_RELATION, splitPlan, type SplitPlan } from './plan-split.js';
import { CatalogLog } from './catalog-log.js';
import { stickyAssigner } from './sticky-assigner.js';

export interface ClusterConfig {
  /** The cluster's name: its topics and groups are named after it. */
  readonly name: string;
  readonly brokers: readonly string[];
  /** A directory every member reaches (stage-2 checkpoints). */
  readonly stateDir: string;
  /** This member's name in sluice.cluster_members (default host-pid). */
  readonly member?: string;
  /** How often each task runs an epoch, ms. */
  readonly intervalMs: number;
  /** Most records a task reads per epoch. */
  readonly maxRecordsPerEpoch?: number;
}

/** A view run by the cluster, as the engine hands it over. */
export interface ClusterViewDef {
  readonly name: string;
  readonly plan: PhysicalPlan;
  readonly schema: Schema;
  /** Output columns that identify a row (the group keys). */
  readonly key: readonly number[];
  readonly zone: TimeZone;
  /** The Kafka source stage 1 reads. */
  readonly source: { readonly name: string; readonly schema: Schema; readonly options: Options };
  /** Where stage 1's malformed records go (the member's `<source>_errors` table). */
  readonly deadLetter: (d: DeadLetter) => void;
}

/** One row of sluice.cluster_members. */
export interface ClusterMemberRow {
  readonly view: string;
  readonly member: string;
  readonly host: string;
  readonly self: boolean;
  readonly sourcePartitions: string;
  readonly exchangePartitions: string;
  /** Source records not yet through stage 1 in the member's source partitions. */
  readonly sourceLag: number;
  /** Exchange rows not yet through stage 2 in its exchange partitions. */
  readonly exchangeLag: number;
  /** Assignments this member got since it started (null for the other members). */
  readonly rebalances: number | null;
  /** Change records of the view's changes topic not yet in this member's copy (null for the other members). */
  readonly copyLag: number | null;
  /** Change rows this member's copy read since the process started (null for the other members). */
  readonly changesRead: number | null;
}

/** The weight column the changes topic carries each row with. */
const WEIGHT = '__weight';
const MESSAGES_PER_SEND = 1000;
/** Most bytes of messages per produce call (see commitTransaction). */
const SEND_BYTES = 512 << 10;
/** A stage-2 task checkpoints after this many epochs that changed its state. */
const CHECKPOINT_EVERY = 10;
/** Most exchange records a takeover replays at once. */
const REPLAY_STEP = 100_000;
/** Most bytes of the changes topic a replica reads per round (it reads the rest next round). */
const REPLICA_BYTES = 64 << 20;

/** Rows of the exchange and changes topics are JSON lines, packed this many bytes to a message (brokers take 1 MB by default). */
const MESSAGE_BYTES = 256 << 10;

/** JSON lines packed into newline-separated messages of at most ~MESSAGE_BYTES (read with many_per_message). */
function packLines(lines: readonly string[]): string[] {
  const out: string[] = [];
  let part: string[] = [];
  let bytes = 0;
  for (const l of lines) {
    if (bytes + l.length > MESSAGE_BYTES && part.length) {
      out.push(part.join('\n'));
      part = [];
      bytes = 0;
    }
    part.push(l);
    bytes += l.length + 1;
  }
  if (part.length) out.push(part.join('\n'));
  return out;
}

/** `schema` with its columns named c0, c1, …: rows of it as JSON objects always have distinct keys. */
function positional(schema: Schema): Schema {
  return schema.map((f, i) => ({ ...f, name: `c${i}` }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster runtime of one member. */
export class ClusterRuntime {
  readonly member: string;
  private readonly kafka: Kafka;
  private readonly views = new Map<string, ClusterView>();
  private admin: Admin | null = null;
  private closed = false;
  /** The catalog topic: DDL of every member, applied by every member. */
  readonly catalog: CatalogLog;

  constructor(readonly config: ClusterConfig, private readonly log: (m: string) => void, dataDir: string | null) {
    this.member = config.member ?? `${hostname()}-${process.pid}`;
    this.catalog = new CatalogLog(config.name, config.brokers, dataDir, log);
    this.kafka = new Kafka({ brokers: [...config.brokers], clientId: `sluice-${config.name}-${this.member}`, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3000 } });
  }

  /** Checks that `plan` can run across the cluster (throws 0A000 if not): its split. */
  check(view: string, plan: PhysicalPlan): SplitPlan {
    return splitPlan(view, plan);
  }

  /** The incarnation a view of this name has (or gets, while its CREATE is applied). */
  incarnationOf(view: string): number {
    return this.catalog.incarnation(view) ?? 0;
  }

  /**
   * Starts running a view; the returned handle gives the view's changes for its local store,
   * and where in the changes topic that store stands. `from`: a restored store's position (its
   * incarnation must be this one's), else the changes topic is read from its start.
   */
  attach(def: ClusterViewDef, from: ClusterPosition | null = null): { take(): Batch[]; applied(): void; restart(): void; position(): ClusterPosition } {
    const incarnation = this.incarnationOf(def.name);
    this.catalog.created(def.name);
    if (from !== null && from.incarnation !== incarnation) throw new SluiceError('internal', `cluster view ${def.name}: a store of incarnation ${from.incarnation} restored into incarnation ${incarnation}`);
    const v = new ClusterView(this, def, incarnation, this.kafka, this.log, from?.offsets ?? null);
    this.views.set(def.name, v);
    v.start();
    this.watchMembers();
    return { take: () => v.replica.take(), applied: () => v.replica.applied(), restart: () => v.replica.restart(), position: () => ({ incarnation, offsets: v.replica.position() }) };
  }

  /** Kafka sinks over a cluster view are written by its stage-2 transactions. */
  addSink(view: string, sink: { name: string; options: Options; schema: Schema }): void {
    const v = this.views.get(view);
    if (!v) throw new Error(`no cluster view ${view}`);
    const cfg = readKafkaSinkOptions(sink.options, sink.schema);
    const same = (a: readonly string[], b: readonly string[]) => [...a].sort().join(',') === [...b].sort().join(',');
    if (!same(cfg.brokers, this.config.brokers)) {
      throw new SluiceError('not_supported', `sink "${sink.name}" names brokers ${cfg.brokers.join(',')}, but a Kafka sink over cluster view "${view}" is written in the transactions of the cluster's brokers (${this.config.brokers.join(',')})`, {
        hint: `Use brokers = '${this.config.brokers.join(',')}'.`,
      });
    }
    v.sinks.push({ name: sink.name, topic: cfg.topic, key: cfg.key ?? v.def.key });
  }

  removeSink(name: string): void {
    for (const v of this.views.values()) v.sinks = v.sinks.filter((s) => s.name !== name);
  }

  /** Stops a view's tasks; waits at most 5 s (a round stuck on unreachable brokers ends on its own). */
  async detach(view: string): Promise<void> {
    const v = this.views.get(view);
    this.views.delete(view);
    this.catalog.dropped(view);
    if (!v) return;
    const stopped = v.stop().catch((e) => this.log(`cluster view ${view}: stopping it failed: ${kafkaErrorText(e)}`));
    await Promise.race([stopped, sleep(5000)]);
    await v.discard();
  }

  /** The members as last read (every 2 s while views run), for sluice.cluster_members. */
  lastMembers: ClusterMemberRow[] = [];
  private membersTimer: NodeJS.Timeout | null = null;

  private watchMembers(): void {
    if (this.membersTimer !== null) return;
    const tick = async () => {
      try {
        this.lastMembers = await this.members();
      } catch (e) {
        this.log(`cluster ${this.config.name}: cannot list the members: ${kafkaErrorText(e)}`);
      }
      if (!this.closed) this.membersTimer = setTimeout(() => void tick(), 2000);
    };
    this.membersTimer = setTimeout(() => void tick(), 500);
  }

  /** The members of every view's group and their partitions (sluice.cluster_members). */
  async members(): Promise<ClusterMemberRow[]> {
    if (this.views.size === 0) return [];
    this.admin ??= this.kafka.admin();
    await this.admin.connect();
    const out: ClusterMemberRow[] = [];
    for (const v of this.views.values()) {
      const { groups } = await this.admin.describeGroups([v.groupId]);
      // Records behind, per topic and partition: the end offset minus the group's committed one.
      const committed = new Map<string, number>();
      for (const t of await this.admin.fetchOffsets({ groupId: v.groupId, topics: [v.sourceTopic, v.exchangeTopic] })) {
        for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, Number(p.offset));
      }
      const behind = new Map<string, number>();
      for (const topic of [v.sourceTopic, v.exchangeTopic]) {
        for (const p of await this.admin.fetchTopicOffsets(topic)) {
          const c = committed.get(`${topic}/${p.partition}`) ?? -1;
          behind.set(`${topic}/${p.partition}`, Math.max(0, Number(p.high) - (c >= 0 ? c : Number(p.low))));
        }
      }
      let copyLag = 0;
      for (const p of await this.admin.fetchTopicOffsets(v.changesTopic)) copyLag += Math.max(0, Number(p.high) - v.replica.appliedTo(p.partition));
      for (const g of groups) {
        for (const m of g.members) {
          const a = m.memberAssignment.length ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
          const mine = (topic: string) => (a?.assignment[topic] ?? []).slice().sort((x, y) => x - y);
          const lag = (topic: string) => mine(topic).reduce((sum, p) => sum + (behind.get(`${topic}/${p}`) ?? 0), 0);
          const self = m.memberId === v.memberId;
          out.push({
            view: v.def.name, member: m.clientId.replace(`sluice-${this.config.name}-`, ''), host: m.clientHost.replace(/^\//, ''), self,
            sourcePartitions: mine(v.sourceTopic).join(','), exchangePartitions: mine(v.exchangeTopic).join(','),
            sourceLag: lag(v.sourceTopic), exchangeLag: lag(v.exchangeTopic), rebalances: self ? v.rebalances : null,
            copyLag: self ? copyLag : null, changesRead: self ? v.replica.rowsRead : null,
          });
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.membersTimer !== null) clearTimeout(this.membersTimer);
    await this.catalog.close();
    for (const v of this.views.values()) await v.stop();
    this.views.clear();
    await this.admin?.disconnect().catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** What a view's tasks share. */
class ClusterView {
  readonly groupId: string;
  readonly sourceTopic: string;
  readonly exchangeTopic: string;
  readonly changesTopic: string;
  readonly split: SplitPlan;
  readonly sourceConfig: KafkaSourceConfig;
  readonly exchangeConfig: KafkaSourceConfig;
  /** Stage 1's output columns named c0, c1, … (its own names may repeat or be empty). */
  readonly exchangeSchema: Schema;
  /** The view's columns and the weight, named c0, c1, …, as the changes topic holds them. */
  readonly changesSchema: Schema;
  /**
   * Whether stage 1 aggregates its rows before the exchange (the combiner: every call exact and
   * order-free), so the exchange carries one partial row per group, partition and epoch, in the
   * aggregate's `groups` state layout, which stage 2 merges.
   */
  readonly combine: boolean;
  readonly replica: Replica;
  sinks: { name: string; topic: string; key: readonly number[] }[] = [];
  memberId: string | null = null;
  /** Assignments received (GROUP_JOIN events). */
  rebalances = 0;
  private consumer: Consumer | null = null;
  private assignment: Record<string, number[]> = {};
  private readonly stage1 = new Map<number, Stage1Task>();
  private readonly stage2 = new Map<number, Stage2Task>();
  private loop: Promise<void> | null = null;
  private stopped = false;
  /** Set when the group consumer stopped for good: the loop makes a new one. */
  private rejoin = false;
  private admin: Admin | null = null;
  private keyKernels: Kernel[];
  /** Partitions of the exchange and changes topics: the source's, decided at start. */
  exchangePartitions = 0;
  readonly sourceCluster: KafkaCluster;
  readonly exchangeCluster: KafkaCluster;

  constructor(readonly rt: ClusterRuntime, readonly def: ClusterViewDef, readonly incarnation: number, readonly kafka: Kafka, readonly log: (m: string) => void, replicaFrom: Readonly<Record<string, number>> | null) {
    // Named by the view and the catalog offset of its CREATE: a view made again starts over.
    const base = `__sluice_${rt.config.name}_${def.name}_${incarnation}`;
    this.groupId = `sluice.${rt.config.name}.${def.name}.${incarnation}`;
    this.split = splitPlan(def.name, def.plan);
    this.sourceConfig = readKafkaSourceOptions(def.source.options, def.source.schema);
    this.sourceTopic = this.sourceConfig.topic;
    this.exchangeTopic = `${base}_exchange`;
    this.changesTopic = `${base}_changes`;
    const brokers = rt.config.brokers.join(',');
    const probe = new HashAggOp(`${def.name}#probe`, this.split.agg);
    // Whether the view combines fixes its exchange topic's format. sum(int) became combinable in
    // session 33, after clusters had exchange topics of rows for such views: it stays out here,
    // so a member of a newer version reads the topic an older one wrote.
    this.combine = probe.combinable() && !probe.sumsIntegersInDoubles();
    this.exchangeSchema = positional(this.combine ? probe.state.find((t) => t.spec.name === 'groups')!.spec.schema : this.split.stage1.schema);
    this.changesSchema = positional([...def.schema, { name: WEIGHT, type: 'int' }]);
    this.exchangeConfig = readKafkaSourceOptions({ topic: this.exchangeTopic, brokers, format: 'json', many_per_message: 'true' }, this.exchangeSchema);
    this.keyKernels = this.split.agg.groupKeys.map(compile);
    this.sourceCluster = new KafkaCluster(rt.config.brokers, this.sourceTopic, `sluice-${rt.config.name}-${rt.member}-src`);
    this.exchangeCluster = new KafkaCluster(rt.config.brokers, this.exchangeTopic, `sluice-${rt.config.name}-${rt.member}-x`);
    this.replica = new Replica(this, readKafkaSourceOptions({ topic: this.changesTopic, brokers, format: 'json', many_per_message: 'true' }, this.changesSchema), replicaFrom);
  }

  start(): void {
    this.loop = this.run().catch((e) => this.log(`cluster view ${this.def.name} stopped: ${toSluiceError(e).message}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    for (const t of [...this.stage1.values(), ...this.stage2.values()]) await t.close();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.sourceCluster.disconnect().catch(() => undefined);
    await this.exchangeCluster.disconnect().catch(() => undefined);
    await this.replica.close();
  }

  /**
   * The view was dropped: removes its exchange and changes topics, its consumer group and its
   * checkpoints. Every member tries as it applies the DROP; what is still in use by a member that
   * has not applied it yet (the group) goes when the last one does. Failures are logged only.
   */
  async discard(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteTopics({ topics: [this.exchangeTopic, this.changesTopic] }).catch(() => undefined);
      await admin.deleteGroups([this.groupId]).catch(() => undefined);
    } catch (e) {
      this.log(`cluster view ${this.def.name}: its topics and group were not removed: ${kafkaErrorText(e)}`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    rmSync(this.stateDir(), { recursive: true, force: true });
  }

  stateDir(): string {
    return join(this.rt.config.stateDir, `${fileSafe(this.def.name)}.${this.incarnation}`);
  }

  /** The group's committed offset of a partition (null: none yet). */
  async committed(topic: string, partition: number): Promise<number | null> {
    const admin = await this.adminClient();
    const res = await admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
    const p = res.find((t) => t.topic === topic)?.partitions.find((q) => q.partition === partition);
    const o = p === undefined ? -1 : Number(p.offset);
    return o < 0 ? null : o;
  }

  async adminClient(): Promise<Admin> {
    if (this.admin === null) {
      const a = this.kafka.admin();
      await a.connect();
      this.admin = a;
    }
    return this.admin;
  }

  private readonly topicsMade = new Set<string>();

  /** Makes sure a sink's topic exists (a producer would wait for a missing one forever). */
  async ensureTopic(topic: string): Promise<void> {
    if (this.topicsMade.has(topic)) return;
    const admin = await this.adminClient();
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic }] }).catch((e) => {
        if (!/already exists/i.test(kafkaErrorText(e))) throw e;
      });
    }
    this.topicsMade.add(topic);
  }

  /** Routes stage-1 output rows (or partial rows, whose group key comes first) to exchange partitions by their group key. */
  route(b: Batch, ctx: OperatorContext): Int32Array {
    const quiet = Object.create(ctx, { onRowError: { value: () => undefined } }) as OperatorContext;
    const keys = this.combine ? b.columns.slice(0, this.keyKernels.length) : this.keyKernels.map((k) => k(b, quiet));
    const groups = keyGroupsOf(keys, b.length);
    for (let i = 0; i < groups.length; i++) groups[i] = ownerOf(groups[i]!, this.exchangePartitions);
    return groups;
  }

  context(epoch: number): OperatorContext {
    return {
      epoch,
      now: BigInt(Date.now()) * 1000n,
      zone: this.def.zone,
      watermark: { before: null, after: null },
      countLate: () => undefined,
      onRowError: (e) => this.log(`cluster view ${this.def.name}: row error (the value becomes NULL): ${e.message}`),
    };
  }

  private async setup(): Promise<void> {
    await this.sourceCluster.connect();
    const admin = await this.adminClient();
    const sourcePartitions = (await this.sourceCluster.partitions()).length;
    const existing = new Set(await admin.listTopics());
    const wanted = [this.exchangeTopic, this.changesTopic].filter((t) => !existing.has(t));
    if (wanted.length) {
      // Another member may create them at the same moment: "already exists" is fine.
      // Kept whole: a member restarting rebuilds its copy of the view from the changes topic,
      // and a takeover without a checkpoint replays the exchange from its start.
      const keep = [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }];
      await admin.createTopics({ waitForLeaders: true, topics: wanted.map((topic) => ({ topic, numPartitions: sourcePartitions, configEntries: keep })) }).catch((e) => {
        if (!/already exists/i.test(kafkaErrorText(e))) throw e;
      });
    }
    await this.exchangeCluster.connect();
    // Loads the topic's metadata, which offsets and fetches need. The exchange keeps the
    // partition count it was made with, even if the source topic grows since.
    this.exchangePartitions = (await this.exchangeCluster.partitions()).length;
    mkdirSync(this.stateDir(), { recursive: true });
    const consumer = this.kafka.consumer({
      groupId: this.groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, rebalanceTimeout: 15_000, retry: { retries: 10 },
      // Members keep what they hold across rebalances (a moved exchange partition costs a replay).
      partitionAssigners: [stickyAssigner(() => this.assignment)],
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.rebalances++;
      this.memberId = e.payload.memberId;
      this.assignment = e.payload.memberAssignment;
      this.log(`cluster ${this.rt.config.name}: view ${this.def.name} now has source partitions [${(this.assignment[this.sourceTopic] ?? []).join(',')}] and exchange partitions [${(this.assignment[this.exchangeTopic] ?? []).join(',')}]`);
    });
    // A consumer that stopped for good leaves the group: this member stops its tasks (another
    // member gets the partitions) and joins again.
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) return;
      this.log(`cluster view ${this.def.name}: its group consumer stopped (${kafkaErrorText(e.payload.error)}); the member leaves its partitions and joins again`);
      this.assignment = {};
      this.rejoin = true;
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.sourceTopic, this.exchangeTopic], fromBeginning: true });
    const all = [{ topic: this.sourceTopic }, { topic: this.exchangeTopic }];
    // The group is used for its assignment and its committed offsets only: nothing is fetched
    // through it (kafkajs fetches until paused; whatever it got is ignored).
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => consumer.pause(all) });
    consumer.pause(all);
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      try {
        await this.setup();
        break;
      } catch (e) {
        this.log(`cluster view ${this.def.name}: cannot join the cluster yet: ${kafkaErrorText(e)}; retrying in 2 s`);
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = null;
        await sleep(2000);
      }
    }
    let epoch = 0;
    // An idle member waits longer between rounds (up to 1 s), and goes back to the interval as
    // soon as a round finds input: each round asks the brokers for the end of every partition.
    let idleRounds = 0;
    while (!this.stopped) {
      const began = Date.now();
      epoch++;
      if (this.rejoin) {
        this.rejoin = false;
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = null;
        await this.reconcile();
        try {
          await this.setup();
        } catch (e) {
          this.log(`cluster view ${this.def.name}: cannot join the cluster again yet: ${kafkaErrorText(e)}; retrying`);
          this.rejoin = true;
          await sleep(2000);
          continue;
        }
      }
      await this.reconcile();
      let busy = false;
      // The end offsets of all this member's partitions, one request per topic.
      const ends = async (cluster: KafkaCluster, parts: readonly number[]) => cluster.offsets(parts, 'latest').catch((e: unknown) => {
        this.log(`cluster view ${this.def.name}: cannot read the end offsets: ${kafkaErrorText(e)}; retrying`);
        return new Map<number, number>();
      });
      const ends1 = await ends(this.sourceCluster, [...this.stage1.keys()]);
      for (const [p, t] of this.stage1) {
        const end = ends1.get(p);
        if (end !== undefined) busy = (await this.step(t, () => t.step(epoch, end), `stage 1 of source partition ${p}`)) || busy;
      }
      const ends2 = await ends(this.exchangeCluster, [...this.stage2.keys()]);
      for (const [r, t] of this.stage2) {
        const end = ends2.get(r);
        if (end !== undefined) busy = (await this.step(t, () => t.step(epoch, end), `stage 2 of exchange partition ${r}`)) || busy;
      }
      try {
        busy = (await this.replica.poll()) || busy;
      } catch (e) {
        this.log(`cluster view ${this.def.name}: reading its changes failed: ${kafkaErrorText(e)}; retrying`);
      }
      idleRounds = busy ? 0 : idleRounds + 1;
      const interval = Math.min(1000, this.rt.config.intervalMs * 2 ** Math.min(idleRounds, 3));
      await sleep(Math.max(5, Math.max(interval, this.rt.config.intervalMs) - (Date.now() - began)));
    }
  }

  /** Runs a task's step; a failure resets the task (it starts again from the committed offset). Returns whether it did work. */
  private async step(t: PartitionTask, f: () => Promise<boolean>, what: string): Promise<boolean> {
    try {
      return await f();
    } catch (e) {
      this.log(`cluster view ${this.def.name}: ${what} failed: ${kafkaErrorText(e)}; it starts again from the committed offset`);
      await t.close();
      t.reset();
      return true;
    }
  }

  /** Starts tasks for newly assigned partitions and closes those of partitions given away. */
  private async reconcile(): Promise<void> {
    const mine1 = new Set(this.assignment[this.sourceTopic] ?? []);
    const mine2 = new Set(this.assignment[this.exchangeTopic] ?? []);
    for (const [p, t] of this.stage1) {
      if (!mine1.has(p)) {
        await t.close();
        this.stage1.delete(p);
      }
    }
    for (const [r, t] of this.stage2) {
      if (!mine2.has(r)) {
        await t.close();
        this.stage2.delete(r);
      }
    }
    for (const p of mine1) if (!this.stage1.has(p)) this.stage1.set(p, new Stage1Task(this, p));
    for (const r of mine2) if (!this.stage2.has(r)) this.stage2.set(r, new Stage2Task(this, r));
  }

  /** A transactional producer for a task, its producer id initialised (fencing older owners). */
  async producer(task: string): Promise<Producer> {
    const producer = this.kafka.producer({ transactionalId: `${this.groupId}.${task}`, maxInFlightRequests: 1, idempotent: true, transactionTimeout: 30_000 });
    await producer.connect();
    try {
      await (await producer.transaction()).abort();
    } catch (e) {
      await producer.disconnect().catch(() => undefined);
      throw e;
    }
    return producer;
  }
}

/** Sends `messages` and the consumed offset in one transaction. */
async function commitTransaction(v: ClusterView, producer: Producer, out: { topic: string; messages: { key?: string | null; value: string | null; partition?: number }[] }[], offset: { topic: string; partition: number; next: number }): Promise<void> {
  const tx = await producer.transaction();
  try {
    // kafkajs puts a send's messages for one partition into one record batch, which the broker
    // refuses past message.max.bytes (1 MB by default): sends stay under SEND_BYTES.
    for (const { topic, messages } of out) {
      let part: typeof messages = [];
      let bytes = 0;
      for (const m of messages) {
        const size = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
        if (part.length && (bytes + size > SEND_BYTES || part.length >= MESSAGES_PER_SEND)) {
          await tx.send({ topic, acks: -1, messages: part });
          part = [];
          bytes = 0;
        }
        part.push(m);
        bytes += size;
      }
      if (part.length) await tx.send({ topic, acks: -1, messages: part });
    }
    await tx.sendOffsets({ consumerGroupId: v.groupId, topics: [{ topic: offset.topic, partitions: [{ partition: offset.partition, offset: String(offset.next) }] }] });
    await tx.commit();
  } catch (e) {
    await tx.abort().catch(() => undefined);
    throw e;
  }
}

/** A task of one partition: its transactional producer, dropped with the rest of its state on reset. */
abstract class PartitionTask {
  protected producer: Producer | null = null;

  /** Forgets the producer and what was read: the next step starts from the committed offset. */
  abstract reset(): void;

  async close(): Promise<void> {
    const p = this.producer;
    this.reset();
    await p?.disconnect().catch(() => undefined);
  }
}

/** Stage 1 of one source partition: read, run the stateless part, route to the exchange. */
class Stage1Task extends PartitionTask {
  private next: number | null = null;
  private pipeline: Pipeline | null = null;
  private out: Batch[] = [];
  /** The combiner (ClusterView.combine): this epoch's rows as partial groups. */
  private partial: HashAggOp | null = null;

  constructor(private readonly v: ClusterView, private readonly partition: number) {
    super();
  }

  reset(): void {
    this.producer = null;
    this.next = null;
    this.pipeline = null;
    this.partial = null;
  }

  /** One epoch of this partition up to `latest` (its end offset); whether it read anything. */
  async step(epoch: number, latest: number): Promise<boolean> {
    const v = this.v;
    if (this.producer === null) {
      this.producer = await v.producer(`s1.${this.partition}`);
      const committed = await v.committed(v.sourceTopic, this.partition);
      if (committed === null) {
        // The group's first read of this partition starts where scan_startup_mode says, and that
        // start is committed at once, so a member taking the partition over later (with 'latest',
        // at a later end) starts there too.
        const s = v.sourceConfig.startup;
        const at = s.mode === 'latest' ? 'latest' : s.mode === 'timestamp' ? { timestampMillis: s.millis } : 'earliest';
        let start = (await v.sourceCluster.offsets([this.partition], at)).get(this.partition)!;
        if (start < 0) start = (await v.sourceCluster.offsets([this.partition], 'latest')).get(this.partition)!;
        if (s.mode === 'offsets' && s.offsets.has(this.partition)) start = s.offsets.get(this.partition)!;
        await commitTransaction(v, this.producer, [], { topic: v.sourceTopic, partition: this.partition, next: start });
        this.next = start;
      } else {
        this.next = committed;
      }
      this.pipeline = new Pipeline(`${v.def.name}#s1`, v.split.stage1, (b) => this.out.push(b), undefined, { parallelism: 1, threads: false });
      this.partial = v.combine ? new HashAggOp(`${v.def.name}#s1partial`, v.split.agg) : null;
    }
    const from = this.next!;
    if (latest <= from) return false;
    const to = Math.min(latest, from + (v.rt.config.maxRecordsPerEpoch ?? v.sourceConfig.maxRecordsPerEpoch));
    const read = await readRanges(v.sourceCluster, v.def.source.schema, v.sourceConfig, v.sourceTopic, [{ partition: this.partition, from, to }], { maxBytes: v.sourceConfig.fetchMaxBytes, maxPartitionBytes: v.sourceConfig.fetchMaxPartitionBytes }, (m) => v.log(m));
    const end = read.ranges[0]?.to ?? from;
    const ctx = v.context(epoch);
    this.out = [];
    await this.pipeline!.runEpoch(new Map([[v.def.source.name, read.batches.filter((b) => b.length > 0)]]), ctx);
    const schema = v.exchangeSchema;
    const rows: string[][] = Array.from({ length: v.exchangePartitions }, () => []);
    if (this.partial) {
      for (const b of this.out) if (b.length) this.partial.processBatch(0, b, ctx);
      this.out = [this.partial.takePartial()];
    }
    for (const b of this.out) {
      if (b.length === 0) continue;
      const owners = v.route(b, ctx);
      const msgs = changeMessages(schema, [{ ...b, weights: null }], null, false);
      for (let i = 0; i < msgs.length; i++) rows[owners[i]!]!.push(msgs[i]!.value!);
    }
    const messages = rows.flatMap((lines, partition) => packLines(lines).map((value) => ({ value, partition })));
    await commitTransaction(v, this.producer, [{ topic: v.exchangeTopic, messages }], { topic: v.sourceTopic, partition: this.partition, next: end });
    this.next = end;
    // After the commit: a range read again (a failed commit, a takeover) is not recorded twice.
    for (const d of read.deadLetters) v.def.deadLetter(d);
    return true;
  }
}

/** Stage 2 of one exchange partition: the aggregate of the keys it owns. */
class Stage2Task extends PartitionTask {
  private next = 0;
  private pipeline: Pipeline | null = null;
  private out: Batch[] = [];
  private sinceCheckpoint = 0;

  constructor(private readonly v: ClusterView, private readonly partition: number) {
    super();
  }

  reset(): void {
    this.producer = null;
    this.pipeline = null;
  }

  /** Given away (or stopping): the state as of the last commit goes to a checkpoint first, so the next owner replays less. */
  override async close(): Promise<void> {
    if (this.pipeline !== null && this.sinceCheckpoint > 0) this.checkpoint();
    await super.close();
  }

  private newPipeline(): Pipeline {
    return new Pipeline(this.v.def.name, this.v.split.stage2, (b) => this.out.push(b), undefined, { parallelism: 1, threads: false });
  }

  /** One epoch of exchange rows through the pipeline: partial groups merged into its aggregate, or rows scanned. */
  private async runEpoch(pipeline: Pipeline, batches: readonly Batch[], epoch: number): Promise<void> {
    const v = this.v;
    if (v.combine) {
      const agg = pipeline.instancesByNode().find((n) => n.plan?.kind === 'HashAggExec')!.instances[0] as HashAggOp;
      for (const b of batches) agg.mergePartial(b);
      await pipeline.runEpoch(new Map(), v.context(epoch));
    } else {
      await pipeline.runEpoch(new Map([[EXCHANGE_RELATION, batches]]), v.context(epoch));
    }
  }

  /** Checkpoint files of this partition: offset → path. */
  private checkpoints(): Map<number, string> {
    const out = new Map<number, string>();
    const prefix = `x${this.partition}.`;
    for (const f of readdirSync(this.v.stateDir())) {
      const m = /^x(\d+)\.(\d+)\.state$/.exec(f);
      if (m && f.startsWith(prefix)) out.set(Number(m[2]), join(this.v.stateDir(), f));
    }
    return out;
  }

  /** Takes the partition over: fences, restores the newest usable checkpoint, replays to the committed offset. */
  private async open(epoch: number): Promise<void> {
    const v = this.v;
    this.producer = await v.producer(`s2.${this.partition}`);
    const committed = (await v.committed(v.exchangeTopic, this.partition)) ?? 0;
    let pipeline = this.newPipeline();
    let from = 0;
    const usable = [...this.checkpoints()].filter(([o]) => o <= committed).sort((a, b) => b[0] - a[0]);
    for (const [offset, path] of usable) {
      try {
        readViewState([{ path }], v.def.name, pipeline, createDiscardStore(v.def.schema));
        from = offset;
        break;
      } catch (e) {
        v.log(`cluster view ${v.def.name}: checkpoint ${path} is not usable (${toSluiceError(e).message}); trying an older one`);
        pipeline = this.newPipeline();
      }
    }
    // The rows between the checkpoint and the committed offset rebuild the state; their output
    // was committed by the previous owner, so it is dropped here.
    while (from < committed) {
      // In bounded steps: a replay from the exchange's start may be long.
      const read = await this.read(from, Math.min(committed, from + REPLAY_STEP));
      this.out = [];
      await this.runEpoch(pipeline, read.batches, epoch);
      this.out = [];
      if (read.end <= from) throw new Error(`exchange partition ${this.partition} ends at ${read.end}, before its committed offset ${committed}`);
      from = read.end;
    }
    if (usable.length || committed > 0) v.log(`cluster view ${v.def.name}: took exchange partition ${this.partition} over at offset ${committed} (state from offset ${usable[0]?.[0] ?? 0})`);
    this.pipeline = pipeline;
    this.next = committed;
    this.sinceCheckpoint = 0;
  }

  private async read(from: number, to: number): Promise<{ batches: Batch[]; end: number }> {
    const v = this.v;
    const read = await readRanges(v.exchangeCluster, v.exchangeSchema, v.exchangeConfig, v.exchangeTopic, [{ partition: this.partition, from, to }], { maxBytes: v.exchangeConfig.fetchMaxBytes, maxPartitionBytes: v.exchangeConfig.fetchMaxPartitionBytes }, (m) => v.log(m));
    // The exchange holds stage 1's JSON: a row that does not decode is a bug, never input.
    for (const d of read.deadLetters) v.log(`cluster view ${v.def.name}: exchange row ${d.position} does not decode (${d.error}); it is lost to the view — please report this`);
    return { batches: read.batches.filter((b) => b.length > 0), end: read.ranges[0]?.to ?? from };
  }

  /** One epoch of this partition up to `latest` (its end offset); whether it read anything. */
  async step(epoch: number, latest: number): Promise<boolean> {
    const v = this.v;
    if (this.pipeline === null) await this.open(epoch);
    if (latest <= this.next) return false;
    const to = Math.min(latest, this.next + (v.rt.config.maxRecordsPerEpoch ?? 100_000));
    const read = await this.read(this.next, to);
    this.out = [];
    await this.runEpoch(this.pipeline!, read.batches, epoch);
    const changes = this.out.filter((b) => b.length > 0);
    const out: { topic: string; messages: { key?: string | null; value: string | null; partition?: number }[] }[] = [];
    if (changes.length) {
      // Retract/insert rows with their weight, in the partition of their key: one writer per key.
      const weighted = changes.map((b) => ({ columns: [...b.columns, b.weights ? { ...constantColumn('int', 1, b.length), values: Int32Array.from(b.weights) } : constantColumn('int', 1, b.length)], length: b.length, weights: null }));
      out.push({ topic: v.changesTopic, messages: packLines(changeMessages(v.changesSchema, weighted, null, false).map((m) => m.value!)).map((value) => ({ value, partition: this.partition })) });
      for (const s of v.sinks) {
        await v.ensureTopic(s.topic);
        out.push({ topic: s.topic, messages: changeMessages(v.def.schema, changes, s.key, true) });
      }
    }
    try {
      await commitTransaction(v, this.producer!, out, { topic: v.exchangeTopic, partition: this.partition, next: read.end });
    } catch (e) {
      // The state went past what committed: the task starts over from a checkpoint.
      this.pipeline = null;
      throw e;
    }
    this.next = read.end;
    if (++this.sinceCheckpoint >= CHECKPOINT_EVERY) {
      this.sinceCheckpoint = 0;
      this.checkpoint();
    }
    return true;
  }

  /** Writes the state as of `next` (committed), keeping the two newest files. */
  private checkpoint(): void {
    const v = this.v;
    try {
      writeViewState(join(v.stateDir(), `x${this.partition}.${this.next}.state`), v.def.name, this.pipeline!, createDiscardStore(v.def.schema));
      const old = [...this.checkpoints()].sort((a, b) => b[0] - a[0]).slice(2);
      for (const [, path] of old) rmSync(path, { force: true });
    } catch (e) {
      v.log(`cluster view ${v.def.name}: checkpoint of exchange partition ${this.partition} failed: ${toSluiceError(e).message}`);
    }
  }
}

/** The view's changes, read back from the changes topic into this member's store. */
class Replica {
  /** Per partition, the offset the next read starts at. */
  private readonly next = new Map<number, number>();
  /** Per partition, the offset below which every change has been taken (is in the store). */
  private readonly taken = new Map<number, number>();
  private pending: Batch[] = [];
  private readonly cluster: KafkaCluster;
  private connected = false;
  /** Partitions found to end below the restored position (logged once). */
  private readonly beyond = new Set<number>();
  /** Change rows read since the process started. */
  rowsRead = 0;
  /** Where the changes of the last take end, by partition. */
  private through = new Map<number, number>();

  /** `from`: the position of a restored store (partition → offset), else none (read from 0). */
  constructor(private readonly v: ClusterView, private readonly config: KafkaSourceConfig, from: Readonly<Record<string, number>> | null) {
    this.cluster = new KafkaCluster(v.rt.config.brokers, v.changesTopic, `sluice-${v.rt.config.name}-${v.rt.member}-replica`);
    for (const [p, o] of Object.entries(from ?? {})) {
      this.next.set(Number(p), o);
      this.taken.set(Number(p), o);
    }
  }

  /** The offset of partition p below which every change is in the store. */
  appliedTo(p: number): number {
    return this.taken.get(p) ?? 0;
  }

  /** Where the taken changes end, by partition (what a checkpoint of the store records). */
  position(): Record<string, number> {
    return Object.fromEntries([...this.taken].map(([p, o]) => [String(p), o]));
  }

  /** Reads what is new in the changes topic; whether there was anything. */
  async poll(): Promise<boolean> {
    const v = this.v;
    if (v.exchangePartitions === 0) return false;
    if (!this.connected) {
      await this.cluster.connect();
      await this.cluster.partitions();
      this.connected = true;
    }
    const parts = [...Array(v.exchangePartitions).keys()];
    const latest = await this.cluster.offsets(parts, 'latest');
    for (const p of parts) {
      const at = this.next.get(p) ?? 0;
      if (at > latest.get(p)! && !this.beyond.has(p)) {
        this.beyond.add(p);
        // Only if the topic was deleted and made again under the same name: the restored store
        // is of changes the topic no longer has. Said, not hidden.
        this.v.log(`cluster view ${v.def.name}: this member's copy was restored at offset ${at} of partition ${p} of ${v.changesTopic}, which now ends at ${latest.get(p)}: the topic was made again, and the copy will not match it — drop and create the view again`);
      }
    }
    const ranges = parts.map((partition) => ({ partition, from: this.next.get(partition) ?? 0, to: latest.get(partition)! })).filter((r) => r.to > r.from);
    if (!ranges.length) return false;
    const read = await readRanges(this.cluster, v.changesSchema, this.config, v.changesTopic, ranges, { maxBytes: this.config.fetchMaxBytes, maxPartitionBytes: this.config.fetchMaxPartitionBytes }, (m) => v.log(m), REPLICA_BYTES);
    for (const d of read.deadLetters) v.log(`cluster view ${v.def.name}: change ${d.position} does not decode (${d.error}); this member's copy of the view misses it — please report this`);
    const w = v.def.schema.length;
    for (const b of read.batches) {
      if (b.length === 0) continue;
      const wc = b.columns[w]!;
      const weights = new Int32Array(b.length);
      for (let i = 0; i < b.length; i++) weights[i] = Number(wc.values[i]);
      this.pending.push({ columns: b.columns.slice(0, w), length: b.length, weights });
      this.rowsRead += b.length;
    }
    for (const r of read.ranges) this.next.set(r.partition, r.to);
    return true;
  }

  /** The changes read since the last take (applied() says when they are in the store). */
  take(): Batch[] {
    const out = this.pending;
    this.pending = [];
    // poll() fills pending and moves next in one synchronous step, so next is where these end.
    this.through = new Map(this.next);
    return out;
  }

  /** The changes of the last take are in the store: a checkpoint of it may record their end. */
  applied(): void {
    for (const [p, o] of this.through) this.taken.set(p, o);
  }

  /** Reads the changes topic again from its start (the copy was emptied). */
  restart(): void {
    this.next.clear();
    this.taken.clear();
    this.through = new Map();
    this.pending = [];
  }

  async close(): Promise<void> {
    await this.cluster.disconnect().catch(() => undefined);
  }
}
