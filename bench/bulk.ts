/**
 * Bulk-load benchmarks (`npm run bench:bulk`): 1 M rows (id INT, name VARCHAR, v DOUBLE) into a
 * table with a view over it, through the pg wire server, by COPY FROM STDIN (pg-copy-streams)
 * and by one INSERT … VALUES statement (27 MB). The client runs in a child process
 * (bench/bulk-client.ts); rows/s are per CPU-second of the engine process (user+sys) and per wall
 * second of the load as the client saw it. Each case runs SLUICE_BENCH_RUNS times (default 3)
 * into a fresh table; the first run is a warm-up and the best warm run is reported. The answer
 * is checked: the table's count and sums, and the view's after an epoch. JSON goes to
 * bench/results/bulk.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/exec/runtime/engine.js';
import { startPgServer } from '../src/server/pg-server.js';

const ROWS = Number(process.env.SLUICE_BENCH_BULK_ROWS ?? 1_000_000);
const RUNS = Math.max(2, Number(process.env.SLUICE_BENCH_RUNS ?? 3));
const CASES = [
  { name: 'copy_from_stdin_1m', mode: 'copy', target: 500_000 },
  { name: 'insert_values_1m', mode: 'insert', target: 200_000 },
] as const;

const engine = await createEngine({ autoStart: false, log: () => undefined });
const server = await startPgServer(engine, { port: 0, log: () => undefined });

function client(mode: string, table: string): Promise<{ wallSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bulk-client.ts'), mode, String(server.port), table, String(ROWS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { wallSeconds: number }) : reject(new Error(`bulk-client exited with ${code}`))));
  });
}

const want = { n: BigInt(ROWS), sumId: (BigInt(ROWS) * BigInt(ROWS - 1)) / 2n, sumV: 0 };
for (let i = 0; i < ROWS; i++) want.sumV += (i % 100) + 0.5;

const results = [];
const names = process.argv.slice(2);
for (const c of CASES.filter((x) => names.length === 0 || names.includes(x.name))) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const table = `${c.name}_${r}`;
    await engine.execute(`CREATE TABLE ${table} (id INT, name VARCHAR, v DOUBLE PRECISION); CREATE MATERIALIZED VIEW ${table}_v AS SELECT count(*) AS n, sum(id) AS s, sum(v) AS sv FROM ${table}`);
    const before = process.cpuUsage();
    const { wallSeconds } = await client(c.mode, table);
    const used = process.cpuUsage(before);
    const cpuSeconds = (used.user + used.system) / 1e6;
    await engine.execute('FLUSH');
    const [t] = await engine.execute(`SELECT count(*), sum(id), sum(v) FROM ${table}`);
    const got = (t as { rows: unknown[][] }).rows[0]!;
    const view = (await engine.viewRows(`${table}_v`))[0]!;
    for (const row of [got, view]) {
      if (row[0] !== want.n || row[1] !== want.sumId || Math.abs((row[2] as number) - want.sumV) > 1e-6 * want.sumV) {
        throw new Error(`benchmark answer is wrong: ${c.name} gave ${row.join(', ')}, expected ${want.n}, ${want.sumId}, ${want.sumV}`);
      }
    }
    runs.push({ cpuSeconds, wallSeconds });
    await engine.execute(`DROP TABLE ${table} CASCADE`);
  }
  const warm = runs.slice(1).sort((a, b) => a.wallSeconds - b.wallSeconds)[0]!;
  results.push({
    name: c.name,
    rows: ROWS,
    cpuSeconds: +warm.cpuSeconds.toFixed(3),
    wallSeconds: +warm.wallSeconds.toFixed(3),
    rowsPerCpuSecond: Math.round(ROWS / warm.cpuSeconds),
    rowsPerWallSecond: Math.round(ROWS / warm.wallSeconds),
    target: c.target,
    coldWallSeconds: +runs[0]!.wallSeconds.toFixed(3),
    check: `table and view: ${ROWS} rows, sum(id) ${want.sumId}, sum(v) ${want.sumV}`,
  });
}
await server.close();
await engine.close();
const out = { machine: { node: process.version, cpus: cpus().length }, at: new Date().toISOString(), results };
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
if (names.length === 0) writeFileSync(join(import.meta.dirname, 'results', 'bulk.json'), JSON.stringify(out, null, 2) + '\n');
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
process.exit(0);
