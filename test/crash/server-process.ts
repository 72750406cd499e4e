/**
 * The real server as a child process, for crash tests: `sluice serve` on a free port over a
 * data dir, SIGKILLed at will and started again on the same data dir. Clients reconnect to the
 * port each start prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const BIN = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../bin/sluice');

export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** Everything the process wrote to stderr (recovery messages, errors). */
    readonly stderr: string[],
    /** The web UI's port. */
    readonly httpPort: number,
  ) {}

  /** Starts `sluice serve --port 0 --data-dir dir` and waits until it listens (or fails with its stderr). */
  static start(dataDir: string, extra: readonly string[] = []): Promise<ServerProcess> {
    const child = spawn(BIN, ['serve', '--port', '0', '--http-port', '0', '--data-dir', dataDir, ...extra], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLUICE_NODE: process.execPath } });
    const stderr: string[] = [];
    return new Promise((done, fail) => {
      let out = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`sluice serve did not start within 60 s; stderr:\n${stderr.join('')}`));
      }, 60_000);
      child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
      child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /listening on postgres:\/\/[^:]+:(\d+)\//.exec(out);
        const h = /web UI on http:\/\/[^:]+:(\d+)\//.exec(out);
        if (m && h) {
          clearTimeout(timer);
          done(new ServerProcess(child, Number(m[1]), stderr, Number(h[1])));
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`sluice serve exited (${code ?? signal}) before listening; stderr:\n${stderr.join('')}`));
      });
    });
  }

  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** SIGTERM (a clean stop), and wait until the process is gone. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((done) => {
      this.child.once('exit', () => done());
      this.child.kill(sig);
    });
  }

  /** A connected pg client. */
  async client(): Promise<pg.Client> {
    const c = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'sluice', database: 'sluice' });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }
}
