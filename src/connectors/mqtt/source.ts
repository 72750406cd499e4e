/**
 * The MQTT source (`connector = 'mqtt'`, mqtt.js): subscribes to a topic filter on a persistent
 * session (clean = false, a stable client id), so messages published while the engine is down
 * are delivered when it comes back. Every message is appended to the source's receiver log
 * (receiver-log.ts; a WAL with a data dir) before it is acknowledged; each poll takes the logged
 * messages and decodes them (json, csv, text; `many_per_message`) with the metadata columns
 * `_topic`, `_qos`, `_retained`, `_received_at`. Dead letters carry `<topic>@<wal offset>` (with
 * `:line` inside a many-record message).
 *
 * Acknowledgements: mqtt.js handles each incoming packet only after the previous one's handler
 * finished, so waiting for an fsync in the handler would cost one fsync per message. Instead the
 * handler logs the message and returns, and PUBACK / PUBREC / PUBCOMP are held (the client's
 * packet send is wrapped) until the WAL has fsynced past the message — group commit, in order.
 * An acknowledgement held over a dropped connection is not sent on the next one (its packet id
 * may belong to a new message there).
 *
 *   QoS 0   logged when received; what the process had not written is lost at a crash.
 *   QoS 1   PUBACK after the WAL fsync: nothing acknowledged is lost; a message received again
 *           after a crash before its PUBACK is logged again (at-least-once, duplicates counted).
 *   QoS 2   the message is logged (with its packet id) when the PUBLISH arrives and PUBREC goes
 *           after the fsync; the packet ids logged and not yet released are the source's QoS 2
 *           state, rebuilt from the WAL at start (each new segment begins with a snapshot of
 *           them). A PUBLISH whose id is in that set is a redelivery and is not logged again;
 *           PUBREL logs the release before PUBCOMP goes (the broker reuses the id only after
 *           PUBCOMP). A session the broker did not keep (sessionPresent = 0) clears the set.
 *           Exactly once across kill -9.
 *
 * Backpressure: while more than `receiver_max_backlog` messages wait for a poll, QoS 1/2
 * acknowledgements are held (the broker stops sending at its in-flight window) and QoS 0 stops
 * reading the connection.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { Readable } from 'node:stream';
import { columnFromValues, concatBatches, type Batch, type Column } from '../../common/column.js';
import type { Value } from '../../common/types.js';
import type { SourceConnector, SourceContext, SourceFactory, SourceRead } from '../api.js';
import { createDecoder, splitLines, type Decoder } from '../formats/index.js';
import { ReceiverLog, type ReceiverRange } from '../receiver/receiver-log.js';
import type { WalRecord } from '../receiver/wal.js';
import { readMqttSourceOptions, type MqttMetadataKind, type MqttSourceConfig } from './options.js';

/** WAL record kinds: a message, the release of a QoS 2 packet id, a snapshot of unreleased ids. */
const MESSAGE = 0x4d; // 'M'
const RELEASE = 0x52; // 'R'
const SNAPSHOT = 0x53; // 'S'

/** A logged message. */
interface Message {
  readonly offset: number;
  readonly qos: number;
  readonly retain: boolean;
  readonly packetId: number;
  readonly receivedAt: bigint;
  readonly topic: string;
  readonly payload: Buffer;
}

function encodeMessage(p: IPublishPacket, receivedAt: bigint): Buffer {
  const topic = Buffer.from(p.topic, 'utf8');
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload, 'utf8') : Buffer.from(p.payload);
  const head = Buffer.allocUnsafe(15);
  head[0] = MESSAGE;
  head[1] = p.qos;
  head[2] = p.retain ? 1 : 0;
  head.writeUInt16LE(p.messageId ?? 0, 3);
  head.writeBigInt64LE(receivedAt, 5);
  head.writeUInt16LE(topic.length, 13);
  return Buffer.concat([head, topic, payload]);
}

