/**
 * `npm run slt -- [FILES…]`: runs sqllogictest files against a real sluice pg-wire server.
 * Without arguments: test/slt/**\/*.slt and ../shared/conformance/*.slt*. Files listed in
 * test/slt/expected-failures.txt must fail (with the reason given there); a listed file that
 * passes fails the run, so the list only shrinks.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { startSltServer } from './server.js';
import { readExpectedFailures, runSltFile, type SltFileResult } from './runner.js';

const root = resolve(import.meta.dirname, '..', '..');

function walk(dir: string, re: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name), re) : re.test(d.name) ? [join(dir, d.name)] : [])).sort();
}

/**
 * The external conformance folder: $SLUICE_CONFORMANCE_DIR, else `shared/conformance` beside
 * the project root or beside one of its parents.
 */
export function conformanceDir(): string | null {
  const env = process.env.SLUICE_CONFORMANCE_DIR;
  if (env) return resolve(env);
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dirname(dir), 'shared', 'conformance');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

export function defaultFiles(): string[] {
  const conf = conformanceDir();
  return [...walk(join(root, 'test', 'slt'), /\.slt$/), ...(conf ? walk(conf, /\.slt(\.part)?$/) : [])];
}

export interface SltSummary {
  readonly results: SltFileResult[];
  readonly unexpectedFailures: SltFileResult[];
  readonly unexpectedPasses: string[];
}

export async function runAll(files: string[], log: (m: string) => void): Promise<SltSummary> {
  const expected = readExpectedFailures(join(root, 'test', 'slt', 'expected-failures.txt'));
  const expectedSet = new Map(expected.map((e) => [e.file, e.reason]));
  const results: SltFileResult[] = [];
  for (const f of files) results.push(await runSltFile(resolve(f), startSltServer, log));
  const unexpectedFailures = results.filter((r) => r.failures.length > 0 && !expectedSet.has(basename(r.file)));
  const unexpectedPasses = results.filter((r) => r.failures.length === 0 && expectedSet.has(basename(r.file))).map((r) => r.file);
  return { results, unexpectedFailures, unexpectedPasses };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  const files = args.length ? args : defaultFiles();
  const summary = await runAll(files, (m) => process.stderr.write(m + '\n'));
  for (const r of summary.unexpectedFailures) {
    process.stdout.write(`FAIL ${relative(root, r.file)}\n`);
    for (const f of r.failures.slice(0, 5)) process.stdout.write(`  line ${f.line}: ${f.sql.split('\n')[0]}\n    ${f.message.replace(/\n/g, '\n    ')}\n`);
  }
  for (const p of summary.unexpectedPasses) process.stdout.write(`PASSES BUT LISTED as expected failure: ${relative(root, p)} (remove it from test/slt/expected-failures.txt)\n`);
  const passed = summary.results.filter((r) => r.failures.length === 0).length;
  process.stdout.write(`${passed}/${summary.results.length} files pass\n`);
  process.exit(summary.unexpectedFailures.length || summary.unexpectedPasses.length ? 1 : 0);
}
