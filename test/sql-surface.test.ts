/**
 * docs/sql-surface.md's table of what is not supported is executable: every example runs over
 * the documented tables and must fail with the documented SQLSTATE and a message starting with
 * the documented text (never XX000). A construct that starts working, or fails differently,
 * fails here until the table is updated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';

interface Row {
  readonly construct: string;
  readonly example: string;
  readonly sqlstate: string;
  readonly message: string;
}

/** The rows between the unsupported:start/end markers: each cell's text inside backticks. */
function unsupportedRows(): Row[] {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'sql-surface.md'), 'utf8');
  const body = /<!-- unsupported:start -->([\s\S]*?)<!-- unsupported:end -->/.exec(doc)?.[1];
  if (!body) throw new Error('docs/sql-surface.md lacks the unsupported:start/end markers');
  const rows: Row[] = [];
  for (const line of body.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| Construct') || line.startsWith('|---')) continue;
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    const code = (c: string) => /^`(.*)`$/.exec(c)?.[1] ?? c;
    if (cells.length !== 4) throw new Error(`a row of the table has ${cells.length} cells: ${line}`);
    rows.push({ construct: cells[0]!, example: code(cells[1]!), sqlstate: code(cells[2]!), message: code(cells[3]!) });
  }
  return rows;
}

const rows = unsupportedRows();

describe('docs/sql-surface.md: what is not supported fails as documented', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ autoStart: false, log: () => undefined });
    await engine.execute('CREATE TABLE t (k INT PRIMARY KEY, v INT, s VARCHAR, ts TIMESTAMP, j JSONB, a INT[], b BYTEA); CREATE TABLE u (k INT, w INT)');
  });
  afterAll(() => engine.close());

  it('TRUNCATE empties a table, and the views over it see every row go', async () => {
    await engine.execute("CREATE TABLE tr (k INT, w INT); INSERT INTO tr VALUES (1, 2), (3, 4); CREATE MATERIALIZED VIEW trc AS SELECT count(*) AS n, sum(w) AS s FROM tr; FLUSH");
    expect(await engine.viewRows('trc')).toEqual([[2n, 6n]]);
    const [r] = await engine.execute('TRUNCATE TABLE tr RESTART IDENTITY');
    expect(r).toMatchObject({ tag: 'TRUNCATE TABLE' });
    await engine.execute('FLUSH');
    expect(await engine.viewRows('trc')).toEqual([[0n, null]]);
    const [left] = await engine.execute('SELECT count(*) FROM tr');
    expect(left).toMatchObject({ rows: [[0n]] });
  });

  it('lists a few dozen constructs', () => {
    expect(rows.length).toBeGreaterThan(30);
  });

  it.each(rows.map((r) => [r.construct, r] as const))('%s', async (_name, r) => {
    const err = await engine.execute(r.example).then(
      () => null,
      (e: { sqlstate?: string; message?: string }) => e,
    );
    expect(err, `${r.example} succeeded`).not.toBeNull();
    expect({ sqlstate: err!.sqlstate, message: err!.message?.slice(0, r.message.length) }).toEqual({ sqlstate: r.sqlstate, message: r.message });
  });
});