function decodeMessage(r: WalRecord): Message {
  const b = r.payload;
  const tlen = b.readUInt16LE(13);
  return {
    offset: r.offset, qos: b[1]!, retain: b[2] === 1, packetId: b.readUInt16LE(3), receivedAt: b.readBigInt64LE(5),
    topic: b.subarray(15, 15 + tlen).toString('utf8'), payload: b.subarray(15 + tlen),
  };
}

function encodeIds(kind: number, ids: Iterable<number>): Buffer {
  const list = [...ids];
  const b = Buffer.allocUnsafe(1 + 2 * list.length);
  b[0] = kind;
  list.forEach((id, i) => b.writeUInt16LE(id, 1 + 2 * i));
  return b;
}

function decodeIds(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 1; i + 1 < b.length; i += 2) out.push(b.readUInt16LE(i));
  return out;
}

/** An acknowledgement waiting for the WAL. */
interface HeldAck {
  readonly end: number;
  /** Not sent before this time (ms; see ackDelayMs). */
  readonly readyAt: number;
  readonly packet: Packet;
  readonly stream: unknown;
}

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void, noStore?: boolean) => void;

const ACKS = new Set(['puback', 'pubrec', 'pubcomp']);

/** A running MQTT source. */
export class MqttSource implements SourceConnector<number> {
  private readonly config: MqttSourceConfig;
  private readonly log: ReceiverLog;
  private client: MqttClient | null = null;
  /** QoS 2 packet ids logged and not yet released. */
  private readonly unreleased = new Set<number>();
  private acks: HeldAck[] = [];
  private sendRaw: SendPacket | null = null;
  private decoder: Decoder;
  private streamPaused = false;
  private stopped = false;
  /** QoS 2 redeliveries recognised (not logged again). */
  redeliveries = 0;
  /**
   * Extra time an acknowledgement is held after its fsync: 0, except in the crash test, which
   * sets SLUICE_TEST_MQTT_ACK_DELAY_MS on every other server start so that kills find messages
   * logged but not yet acknowledged (the window in which QoS 2 redeliveries must be recognised).
   */
  private readonly ackDelayMs = Number(process.env.SLUICE_TEST_MQTT_ACK_DELAY_MS ?? 0) || 0;

  constructor(private readonly ctx: SourceContext) {
    this.config = readMqttSourceOptions(ctx.options, ctx.schema, ctx.name);
    this.decoder = createDecoder(this.config.format, this.config.layout.payload);
    this.log = new ReceiverLog(ctx, {
      syncIntervalMs: this.config.walSyncIntervalMs,
      segmentHeader: () => encodeIds(SNAPSHOT, this.unreleased),
    });
  }

  /** Opens the log (rebuilding the QoS 2 state), connects, and resolves after the first connection attempt. */
  start(resumeFrom: number | null = null): Promise<void> {
    this.stopped = false;
    this.acks = [];
    this.decoder = createDecoder(this.config.format, this.config.layout.payload);
    this.unreleased.clear();
    for (const r of this.log.open(resumeFrom)) this.replayState(r.payload);
    return this.connect();
  }

  async poll(_nowMicros: bigint, maxRows = Infinity): Promise<SourceRead<number>> {
    // The engine's limit counts messages (a many_per_message message may hold more rows).
    const { records, range } = await this.log.take(maxRows, (r) => (r.payload[0] === MESSAGE ? 1 : 0));
    const batches = this.decode(records, true);
    this.releaseBackpressure();
    return { batches, range, position: this.log.position() };
  }

  async reread(range: unknown): Promise<readonly Batch[]> {
    return this.decode(this.log.reread(range as ReceiverRange), false);
  }

  currentPosition(): number | null {
    return this.log.position();
  }

  async commit(_epoch: number, retainFrom: number | null): Promise<void> {
    this.log.release(retainFrom);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.client;
    this.client = null;
    if (c) await c.endAsync(true).catch(() => undefined);
    this.acks = [];
    await this.log.close();
  }

  async discard(): Promise<void> {
    await this.log.discard();
  }

