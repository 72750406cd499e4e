/**
 * sqllogictest over pg-wire: test/slt/**\/*.slt and the external conformance files in
 * ../shared/conformance. Files in test/slt/expected-failures.txt must fail; any other failure,
 * or a listed file that passes, fails this test.
 */
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformanceDir, defaultFiles, runAll } from '../src/slt/main.js';

describe('sqllogictest', () => {
  it('runs the project and conformance files; only listed files fail', async () => {
    const files = defaultFiles();
    // The conformance files are a required target: say where they were looked for if missing.
    expect(conformanceDir(), 'shared/conformance not found beside the project or its parents; set SLUICE_CONFORMANCE_DIR').not.toBeNull();
    expect(files.some((f) => f.includes('conformance'))).toBe(true);
    const s = await runAll(files, () => undefined);
    const root = resolve(import.meta.dirname, '..');
    const report = s.unexpectedFailures.map((r) => `${relative(root, r.file)}: ${r.failures.slice(0, 3).map((f) => `line ${f.line}: ${f.message}`).join('; ')}`);
    expect(report).toEqual([]);
    expect(s.unexpectedPasses.map((f) => relative(root, f))).toEqual([]);
  }, 600_000);
});
