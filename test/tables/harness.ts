/**
 * Shared pieces of the table-connector tests: engines and temporary directories cleaned up
 * after each test, polling until a condition holds, and view contents in a comparable form.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Change } from '../../src/exec/runtime/engine.js';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { canonical, canonicalRows } from '../helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Runs `f` after the current test, last registered first. */
export function onCleanup(f: () => Promise<unknown> | unknown): void {
  cleanups.push(f);
}

/** An engine that runs epochs only on FLUSH, closed after the test. */
export async function testEngine(): Promise<Engine> {
  const e = await createEngine({ autoStart: false, log: () => undefined, allowPaths: [tmpdir()] });
  onCleanup(() => e.close());
  return e;
}

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-tables-'));
  onCleanup(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Polls `f` every 25 ms until it holds; fails after `ms` with `what`. */
export async function until(what: string, f: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A view's rows, canonical and sorted. */
export async function viewRows(e: Engine, view: string): Promise<string[]> {
  return canonicalRows(await e.viewRows(view));
}

/** FLUSHes until the view holds exactly `expected` (canonical rows), e.g. after a table refresh. */
export async function flushUntil(e: Engine, view: string, expected: string[], ms = 10_000): Promise<void> {
  let last: string[] = [];
  await until(`${view} to become ${JSON.stringify(expected)}`, async () => {
    await e.execute('FLUSH');
    last = await viewRows(e, view);
    return JSON.stringify(last) === JSON.stringify([...expected].sort());
  }, ms).catch(() => {
    throw new Error(`${view} did not become ${JSON.stringify(expected)}; it is ${JSON.stringify(last)}`);
  });
}

/** Records a view's changes as '+row' / '-row' strings. */
export function recordChanges(e: Engine, view: string): string[] {
  const seen: string[] = [];
  const stop = e.subscribe(view, (changes: Change[]) => {
    for (const c of changes) seen.push(`${c.weight > 0 ? '+' : '-'}${c.row.map(canonical).join(' | ')}`);
  });
  onCleanup(stop);
  return seen;
}

/** The rows of a one-statement query. */
export async function queryRows(e: Engine, sql: string): Promise<string[]> {
  const [r] = await e.execute(sql);
  if (!r || r.kind !== 'rows') throw new Error(`${sql} returned no rows`);
  // Text stays quoted (canonical() reads digit strings as the NUMERIC text they may be).
  return r.rows.map((row) => row.map((v, i) => (r.columns[i]?.type === 'varchar' && typeof v === 'string' ? JSON.stringify(v) : canonical(v))).join(' | ')).sort();
}
