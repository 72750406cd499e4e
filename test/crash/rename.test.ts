/**
 * ALTER … RENAME TO killed half-way: the real server kills itself (SIGKILL) at a point of the
 * rename (SLUICE_TEST_RENAME_CRASH: right after the catalog write, or after every move but
 * before the checkpoint) and is started again on the same data dir. The rename happened (the
 * catalog is its commit point), and the views' state, the source's position, the table's rows
 * and the sink's output continue exactly, read from a checkpoint taken under the old names.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tempDirEach } from '../helpers.js';
import { ServerProcess } from './server-process.js';

const dir = tempDirEach('sluice-crash-rename-');

const recs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, k: `k${(from + i) % 3}` }));

function drop(inDir: string, from: number, n: number): void {
  const name = `f${String(from).padStart(6, '0')}.json`;
  writeFileSync(join(inDir, `.${name}`), recs(from, n).map((r) => JSON.stringify(r)).join('\n') + '\n');
  renameSync(join(inDir, `.${name}`), join(inDir, name));
}

function perKey(n: number): { k: string; n: string }[] {
  const m = new Map<string, number>();
  for (const r of recs(0, n)) m.set(r.k, (m.get(r.k) ?? 0) + 1);
  return [...m].sort().map(([k, c]) => ({ k, n: String(c) }));
}

function sinkCounts(outDir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of readdirSync(outDir).filter((x) => x.startsWith('part-'))) {
    for (const line of readFileSync(join(outDir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const id = (JSON.parse(line) as { id: number }).id;
      out.set(id, (out.get(id) ?? 0) + 1);
    }
  }
  return out;
}

describe.each(['after_catalog', 'before_checkpoint'])('a rename killed at %s', (point) => {
  it('is done at restart, and every view, source, table and sink continues exactly', async () => {
    const data = dir();
    const inDir = join(data, 'in');
    const outDir = join(data, 'out');
    mkdirSync(inDir);
    let server = await ServerProcess.start(data);
    let c = await server.client();
    await c.query(`CREATE SOURCE ev (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${inDir}', format = 'json')`);
    await c.query('CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n FROM ev GROUP BY k');
    await c.query('CREATE MATERIALIZED VIEW allrows AS SELECT id, k FROM ev');
    await c.query(`CREATE SINK out FROM allrows WITH (connector = 'file', path = '${outDir}')`);
    await c.query('CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR)');
    await c.query('CREATE MATERIALIZED VIEW names AS SELECT count(*) AS n FROM users');
    let id = 0;
    let users = 0;
    let table = 'users';
    const feed = async (client: pg.Client) => {
      drop(inDir, id, 10);
      id += 10;
      users++;
      await client.query(`INSERT INTO ${table} VALUES (${users}, 'u${users}')`);
      await client.query('FLUSH');
      await client.query('FLUSH');
    };
    const check = async (client: pg.Client, names: { agg: string; all: string; users: string; names: string }) => {
      expect((await client.query(`SELECT k, n FROM ${names.agg} ORDER BY k`)).rows).toEqual(perKey(id));
      expect((await client.query(`SELECT count(*)::int AS n FROM ${names.all}`)).rows).toEqual([{ n: id }]);
      expect((await client.query(`SELECT count(*)::int AS n FROM ${names.users}`)).rows).toEqual([{ n: users }]);
      expect((await client.query(`SELECT n::int AS n FROM ${names.names}`)).rows).toEqual([{ n: users }]);
    };
    await feed(c);
    await feed(c);
    await c.end();

    const renames = [
      { sql: 'ALTER SOURCE ev RENAME TO events', names: { agg: 'agg', all: 'allrows', users: 'users', names: 'names' } },
      { sql: 'ALTER MATERIALIZED VIEW agg RENAME TO per_key', names: { agg: 'per_key', all: 'allrows', users: 'users', names: 'names' } },
      { sql: 'ALTER TABLE users RENAME TO customers', names: { agg: 'per_key', all: 'allrows', users: 'customers', names: 'names' } },
      { sql: 'ALTER MATERIALIZED VIEW allrows RENAME TO everything', names: { agg: 'per_key', all: 'everything', users: 'customers', names: 'names' } },
      { sql: 'ALTER SINK out RENAME TO out_file', names: { agg: 'per_key', all: 'everything', users: 'customers', names: 'names' } },
    ];
    for (const r of renames) {
      await server.stop();
      process.env.SLUICE_TEST_RENAME_CRASH = point;
      try {
        server = await ServerProcess.start(data);
      } finally {
        delete process.env.SLUICE_TEST_RENAME_CRASH;
      }
      c = await server.client();
      await feed(c);
      await expect(c.query(r.sql)).rejects.toThrow();
      await server.kill();
      server = await ServerProcess.start(data);
      c = await server.client();
      await check(c, r.names);
      table = r.names.users;
      await feed(c);
      await check(c, r.names);
      await c.end();
      expect(server.stderr.join('')).not.toMatch(/recomputed|changed its definition|does not fit|cannot re-read/);
    }
    c = await server.client();
    expect((await c.query('SHOW CREATE MATERIALIZED VIEW per_key')).rows[0].create_sql).toBe('CREATE MATERIALIZED VIEW per_key AS SELECT k, count(*) AS n FROM events GROUP BY k');
    expect((await c.query('SHOW CREATE SINK out_file')).rows[0].create_sql).toBe(`CREATE SINK out_file FROM everything WITH (connector = 'file', path = '${outDir}')`);
    await c.end();
    await server.stop();
    const counts = sinkCounts(outDir);
    expect(counts.size).toBe(id);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  }, 240_000);
});
