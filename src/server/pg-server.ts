/**
 * The PostgreSQL wire protocol (v3) server of the engine: psql, JDBC, node-postgres and other
 * PostgreSQL clients connect to sluice as to a PostgreSQL 15 server.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { SluiceError } from '../common/errors.js';
import { PgSession, type PgEngine, type SessionContext } from './pg-session.js';
import { limitParameters, pgParameter } from './pg-parameters.js';
import { scramVerifier } from './scram.js';
import { PgServerError } from './server-error.js';
import { InFlightBudget } from './message-reader.js';

export type { PgEngine } from './pg-session.js';

/** Options of {@link startPgServer}. */
export interface PgServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port to listen on (default 6875; 0 picks a free one). */
  readonly port?: number;
  /** When set, clients authenticate with this password over SCRAM-SHA-256; otherwise trust. */
  readonly password?: string;
  /** PEM certificate chain and private key: clients that ask for SSL (sslmode=require) get TLS. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Largest frontend message accepted (default 64 MiB); a larger one ends its connection. */
  readonly maxMessageBytes?: number;
  /**
   * Bytes of large messages in flight across all connections (default 256 MiB); a message that
   * would pass it ends its connection with 53200.
   */
  readonly maxInFlightBytes?: number;
  /** Time a connection gets to complete startup and authentication (default 10 s). */
  readonly startupTimeoutMs?: number;
  /** Most client sessions at once (default 100); the next one gets 53300 too_many_connections. */
  readonly maxConnections?: number;
  /**
   * Without a password only loopback clients are admitted; `insecure` admits any address
   * (trust authentication across a network: only for isolated test networks).
   */
  readonly insecure?: boolean;
  /** Most changes a SUBSCRIBE may have waiting for a slow client before it is dropped (default 100 000). */
  readonly subscribeQueueRows?: number;
  /** How often a running statement's progress (backfill, table load) is sent as a NOTICE, and after how long the first (default 2 s). */
  readonly progressNoticeMs?: number;
  /** Where connection-level failures are reported (default stderr). */
  readonly log?: (message: string) => void;
}

/** A running server. */
export interface PgServer {
  /** The port listened on (the one picked when 0 was asked for). */
  readonly port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** The server_version reported to clients: a PostgreSQL 15 dialect, spoken by sluice. */
export const SERVER_VERSION = '15.0 (sluice)';

/** Starts a PostgreSQL wire protocol server for the engine; resolves once it listens. */
export async function startPgServer(engine: PgEngine, opts: PgServerOptions = {}): Promise<PgServer> {
  const sessions = new Map<number, PgSession>();
  /** Sessions past their startup packet: what max_connections counts (not cancel requests). */
  const admitted = new Set<PgSession>();
  const maxConnections = opts.maxConnections ?? 100;
  const maxMessageBytes = opts.maxMessageBytes ?? 64 * 1024 * 1024;
  const maxInFlightBytes = opts.maxInFlightBytes ?? 256 * 1024 * 1024;
  const startupTimeoutMs = opts.startupTimeoutMs ?? 10_000;
  // Through the engine, not in front of it: a parameter a client SET shows its new value. The
  // limits are answered first (SET cannot change them).
  const limits = limitParameters({ maxConnections, maxMessageBytes, maxInFlightBytes, startupTimeoutMs });
  engine.setParameterSource?.((name) => (Object.hasOwn(limits, name) ? limits[name] : pgParameter(name)));
  let nextPid = 1 + (randomBytes(2).readUInt16BE(0) << 4);
  const ctx: SessionContext = {
    engine,
    verifier: opts.password !== undefined ? scramVerifier(opts.password) : null,
    serverVersion: SERVER_VERSION,
    maxMessageBytes,
    inFlight: new InFlightBudget(maxInFlightBytes),
    tls: opts.tls ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }) : null,
    startupTimeoutMs,
    subscribeQueueRows: opts.subscribeQueueRows ?? 100_000,
    progressNoticeMs: opts.progressNoticeMs ?? 2000,
    log: opts.log ?? ((m) => process.stderr.write(`sluice: pg server: ${m}\n`)),
    register(session) {
      const pid = nextPid++ & 0x7fffffff;
      sessions.set(pid, session);
      return { pid, secret: randomBytes(4).readInt32BE(0) };
    },
    unregister(session) {
      if (sessions.get(session.pid) === session) sessions.delete(session.pid);
      admitted.delete(session);
    },
    admit(session, remoteAddress) {
      if (opts.password === undefined && !opts.insecure && !isLoopback(remoteAddress)) {
        return new PgServerError('28000', `connections from ${remoteAddress ?? 'an unknown address'} need a password, and the server has none`, {
          fatal: true, category: 'connection', hint: 'Connect over loopback (127.0.0.1), or restart the server with --password.',
        });
      }
      if (admitted.size >= maxConnections) {
        return new PgServerError('53300', 'sorry, too many clients already', {
          fatal: true, category: 'too_many_connections', hint: `The server admits ${maxConnections} sessions at once (--max-connections); close idle ones.`,
        });
      }
      admitted.add(session);
      return null;
    },
    cancel(pid, secret) {
      const s = sessions.get(pid);
      if (s && s.secret === secret) s.cancel();
    },
  };
  const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
    try {
      new PgSession(socket, ctx);
    } catch (e) {
      ctx.log(`connection setup failed: ${e instanceof Error ? e.message : String(e)}`);
      socket.destroy();
    }
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(new SluiceError('connection', `cannot listen on ${host}:${opts.port ?? 6875}: ${e.message}`, { hint: e.code === 'EADDRINUSE' ? 'Another server uses that port; pick another one.' : undefined }));
    };
    server.once('error', onError);
    server.listen(opts.port ?? 6875, host, () => {
      server.off('error', onError);
      // A failing accept (e.g. too many open files) must not take the process down.
      server.on('error', (e) => ctx.log(`server error: ${e.message}`));
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : (opts.port ?? 6875));
    });
  });
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of [...sessions.values()]) s.destroy();
      });
      return closing;
    },
  };
}

/** Whether a peer address is this machine (IPv4 127/8, IPv6 ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
