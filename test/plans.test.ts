/**
 * Plan goldens: every test/plans/*.sql plans (EXPLAIN) to the text in its .out file, or, with a
 * `-- fail` header, fails with the error in its .out file. Regenerate on purpose with
 * SLUICE_UPDATE_GOLDENS=1 and review the diff.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toSluiceError } from '../src/common/errors.js';
import { createEngine } from '../src/exec/runtime/engine.js';

const dir = join(import.meta.dirname, 'plans');
const setup = readFileSync(join(dir, '_setup.sql'), 'utf8');
const update = process.env.SLUICE_UPDATE_GOLDENS === '1';

describe('plan goldens', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql') && !f.startsWith('_')).sort();
  for (const f of files) {
    it(f, async () => {
      const sql = readFileSync(join(dir, f), 'utf8').trim();
      const expectFail = sql.startsWith('-- fail');
      const engine = await createEngine({ autoStart: false, log: () => undefined });
      let actual: string;
      try {
        await engine.execute(setup);
        try {
          const [r] = await engine.execute(`EXPLAIN ${sql}`);
          actual = r && r.kind === 'rows' ? r.rows.map((x) => String(x[0])).join('\n') : '';
          if (expectFail) actual = `UNEXPECTED SUCCESS\n${actual}`;
        } catch (e) {
          const err = toSluiceError(e);
          actual = `ERROR ${err.sqlstate}: ${err.message}${err.position !== undefined ? ` (position ${err.position - 'EXPLAIN '.length})` : ''}${err.hint ? `\nHINT: ${err.hint}` : ''}`;
        }
      } finally {
        await engine.close();
      }
      const golden = join(dir, f.replace(/\.sql$/, '.out'));
      if (update || !existsSync(golden)) writeFileSync(golden, actual + '\n');
      expect(actual + '\n').toBe(readFileSync(golden, 'utf8'));
    });
  }
});
