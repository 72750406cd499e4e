/**
 * The Kafka broker a benchmark runs against: SLUICE_KAFKA_BROKERS when set, else one started with
 * scripts/kafka.sh in a temp dir (stopped by the returned `stop`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The broker to use, and how to stop it when this run started it. */
export async function broker(name: string): Promise<{ brokers: string[]; stop: () => void }> {
  const given = process.env.SLUICE_KAFKA_BROKERS?.trim();
  if (given) return { brokers: given.split(','), stop: () => undefined };
  const script = new URL('../scripts/kafka.sh', import.meta.url).pathname;
  const dir = join(tmpdir(), `sluice-kafka-${name}-${process.pid}`);
  const address = await new Promise<string>((done, fail) => {
    const child = spawn('bash', [script, 'start', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('close', (code) => (code === 0 ? done(out.trim()) : fail(new Error(`scripts/kafka.sh start exited with ${code}; see ${dir}/server.log`))));
  });
  return { brokers: [address], stop: () => spawnSync('bash', [script, 'stop', '--dir', dir], { stdio: 'inherit' }) };
}
