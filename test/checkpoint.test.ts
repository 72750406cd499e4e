/**
 * Checkpoints and recovery in process: an engine over a data dir is closed (or its files are
 * damaged) and opened again on the same dir; views, sources and sinks must continue exactly.
 * (The SIGKILL tests of the real server are in test/crash/.)
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/exec/runtime/engine.js';
import { tempDirEach } from './helpers.js';

const dir = tempDirEach('sluice-ckpt-');

async function rows(e: Engine, sql: string): Promise<string[]> {
  const [r] = await e.execute(sql);
  if (r?.kind !== 'rows') throw new Error(`${sql} returned no rows`);
  return r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))).join('|'));
}

function open(data: string, logs: string[] = []): Promise<Engine> {
  return createEngine({ dataDir: data, autoStart: false, log: (m) => logs.push(m) });
}

/** Writes a JSON-lines file into the watched directory atomically. */
function drop(inDir: string, name: string, recs: readonly { id: number; k: string }[]): void {
  const tmp = join(inDir, `.${name}`);
  writeFileSync(tmp, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  renameSync(tmp, join(inDir, name));
}

const recs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, k: `k${(from + i) % 3}` }));

/** Sets up a file source, a view, an append-only view with a file sink, and a table with a view. */
async function setup(e: Engine, data: string): Promise<void> {
  mkdirSync(join(data, 'in'), { recursive: true });
  await e.execute(`CREATE SOURCE ev (id BIGINT, k VARCHAR) WITH (connector = 'file', path = '${join(data, 'in')}', format = 'json');
    CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(id) AS s FROM ev GROUP BY k;
    CREATE MATERIALIZED VIEW allrows AS SELECT id, k FROM ev;
    CREATE SINK out FROM allrows WITH (connector = 'file', path = '${join(data, 'out')}');
    CREATE TABLE t (id INT, k VARCHAR);
    CREATE MATERIALIZED VIEW tv AS SELECT k, count(*) AS n FROM t GROUP BY k;`);
}

/** Sink rows by id with their count, across all part files. */
function sinkCounts(data: string): Map<number, number> {
  const out = new Map<number, number>();
  let files: string[] = [];
  try {
    files = readdirSync(join(data, 'out')).filter((f) => f.startsWith('part-'));
  } catch {
    return out;
  }
  for (const f of files) {
    for (const line of readFileSync(join(data, 'out', f), 'utf8').split('\n')) {
      if (line) {
        const id = (JSON.parse(line) as { id: number }).id;
        out.set(id, (out.get(id) ?? 0) + 1);
      }
    }
  }
  return out;
}

/** Epochs that feed two files each (the source needs two listings to trust a file) and a few INSERTs. */
async function feed(e: Engine, data: string, from: number, epochs: number): Promise<number> {
  let id = from;
  for (let i = 0; i < epochs; i++) {
    drop(join(data, 'in'), `f${String(id).padStart(6, '0')}.json`, recs(id, 10));
    id += 10;
    await e.execute(`INSERT INTO t VALUES (${id}, 'k${id % 3}'); FLUSH; FLUSH;`);
  }
  return id;
}

async function expectConsistent(e: Engine, data: string, produced: number): Promise<void> {
  const n = await rows(e, 'SELECT sum(n) FROM agg');
  expect(n).toEqual([String(produced)]);
  const agg = await rows(e, 'SELECT k, n, s FROM agg ORDER BY k');
  const oracle = new Map<string, { n: number; s: number }>();
  for (const r of recs(0, produced)) {
    const o = oracle.get(r.k) ?? { n: 0, s: 0 };
    o.n++;
    o.s += r.id;
    oracle.set(r.k, o);
  }
  expect(agg).toEqual([...oracle].sort().map(([k, o]) => `${k}|${o.n}|${o.s}`));
  const counts = sinkCounts(data);
  expect(counts.size).toBe(produced);
  expect([...counts.values()].every((c) => c === 1)).toBe(true);
  expect(await rows(e, 'SELECT k, n FROM tv ORDER BY k')).toEqual(await rows(e, 'SELECT k, count(*) FROM t GROUP BY k ORDER BY k'));
}

