/**
 * The HTTP server: the JSON API, Prometheus /metrics (parsed as text format 0.0.4 by a parser of
 * this test's own) and the `sluice.*` system tables over pg-wire, which must agree with /api/.
 * Epochs run on FLUSH, so every figure is known exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/exec/runtime/engine.js';
import { startPgServer, type PgServer } from '../../src/server/pg-server.js';
import { startHttpServer, type HttpServer } from '../../src/server/http-server.js';

let engine: Engine;
let server: PgServer;
let http: HttpServer;
let client: pg.Client;

const api = async (path: string): Promise<{ status: number; body: any }> => {
  const r = await fetch(`http://127.0.0.1:${http.port}${path}`);
  return { status: r.status, body: await r.json() };
};

beforeAll(async () => {
  engine = await createEngine({ autoStart: false, log: () => undefined });
  server = await startPgServer(engine, { port: 0, log: () => undefined });
  http = await startHttpServer(engine, { host: '127.0.0.1', port: 0, loopbackOnly: true });
  client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'test', database: 'test' });
  await client.connect();
  await client.query(`CREATE SOURCE g (id BIGINT, k INT) WITH (connector = 'datagen', rows_per_second = 1000000000, max_batch_rows = 100,
      fields.id.kind = 'sequence', fields.id.start = 1, fields.k.kind = 'sequence', fields.k.start = 0, fields.k.end = 4);
    CREATE MATERIALIZED VIEW per_k AS SELECT k, count(*) AS n FROM g WHERE id % 2 = 0 GROUP BY k;
    CREATE SINK out FROM per_k WITH (connector = 'print')`);
});

afterAll(async () => {
  await client?.end();
  await http?.close();
  await server?.close();
  await engine?.close();
});

/** One sample line of the text format. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * Parses Prometheus text format 0.0.4: `# HELP`/`# TYPE` lines and samples
 * `name{label="value",…} number`. Throws on any line that is neither, on a sample of an
 * undeclared family, and on a family declared twice.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const familyOf = (name: string) => {
    if (types.has(name)) return name;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    throw new Error(`sample ${name} has no # TYPE`);
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') {
        if (types.has(m[2]!)) throw new Error(`family ${m[2]} declared twice`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) throw new Error(`bad type in ${line}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const rest = m[2].replace(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g, (_, k: string, v: string) => {
        labels[k] = v.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        return '';
      });
      if (rest !== '') throw new Error(`bad labels in ${line}`);
    }
    // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case
    // (prom-client writes 'Nan' for an event-loop figure with no samples yet).
    const raw = m[3]!.toLowerCase();
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : raw === 'nan' ? NaN : Number(m[3]);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value in ${line}`);
    familyOf(m[1]!);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

const metricsText = async () => {
  const r = await fetch(`http://127.0.0.1:${http.port}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await r.text());
};
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('HTTP server', () => {
  it('answers /api/ with epochs, sources, views with their operators, sinks and memory', async () => {
    // CREATE MATERIALIZED VIEW ran an epoch of its own (the tables' queued changes, no sources).
    const first = engine.currentEpoch;
    await client.query('FLUSH; FLUSH');
    const epochs = ((await api('/api/epochs')).body as any[]).filter((e) => e.epoch > first);
    expect(epochs.map((e: any) => e.epoch)).toEqual([first + 1, first + 2]);
    expect(epochs[0].rowsInBy.g).toBe(100);
    expect(epochs[0].ranges.g).toEqual({ from: 0, to: 100 });
    expect(epochs[1].ranges.g).toEqual({ from: 100, to: 200 });
    expect((await api(`/api/epochs/${first + 2}`)).body.rowsIn).toBe(100);
    expect((await api('/api/epochs/99')).status).toBe(404);

    const [source] = (await api('/api/sources')).body;
    expect(source).toMatchObject({ name: 'g', connector: 'datagen', rows: 200, deadLetters: 0, errorsTable: 'g_errors' });

    const view = (await api('/api/views/per_k?sample=3')).body;
    expect(view).toMatchObject({ name: 'per_k', rows: 5, lateRows: 0 });
    expect(view.sql).toContain('GROUP BY k');
    expect(view.sample.columns).toEqual(['k', 'n']);
    expect(view.sample.rows).toHaveLength(3);
    const ops = view.operators as any[];
    const byName = (n: string) => ops.find((o) => o.name === n);
    // Scan → Filter (half the ids are even) → HashAgg; the last epoch's 100 rows in, 50 through the filter.
    expect(byName('ScanExec')).toMatchObject({ epochRowsIn: 100, epochRowsOut: 100, rowsIn: 200 });
    expect(byName('FilterExec')).toMatchObject({ epochRowsIn: 100, epochRowsOut: 50 });
    expect(byName('HashAggExec')).toMatchObject({ epochRowsIn: 50 });
    expect(ops.filter((o) => o.parent === null)).toHaveLength(1);
    expect(byName('HashAggExec').stateRows).toBe(5);
    expect(byName('HashAggExec').stateBytes).toBeGreaterThan(0);
    expect(view.stateRows).toBe(ops.reduce((n, o) => n + o.stateRows, 0));
    for (const o of ops.filter((x) => x.parent !== null)) expect(ops.some((p) => p.id === o.parent)).toBe(true);

    const [sink] = (await api('/api/sinks')).body;
    expect(sink).toMatchObject({ name: 'out', from: 'per_k', connector: 'print' });
    const memory = (await api('/api/memory')).body;
    expect(memory.rss).toBeGreaterThan(0);
    expect(memory.stateBytes.per_k).toBe(view.stateBytes);
    const overview = (await api('/api/overview')).body;
    expect(overview).toMatchObject({ epoch: first + 2, stable: true });
    expect((await api('/api/nothing')).status).toBe(404);
    expect((await api('/api/views/nope')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${http.port}/api/overview`, { method: 'POST' })).status).toBe(405);
  });

  it('serves /metrics as Prometheus text with the families and labels, and the values move as epochs run', async () => {
    const before = await metricsText();
    const want: Record<string, string> = {
      sluice_epochs_total: 'counter', sluice_epoch_processing_seconds: 'histogram', sluice_epoch_scheduling_delay_seconds: 'histogram',
      sluice_source_rows_total: 'counter', sluice_source_errors_total: 'counter', sluice_source_lag_rows: 'gauge',
      sluice_source_rate_limit_rows_per_second: 'gauge', sluice_view_rows: 'gauge', sluice_view_state_bytes: 'gauge',
      sluice_view_late_rows_total: 'counter', sluice_sink_rows_total: 'counter',
      process_resident_memory_bytes: 'gauge', nodejs_heap_size_used_bytes: 'gauge', nodejs_eventloop_lag_seconds: 'gauge',
    };
    for (const [name, type] of Object.entries(want)) expect(before.types.get(name), name).toBe(type);
    expect(value(before.samples, 'sluice_view_rows', { view: 'per_k' })).toBe(5);
    expect(value(before.samples, 'sluice_view_state_bytes', { view: 'per_k' })).toBeGreaterThan(0);
    expect(value(before.samples, 'sluice_source_errors_total', { source: 'g' })).toBe(0);
    expect(value(before.samples, 'sluice_view_late_rows_total', { view: 'per_k' })).toBe(0);
    expect(value(before.samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const rowsBefore = value(before.samples, 'sluice_source_rows_total', { source: 'g' })!;
    const epochsBefore = value(before.samples, 'sluice_epochs_total')!;
    const countBefore = value(before.samples, 'sluice_epoch_processing_seconds_count')!;

    await client.query('FLUSH; FLUSH; FLUSH');
    const after = await metricsText();
    expect(value(after.samples, 'sluice_source_rows_total', { source: 'g' })).toBe(rowsBefore + 300);
    expect(value(after.samples, 'sluice_epochs_total')).toBe(epochsBefore + 3);
    expect(value(after.samples, 'sluice_epoch_processing_seconds_count')).toBe(countBefore + 3);
    expect(value(after.samples, 'sluice_epoch_scheduling_delay_seconds_bucket', { le: '+Inf' })).toBe(countBefore + 3);
    expect(value(after.samples, 'sluice_sink_rows_total', { sink: 'out' })).toBeGreaterThan(0);
  });

  it('serves the sluice.* system tables over pg-wire, agreeing with /api/', async () => {
    await client.query('FLUSH');
    const epochs = (await client.query('SELECT epoch, rows_in, rows_out, processing_ms, ranges FROM sluice.epochs ORDER BY epoch')).rows;
    const apiEpochs = (await api('/api/epochs')).body as any[];
    expect(epochs.map((r) => Number(r.epoch))).toEqual(apiEpochs.map((e) => e.epoch));
    expect(epochs.map((r) => Number(r.rows_in))).toEqual(apiEpochs.map((e) => e.rowsIn));
    expect(epochs.map((r) => Number(r.rows_out))).toEqual(apiEpochs.map((e) => e.rowsOut));
    expect(epochs.map((r) => r.processing_ms)).toEqual(apiEpochs.map((e) => e.processingMs));
    expect(JSON.parse(epochs[0].ranges)).toEqual(apiEpochs[0].ranges);

    const views = (await client.query('SELECT name, rows, state_rows, state_bytes, late_rows FROM sluice.views')).rows;
    const apiViews = (await api('/api/views')).body as any[];
    expect(views.map((v) => [v.name, Number(v.rows), Number(v.state_rows), Number(v.state_bytes), Number(v.late_rows)]))
      .toEqual(apiViews.map((v) => [v.name, v.rows, v.stateRows, v.stateBytes, v.lateRows]));

    const ops = (await client.query('SELECT view, operator_id, name, parent_id, rows_in, rows_out FROM sluice.operators ORDER BY operator_id')).rows;
    const apiOps = apiViews.flatMap((v) => v.operators).sort((a: any, b: any) => (a.id < b.id ? -1 : 1));
    expect(ops.map((o) => [o.view, o.operator_id, o.name, o.parent_id, Number(o.rows_in), Number(o.rows_out)]))
      .toEqual(apiOps.map((o: any) => [o.view, o.id, o.name, o.parent, o.rowsIn, o.rowsOut]));

    const sources = (await client.query('SELECT name, connector, rows, dead_letters FROM sluice.sources')).rows;
    expect(sources.map((s) => [s.name, s.connector, Number(s.rows), Number(s.dead_letters)]))
      .toEqual((await api('/api/sources')).body.map((s: any) => [s.name, s.connector, s.rows, s.deadLetters]));
    const sinks = (await client.query('SELECT name, "from", rows_written FROM sluice.sinks')).rows;
    expect(sinks.map((s) => [s.name, s.from, Number(s.rows_written)]))
      .toEqual((await api('/api/sinks')).body.map((s: any) => [s.name, s.from, s.rowsWritten]));

    // The figures move: another epoch shows in the next SELECT.
    await client.query('FLUSH');
    const n = (await client.query('SELECT max(epoch) AS m, count(*) AS c FROM sluice.epochs')).rows[0];
    expect(Number(n.m)).toBe(Number(epochs[epochs.length - 1].epoch) + 1);
    // A join of system tables with each other works like any SQL.
    const joined = (await client.query(`SELECT v.name, count(*) AS ops FROM sluice.views v JOIN sluice.operators o ON o.view = v.name GROUP BY v.name`)).rows;
    expect(joined).toEqual([{ name: 'per_k', ops: String(apiOps.length) }]);
    // A view cannot be maintained over a system table: 0A000 at its name.
    await expect(client.query('CREATE MATERIALIZED VIEW e AS SELECT epoch FROM sluice.epochs')).rejects.toMatchObject({ code: '0A000', position: '49' });
  });

  it('answers psql: the system tables are read with SELECT, \\d does not list them but \\dS does, unknown ones are 42P01', async () => {
    const psql = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'test', '-d', 'test', '-X', '-A', '-t', ...args],
        { env: { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8', timeout: 20_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    const views = await psql('-c', 'SELECT name, rows FROM sluice.views');
    expect(views).toMatchObject({ code: 0, stdout: 'per_k|5\n' });
    const listed = await psql('-c', '\\d');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('per_k');
    expect(listed.stdout).not.toMatch(/epochs|operators/);
    const system = await psql('-c', '\\dS');
    expect(system.stdout).toContain('sluice|epochs|view|sluice');
    expect(system.stdout).toContain('sluice|operators|view|sluice');
    expect(system.stdout).toContain('per_k');
    const bad = await psql('-v', 'VERBOSITY=verbose', '-c', 'SELECT * FROM sluice.nothing');
    expect(bad.stderr).toContain('42P01');
  });
});
