/**
 * The REPL on a real pseudo-terminal (util-linux `script`): raw-mode keys, Tab, the live table
 * redrawn in place, Ctrl-C as the byte \x03, history saved. Skipped where `script` is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './repl-driver.js';

afterEach(removeTempDirs);

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const root = join(import.meta.dirname, '..', '..');

describe.skipIf(!hasScript)('sluice repl on a pseudo-terminal', () => {
  it('edits, completes, redraws a SUBSCRIBE in place and stops it with Ctrl-C', async () => {
    const history = join(tempDir(), 'history');
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    const fixture = join(root, 'test', 'repl', 'fixtures', 'pty-repl.ts');
    const child = spawn('script', ['-qec', `stty cols 100 rows 30 2>/dev/null; exec '${tsx}' '${fixture}' '${history}'`, '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += String(d)));
    child.stderr.on('data', (d) => (text += String(d)));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const waitFor = async (re: RegExp, ms = 20_000) => {
      const end = Date.now() + ms;
      while (!re.test(text) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      if (!re.test(text)) throw new Error(`timed out waiting for ${re}; output so far:\n${JSON.stringify(text)}`);
    };
    const type = async (s: string) => {
      child.stdin.write(s);
      await new Promise((r) => setTimeout(r, 100));
    };
    try {
      await waitFor(/sluice=> /);
      await type("SET batch_interval = '100ms';\r");
      await type("CREATE SOURCE gen (id BIGINT) WITH (connector = 'datagen', rows_per_second = 20);\r");
      await type('CREATE MATERIALIZED VIEW counted AS SELECT count(*) AS n FROM gen;\r');
      await waitFor(/CREATE MATERIALIZED VIEW\r?\n/);
      // Tab completes the view's name from its first letters.
      await type('SUBSCRIBE cou');
      await type('\t');
      await waitFor(/SUBSCRIBE counted/);
      await type(';\r');
      await waitFor(/Ctrl-C to stop/);
      await waitFor(/\x1b\[\d+A\r\x1b\[0J n\s*\r?\n-+\r?\n\s+\d+\r?\n\(1 row\)\r?\nepoch \d+ · \d+ changes/);
      await type('\x03');
      await waitFor(/subscription stopped after \d+ changes/);
      await type('\\q\r');
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
    expect(readFileSync(history, 'utf8')).toContain('SUBSCRIBE counted;\n\\q\n');
  });
});
