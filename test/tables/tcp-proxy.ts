/**
 * A TCP proxy the PostgreSQL tests put between sluice and the server, so a test can make the
 * server unreachable (stop: the port refuses connections and open ones break) or silent (it
 * accepts connections and never answers), and bring it back on the same port.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A stoppable, restartable TCP forwarder on 127.0.0.1. */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** The listening port; fixed after the first start. */
  port = 0;
  /** While set, connections are accepted and what they send is swallowed, unanswered. */
  silent = false;
  /** Connections accepted while silent. */
  silentConnections = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  /** Starts listening (on the same port as before after a stop). */
  async start(): Promise<void> {
    const server = createServer((client) => {
      if (this.silent) {
        this.silentConnections++;
        this.sockets.add(client.resume());
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => undefined);
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      client.on('close', () => this.sockets.delete(client));
      upstream.on('close', () => this.sockets.delete(upstream));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** Stops listening and breaks every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get running(): boolean {
    return this.server !== null;
  }
}