  /** Applies a logged record to the QoS 2 state. */
  private replayState(b: Buffer): void {
    if (b[0] === MESSAGE && b[1] === 2) this.unreleased.add(b.readUInt16LE(3));
    else if (b[0] === RELEASE) for (const id of decodeIds(b)) this.unreleased.delete(id);
    else if (b[0] === SNAPSHOT) {
      this.unreleased.clear();
      for (const id of decodeIds(b)) this.unreleased.add(id);
    }
  }

  private connect(): Promise<void> {
    const cfg = this.config;
    const opts: IClientOptions = {
      clientId: cfg.clientId, clean: false, username: cfg.username, password: cfg.password,
      reconnectPeriod: 1000, connectTimeout: 10_000, resubscribe: false, incomingStore: this.incomingStore(),
    };
    const client = mqtt.connect(cfg.url, opts);
    this.client = client;
    this.wrapSend(client);
    client.handleMessage = (packet, cb) => {
      this.onMessage(packet);
      cb();
    };
    return new Promise((firstAttempt) => {
      let logged = false;
      client.on('connect', (connack) => {
        this.ctx.log(`connected to ${cfg.url} as ${cfg.clientId}${connack.sessionPresent ? ' (session resumed)' : ''}`);
        logged = false;
        if (!connack.sessionPresent) {
          // The broker holds no state for us: packet ids we had not released mean nothing now.
          if (this.unreleased.size) {
            this.unreleased.clear();
            this.log.append(encodeIds(SNAPSHOT, []));
          }
          // start() resolves once the broker has the subscription, so nothing published after
          // CREATE SOURCE returns is missed.
          client.subscribe(cfg.topic, { qos: cfg.qos }, (err, granted) => {
            if (err) this.ctx.log(`cannot subscribe to ${cfg.topic}: ${err.message}`);
            else if (granted?.[0] && granted[0].qos !== cfg.qos) this.ctx.log(`subscribed to ${cfg.topic} with QoS ${granted[0].qos} (asked for ${cfg.qos})`);
            firstAttempt();
          });
          return;
        }
        firstAttempt();
      });
      client.on('error', (err) => {
        if (!logged) this.ctx.log(`${cfg.url}: ${err.message}; retrying every second`);
        logged = true;
        firstAttempt();
      });
      client.on('close', () => {
        const closed = client.stream;
        this.acks = this.acks.filter((a) => a.stream !== closed);
      });
      setTimeout(firstAttempt, 5000).unref();
    });
  }

  /** QoS 0/1 messages, and QoS 2 at PUBREL (its message was logged at PUBLISH: log the release). */
  private onMessage(packet: IPublishPacket): void {
    if (this.stopped) return;
    if (packet.qos === 2) {
      const id = packet.messageId ?? 0;
      if (this.unreleased.delete(id)) this.log.append(encodeIds(RELEASE, [id]));
      return;
    }
    this.log.append(encodeMessage(packet, BigInt(Date.now()) * 1000n));
    if (packet.qos === 0 && this.overBacklog() && !this.streamPaused && this.client) {
      this.streamPaused = true;
      this.client.stream.pause();
    }
  }

  /** mqtt.js's store of incoming QoS 2 messages between PUBLISH and PUBREL, kept in the WAL. */
  private incomingStore(): NonNullable<IClientOptions['incomingStore']> {
    const store = {
      put: (packet: Packet, cb: (err?: Error) => void) => {
        const p = packet as IPublishPacket;
        const id = p.messageId ?? 0;
        if (this.unreleased.has(id)) {
          this.redeliveries++;
        } else if (!this.stopped) {
          this.log.append(encodeMessage(p, BigInt(Date.now()) * 1000n));
          this.unreleased.add(id);
        }
        cb();
        return store;
      },
      get: (packet: Pick<Packet, 'messageId'>, cb: (err?: Error, packet?: Packet) => void) => {
        const id = packet.messageId ?? 0;
        if (this.unreleased.has(id)) cb(undefined, { cmd: 'publish', qos: 2, messageId: id, topic: '', payload: Buffer.alloc(0), dup: false, retain: false });
        else cb(new Error(`no unreleased QoS 2 message ${id}`));
        return store;
      },
      del: (_packet: Pick<Packet, 'messageId'>, cb: (err?: Error) => void) => {
        cb();
        return store;
      },
      createStream: () => Readable.from([]),
      close: (cb: () => void) => cb(),
    };
    return store as unknown as NonNullable<IClientOptions['incomingStore']>;
  }