describe('checkpoints', () => {
  it('a restart continues every view, source position and sink exactly', async () => {
    const data = dir();
    let e = await open(data);
    await setup(e, data);
    let id = await feed(e, data, 0, 3);
    // As a crash leaves it: no final state write.
    await e.close({ checkpoint: false });
    e = await open(data);
    id = await feed(e, data, id, 2);
    await expectConsistent(e, data, id);
    expect((await rows(e, 'SHOW CHECKPOINTS')).length).toBeGreaterThan(0);
    await e.close();
  });

  it("with checkpoint_interval = '4 epochs', the epochs after the last state are replayed from the offsets log", async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    await setup(e, data);
    await e.execute("SET checkpoint_interval = '4 epochs'");
    expect(await rows(e, 'SHOW checkpoint_interval')).toEqual(['4 epochs']);
    let id = await feed(e, data, 0, 3);
    // As a crash leaves it: no final state write.
    await e.close({ checkpoint: false });
    e = await open(data, logs);
    expect(logs.some((l) => /replayed epochs \d+–\d+/.test(l))).toBe(true);
    id = await feed(e, data, id, 2);
    await expectConsistent(e, data, id);
    await e.close();
  });

  it("replayed epochs round a source's NUMERIC(p, s) columns as the live epochs did", async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    mkdirSync(join(data, 'in'), { recursive: true });
    await e.execute(`CREATE SOURCE m (id BIGINT, x NUMERIC(6, 1)) WITH (connector = 'file', path = '${join(data, 'in')}', format = 'json');
      CREATE MATERIALIZED VIEW total AS SELECT count(*) AS n, sum(x) AS s FROM m`);
    await e.execute("SET checkpoint_interval = '100 epochs'");
    // 0.26 is stored as 0.3 and 0.36 as 0.4: the sum of the rounded values is 2.1, of the raw ones 1.86.
    for (let f = 0; f < 3; f++) {
      const tmp = join(data, 'in', `.f${f}.json`);
      writeFileSync(tmp, `{"id": ${2 * f}, "x": 0.26}\n{"id": ${2 * f + 1}, "x": 0.36}\n`);
      renameSync(tmp, join(data, 'in', `f${f}.json`));
      await e.execute('FLUSH; FLUSH');
    }
    const live = await rows(e, 'SELECT n, s FROM total');
    expect(live).toEqual(['6|2.1']);
    const lastRead = Math.max(...e.metrics().filter((m) => (m.rowsIn.m ?? 0) > 0).map((m) => m.epoch));
    // As a crash leaves it: no final state write, so the epochs are replayed from the offsets log.
    await e.close({ checkpoint: false });
    e = await open(data, logs);
    expect(logs.some((l) => /replayed epochs \d+–\d+/.test(l))).toBe(true);
    expect(await rows(e, 'SELECT n, s FROM total')).toEqual(live);
    // REPLAY EPOCH shows the last file's epoch as it ran: the sum of the rounded values.
    const [replayed] = await e.execute(`REPLAY EPOCH ${lastRead}`);
    if (replayed?.kind !== 'rows') throw new Error('REPLAY returned no rows');
    expect(replayed.rows.filter((r) => r[0] === 'total').map((r) => `${String(r[1])} ${String(r[2])}`)).toEqual(['-1 ["4","1.4"]', '1 ["6","2.1"]']);
    await e.close();
  });

  it("checkpoint_interval = 'auto' (the default) spaces state writes by what the last one took, and replays the rest", async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    await setup(e, data);
    expect(await rows(e, 'SHOW checkpoint_interval')).toEqual(['auto']);
    // As if the last state write (the one after the DDL) had taken an hour: no epoch for the
    // next ten hours writes state; each commits its offsets only.
    (e as unknown as { state: { lastStateWrite: { atMs: number; ms: number; workSinceMs: number } } }).state.lastStateWrite = { atMs: Date.now(), ms: 3_600_000, workSinceMs: 0 };
    let id = await feed(e, data, 0, 3);
    const shown = await rows(e, 'SHOW CHECKPOINTS');
    // As a crash leaves it: no final state write.
    await e.close({ checkpoint: false });
    e = await open(data, logs);
    expect(logs.some((l) => /replayed epochs \d+–\d+/.test(l)), `${shown.join('\n')}\n${logs.join('\n')}`).toBe(true);
    id = await feed(e, data, id, 2);
    await expectConsistent(e, data, id);
    await e.execute("SET checkpoint_interval = '1 epoch'");
    expect(await rows(e, 'SHOW checkpoint_interval')).toEqual(['1 epochs']);
    await e.execute("SET checkpoint_interval = 'AUTO'");
    expect(await rows(e, 'SHOW checkpoint_interval')).toEqual(['auto']);
    await expect(e.execute("SET checkpoint_interval = 'often'")).rejects.toThrow(/must be 'auto', a number of epochs/);
    await e.close();
  });

  it('a damaged newest state file falls back to the one before, loudly, and replays to the same result', async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    await setup(e, data);
    // State in every epoch, so the checkpoint before the newest has a state file of its own.
    await e.execute("SET checkpoint_interval = '1 epoch'");
    let id = await feed(e, data, 0, 3);
    await e.close();
    const views = join(data, 'checkpoints', 'views');
    const newest = readdirSync(views).filter((f) => f.startsWith('agg-')).sort((a, b) => Number(/-(\d+)\.bin$/.exec(b)![1]) - Number(/-(\d+)\.bin$/.exec(a)![1]))[0]!;
    const bytes = readFileSync(join(views, newest));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    writeFileSync(join(views, newest), bytes);
    e = await open(data, logs);
    expect(logs.some((l) => l.includes('RECOVERY') && l.includes('damaged') && l.includes(newest))).toBe(true);
    id = await feed(e, data, id, 1);
    await expectConsistent(e, data, id);
    await e.close();
  });

  it('every kept checkpoint damaged: a clear error naming the file, no start', async () => {
    const data = dir();
    const e = await open(data);
    await setup(e, data);
    await feed(e, data, 0, 2);
    await e.close();
    const views = join(data, 'checkpoints', 'views');
    for (const f of readdirSync(views)) truncateSync(join(views, f), 10);
    await expect(open(data)).rejects.toThrow(/no usable checkpoint in .*checkpoints: checkpoint file .*\.bin is damaged/);
  });

  it('a torn tail of the offsets log is cut off; a missing committed epoch in it is a clear error', async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    await setup(e, data);
    let id = await feed(e, data, 0, 2);
    await e.close();
    appendFileSync(join(data, 'checkpoints', 'offsets.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    e = await open(data, logs);
    expect(logs.some((l) => /cut a torn tail of 7 bytes/.test(l))).toBe(true);
    id = await feed(e, data, id, 1);
    await expectConsistent(e, data, id);
    await e.execute("SET checkpoint_interval = '100 epochs'");
    await feed(e, data, id, 1);
    // As a crash leaves it: no final state write.
    await e.close({ checkpoint: false });
    writeFileSync(join(data, 'checkpoints', 'offsets.log'), '');
    await expect(open(data)).rejects.toThrow(/offsets log .* lacks committed epoch \d+/);
  });

  it('a source whose logged input is gone fails recovery with the range in the error', async () => {
    const data = dir();
    const e = await open(data);
    await setup(e, data);
    await e.execute("SET checkpoint_interval = '100 epochs'");
    await feed(e, data, 0, 2);
    // As a crash leaves it: no final state write.
    await e.close({ checkpoint: false });
    renameSync(join(data, 'in', 'f000000.json'), join(data, 'f000000.json'));
    await expect(open(data)).rejects.toThrow(/recovery cannot re-read epoch \d+ of source ev \(range \{"files":\["f000000.json"\]\}\)/);
  });

  it('REPLAY EPOCH n re-runs a committed epoch and shows exactly the changes the live run made', async () => {
    const data = dir();
    const e = await open(data);
    await setup(e, data);
    await e.execute("SET checkpoint_interval = '3 epochs'");
    const live = new Map<number, string[]>();
    const j = (row: unknown[]) => JSON.stringify(row, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    for (const view of ['agg', 'allrows', 'tv']) {
      e.subscribe(view, (changes) => {
        for (const c of changes) {
          const list = live.get(c.epoch) ?? [];
          list.push(`${view}|${c.weight}|${j(c.row)}`);
          live.set(c.epoch, list);
        }
      });
    }
    await feed(e, data, 0, 4);
    const epochs = [...live.keys()].sort((a, b) => a - b);
    expect(epochs.length).toBeGreaterThan(3);
    for (const n of epochs.slice(-3)) {
      const [r] = await e.execute(`REPLAY EPOCH ${n}`);
      if (r?.kind !== 'rows') throw new Error('REPLAY returned no rows');
      const changes = r.rows.filter((row) => !String(row[0]).startsWith('(input')).map((row) => `${row[0]}|${row[1]}|${row[2]}`);
      expect(changes.sort()).toEqual([...live.get(n)!].sort());
    }
    await expect(e.execute('REPLAY EPOCH 100000')).rejects.toThrow(/epoch 100000 has not been committed yet/);
    await e.close();
    // The same from the command line, on the closed data dir.
    const n = epochs.at(-1)!;
    const out = execFileSync(process.execPath, [resolve('bin/sluice.js'), 'replay', '--data-dir', data, '--epoch', String(n), '--format', 'json'], { encoding: 'utf8' });
    const printed = out.trim().split('\n').map((l) => JSON.parse(l) as { view: string; weight: number; row: string }).filter((r) => !r.view.startsWith('(input')).map((r) => `${r.view}|${r.weight}|${r.row}`);
    expect(printed.sort()).toEqual([...live.get(n)!].sort());
  });

  it('incremental: a big view writes only its changed keys, restarts from the chain, and a damaged delta falls back loudly', async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    await e.execute("SET checkpoint_interval = '1 epoch'; SHOW checkpoint_full_interval");
    expect(await rows(e, 'SHOW checkpoint_full_interval')).toEqual(['8']);
    await e.execute(`CREATE TABLE t (k INT, v INT);
      CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(v) AS s, max(v) AS hi FROM t GROUP BY k;
      CREATE MATERIALIZED VIEW big AS SELECT k, v FROM t WHERE v % 2 = 0;`);
    const values = (from: number, n: number, keys: number) => Array.from({ length: n }, (_, i) => `(${(from + i) % keys}, ${from + i})`).join(', ');
    await e.execute(`INSERT INTO t VALUES ${values(0, 20_000, 10_000)}; FLUSH;`);
    const views = join(data, 'checkpoints', 'views');
    const sizes = () => new Map(readdirSync(views).map((f) => [f, statSync(join(views, f)).size]));
    // A few keys change per epoch: each changed row, a deleted key, a row gone from `big`. (The
    // first such epoch may still write a view whole: the load's epoch may have been a delta of
    // the empty view's file already, and a chain whose deltas outweigh its full file starts over.)
    const small = (i: number) => e.execute(`INSERT INTO t VALUES ${values(30_000 + i * 10, 10, 50)}; DELETE FROM t WHERE k = ${100 + i}; FLUSH;`);
    await small(0);
    const before = sizes();
    for (let i = 1; i <= 3; i++) await small(i);
    const shown = await rows(e, 'SELECT views_written, views_as_delta, bytes FROM sluice.checkpoints ORDER BY id DESC LIMIT 3');
    expect(shown.map((r) => r.split('|').slice(0, 2).join('|'))).toEqual(['2|2', '2|2', '2|2']);
    const newFiles = [...sizes()].filter(([f]) => !before.has(f));
    const fullAgg = Math.max(...[...before].filter(([f]) => f.startsWith('agg-')).map(([, n]) => n));
    for (const [f, n] of newFiles) if (f.startsWith('agg-')) expect(n, `${f} against the full file's ${fullAgg} bytes`).toBeLessThan(fullAgg / 10);
    const expected = async (x: Engine) => {
      expect(await rows(x, 'SELECT k, n, s, hi FROM agg ORDER BY k')).toEqual(await rows(x, 'SELECT k, count(*), sum(v), max(v) FROM t GROUP BY k ORDER BY k'));
      expect(await rows(x, 'SELECT k, v FROM big ORDER BY k, v')).toEqual(await rows(x, 'SELECT k, v FROM t WHERE v % 2 = 0 ORDER BY k, v'));
    };
    await expected(e);
    // As a crash leaves it: recovery reads the full files and the deltas after them.
    await e.close({ checkpoint: false });
    e = await open(data, logs);
    await expected(e);
    await e.execute(`SET checkpoint_interval = '1 epoch'; INSERT INTO t VALUES ${values(40_000, 10, 50)}; DELETE FROM t WHERE k = 7; FLUSH;`);
    await expected(e);
    await e.close({ checkpoint: false });
    // The newest delta damaged: the checkpoint before it (one delta shorter) is used, and the
    // epoch after it replayed from the offsets log.
    const newestAgg = readdirSync(views).filter((f) => f.startsWith('agg-')).sort((a, b) => Number(/-(\d+)\.bin$/.exec(b)![1]) - Number(/-(\d+)\.bin$/.exec(a)![1]))[0]!;
    expect(statSync(join(views, newestAgg)).size).toBeLessThan(fullAgg / 10);
    const bytes = readFileSync(join(views, newestAgg));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    writeFileSync(join(views, newestAgg), bytes);
    e = await open(data, logs);
    expect(logs.some((l) => l.includes('RECOVERY') && l.includes('damaged') && l.includes(newestAgg))).toBe(true);
    await expected(e);
    // checkpoint_full_interval = 1: every state write is whole again.
    await e.execute("SET checkpoint_interval = '1 epoch'; SET checkpoint_full_interval = 1; INSERT INTO t VALUES (1, 1); FLUSH;");
    expect(await rows(e, 'SELECT views_as_delta FROM sluice.checkpoints ORDER BY id DESC LIMIT 1')).toEqual(['0']);
    await expect(e.execute('SET checkpoint_full_interval = 0')).rejects.toThrow(/checkpoint_full_interval must be a whole number of checkpoints/);
    await e.close();
  });

  it('incremental: a damaged full file under the newest deltas falls back to a checkpoint of older files', async () => {
    const data = dir();
    const logs: string[] = [];
    let e = await open(data, logs);
    await e.execute(`SET checkpoint_interval = '1 epoch';
      CREATE TABLE t (k INT, v INT);
      CREATE MATERIALIZED VIEW agg AS SELECT k, count(*) AS n, sum(v) AS s FROM t GROUP BY k;`);
    const values = (from: number, n: number, keys: number) => Array.from({ length: n }, (_, i) => `(${(from + i) % keys}, ${from + i})`).join(', ');
    await e.execute(`INSERT INTO t VALUES ${values(0, 5_000, 2_000)}; FLUSH;`);
    for (let i = 0; i < 4; i++) await e.execute(`INSERT INTO t VALUES ${values(10_000 + i * 10, 10, 30)}; FLUSH;`);
    await e.close({ checkpoint: false });
    const views = join(data, 'checkpoints', 'views');
    const agg = readdirSync(views).filter((f) => f.startsWith('agg-')).map((f) => ({ f, id: Number(/-(\d+)\.bin$/.exec(f)![1]), size: statSync(join(views, f)).size }));
    // The newest files are deltas; the newest big one is the full file under them.
    const sorted = agg.sort((a, b) => b.id - a.id);
    expect(sorted[0]!.size).toBeLessThan(sorted.find((x) => x.size > 10 * sorted[0]!.size)?.size ?? 0);
    const base = sorted.find((x) => x.size > 10 * sorted[0]!.size)!;
    const bytes = readFileSync(join(views, base.f));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    writeFileSync(join(views, base.f), bytes);
    e = await open(data, logs);
    expect(logs.some((l) => l.includes('RECOVERY') && l.includes('damaged') && l.includes(base.f))).toBe(true);
    expect(await rows(e, 'SELECT k, n, s FROM agg ORDER BY k')).toEqual(await rows(e, 'SELECT k, count(*), sum(v) FROM t GROUP BY k ORDER BY k'));
    await e.close();
  });
});
