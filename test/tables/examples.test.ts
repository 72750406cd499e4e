/**
 * The table examples run as a user runs them, `bin/sluice.js run sql-examples/<file>.sql` from
 * the project root: a click stream enriched with a CSV table, and transactions flagged by rules
 * against a CSV customer table.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Runs the CLI in the project root; the exit code, stdout and stderr. */
function sluice(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [join(root, 'bin', 'sluice.js'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('table examples', () => {
  it('enrichment.sql: clicks ⋈ pages.csv, counted per section, with the bad line in the dead letters', () => {
    const r = sluice(['run', 'sql-examples/enrichment.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    // The dead letter's error text is Node's JSON.parse message, which differs between versions.
    expect(r.stdout).toMatch(/^section,clicks,users\ndocs,3,2\nblog,1,1\nhome,1,1\nsales,1,1\nunknown,1,1\nposition,error\npart-0\.jsonl:8,"invalid JSON: [^\n]*"\n$/);
  });

  it('fraud_detection.sql: transactions ⋈ customers.csv, flagged over the limit or abroad', () => {
    const r = sluice(['run', 'sql-examples/fraud_detection.sql', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'id,name,amount,country,reason\n2,bob,250,SE,over limit\n3,cyd,80,US,foreign country\n5,ann,900,NO,over limit\n' +
        'name,transactions,total\nann,3,1060\nbob,1,250\ncyd,1,80\n',
    );
  });

  it('prints tables by default', () => {
    const r = sluice(['run', 'sql-examples/fraud_detection.sql']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(' id | name | amount | country |     reason\n');
    expect(r.stdout).toContain('  3 | cyd  |     80 | US      | foreign country\n');
    expect(r.stdout).toContain('(3 rows)');
  });
});
