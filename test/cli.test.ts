/** The `sluice` command: examples run to the expected output; errors exit non-zero. */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pg from 'pg';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'sluice.js');

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('sluice CLI', () => {
  it('runs sql-examples/table_aggregate.sql', () => {
    const r = run(['run', 'sql-examples/table_aggregate.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'customer,orders,total,largest,open_orders\nann,2,129,99,1\nbob,1,12.5,12.5,1\ncyd,1,5,5,1\n' +
        'customer,orders,total,largest,open_orders\nann,1,30,30,1\nbob,1,15,15,0\n',
    );
  });

  it('runs sql-examples/word_count.sql', () => {
    const r = run(['run', 'sql-examples/word_count.sql', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[0]).toEqual({ word: 'to', n: 7 });
    expect(rows).toHaveLength(10);
  });

  it('runs sql-examples/filtered_projection.sql', () => {
    const r = run(['run', 'sql-examples/filtered_projection.sql']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('   50 |     96 |  4900');
    expect(r.stdout).toContain(' 100 |      3 |   100 |     90.80 | top');
  });

  it('runs sql-examples/enrichment.sql (click stream ⋈ CSV table, dead letter shown)', () => {
    const r = run(['run', 'sql-examples/enrichment.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('section,clicks,users\ndocs,3,2\n');
    expect(r.stdout).toContain('unknown,1,1');
    expect(r.stdout).toMatch(/part-0\.jsonl:8,"invalid JSON/);
  });

  it('runs sql-examples/streaming_kmeans.sql (three well separated blobs, probes labelled by their blob)', () => {
    const r = run(['run', 'sql-examples/streaming_kmeans.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    // Each blob's center is its offset's mean, (c + 0.5); each probe lies in one blob.
    expect(r.stdout).toMatch(/cluster,weight,x,y\n0,[\d.]+,0\.[45]\d*,0\.[45]\d*\n1,[\d.]+,5\.[45]\d*,5\.[45]\d*\n2,[\d.]+,10\.[45]\d*,0\.[45]\d*\n/);
    expect(r.stdout).toContain('id,cluster\n1,0\n2,1\n3,2\n');
    expect(r.stdout).toMatch(/clusters,kmeans,3,3000,/);
  });

  it('runs sql-examples/streaming_regression.sql (weights near the generating ones)', () => {
    const r = run(['run', 'sql-examples/streaming_regression.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    const weights = Object.fromEntries([...r.stdout.split('feature,weight\n')[1]!.matchAll(/^(\w+),(-?[\d.]+)$/gm)].map((m) => [m[1], Number(m[2])]));
    // y = 3·x1 − 2·x2 + 1 + small noise.
    expect(Math.abs(weights.x1 - 3)).toBeLessThan(0.1);
    expect(Math.abs(weights.x2 + 2)).toBeLessThan(0.1);
    expect(Math.abs(weights.intercept - 1)).toBeLessThan(0.1);
    expect(r.stdout).toMatch(/id,y_hat,class,p\n1,3\.[45]\d*,1,0\.9\d*\n2,-0\.[45]\d*,0,0\.0\d*\n/);
    expect(r.stdout).toMatch(/churn,logistic_regression,4,8000,/);
    expect(r.stdout).toMatch(/lin,linear_regression,4,8000,/);
  });

  it('runs sql-examples/fraud_detection.sql (transactions ⋈ customers, flagged by rule)', () => {
    const r = run(['run', 'sql-examples/fraud_detection.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('id,name,amount,country,reason\n2,bob,250,SE,over limit\n3,cyd,80,US,foreign country\n5,ann,900,NO,over limit\n');
    expect(r.stdout).toContain('ann,3,1060');
  });

  it('reports an error with file, line, column and SQLSTATE and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    try {
      const f = join(dir, 'bad.sql');
      writeFileSync(f, 'CREATE TABLE t (a INT);\nSELECT b\n  FROM t;\n');
      const r = run(['run', f]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${f}:2:8: ERROR: column "b" does not exist (SQLSTATE 42703)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unknown flags, and a non-loopback --host without --password', () => {
    const unknown = run(['serve', '--prot', '7000']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("sluice serve: unknown option --prot\nTry 'sluice serve --help' for more information.\n");
    expect(unknown.stdout).toBe('');
    const open = run(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--host 0\.0\.0\.0 would let anyone on the network in without a password; pass --password/);
    const both = run(['serve', '--port', '0', '--http-port', '0', '--no-http']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--http-port and --no-http exclude each other/);
    const badPort = run(['serve', '--port', '0', '--http-port', 'x']);
    expect(badPort.code).toBe(2);
  });

  it('prints each command\'s usage with --help / -h and exits 0, and the version with --version', () => {
    for (const [cmd, flag, first] of [
      ['serve', '--help', 'usage: sluice serve [--host H] [--port N]'],
      ['run', '--help', 'usage: sluice run FILE.sql'],
      ['repl', '-h', 'usage: sluice repl [--url'],
      ['replay', '--help', 'usage: sluice replay --data-dir DIR --epoch N'],
      ['demo', '--help', 'usage: sluice demo'],
    ] as const) {
      const r = run([cmd, flag]);
      expect(r.code, `${cmd} ${flag}: ${r.stderr}`).toBe(0);
      expect(r.stdout.startsWith(first), r.stdout).toBe(true);
    }
    // Help wins over a bad flag on the same line, and over a file argument (no file named --help is read).
    expect(run(['serve', '--prot', '5', '--help']).code).toBe(0);
    expect(run(['run', 'missing.sql', '--help']).stdout).toMatch(/^usage: sluice run/);
    const general = run(['--help']);
    expect(general.code).toBe(0);
    expect(general.stdout).toMatch(/^usage: sluice COMMAND/);
    for (const c of ['serve', 'run', 'repl', 'replay', 'demo']) expect(general.stdout).toContain(`  ${c} `);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(run(['--version'])).toMatchObject({ code: 0, stdout: `sluice ${pkg.version}\n` });
    const none = run([]);
    expect(none.code).toBe(2);
  });

  it('names a bad argument and points at the command\'s --help (exit 2)', () => {
    const cases: [string[], string][] = [
      [['run', '--formt', 'csv', 'x.sql'], "sluice run: unknown option --formt\nTry 'sluice run --help' for more information.\n"],
      [['run', 'a.sql', 'b.sql'], 'sluice run: unexpected argument "b.sql"\nTry \'sluice run --help\' for more information.\n'],
      [['run'], "sluice run: run needs a FILE.sql\nTry 'sluice run --help' for more information.\n"],
      [['repl', '--ur', 'x'], "sluice repl: unknown option --ur\nTry 'sluice repl --help' for more information.\n"],
      [['serve', '--port'], "sluice serve: option --port needs a value\nTry 'sluice serve --help' for more information.\n"],
      [['serve', '--port', 'abc'], 'sluice serve: --port takes a whole number, not "abc"\nTry \'sluice serve --help\' for more information.\n'],
      [['serve', 'extra'], 'sluice serve: unexpected argument "extra"\nTry \'sluice serve --help\' for more information.\n'],
      [['bogus'], 'sluice: unknown command "bogus"\nTry \'sluice --help\' for more information.\n'],
      [['--bogus'], "sluice: unknown option --bogus\nTry 'sluice --help' for more information.\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(stderr);
    }
  });

  it('serve starts the HTTP server with the pg server (--http-port 0 prints the port it took) and stops both; --no-http has none', async () => {
    const start = async (args: string[], env: NodeJS.ProcessEnv = process.env) => {
      const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (err += String(d)));
      const deadline = Date.now() + 20_000;
      while (!out.includes('sluice is listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // The web line follows the pg line in the same write burst.
      await new Promise((r) => setTimeout(r, 200));
      const stop = async () => {
        child.kill('SIGTERM');
        return new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      };
      return { out: () => out, err: () => err, stop };
    };
    // Started as `node bin/sluice.js` with no tunables, not through bin/sluice: on glibc the
    // server says it runs without huge pages.
    const plain: NodeJS.ProcessEnv = { ...process.env };
    delete plain.GLIBC_TUNABLES;
    delete plain.SLUICE_HUGE_PAGES;
    delete plain.SLUICE_OLD_SPACE_MB;
    const withHttp = await start(['--http-port', '0'], plain);
    const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
    if (process.platform === 'linux' && glibc) expect(withHttp.err()).toContain('without transparent huge pages');
    else expect(withHttp.err()).not.toContain('huge pages');
    // …and that V8 runs without the initial old-space size bin/sluice passes.
    expect(withHttp.err()).toContain('without an initial old-space size');
    const port = Number(/web UI on http:\/\/127\.0\.0\.1:(\d+)\//.exec(withHttp.out())?.[1]);
    expect(port).toBeGreaterThan(0);
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('sluice_epochs_total');
    expect((await fetch(`http://127.0.0.1:${port}/`)).headers.get('content-type')).toContain('text/html');
    expect(await withHttp.stop()).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    const without = await start(['--no-http']);
    expect(without.out()).toContain('sluice is listening');
    expect(without.out()).not.toContain('web UI');
    expect(await without.stop()).toBe(0);
  });

  it('reads files only under --allow-path roots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-roots-'));
    try {
      writeFileSync(join(dir, 'u.csv'), 'id\n7\n');
      const f = join(dir, 'load.sql');
      writeFileSync(f, `CREATE TABLE u (id INT) WITH (connector = 'file', path = '${join(dir, 'u.csv')}');\nSELECT * FROM u;\n`);
      const refused = run(['run', f]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/outside the allowed paths \(SQLSTATE 42501\)/);
      const allowed = run(['run', f, '--allow-path', dir, '--format', 'csv']);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(allowed.stdout).toBe('id\n7\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm start (serve --demo) shows changing word counts within 10 s and answers pg clients', async () => {
    // As package.json's start script runs it: through the bin/sluice launcher.
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_NODE: process.execPath };
    delete env.SLUICE_HUGE_PAGES;
    delete env.SLUICE_OLD_SPACE_MB;
    const child = spawn(join(root, 'bin', 'sluice'), ['serve', '--demo', '--port', '0', '--http-port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const deadline = Date.now() + 10_000;
    const tables = () => out.split('-------------------------------------------').slice(1).filter((t) => t.includes('rows)'));
    while (tables().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const port = Number(/postgres:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    // The launcher exec'd node itself (the pid is the server's) with huge pages asked of glibc.
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    const tunables = environ.find((e) => e.startsWith('GLIBC_TUNABLES='))?.split('=').slice(1).join('=').split(':');
    expect(tunables).toContain(process.env.GLIBC_TUNABLES?.includes('glibc.malloc.hugetlb=') ? (/glibc\.malloc\.hugetlb=\d+/.exec(process.env.GLIBC_TUNABLES)![0]) : 'glibc.malloc.hugetlb=1');
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.join(' ')).toContain('bin/sluice.js');
    // …and node with V8's initial old-space size ahead of the script.
    expect(cmdline.indexOf('--initial-old-space-size=128')).toBeGreaterThan(0);
    expect(cmdline.indexOf('--initial-old-space-size=128')).toBeLessThan(cmdline.findIndex((a) => a.endsWith('bin/sluice.js')));
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'demo', database: 'sluice' });
    await client.connect();
    const res = await client.query('SELECT count(*) AS words FROM word_counts');
    await client.end();
    expect(Number(res.rows[0].words)).toBeGreaterThan(5);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    const [a, b] = tables();
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(a).toContain('word');
    expect(a).not.toEqual(b);
    expect(err).not.toContain('huge pages');
    expect(err).not.toContain('old-space');
  });

  it('bin/sluice-env asks glibc for huge pages unless told not to, keeping the user\'s other tunables', () => {
    const env = (extra: Record<string, string | undefined>) => {
      const e: Record<string, string | undefined> = { ...process.env, GLIBC_TUNABLES: undefined, SLUICE_HUGE_PAGES: undefined, ...extra };
      for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
      return execFileSync(join(root, 'bin', 'sluice-env'), [process.execPath, '-e', 'process.stdout.write(String(process.env.GLIBC_TUNABLES))'], { env: e as NodeJS.ProcessEnv, encoding: 'utf8' });
    };
    expect(env({})).toBe('glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1');
    expect(env({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    expect(env({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' })).toBe('glibc.malloc.hugetlb=0:glibc.malloc.arena_max=1');
    expect(env({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.arena_max=4' })).toBe('glibc.malloc.hugetlb=1:glibc.malloc.arena_max=4');
    expect(env({ SLUICE_HUGE_PAGES: '0' })).toBe('undefined');
    expect(env({ SLUICE_HUGE_PAGES: '0', GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toBe('glibc.malloc.arena_max=2');
  });

  it('bin/sluice-env starts node with V8\'s initial old-space size unless given one or told not to, and leaves other commands alone', () => {
    const flags = (args: string[], extra: Record<string, string | undefined> = {}) => {
      const e: Record<string, string | undefined> = { ...process.env, SLUICE_OLD_SPACE_MB: undefined, ...extra };
      for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
      return execFileSync(join(root, 'bin', 'sluice-env'), [process.execPath, ...args, '-e', 'process.stdout.write(JSON.stringify([process.execArgv]))'], { env: e as NodeJS.ProcessEnv, encoding: 'utf8' });
    };
    expect(JSON.parse(flags([]))[0]).toEqual(['--initial-old-space-size=128', '-e', expect.any(String)]);
    expect(JSON.parse(flags([], { SLUICE_OLD_SPACE_MB: '256' }))[0][0]).toBe('--initial-old-space-size=256');
    expect(JSON.parse(flags(['--initial-old-space-size=64']))[0].filter((a: string) => a.startsWith('--initial-old'))).toEqual(['--initial-old-space-size=64']);
    expect(JSON.parse(flags([], { SLUICE_OLD_SPACE_MB: '0' }))[0]).toEqual(['-e', expect.any(String)]);
    // Another command runs as it was given.
    expect(execFileSync(join(root, 'bin', 'sluice-env'), ['sh', '-c', 'echo "$0 $*"', 'a', 'b'], { encoding: 'utf8' })).toBe('a b\n');
  });
});
