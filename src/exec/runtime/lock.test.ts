import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReadWriteGate, Semaphore } from './lock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Semaphore', () => {
  it('admits at most its permits, in order, and lets an aborted waiter go', async () => {
    const s = new Semaphore(1);
    const order: string[] = [];
    let release!: () => void;
    const first = s.run(() => new Promise<void>((r) => (release = r)).then(() => order.push('a')));
    const ac = new AbortController();
    const aborted = s.run(async () => order.push('never'), ac.signal).catch((e: unknown) => order.push(String(e)));
    const second = s.run(async () => order.push('b'));
    ac.abort('cancelled');
    await aborted;
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['cancelled', 'a', 'b']);
  });
});

describe('ReadWriteGate', () => {
  it('lets reads through at once while no write is active', async () => {
    const g = new ReadWriteGate(2, 2, 5, 20);
    const t0 = performance.now();
    await Promise.all([g.read(async () => 1), g.read(async () => 2), g.read(async () => 3)]);
    expect(performance.now() - t0).toBeLessThan(15);
  });

  it('holds reads while writes are active: one per two writes, and none longer than maxHold', async () => {
    const g = new ReadWriteGate(2, 2, 5, 30);
    const done: string[] = [];
    const write = (name: string) => g.write(async () => {
      await sleep(1);
      done.push(name);
    });
    await write('w0');
    const reads = [g.read(async () => done.push('r1')), g.read(async () => done.push('r2'))];
    await write('w1');
    await sleep(0);
    expect(done).toEqual(['w0', 'w1']);
    await write('w2');
    await sleep(0);
    expect(done).toEqual(['w0', 'w1', 'w2', 'r1']);
    // No more writes: the remaining read goes after at most maxHold.
    const t0 = performance.now();
    await Promise.all(reads);
    expect(done).toEqual(['w0', 'w1', 'w2', 'r1', 'r2']);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('does not let a held read end the process early (engine without a timer: INSERT, then SELECT)', () => {
    const engine = join(import.meta.dirname, 'engine.ts');
    const code = `
      const { createEngine } = await import(${JSON.stringify(engine)});
      const e = await createEngine({ autoStart: false, log: () => undefined });
      await e.execute('CREATE TABLE t (a INT); INSERT INTO t VALUES (42)');
      const [r] = await e.execute('SELECT a FROM t');
      console.log(JSON.stringify(r.rows));
      await e.close();
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(out).toBe('[[42]]\n');
  });
});
