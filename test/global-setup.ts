/**
 * The vitest global setup that gives the test run a Kafka broker: it starts one with
 * `scripts/kafka.sh start` on a free loopback port (the script downloads Kafka once into its
 * cache and prints its progress, shown here), hands the address to tests as `SLUICE_KAFKA_BROKERS`
 * and as `inject('kafkaBrokers')`, and stops the broker by its pid in teardown.
 *
 * With SLUICE_KAFKA_BROKERS already set, that broker is used and nothing is started. When the
 * broker cannot start, the setup fails (tests never skip) naming the broker's log files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The broker list of the Kafka broker of this run, such as '127.0.0.1:40123'. */
    kafkaBrokers: string;
  }
}

const SCRIPT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../scripts/kafka.sh');

/** Runs `scripts/kafka.sh start --dir dir`; resolves to the address it prints. */
function startBroker(dir: string): Promise<string> {
  return new Promise((done, fail) => {
    // stderr is inherited so the script's progress (and, on failure, its log tail) shows.
    const child = spawn('bash', [SCRIPT, 'start', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', fail);
    child.on('close', (code) => {
      const address = out.trim();
      if (code === 0 && /^127\.0\.0\.1:\d+$/.test(address)) done(address);
      else {
        fail(new Error(
          `the Kafka broker for the tests did not start (scripts/kafka.sh start exited with ${code}); ` +
            `its logs are ${join(dir, 'server.log')} and ${join(dir, 'broker.log')} (the lines above show their tail); ` +
            'fix the cause shown there, or point SLUICE_KAFKA_BROKERS at a running broker',
        ));
      }
    });
  });
}

function stopBroker(dir: string): void {
  spawnSync('bash', [SCRIPT, 'stop', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Starts the broker (unless SLUICE_KAFKA_BROKERS names one) and returns the teardown. */
export default async function setup(project: TestProject): Promise<() => void> {
  const external = process.env.SLUICE_KAFKA_BROKERS;
  if (external !== undefined && external.trim() !== '') {
    project.provide('kafkaBrokers', external.trim());
    return () => undefined;
  }
  const dir = join(tmpdir(), `sluice-kafka-test-${process.pid}`);
  const brokers = await startBroker(dir);
  // A run that dies without teardown (Ctrl-C) still stops its broker.
  const onExit = () => stopBroker(dir);
  process.once('exit', onExit);
  process.env.SLUICE_KAFKA_BROKERS = brokers;
  project.provide('kafkaBrokers', brokers);
  return () => {
    process.off('exit', onExit);
    delete process.env.SLUICE_KAFKA_BROKERS;
    stopBroker(dir);
  };
}