  /** Holds PUBACK / PUBREC / PUBCOMP until the WAL holds what they acknowledge. */
  private wrapSend(client: MqttClient): void {
    const c = client as unknown as { _sendPacket: SendPacket };
    const raw = c._sendPacket.bind(client);
    this.sendRaw = raw;
    c._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (!ACKS.has(packet.cmd)) return raw(packet, cb, cbStorePut, noStore);
      const end = this.log.end;
      this.acks.push({ end, readyAt: Date.now() + this.ackDelayMs, packet, stream: client.stream });
      cb?.();
      void this.log.durable(end).then(
        () => (this.ackDelayMs ? setTimeout(() => this.sendAcks(), this.ackDelayMs) : this.sendAcks()),
        (e: unknown) => this.ctx.log(`write-ahead log failed: ${String(e)}`),
      );
    };
  }

  private overBacklog(): boolean {
    return this.log.backlog.records >= this.config.maxBacklog;
  }

  /** Sends the held acknowledgements the WAL covers, in order, unless the backlog is too big. */
  private sendAcks(): void {
    const client = this.client;
    if (!client || !this.sendRaw) return;
    const durable = this.log.durableEnd;
    const now = Date.now();
    while (this.acks.length && this.acks[0]!.end <= durable && this.acks[0]!.readyAt <= now && !this.overBacklog()) {
      const a = this.acks.shift()!;
      if (a.stream === client.stream && client.connected) this.sendRaw(a.packet);
    }
  }

  private releaseBackpressure(): void {
    if (this.overBacklog()) return;
    if (this.streamPaused) {
      this.streamPaused = false;
      this.client?.stream.resume();
    }
    this.sendAcks();
  }

  /** Decodes logged messages (control records are skipped) into one batch in schema order. */
  private decode(records: readonly WalRecord[], report: boolean): Batch[] {
    const { layout, manyPerMessage } = this.config;
    const payloads: Batch[] = [];
    const meta: Record<MqttMetadataKind, Value[]> = { _topic: [], _qos: [], _retained: [], _received_at: [] };
    for (const r of records) {
      if (r.payload[0] !== MESSAGE) continue;
      const m = decodeMessage(r);
      const text = m.payload.toString('utf8');
      const recs = manyPerMessage ? splitLines(text) : [text];
      const at = `${m.topic}@${m.offset}`;
      const { batch, deadLetters } = this.decoder.decode(recs, (i) => (manyPerMessage ? `${at}:${i + 1}` : at));
      if (report) for (const d of deadLetters) this.ctx.deadLetter(d);
      if (batch.length === 0) continue;
      payloads.push(batch);
      for (let i = 0; i < batch.length; i++) {
        meta._topic.push(m.topic);
        meta._qos.push(m.qos);
        meta._retained.push(m.retain);
        meta._received_at.push(m.receivedAt);
      }
    }
    if (!payloads.length) return [];
    const payload = concatBatches(layout.payload.map((f) => f.type), payloads);
    const columns: Column[] = new Array<Column>(this.ctx.schema.length);
    layout.payloadIndex.forEach((schemaIdx, j) => (columns[schemaIdx] = payload.columns[j]!));
    for (const { kind, index } of layout.metadata) columns[index] = columnFromValues(this.ctx.schema[index]!.type, meta[kind]);
    return [{ columns, length: payload.length, weights: null }];
  }
}

/** The SourceFactory of `connector = 'mqtt'`. */
export const createMqttSource: SourceFactory = (ctx) => new MqttSource(ctx);
